"""Where ByteSpike's CPU goes per request.

The ByteSpike gateway process runs c=1 load while its own CPU-time sampler
(``bench/bs_gateway.py``: SIGPROF from ``setitimer(ITIMER_PROF, 1 ms)``) records the Python
stack after every millisecond of process CPU time. Being driven by CPU time, it never counts
time spent preempted, so its shares hold on a busy 2-core machine (a wall-clock sampler such
as py-spy counts runnable-but-preempted time too, which piles up after every syscall that
wakes another process; and perf's DWARF unwinding cannot cross Python 3.12's perf
trampolines). Where ``perf`` exists, leaf-only ``perf record -e cpu-clock`` samples say
which native code the CPU time is in (interpreter, kernel, uvloop, C parsers).

Attribution (per sample, Python frames read from the leaf up; native frames such as the
kernel's send/recv or uvloop's C code are charged to the Python code that called them):
  1. any frame in aiobotocore/botocore/aiohttp/aioboto3 -> "DynamoDB client", split by the
     leaf-most botocore/aiohttp frame: SigV4 signing (auth.py, signers.py), request
     serialisation + parameter validation (serialize.py, validate.py), response parsing
     (parsers.py), HTTP transport (aiohttp, aiobotocore/httpsession.py), other botocore
     (event hooks, endpoint, user agent, retries, model lookups);
  2. aiohttp under bytespike/providers -> "upstream client (aiohttp)" (the chat upstreams);
     aiohttp with no caller frame (its protocol callbacks) -> "aiohttp I/O callbacks";
     any frame in httpx/httpcore -> "httpx upstream client" (media upstreams);
  3. any frame in pydantic -> "pydantic validation";
  4. else the leaf-most non-stdlib frame decides: uvicorn httptools/h11 protocol ->
     "uvicorn + httptools" / "uvicorn + h11"; starlette -> "Starlette";
     anyio -> "anyio"; bytespike -> "our code" (stdlib json below it -> "json (our code)");
  5. no Python frame below the event loop: "event loop + native I/O" (uvloop, httptools'
     C parser callbacks, socket syscalls, GC).
Native work (syscalls, C extensions) is charged to the Python frame that called into it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import Counter
from typing import Any

from bench.client import get_json
from bench.systems import OUT, Harness, cpu_seconds

PERF = shutil.which("perf")

THIRD_PARTY = {"aiobotocore", "botocore", "aiohttp", "aioboto3", "aiohappyeyeballs", "yarl", "multidict", "frozenlist",
               "propcache", "aiosignal", "httpx", "httpcore", "h11", "anyio", "sniffio", "pydantic", "pydantic_core",
               "uvicorn", "starlette", "fastapi", "httptools", "uvloop", "idna", "certifi", "bytespike", "bench",
               "jmespath", "urllib3", "dateutil", "s3transfer", "boto3", "typing_extensions.py", "annotated_doc",
               "wrapt", "aws_lambda_powertools"}


def _file(frame: str) -> str:
    """``function (pkg/module.py:123)`` -> ``/pkg/module.py``."""
    if "(" in frame and frame.endswith(")"):
        frame = frame[frame.rfind("(") + 1:-1].rsplit(":", 1)[0]
    return "/" + frame.lstrip("/")


def _is_stdlib(path: str) -> bool:
    top = path.lstrip("/").split("/", 1)[0]
    return top not in THIRD_PARTY and "site-packages" not in path


def categorize(stack: list[str]) -> tuple[str, str]:
    """(category, leaf label) for one sample; ``stack`` is root-first Python frames."""
    files = [_file(f) for f in stack]
    leaf = stack[-1] if stack else "?"
    if any(f.startswith("_LeanDynamo.") for f in stack) and not any(
            x in f for f in files for x in ("/aiohttp/", "/yarl/", "/multidict/", "/aiohappyeyeballs/")):
        return "DynamoDB client: SigV4 + JSON (store/dynamo.py)", leaf
    aio = any(f.startswith(("/aiohttp/", "/yarl/", "/multidict/", "/aiohappyeyeballs/")) for f in files)
    if aio and any(f.startswith("/bytespike/providers/") for f in files):
        return "upstream client (aiohttp)", leaf
    if aio and not any(f.startswith(("/bytespike/store/", "/aiobotocore/", "/botocore/")) for f in files):
        return "aiohttp I/O callbacks (upstream + DynamoDB)", leaf
    if any(x in f for f in files for x in ("/aiobotocore/", "/botocore/", "/aiohttp/", "/aioboto3/")):
        for f in reversed(files):
            if f.startswith("/botocore/"):
                base = f.rsplit("/", 1)[-1]
                if base in ("auth.py", "signers.py"):
                    return "DynamoDB client: SigV4 signing", leaf
                if base in ("serialize.py", "validate.py"):
                    return "DynamoDB client: serialise + validate", leaf
                if base == "parsers.py":
                    return "DynamoDB client: parse response", leaf
                return "DynamoDB client: other botocore (hooks, endpoint, user agent)", leaf
            if f.startswith(("/aiohttp/", "/yarl/", "/multidict/", "/aiohappyeyeballs/")) or f.endswith(
                    "aiobotocore/httpsession.py"):
                return "DynamoDB client: HTTP transport (aiohttp)", leaf
            if f.startswith("/aiobotocore/"):
                return "DynamoDB client: other botocore (hooks, endpoint, user agent)", leaf
        return "DynamoDB client: other botocore (hooks, endpoint, user agent)", leaf
    if any(f.startswith(("/httpx/", "/httpcore/")) for f in files):
        return "httpx upstream client", leaf
    if any(f.startswith(("/pydantic/", "/pydantic_core/")) for f in files):
        return "pydantic validation", leaf
    lib = next((f for f in reversed(files) if not _is_stdlib(f)), None)
    if lib is not None:
        if lib.startswith("/uvicorn/"):
            if "httptools" in lib:
                return "uvicorn + httptools (HTTP server)", leaf
            if "h11" in lib:
                return "uvicorn + h11 (HTTP server)", leaf
            return "event loop + native I/O (uvloop, sockets, GC)", leaf  # uvicorn's run loop frame only
        if lib.startswith(("/starlette/", "/fastapi/")):
            return "Starlette (routing, request, response)", leaf
        if lib.startswith(("/anyio/", "/sniffio/")):
            return "anyio (StreamingResponse task group)", leaf
        if lib.startswith("/bytespike/"):
            if _file(leaf).endswith(("json/encoder.py", "json/decoder.py", "json/__init__.py")):
                return "json (called by our code)", leaf
            return "our code (bytespike)", leaf
        if lib.startswith("/bench/"):
            return "bench instrumentation", leaf
        return "other library: " + lib.lstrip("/").split("/", 1)[0], leaf
    lf = _file(leaf)
    if "/json/" in lf:
        return "json", leaf
    return "event loop + native I/O (uvloop, sockets, GC)", leaf


# ------------------------------------------------------------------ sampling
async def _load(s: Any, raw: bytes, seconds: float) -> tuple[int, float]:
    conn = s.connection()
    c0, t0 = cpu_seconds(s.pid), time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
        await conn.request(raw, None)
        n += 1
    return n, cpu_seconds(s.pid) - c0


async def profile_case(h: Harness, s: Any, name: str, lane: str, stream: bool, directives: str,
                       seconds: float) -> dict[str, Any]:
    raw = s.request(lane, stream, directives)
    assert raw is not None
    conn = s.connection()
    for _ in range(30):
        await conn.request(raw, None)
    data = OUT / f"perf-{name}.data"
    rec = None
    if PERF:  # leaf-only cpu-clock samples: which native code the CPU time is in
        rec = subprocess.Popen([PERF, "record", "-e", "cpu-clock", "-F", "999", "-p", str(s.pid), "-o", str(data),
                                "--", "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await get_json("127.0.0.1", s.port, "/_bench/sampler/start?interval=0.001")
    n, cpu = await _load(s, raw, seconds - 0.5)
    stacks = await get_json("127.0.0.1", s.port, "/_bench/sampler/stop")
    cats: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    lines = []
    for frames, count in stacks:  # type: ignore[union-attr]
        frames = [f for f in frames if not f.startswith(("CpuSampler.", "<module> (bench/", "main (bench/"))]
        cat, leaf = categorize(frames)
        cats[cat] += count
        total += count
        if cat.startswith(("our code", "json (called")):
            leaves[leaf] += count
        lines.append(";".join(frames) + f" {count}")
    (OUT / f"profile-{name}.txt").write_text("\n".join(lines) + "\n")  # collapsed stacks (flamegraph.pl, speedscope)
    kinds: Counter[str] = Counter()
    if rec is not None:
        await asyncio.to_thread(rec.wait, 60)
        text = await asyncio.to_thread(lambda: subprocess.run(
            [PERF, "script", "-i", str(data), "-F", "ip,sym,dso"], capture_output=True, text=True, timeout=300).stdout)
        for line in text.splitlines():
            line = line.strip()
            if not line.endswith(")"):
                continue
            dso = line[line.rfind("(") + 1:-1]
            kinds[_dso_kind(dso)] += 1
        data.unlink(missing_ok=True)
    total = max(1, total)
    ktotal = max(1, sum(kinds.values()))
    cpu_ms = cpu * 1000 / max(1, n)
    return {
        "name": name, "lane": lane, "stream": stream, "tool": "SIGPROF CPU-time sampler", "requests": n,
        "dynamo": "stub" if s.key == "bytespike_stub" else "moto",
        "cpu_ms_per_request": cpu_ms, "samples": total,
        "rows": [{"category": c, "share": k / total, "cpu_ms": cpu_ms * k / total} for c, k in cats.most_common()],
        "native_leaf": [{"kind": c, "share": k / ktotal} for c, k in kinds.most_common()],
        "top_own_frames": [{"frame": f, "share": k / total} for f, k in leaves.most_common(12)],
    }


def _dso_kind(dso: str) -> str:
    base = dso.rsplit("/", 1)[-1]
    if "kernel" in dso:
        return "kernel (syscalls, loopback TCP)"
    if "libpython" in base or base.startswith("python3"):
        return "CPython interpreter"
    if base.startswith("loop.cpython"):
        return "uvloop (C)"
    if base.startswith("parser.cpython") or "httptools" in dso:
        return "httptools parser (C)"
    if base.startswith("_http_parser") or "aiohttp" in dso:
        return "aiohttp C helpers"
    if "_json" in base:
        return "json C accelerator"
    if "libc.so" in base or "libm.so" in base or "ld-linux" in base:
        return "libc"
    if "pydantic_core" in dso:
        return "pydantic-core (Rust)"
    if "libcrypto" in base or "_hashlib" in base:
        return "OpenSSL (hashing, HMAC)"
    return "other native: " + base.split(".", 1)[0]


async def profile_all(h: Harness, seconds: float, mode: str = "moto") -> dict[str, Any]:
    s = h.systems["bytespike" if mode == "moto" else "bytespike_stub"]
    out: dict[str, Any] = {}
    try:
        for name, lane, stream, d in (("non-streaming", "oai>oai", False, "deltas=8"),
                                      ("stream 32 deltas", "oai>oai", True, "deltas=32"),
                                      ("stream OpenAI→Claude", "oai>ant", True, "deltas=32")):
            try:
                out[name] = await profile_case(h, s, name.replace(" ", "_").replace("→", "-"), lane, stream, d, seconds)
                out[name]["name"] = name
            except Exception as exc:  # profiling is best effort; the benchmark stands without it
                out[name] = {"error": repr(exc)}
    finally:
        for f in OUT.glob("perf-*.data*"):
            f.unlink(missing_ok=True)
    return out
