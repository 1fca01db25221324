"""The third-party client suite's harness: install pinned clients, run them, read what they did.

A client is one module ``tests/clients/client_<name>.py`` defining ``CLIENTS``: instances of
:class:`Client` that say which registry packages to install (exact versions), which cases to
run (one model per provider, a tool round trip where the client can do one) and how to run one
case and read its outcome. Everything else — installing, the org and key per case, the prompt
with its simulator directives, running all cases in parallel, and the checks (no API error, a
non-empty answer, tool calls parsed, credits billed = ledger) — is here and in test_clients.py,
so adding a client (Codex CLI and Gemini CLI with their surfaces, issues #17/#18) is one file.

Installs go to ``.clients/<client>/`` (gitignored; npm's own cache makes re-installs cheap).
``make test`` installs first (``python -m tests.clients install``); a registry that cannot be
reached leaves an ``.unreachable`` marker and the client's tests skip with a loud message. Any
other install failure fails the suite.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[2]
INSTALL_ROOT = Path(os.environ.get("BYTESPIKE_CLIENTS_DIR", REPO / ".clients"))
LOCKS = Path(__file__).with_name("locks")
_NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH",
                   "network request", "getaddrinfo")

# One model per provider (the catalog's public ids).
PROVIDER_MODELS = {
    "claude": "claude-sonnet-5-5",
    "openai": "gpt-6.2-sol",
    "gemini": "gemini-3.8-flash",
    "deepseek": "deepseek-flash",
    "ark": "doubao-seed-2-1-lite",
}
# Real-world timing for every run, shortened (production: minutes): the model thinks in silence
# (with the provider's own pings where it sends them), then streams its tool arguments slowly.
REALISTIC = "think_ms=1500 ping_ms=500 tool_arg_ms=150"
# Longer than any timer the gateway owns in the test stack (SSE_PING_INTERVAL=5), on an upstream
# that never pings: only the gateway's own keep-alive carries the stream.
LONG_SILENCE = "think_ms=7000"


@dataclass(frozen=True)
class Case:
    client: str  # the Client's name, e.g. "claude-code@2.1.197"
    provider: str
    model: str
    variant: str = ""  # e.g. "anthropic" / "openai-chat" (which surface), "stream" / "generate"
    timing: str = REALISTIC

    @property
    def id(self) -> str:
        silence = "-long-silence" if self.timing == LONG_SILENCE else ""
        return "-".join(p for p in (self.client, self.variant, self.provider) if p) + silence


@dataclass
class RunEnv:
    """What one case gets: the gateway, its own org's key, a fresh work directory, the prompt."""

    base_url: str
    api_key: str
    workdir: Path
    marker: str
    tool_name: str
    tool_input: dict[str, Any]
    timing: str
    model_info: dict[str, Any]  # GET /v1/models/{id} (Anthropic shape): what the catalog says

    @property
    def note_text(self) -> str:
        return f"ByteSpike note {self.marker}"

    def prompt(self) -> str:
        args = base64.urlsafe_b64encode(json.dumps(self.tool_input).encode()).decode().rstrip("=")
        return (f"Read the file notes.txt and tell me what it says. "
                f"[[sim tools=1 tool={self.tool_name} tool_input={args} {self.timing} id={self.marker}]]")


@dataclass
class Outcome:
    """What the client did, as the client itself reports it."""

    error: str | None
    answer: str
    tool_calls: list[tuple[str, dict[str, Any]]]  # (name, input) as the client parsed them
    tool_results: list[str]
    reported_credits: list[int] = field(default_factory=list)  # usage.credits, where the client shows them
    session_id: str | None = None  # the session the client says it ran (Claude Code)
    warnings: list[str] = field(default_factory=list)  # what the client warned about (finding 4)
    seconds: float = 0.0
    log: str = ""


