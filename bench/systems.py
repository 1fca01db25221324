"""The systems under test: the upstream double (direct), ByteSpike (+ a DynamoDB-stubbed twin),
the LiteLLM proxy and the Portkey gateway. Each is one OS process whose pid the harness
reads CPU time (/proc/<pid>/stat) and RSS (/proc/<pid>/status) from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Conn, build_get, build_request

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PROJECT_PY = Path(os.environ.get("BENCH_PROJECT_PYTHON", ROOT / ".venv" / "bin" / "python"))
LITELLM_VENV = Path(os.environ.get("BENCH_LITELLM_VENV", ROOT / ".venv-litellm"))
PORTKEY_DIR = Path(os.environ.get("BENCH_PORTKEY_DIR", ROOT / ".bench" / "portkey"))
PORTKEY_JS = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
CLK_TCK = os.sysconf("SC_CLK_TCK")

MODELS = {"openai": "gpt-6-luna", "anthropic": "claude-haiku-5-5", "responses": "gpt-6-luna"}
# lane -> (client protocol, upstream protocol)
LANES = {
    "oai>oai": ("openai", "openai"),
    "ant>ant": ("anthropic", "anthropic"),
    "oai>ant": ("openai", "anthropic"),
    "ant>oai": ("anthropic", "openai"),
    # OpenAI Responses clients (issue 17): by pass-through to OpenAI's Responses, through the hub to Claude
    "rsp>rsp": ("responses", "responses"),
    "rsp>ant": ("responses", "anthropic"),
}
LANE_LABEL = {
    "oai>oai": "OpenAI client → OpenAI-format upstream",
    "ant>ant": "Anthropic client → Claude upstream",
    "oai>ant": "OpenAI client → Claude-format upstream",
    "ant>oai": "Anthropic client → OpenAI-format upstream",
    "rsp>rsp": "OpenAI Responses client → OpenAI Responses upstream",
    "rsp>ant": "OpenAI Responses client → Claude-format upstream",
}
LITELLM_KEY = "sk-bench-master"
BENCH_CREDITS = 10_000_000_000  # $10,000 on the demo wallet: far above what any run can hold at once
SIM_KEY = "sk-sim-local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrubbed_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("UPSTREAM_") or k.endswith("_API_KEY") or k.startswith("LITELLM")
                   or k in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"))}
    env.update(extra)
    return env


# ------------------------------------------------------------------ /proc
# Processes measured apart from their parent: the local stack's AWS side (DynamoDB + the release
# poller) is a child of the gateway process, but on AWS neither is in the gateway's Lambda.
APART: set[int] = set()


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo.extend(c for c in map(int, fh.read().split()) if c not in APART)
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its descendants (less those in ``APART``), from
    /proc/<pid>/stat (clock ticks)."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


# ------------------------------------------------------------------ processes
class Procs:
    """Every process the harness starts, each in its own session, stopped by pid."""

    def __init__(self) -> None:
        self.items: list[subprocess.Popen] = []
        (OUT / "logs").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              stdout_pipe: bool = False) -> subprocess.Popen:
        with open(OUT / "logs" / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
                                    start_new_session=True)
        self.items.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 5.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the group this harness created for it
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
        if proc in self.items:
            self.items.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.items)):
            self.stop(proc)


async def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, poll: float = 0.005) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return time.perf_counter()
        except OSError:
            await asyncio.sleep(poll)
    raise TimeoutError(f"port {port} not open after {timeout}s")


async def wait_healthy(port: int, proc: subprocess.Popen, timeout: float) -> dict:
    """The local stack's ``/healthz`` JSON once it answers 200 (it seeds its tables first)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        conn = Conn("127.0.0.1", port)
        try:
            res, data = await conn.request(build_get("127.0.0.1", port, "/healthz"), keep_body=True, timeout=5)
            if res.status == 200:
                return json.loads(data)
        finally:
            conn.close()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{proc.args!r}: not healthy after {timeout:.0f} s")


async def top_up(port: int, operator_key: str, credits: int) -> None:
    """Fund the demo org through the admin API (the operator credential from the stack's env file)."""
    raw = build_request("127.0.0.1", port, "/v1/orgs/demo/topups", {"authorization": f"Bearer {operator_key}"},
                        {"amount": credits, "topup_id": f"bench-{int(time.time())}"})
    conn = Conn("127.0.0.1", port)
    try:
        res, data = await conn.request(raw, keep_body=True, timeout=60)
    finally:
        conn.close()
    if res.status not in (200, 201):
        raise RuntimeError(f"bench top-up failed: {res.status} {data[:300]!r}")


# ------------------------------------------------------------------ systems
def body(proto: str, model: str, stream: bool, directives: str) -> dict:
    b: dict = {"model": model, "max_tokens": 64,
               "messages": [{"role": "user", "content": f"Say hello. [[sim {directives}]]"}]}
    if proto == "responses":
        b = {"model": model, "max_output_tokens": 64, "input": f"Say hello. [[sim {directives}]]"}
    if stream:
        b["stream"] = True
    return b


