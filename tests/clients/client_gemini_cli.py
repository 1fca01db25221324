"""Gemini CLI (``@google/gemini-cli``): headless ``gemini -p`` with its default tools, ``stream-json``.

Pointed at ByteSpike the documented way (docs/CLIENTS.md): ``GOOGLE_GEMINI_BASE_URL`` = the
gateway, ``GEMINI_API_KEY`` = a ByteSpike key, and ``security.auth.selectedType: gemini-api-key``
in its settings. (0.61 takes ``GOOGLE_GEMINI_BASE_URL`` alone as a "gateway" auth type its own
headless check then refuses: "Invalid auth method selected.") The key travels in
``x-goog-api-key``; the model is any catalog id (``-m``).

Each run gets its own ``HOME`` with a settings file that turns off usage statistics (Clearcut
logging to play.googleapis.com), telemetry and update checks, and runs under ``net_guard.cjs``,
which refuses and records every connection to a host that is not loopback: the run fails if the
CLI tried to reach anything but the gateway (with usage statistics on, it does: the guard saw
``play.googleapis.com:443``). Ripgrep is not installed, so its grep tool uses the built-in
fallback (it downloads nothing). ``GEMINI_CLI_CUSTOM_HEADERS`` sends ``x-session-id``: the
documented way to get cost per CLI session on the usage rows.

The tool round trip uses its own ``read_file`` tool on the run directory's note: the simulator
is told to call it, the CLI runs it (its session file records the function response it sent
back), and the second turn's answer quotes the note.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

from tests.clients.harness import LONG_SILENCE, PROVIDER_MODELS, Case, Client, Outcome, RunEnv

VERSION = "0.61.0"
GUARD = Path(__file__).with_name("net_guard.cjs")
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}


class GeminiCLI(Client):
    name = f"gemini-cli@{VERSION}"
    npm: ClassVar[dict[str, str]] = {"@google/gemini-cli": VERSION}
    tool_name = "read_file"

    def cases(self) -> list[Case]:
        cases = [Case(self.name, provider, model) for provider, model in PROVIDER_MODELS.items()]
        # The long silence on the pass-through lane (Gemini never pings; the simulator's Responses wire
        # does not pace think_ms, so an OpenAI model would not be silent at all).
        return [*cases, Case(self.name, "gemini", PROVIDER_MODELS["gemini"], timing=LONG_SILENCE)]

    def tool_input(self, workdir: Path) -> dict[str, Any]:
        return {"file_path": "notes.txt"}

    def environment(self, env: RunEnv) -> dict[str, str]:
        home = env.workdir / "home"
        (home / ".gemini").mkdir(parents=True, exist_ok=True)
        (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS, indent=2))
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("GEMINI_", "GOOGLE_", "ANTHROPIC_", "OPENAI_", "UPSTREAM_", "NODE_OPTIONS"))
                and k not in ("HTTP_PROXY", "HTTPS_PROXY", "CLOUD_SHELL")}
        return {**base, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "GOOGLE_GEMINI_BASE_URL": env.base_url, "GEMINI_API_KEY": env.api_key,
                "GEMINI_CLI_TRUST_WORKSPACE": "true",  # headless runs refuse an untrusted directory
                "GEMINI_CLI_NO_RELAUNCH": "true",  # no second node process (it only raises the heap limit)
                "GEMINI_CLI_CUSTOM_HEADERS": f"x-session-id: gemini-cli-{env.marker}",
                "NO_COLOR": "1", "NODE_OPTIONS": f"--require {GUARD}",
                "BYTESPIKE_NET_LOG": str(env.workdir / "net.log")}

    def run(self, case: Case, env: RunEnv) -> Outcome:
        command = [str(self.bin("gemini")), "-p", env.prompt(), "-m", case.model, "--output-format", "stream-json"]
        started = time.monotonic()
        proc = subprocess.run(command, cwd=env.workdir, env=self.environment(env), capture_output=True, text=True,
                              timeout=150, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        calls: list[tuple[str, dict[str, Any]]] = []
        texts: list[str] = []
        final: dict[str, Any] | None = None
        for line in proc.stdout.splitlines():
            if not line.startswith("{"):
                continue
            item = json.loads(line)
            if item.get("type") == "tool_use":
                calls.append((item["tool_name"], item.get("parameters") or {}))
            elif item.get("type") == "message" and item.get("role") == "assistant":
                texts.append(item.get("content") or "")
            elif item.get("type") == "result":
                final = item
        error = None
        if proc.returncode != 0 or final is None or final.get("status") != "success":
            error = json.dumps((final or {}).get("error")) if final else f"exit {proc.returncode}: {proc.stderr[-2000:]}"
        net = env.workdir / "net.log"
        if net.exists():  # the CLI reached for something other than the gateway
            error = f"network beyond the gateway: {net.read_text()}"
        return Outcome(error=error, answer="".join(texts), tool_calls=calls, tool_results=self._tool_results(env),
                       session_id=f"gemini-cli-{env.marker}", seconds=seconds,
                       log=proc.stdout[-3000:] + "\n--- stderr ---\n" + proc.stderr[-2000:])

    @staticmethod
    def _tool_results(env: RunEnv) -> list[str]:
        """The function responses the CLI sent back, from its own session record."""
        out: list[str] = []
        for path in sorted((env.workdir / "home" / ".gemini" / "tmp").glob("*/chats/session-*.jsonl")):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                for part in record.get("content") or () if isinstance(record.get("content"), list) else ():
                    response = part.get("functionResponse") if isinstance(part, dict) else None
                    if response:
                        output = (response.get("response") or {}).get("output")
                        out.append(output if isinstance(output, str) else json.dumps(response.get("response")))
        return out


CLIENTS = [GeminiCLI()]
