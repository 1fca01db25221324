"""Claude Code (``@anthropic-ai/claude-code``): ``claude -p`` with its default tools, ``stream-json``.

Pinned: 2.1.197 (the release issue #16 was found with; many users run older releases) and the
newest release when this was written (bump ``NEWEST`` and delete its lock to move it).

The npm package ships no JavaScript CLI: ``@anthropic-ai/claude-code`` holds a placeholder
``bin/claude.exe`` and a postinstall (``install.cjs``) that hard-links the native binary from the
platform package npm installed as an optional dependency (``@anthropic-ai/claude-code-linux-x64``
and siblings, ~245 MB). Nothing is downloaded at run time. Its non-essential traffic (auto-update,
telemetry, error reporting, feedback, the bootstrap fetch) is switched off with
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` and the specific ``DISABLE_*`` variables, and each
run gets its own ``HOME`` so no state leaks between runs.

The tool round trip uses Claude Code's own ``Read`` tool on a file in the run's directory; the
simulator is told (by directive) to call it, Claude Code runs it, and the second turn's answer
quotes the file, so a tool call parsed wrong anywhere on the way shows as a missing note.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.clients.harness import LONG_SILENCE, PROVIDER_MODELS, Case, Client, Outcome, RunEnv

NEWEST = "2.1.332"
QUIET = {  # no traffic but the gateway's
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
}
# What Claude Code says when it does not know a model's context window (finding 4).
UNKNOWN_WINDOW = ("doesn't recognize the model", "isn't described by this version's model catalog")


class ClaudeCode(Client):
    tool_name = "Read"

    def __init__(self, version: str) -> None:
        self.version = version
        self.name = f"claude-code@{version}"
        self.npm = {"@anthropic-ai/claude-code": version}  # type: ignore[misc]

    def cases(self) -> list[Case]:
        cases = [Case(self.name, provider, model) for provider, model in PROVIDER_MODELS.items()]
        return [*cases, Case(self.name, "openai", PROVIDER_MODELS["openai"], timing=LONG_SILENCE)]

    def tool_input(self, workdir: Path) -> dict[str, Any]:
        return {"file_path": str(workdir / "notes.txt")}

    def environment(self, env: RunEnv) -> dict[str, str]:
        """The documented setup for ByteSpike (docs/CLIENTS.md), from the catalog's /v1/models."""
        home = env.workdir / "home"
        home.mkdir(exist_ok=True)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("ANTHROPIC_", "CLAUDE_", "OPENAI_", "UPSTREAM_")) and k not in ("HTTP_PROXY", "HTTPS_PROXY")}
        out = {**base, **QUIET, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "ANTHROPIC_BASE_URL": env.base_url, "ANTHROPIC_API_KEY": env.api_key}
        if not env.model_info["id"].startswith("claude"):
            # Claude Code sizes auto-compaction for models it does not know from this variable only
            # (it never reads a gateway's /v1/models for that); the catalog says the real window.
            out["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] = str(env.model_info["max_input_tokens"])
        return out

    def run(self, case: Case, env: RunEnv) -> Outcome:
        debug = env.workdir / "claude-debug.log"
        command = [str(self.bin("claude")), "-p", env.prompt(), "--output-format", "stream-json", "--verbose",
                   "--model", case.model, "--max-turns", "4", "--debug-file", str(debug)]
        started = time.monotonic()
        proc = subprocess.run(command, cwd=env.workdir, env=self.environment(env), capture_output=True, text=True,
                              timeout=150, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        calls, results, texts = [], [], []
        session, final = None, None
        for item in lines:
            kind = item.get("type")
            if kind == "system" and item.get("subtype") == "init":
                session = item.get("session_id")
            elif kind == "assistant":
                for block in item["message"].get("content") or ():
                    if block.get("type") == "tool_use":
                        calls.append((block["name"], block.get("input") or {}))
                    elif block.get("type") == "text":
                        texts.append(block["text"])
            elif kind == "user":
                for block in (item.get("message") or {}).get("content") or ():
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        content = block.get("content")
                        results.append(content if isinstance(content, str) else json.dumps(content))
            elif kind == "result":
                final = item
        error = None
        if proc.returncode != 0 or final is None or final.get("is_error"):
            error = (final or {}).get("result") or f"exit {proc.returncode}: {proc.stderr[-2000:]}"
        debug_text = debug.read_text(errors="replace") if debug.exists() else ""
        warnings = [line for line in (debug_text + proc.stderr).splitlines()
                    if any(w in line for w in UNKNOWN_WINDOW)]
        return Outcome(error=error, answer=(final or {}).get("result") or "\n".join(texts), tool_calls=calls,
                       tool_results=results, session_id=session, warnings=warnings, seconds=seconds,
                       log=(proc.stdout[-3000:] + "\n--- stderr ---\n" + proc.stderr[-2000:]))


CLIENTS = [ClaudeCode("2.1.197"), ClaudeCode(NEWEST)]