class Client:
    """One pinned client. Subclasses set the class attributes and implement ``cases`` and ``run``."""

    name: str
    npm: ClassVar[dict[str, str]] = {}  # package -> exact version (set per instance where versions vary)
    tool_name: str = "read_note"

    @property
    def home(self) -> Path:
        return INSTALL_ROOT / self.name.replace("@", "-")

    def bin(self, name: str) -> Path:
        return self.home / "node_modules" / ".bin" / name

    def cases(self) -> list[Case]:
        raise NotImplementedError

    def tool_input(self, env_workdir: Path) -> dict[str, Any]:
        return {"name": "notes.txt"}

    def tool(self, case: Case, workdir: Path) -> tuple[str, dict[str, Any]]:
        """The client's own tool the model is steered to call in ``case``, and its input (a client
        whose tool set depends on the model overrides this)."""
        return self.tool_name, self.tool_input(workdir)

    def run(self, case: Case, env: RunEnv) -> Outcome:
        raise NotImplementedError

    # -- install ------------------------------------------------------------------------
    def unreachable(self) -> bool:
        return (self.home / ".unreachable").exists()

    def installed(self) -> bool:
        stamp = self.home / ".installed"
        return stamp.exists() and stamp.read_text() == self._stamp()

    def _manifest(self) -> dict[str, Any]:
        return {"name": "bytespike-client-" + self.name.replace("@", "-").replace(".", "-"), "private": True,
                "dependencies": dict(self.npm)}

    def _lock(self) -> Path:
        return LOCKS / f"{self.name.replace('@', '-')}.json"

    def _stamp(self) -> str:
        lock = self._lock()
        blob = json.dumps(self._manifest(), sort_keys=True).encode() + (lock.read_bytes() if lock.exists() else b"")
        return hashlib.sha256(blob).hexdigest()

    def install(self) -> str:
        """'ok', 'unreachable' (registry down: tests skip loudly), 'missing', or raises (any other failure)."""
        if self.installed():
            return "ok"
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm not found: Node 20 and npm are required for the client suite")
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".unreachable").unlink(missing_ok=True)
        (self.home / "package.json").write_text(json.dumps(self._manifest(), indent=2) + "\n")
        lock = self._lock()
        if lock.exists():
            shutil.copyfile(lock, self.home / "package-lock.json")
            command = [npm, "ci"]
        else:
            command = [npm, "install"]
        env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false",
               "npm_config_audit": "false"}
        proc = subprocess.run([*command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=self.home, env=env,
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            output = proc.stdout + proc.stderr
            if any(marker in output for marker in _NETWORK_ERRORS):
                (self.home / ".unreachable").write_text(output[-4000:])
                return "unreachable"
            raise RuntimeError(f"npm install of {self.name} failed:\n{output[-4000:]}")
        if not lock.exists():  # first install: pin the whole tree for every later one
            LOCKS.mkdir(exist_ok=True)
            shutil.copyfile(self.home / "package-lock.json", lock)
        (self.home / ".installed").write_text(self._stamp())
        return "ok"


def all_clients() -> list[Client]:
    """Every ``client_*.py`` module's ``CLIENTS``, in name order."""
    found: list[Client] = []
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if info.name.startswith("client_"):
            module = importlib.import_module(f"tests.clients.{info.name}")
            found.extend(module.CLIENTS)
    return found


def install_all() -> int:
    """``python -m tests.clients install``: what ``make test`` runs before the tests."""
    failed = 0
    for client in all_clients():
        try:
            status = client.install()
        except Exception as exc:
            print(f"client {client.name}: install FAILED: {exc}", file=sys.stderr)
            failed += 1
            continue
        if status == "missing":
            print(f"client {client.name}: NOT AVAILABLE on this machine", file=sys.stderr)
            failed += 1
        elif status == "unreachable":
            print("\n" + "!" * 78 + f"\n!!! client {client.name}: the npm registry is UNREACHABLE; its conformance "
                  "tests will be SKIPPED\n" + "!" * 78 + "\n", file=sys.stderr)
        else:
            print(f"client {client.name}: installed ({', '.join(f'{k}@{v}' for k, v in client.npm.items())})")
    return 1 if failed else 0