@dataclass
class System:
    key: str
    label: str
    port: int = 0
    pid: int = 0
    version: str = ""
    unsupported: dict[str, str] = field(default_factory=dict)  # lane -> reason
    conn: Conn | None = None

    def path_headers(self, lane: str) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def request(self, lane: str, stream: bool, directives: str) -> bytes | None:
        if lane in self.unsupported:
            return None
        client_proto, upstream = LANES[lane]
        path, headers = self.path_headers(lane)
        proto = upstream if self.key == "direct" else client_proto
        return build_request("127.0.0.1", self.port, path, headers, body(proto, MODELS[upstream], stream, directives))

    def connection(self) -> Conn:
        if self.conn is None:
            self.conn = Conn("127.0.0.1", self.port)
        return self.conn


class Direct(System):
    def path_headers(self, lane: str) -> tuple[str, dict[str, str]]:
        upstream = LANES[lane][1]
        if upstream == "openai":
            return "/openai/v1/chat/completions", {"authorization": f"Bearer {SIM_KEY}"}
        if upstream == "responses":
            return "/openai/v1/responses", {"authorization": f"Bearer {SIM_KEY}"}
        return "/anthropic/v1/messages", {"x-api-key": SIM_KEY, "anthropic-version": "2023-06-01"}


class KeyedGateway(System):
    secret: str = ""

    def path_headers(self, lane: str) -> tuple[str, dict[str, str]]:
        if LANES[lane][0] == "openai":
            return "/v1/chat/completions", {"authorization": f"Bearer {self.secret}"}
        if LANES[lane][0] == "responses":
            return "/v1/responses", {"authorization": f"Bearer {self.secret}"}
        return "/v1/messages", {"x-api-key": self.secret, "anthropic-version": "2023-06-01"}


class Portkey(System):
    upstream_port: int = 0

    def path_headers(self, lane: str) -> tuple[str, dict[str, str]]:
        client_proto, upstream = LANES[lane]
        provider = "openai" if upstream == "responses" else upstream
        host = f"http://127.0.0.1:{self.upstream_port}/" + ("openai/v1" if provider == "openai" else "anthropic/v1")
        headers = {"x-portkey-provider": provider, "x-portkey-custom-host": host}
        if client_proto in ("openai", "responses"):
            headers["authorization"] = f"Bearer {SIM_KEY}"
            return ("/v1/chat/completions" if client_proto == "openai" else "/v1/responses"), headers
        headers.update({"x-api-key": SIM_KEY, "anthropic-version": "2023-06-01"})
        return "/v1/messages", headers


