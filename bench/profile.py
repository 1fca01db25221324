"""Where ByteSpike's CPU goes per request: py-spy samples of the gateway process under c=1
load, each sample attributed to one component.

Attribution (per sample, stack read from the leaf up):
  1. any frame in aiobotocore/botocore/aiohttp/aioboto3 -> "DynamoDB client", split by the
     leaf-most botocore/aiohttp frame: SigV4 signing (auth.py, signers.py), request
     serialisation + parameter validation (serialize.py, validate.py), response parsing
     (parsers.py), HTTP transport (aiohttp, aiobotocore/httpsession.py), other botocore
     (hooks/events, endpoint, retries, model lookups);
  2. any frame in httpx/httpcore (h11 under httpcore included) -> "httpx upstream client";
  3. any frame in pydantic -> "pydantic validation";
  4. else the leaf-most non-stdlib frame decides: uvicorn httptools/h11 protocol ->
     "uvicorn + httptools" / "uvicorn + h11"; starlette/fastapi -> "FastAPI/Starlette";
     anyio -> "anyio"; bytespike -> "our code" (stdlib json below it -> "json (our code)");
  5. all-stdlib stacks: json -> "json", asyncio/uvloop/selectors -> "event loop", else "other".
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.systems import OUT, PROJECT_PY, Harness, cpu_seconds

PYSPY = PROJECT_PY.parent / "py-spy"


def _file(frame: str) -> str:
    # raw format: "function (path/to/file.py:123)"
    if "(" in frame and frame.endswith(")"):
        return frame[frame.rfind("(") + 1:-1].rsplit(":", 1)[0]
    return frame


def _is_stdlib(path: str) -> bool:
    return "site-packages" not in path and "/bytespike/" not in path and "/bench/" not in path


def categorize(stack: list[str]) -> tuple[str, str]:
    """(category, leaf label) for one sample; ``stack`` is root-first."""
    files = [_file(f) for f in stack]
    leaf = stack[-1] if stack else "?"
    if any(x in f for f in files for x in ("/aiobotocore/", "/botocore/", "/aiohttp/", "/aioboto3/")):
        for f in reversed(files):
            if "/botocore/" in f and "/aiobotocore/" not in f:
                base = f.rsplit("/", 1)[-1]
                if base in ("auth.py", "signers.py"):
                    return "DynamoDB client: SigV4 signing", leaf
                if base in ("serialize.py", "validate.py"):
                    return "DynamoDB client: serialise + validate", leaf
                if base == "parsers.py":
                    return "DynamoDB client: parse response", leaf
                return "DynamoDB client: other botocore (hooks, endpoint, model)", leaf
            if "/aiohttp/" in f or f.endswith("aiobotocore/httpsession.py") or "/yarl/" in f or "/multidict/" in f:
                return "DynamoDB client: HTTP transport (aiohttp)", leaf
            if "/aiobotocore/" in f:
                return "DynamoDB client: other botocore (hooks, endpoint, model)", leaf
        return "DynamoDB client: other botocore (hooks, endpoint, model)", leaf
    if any("/httpx/" in f or "/httpcore/" in f for f in files):
        return "httpx upstream client", leaf
    if any("/pydantic/" in f or "/pydantic_core/" in f for f in files):
        return "pydantic validation", leaf
    lib = next((f for f in reversed(files) if not _is_stdlib(f)), None)
    if lib is not None:
        if "/uvicorn/" in lib:
            if "httptools" in lib:
                return "uvicorn + httptools (HTTP server)", leaf
            if "h11" in lib:
                return "uvicorn + h11 (HTTP server)", leaf
            return "uvicorn (other)", leaf
        if "/starlette/" in lib or "/fastapi/" in lib:
            return "FastAPI/Starlette (routing, request, response)", leaf
        if "/anyio/" in lib:
            return "anyio", leaf
        if "/bytespike/" in lib:
            if _file(leaf).endswith(("json/encoder.py", "json/decoder.py", "json/__init__.py")):
                return "json (called by our code)", leaf
            return "our code (bytespike)", leaf
        if "/bench/" in lib:
            return "bench instrumentation", leaf
        return "other library: " + lib.split("site-packages/", 1)[-1].split("/", 1)[0], leaf
    lf = _file(leaf)
    if "/json/" in lf:
        return "json", leaf
    if "asyncio" in lf or "uvloop" in lf or "selectors" in lf:
        return "event loop (asyncio/uvloop)", leaf
    return "other (stdlib, interpreter)", leaf


def aggregate(raw_path: Path) -> tuple[Counter[str], Counter[str], int]:
    cats: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack_s, _, count_s = line.rpartition(" ")
        if not stack_s or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [f for f in stack_s.split(";") if f]
        if frames and frames[0].startswith("process ") or (frames and frames[0].startswith("thread ")):
            frames = frames[1:]
        while frames and frames[0].startswith(("process ", "thread ")):
            frames = frames[1:]
        cat, leaf = categorize(frames)
        cats[cat] += count
        if cat.startswith("our code") or cat.startswith("json (called"):
            leaves[leaf] += count
        total += count
    return cats, leaves, total


async def profile_case(h: Harness, name: str, lane: str, stream: bool, directives: str, seconds: float) -> dict[str, Any]:
    s = h.systems["bytespike"]
    raw = s.request(lane, stream, directives)
    assert raw is not None
    conn = s.connection()
    for _ in range(20):
        await conn.request(raw, None)
    out_raw = OUT / f"profile-{name}.txt"
    proc = subprocess.Popen([str(PYSPY), "record", "--pid", str(s.pid), "--rate", "400", "--nonblocking",
                             "--format", "raw", "-o", str(out_raw), "-d", str(int(seconds))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(0.8)
    c0, t0 = cpu_seconds(s.pid), time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds - 1.5:
        await conn.request(raw, None)
        n += 1
    cpu = cpu_seconds(s.pid) - c0
    await asyncio.to_thread(proc.wait, 30)
    cats, leaves, total = aggregate(out_raw)
    cpu_ms = cpu * 1000 / max(1, n)
    rows = [{"category": c, "share": k / total, "cpu_ms": cpu_ms * k / total} for c, k in cats.most_common()]
    top = [{"frame": f, "share": k / total} for f, k in leaves.most_common(12)]
    return {"name": name, "lane": lane, "stream": stream, "requests": n, "cpu_ms_per_request": cpu_ms,
            "samples": total, "rows": rows, "top_own_frames": top}


async def profile_all(h: Harness, seconds: float) -> dict[str, Any]:
    if not PYSPY.exists():
        return {"skipped": f"{PYSPY} not found"}
    out = {}
    for name, lane, stream, d in (("nonstream", "oai>oai", False, "deltas=8"),
                                  ("stream32", "oai>oai", True, "deltas=32"),
                                  ("cross-oai-to-claude", "oai>ant", True, "deltas=32")):
        try:
            out[name] = await profile_case(h, name, lane, stream, d, seconds)
        except Exception as exc:  # profiling is best effort; the benchmark stands without it
            out[name] = {"error": repr(exc)}
    return out
