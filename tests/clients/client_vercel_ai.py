"""The Vercel AI SDK (``ai``) with ``@ai-sdk/anthropic`` and ``@ai-sdk/openai`` (``.chat()``).

Each case runs ``vercel_ai.mjs`` in Node: a tool round trip (``read_note``) with ``streamText``
and with ``generateText``, on the Anthropic surface through ``@ai-sdk/anthropic`` and on the
OpenAI surface through ``@ai-sdk/openai``'s Chat Completions model, on one model per provider.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import ClassVar

from tests.clients.harness import LONG_SILENCE, PROVIDER_MODELS, Case, Client, Outcome, RunEnv

SCRIPT = os.path.join(os.path.dirname(__file__), "vercel_ai.mjs")


class VercelAI(Client):
    name = "vercel-ai@7.0.173"
    npm: ClassVar[dict[str, str]] = {"ai": "7.0.173", "@ai-sdk/anthropic": "4.0.105", "@ai-sdk/openai": "4.0.118"}

    def cases(self) -> list[Case]:
        cases = [Case(self.name, provider, model, f"{surface}-{mode}")
                 for surface in ("anthropic", "openai-chat") for provider, model in PROVIDER_MODELS.items()
                 for mode in ("stream", "generate")]
        return [*cases, Case(self.name, "openai", PROVIDER_MODELS["openai"], "openai-chat-stream", LONG_SILENCE)]

    def run(self, case: Case, env: RunEnv) -> Outcome:
        surface, mode = case.variant.rsplit("-", 1)
        config = env.workdir / "case.json"
        config.write_text(json.dumps({
            "surface": "anthropic" if surface == "anthropic" else "openai", "mode": mode, "baseURL": env.base_url,
            "apiKey": env.api_key, "model": case.model, "prompt": env.prompt(), "workdir": str(env.workdir),
            "headers": {"x-session-id": f"vercel-{env.marker}"}}))
        # The script imports the pinned packages from the client's own install.
        script = env.workdir / "vercel_ai.mjs"
        shutil.copyfile(SCRIPT, script)
        (env.workdir / "node_modules").symlink_to(self.home / "node_modules")
        started = time.monotonic()
        proc = subprocess.run(["node", str(script), str(config)], cwd=env.workdir, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL,
                              env={k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))})
        seconds = time.monotonic() - started
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return Outcome(error=f"exit {proc.returncode}: {proc.stderr[-3000:]}", answer="", tool_calls=[],
                           tool_results=[], seconds=seconds, log=proc.stderr[-3000:])
        out = json.loads(lines[-1])
        return Outcome(error=out["error"], answer=out["text"], tool_calls=[(c["name"], c["input"]) for c in out["toolCalls"]],
                       tool_results=out["toolResults"], reported_credits=[int(c) for c in out["credits"]],
                       session_id=f"vercel-{env.marker}", seconds=seconds, log=proc.stdout[-2000:] + proc.stderr[-2000:])


CLIENTS = [VercelAI()]