class Harness:
    """Starts and stops everything; the scenarios only see ``systems``."""

    def __init__(self, with_peers: bool = True, with_stub: bool = True) -> None:
        self.procs = Procs()
        self.with_peers = with_peers
        self.with_stub = with_stub
        self.double_port = free_port()
        self.systems: dict[str, System] = {}
        self.side: dict[str, dict] = {}  # dynamo side info per mode
        self.notes: list[str] = []

    # ---- start
    async def start(self) -> None:
        p = self.procs.start("double", [str(PROJECT_PY), str(ROOT / "bench" / "double.py"), "--port", str(self.double_port)])
        await wait_port(self.double_port, 20, p)
        self.systems["direct"] = Direct("direct", "direct (no gateway)", self.double_port, p.pid)
        await self.start_bytespike("bytespike", "moto")
        if self.with_stub:
            await self.start_bytespike("bytespike_stub", "stub")
        if self.with_peers:
            await self.start_litellm()
            await self.start_portkey()

    async def start_bytespike(self, key: str, mode: str) -> None:
        if mode == "stub" and "stub" not in self.side:
            self.start_stub()
        await self.start_gateway(key, mode)

    def start_stub(self) -> None:
        """The zero-latency DynamoDB double (``bench/dynamo_stub.py``) the stubbed twin joins."""
        port = free_port()
        proc = self.procs.start("dynamo-stub", [str(PROJECT_PY), str(ROOT / "bench" / "dynamo_stub.py"),
                                                "--port", str(port)], cwd=ROOT)
        self.side["stub"] = {"url": f"http://127.0.0.1:{port}", "proc_pid": proc.pid, "proc": proc}

    async def start_gateway(self, key: str, mode: str, extra_args: tuple[str, ...] = (), **env: str) -> System:
        """The local stack ``make dev`` runs (``bench/bs_gateway.py`` = ``python -m bytespike.local`` plus
        read-only instrumentation), its upstreams on the double.

        ``moto``: the first one starts its own AWS side (local DynamoDB + release poller, a process
        of its own); later ones (the A/B variants) join that DynamoDB without a poller or sweeper of
        their own. ``stub``: joins the zero-latency DynamoDB double, no poller, no sweeper.
        """
        gport = free_port()
        args = ["--port", str(gport), "--simulator-url", f"http://127.0.0.1:{self.double_port}",
                "--env-file", str(OUT / f"{key}.env"), "--no-reuse-key", "--table-prefix", "bench"]
        joined = self.side.get(mode, {}).get("url")
        if joined:
            args += ["--dynamodb-url", joined, "--poll-interval", "0", "--sweep-interval", "0"]
            await wait_port(int(joined.rsplit(":", 1)[1]), 60, self.side[mode].get("proc"))
        g = self.procs.start(key, [str(PROJECT_PY), str(ROOT / "bench" / "bs_gateway.py"), *args, *extra_args],
                             env=scrubbed_env(**env), cwd=ROOT)
        await wait_port(gport, 120, g)
        info = await wait_healthy(gport, g, 120)
        if not joined:
            self.side[mode] = {"url": info["dynamodb_url"], "proc_pid": info["aws_side_pid"]}
        label = "ByteSpike" if mode == "moto" else "ByteSpike, DynamoDB stubbed"
        s = KeyedGateway(key, label, gport, g.pid)
        if info.get("aws_side_pid"):
            APART.add(info["aws_side_pid"])
        exported = dict(line[len("export "):].split("=", 1) for line in (OUT / f"{key}.env").read_text().splitlines()
                        if line.startswith("export "))
        s.secret = exported["ANTHROPIC_API_KEY"]
        if mode == "moto" and not joined:  # thousands of holds must never run the demo wallet dry
            await top_up(gport, exported["BYTESPIKE_OPERATOR_KEY"], BENCH_CREDITS)
        s.proc = g  # type: ignore[attr-defined]
        self.systems[key] = s
        return s

    def litellm_config(self, path: Path) -> Path:
        d = self.double_port
        path.write_text(
            "model_list:\n"
            "  - model_name: gpt-6-luna\n"
            "    litellm_params:\n"
            "      model: openai/gpt-6-luna\n"
            f"      api_base: http://127.0.0.1:{d}/openai/v1\n"
            f"      api_key: {SIM_KEY}\n"
            "  - model_name: claude-haiku-5-5\n"
            "    litellm_params:\n"
            "      model: anthropic/claude-haiku-5-5\n"
            f"      api_base: http://127.0.0.1:{d}/anthropic\n"
            f"      api_key: {SIM_KEY}\n"
            "general_settings:\n"
            f"  master_key: {LITELLM_KEY}\n"
            "litellm_settings:\n"
            "  drop_params: true\n"
            "  # Anthropic clients on OpenAI models: Chat Completions upstream, not the Responses API\n"
            "  use_chat_completions_url_for_anthropic_messages: true\n"
        )
        return path

    def litellm_argv(self, port: int) -> tuple[list[str], dict[str, str]]:
        cfg = self.litellm_config(OUT / "litellm-config.yaml")
        argv = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(cfg), "--host", "127.0.0.1",
                "--port", str(port), "--num_workers", "1"]
        env = scrubbed_env(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
        return argv, env

    async def start_litellm(self) -> None:
        port = free_port()
        argv, env = self.litellm_argv(port)
        p = self.procs.start("litellm", argv, env=env, cwd=OUT)
        await wait_port(port, 240, p, poll=0.1)
        s = KeyedGateway("litellm", "LiteLLM proxy", port, p.pid)
        s.secret = LITELLM_KEY
        self.systems["litellm"] = s

    def portkey_argv(self, port: int) -> tuple[list[str], dict[str, str]]:
        return ["node", str(PORTKEY_JS), f"--port={port}", "--headless"], scrubbed_env(NODE_ENV="production")

    async def start_portkey(self) -> None:
        port = free_port()
        argv, env = self.portkey_argv(port)
        p = self.procs.start("portkey", argv, env=env, cwd=PORTKEY_DIR)
        await wait_port(port, 60, p, poll=0.05)
        s = Portkey("portkey", "Portkey gateway", port, p.pid)
        s.upstream_port = self.double_port
        self.systems["portkey"] = s

    # ---- lanes
    async def probe_lanes(self, lanes: tuple[str, ...] = tuple(LANES)) -> None:
        """One request per lane and mode; a lane a system cannot serve is marked with the reason."""
        for s in self.systems.values():
            for lane in lanes:
                for stream in (False, True):
                    raw = s.request(lane, stream, "deltas=4")
                    if raw is None:
                        continue
                    ok, reason = False, ""
                    for _attempt in range(3):
                        res, data = await s.connection().request(raw, keep_body=True, timeout=30)
                        ok = res.ok and data.count(b"lorem") >= 4
                        if ok:
                            break
                        reason = f"HTTP {res.status} {res.error} {data[:160].decode(errors='replace')}".strip()
                        await asyncio.sleep(0.5)
                    if not ok:
                        s.unsupported[lane] = reason
                        print(f"  {s.label}: {lane} {'stream' if stream else 'json'} unsupported: {reason}", file=sys.stderr)

    async def stop(self) -> None:
        for s in self.systems.values():
            if s.conn is not None:
                s.conn.close()
        self.procs.stop_all()
