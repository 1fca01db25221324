"""Codex CLI (``@openai/codex``): ``codex exec --json`` with a custom provider on the Responses API.

Pinned to one release (bump ``VERSION`` and delete its lock to move it). The npm package is a
small launcher (``bin/codex.js``) that runs the native binary npm installed as an optional
dependency (``@openai/codex-linux-x64`` = ``@openai/codex@<version>-linux-x64``, and siblings):
nothing is downloaded at run time. Each run has its own ``CODEX_HOME`` with the documented
ByteSpike setup (docs/CLIENTS.md): a ``model_providers.bytespike`` entry with
``wire_api = "responses"`` and the key from an environment variable, update checks, analytics,
feedback and OpenTelemetry export off, and no approvals (``codex exec`` never asks).

The tool round trip uses Codex's own shell tools, as Codex offers them for the model: for a model
its bundled catalog knows (OpenAI's), the code-mode ``exec`` tool (freeform JavaScript composing its
nested tools) calling ``tools.exec_command`` on ``cat notes.txt``; for any other model (Codex's
"fallback metadata") the ``exec_command`` function tool itself. Either way a shell Codex started
really reads the file in the run's directory; the simulator is told (by directive) to make that
call, and the second turn's answer quotes the tool's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.clients.harness import LONG_SILENCE, PROVIDER_MODELS, Case, Client, Outcome, RunEnv

VERSION = "0.171.0"
KEY_ENV = "BYTESPIKE_API_KEY"
COMMAND = "cat notes.txt"
# Codex's notice for a model its bundled catalog does not know (every non-OpenAI model): a notice,
# not a failure (it then uses its generic tool set and instructions; docs/CLIENTS.md).
FALLBACK_NOTICE = "Model metadata for `"
# Code mode (models Codex knows): the freeform `exec` tool, whose input is JavaScript.
CODE_MODE = ("exec", {"input": f'const r = await tools.exec_command({{cmd: "{COMMAND}"}});\ntext(r.output);'})
# Any other model: Codex's fallback tool set, where the shell tool is a function.
FUNCTION = ("exec_command", {"cmd": COMMAND})


def config_toml(base_url: str, model: str) -> str:
    """The documented setup (docs/CLIENTS.md, Codex CLI): ByteSpike as a Responses provider."""
    return f'''model = "{model}"
model_provider = "bytespike"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
web_search = "disabled"

[model_providers.bytespike]
name = "ByteSpike"
base_url = "{base_url}/v1"
env_key = "{KEY_ENV}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
'''


class Codex(Client):

    def __init__(self, version: str) -> None:
        self.version = version
        self.name = f"codex@{version}"
        self.npm = {"@openai/codex": version}  # type: ignore[misc]

    def cases(self) -> list[Case]:
        cases = [Case(self.name, provider, model) for provider, model in PROVIDER_MODELS.items()]
        return [*cases, Case(self.name, "openai", PROVIDER_MODELS["openai"], timing=LONG_SILENCE)]

    def tool(self, case: Case, workdir: Path) -> tuple[str, dict[str, Any]]:
        return CODE_MODE if case.provider == "openai" else FUNCTION

    def environment(self, env: RunEnv, model: str) -> dict[str, str]:
        home = env.workdir / "codex-home"
        home.mkdir(exist_ok=True)
        (home / "config.toml").write_text(config_toml(env.base_url, model))
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("OPENAI_", "CODEX_", "ANTHROPIC_", "UPSTREAM_")) and k not in ("HTTP_PROXY", "HTTPS_PROXY")}
        return {**base, "HOME": str(env.workdir / "home"), "CODEX_HOME": str(home), KEY_ENV: env.api_key,
                "NO_COLOR": "1", "RUST_LOG": "error"}

    def run(self, case: Case, env: RunEnv) -> Outcome:
        (env.workdir / "home").mkdir(exist_ok=True)
        command = [str(self.bin("codex")), "exec", "--json", "--skip-git-repo-check", "--model", case.model,
                   "--cd", str(env.workdir), env.prompt()]
        started = time.monotonic()
        proc = subprocess.run(command, cwd=env.workdir, env=self.environment(env, case.model), capture_output=True,
                              text=True, timeout=150, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        calls, results, texts, errors = [], [], [], []
        session = None
        for ev in events:
            kind = ev.get("type")
            item = ev.get("item") or {}
            if kind == "thread.started":
                session = ev.get("thread_id")
            elif kind in ("error", "turn.failed"):
                errors.append(json.dumps(ev))
            elif kind == "item.completed":
                itype = item.get("type")
                if itype == "agent_message":
                    texts.append(item.get("text") or "")
                elif itype == "error" and not str(item.get("message")).startswith(FALLBACK_NOTICE):
                    errors.append(item.get("message") or json.dumps(item))
                elif itype == "command_execution":  # what Codex ran for the model's tool call
                    calls.append(item)
                    results.append(str(item.get("aggregated_output") or ""))
        error = "; ".join(errors) if errors else None
        if proc.returncode != 0 and error is None:
            error = f"exit {proc.returncode}: {proc.stderr[-2000:]}"
        # Codex reports the command it ran, not the raw call: the call was parsed right when the
        # command is exactly the one the model was steered to run, once.
        ran = [(env.tool_name, env.tool_input) if c.get("command", "").endswith(f"'{COMMAND}'") else
               ("?", {"command": c.get("command")}) for c in calls]
        return Outcome(error=error, answer="\n".join(texts), tool_calls=ran,
                       tool_results=results, session_id=session, seconds=seconds,
                       log=proc.stdout[-3000:] + "\n--- stderr ---\n" + proc.stderr[-2000:])


CLIENTS = [Codex(VERSION)]
