"""Scenarios 1-8 of issue 9. Every timed figure is a median over interleaved rounds; in each
round every system runs the same batch in turn (the order rotates by round) and "added"
means the system's figure minus the direct call's figure from the same round.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.client import Conn, Result, build_request, get_json
from bench.systems import (
    LANES,
    LITELLM_VENV,
    PROJECT_PY,
    ROOT,
    Harness,
    System,
    cpu_seconds,
    free_port,
    rss_mb,
    scrubbed_env,
    wait_port,
)

MARK = b"lorem"
PEERS = ("bytespike", "bytespike_stub", "litellm", "portkey")


@dataclass
class Plan:
    rounds: int = 9
    n_nonstream: int = 100
    n_stream32: int = 40
    n_stream256: int = 16
    n_cross: int = 30
    n_ttft: int = 4
    ttft_rounds: int = 5
    tput_rounds: int = 3
    tput_seconds: float = 6.0
    tput_conc: int = 32
    cold_reps: int = 3
    proxy_reps: int = 2
    mem_streams: int = 200
    dyn_reqs: int = 20
    profile_seconds: float = 20.0
    warmup: int = 10
    lanes: tuple[str, ...] = ("oai>oai", "ant>ant", "oai>ant", "ant>oai", "rsp>rsp", "rsp>ant")


FULL = Plan()
QUICK = Plan(rounds=3, n_nonstream=40, n_stream32=12, n_stream256=5, n_cross=10, n_ttft=2, ttft_rounds=2,
             tput_rounds=1, tput_seconds=2.5, cold_reps=1, proxy_reps=1, dyn_reqs=8, profile_seconds=8, warmup=5)
SMOKE = Plan(rounds=1, n_nonstream=5, dyn_reqs=2, warmup=2, lanes=("oai>oai",))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def med(values: list[float]) -> float:
    vals = [v for v in values if v == v]
    return statistics.median(vals) if vals else float("nan")


# ------------------------------------------------------------------ primitives
@dataclass
class Batch:
    results: list[Result]
    cpu_s: float
    wall: float

    @property
    def ok(self) -> list[Result]:
        return [r for r in self.results if r.ok]

    def summary(self) -> dict[str, float]:
        ok = self.ok
        n = len(self.results)
        return {
            "p50": pct([r.total for r in ok], 0.5) * 1000,
            "p99": pct([r.total for r in ok], 0.99) * 1000,
            "ttfb": pct([r.ttfb for r in ok], 0.5) * 1000,
            "ttft": pct([r.ttft for r in ok], 0.5) * 1000,
            "cpu_ms": self.cpu_s * 1000 / max(1, n),
            "errors": n - len(ok),
            "n": n,
            "error_samples": sorted({f"HTTP {r.status} {r.error}".strip() for r in self.results if not r.ok})[:3],
        }


async def seq_batch(s: System, raw: bytes, n: int, marker: bytes | None = MARK) -> Batch:
    conn = s.connection()
    c0, t0 = cpu_seconds(s.pid), time.perf_counter()
    results = []
    for _ in range(n):
        res, _ = await conn.request(raw, marker)
        results.append(res)
    return Batch(results, cpu_seconds(s.pid) - c0, time.perf_counter() - t0)


async def warm(s: System, raw: bytes, n: int) -> None:
    conn = s.connection()
    for _ in range(n):
        await conn.request(raw, MARK)


async def interleaved(h: Harness, keys: list[str], lane: str, stream: bool, directives: str, n: int, rounds: int,
                      warmup: int) -> dict[str, list[dict[str, float]]]:
    systems = [h.systems[k] for k in keys if k in h.systems]
    raws = {s.key: s.request(lane, stream, directives) for s in systems}
    for s in systems:
        if raws[s.key] is not None:
            await warm(s, raws[s.key], warmup)  # type: ignore[arg-type]
    per_round: dict[str, list[dict[str, float]]] = {s.key: [] for s in systems if raws[s.key] is not None}
    for r in range(rounds):
        order = systems[r % len(systems):] + systems[:r % len(systems)]
        for s in order:
            raw = raws[s.key]
            if raw is None:
                continue
            per_round[s.key].append((await seq_batch(s, raw, n)).summary())
    return per_round


def added(per_round: dict[str, list[dict[str, float]]], metrics: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Median over rounds of (system − direct in the same round), plus raw medians and CPU."""
    out: dict[str, dict[str, float]] = {}
    base = per_round.get("direct", [])
    for key, rounds in per_round.items():
        row: dict[str, float] = {}
        for m in metrics:
            row[m] = med([r[m] for r in rounds])
            if key != "direct" and base:
                row["added_" + m] = med([r[m] - b[m] for r, b in zip(rounds, base, strict=False)])
        row["cpu_ms"] = med([r["cpu_ms"] for r in rounds])
        row["errors"] = sum(r["errors"] for r in rounds)
        samples = sorted({e for r in rounds for e in r.get("error_samples", [])})[:3]
        if samples:
            row["error_samples"] = samples  # type: ignore[assignment]
        row["requests"] = sum(r["n"] for r in rounds)
        row["rounds"] = len(rounds)
        out[key] = row
    return out


def ratios(rows: dict[str, dict[str, float]], fields: tuple[str, ...]) -> dict[str, dict[str, float]]:
    ref = rows.get("litellm")
    out: dict[str, dict[str, float]] = {}
    for key, row in rows.items():
        out[key] = {}
        for f in fields:
            if ref and f in row and f in ref and ref[f] and ref[f] == ref[f]:
                out[key][f] = row[f] / ref[f]
    return out


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ scenarios 1-4
async def s1_nonstream(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    log("scenario 1: non-streaming chat, c=1")
    pr = await interleaved(h, keys, "oai>oai", False, "deltas=8", plan.n_nonstream, plan.rounds, plan.warmup)
    rows = added(pr, ("p50", "p99"))
    return {"lane": "oai>oai", "rows": rows, "ratios": ratios(rows, ("added_p50", "added_p99", "cpu_ms")), "rounds": pr}


async def s2_stream(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for deltas, n in ((32, plan.n_stream32), (256, plan.n_stream256)):
        log(f"scenario 2: streaming, {deltas} deltas")
        pr = await interleaved(h, keys, "oai>oai", True, f"deltas={deltas}", n, plan.rounds, plan.warmup)
        rows = added(pr, ("ttfb", "p50"))
        out[str(deltas)] = {"lane": "oai>oai", "rows": rows,
                            "ratios": ratios(rows, ("added_ttfb", "added_p50", "cpu_ms")), "rounds": pr}
    return out


async def s3_cross(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lane in ("oai>ant", "ant>oai", "ant>ant", "rsp>rsp", "rsp>ant"):
        log(f"scenario 3: streaming lane {lane}")
        pr = await interleaved(h, keys, lane, True, "deltas=32", plan.n_cross, plan.rounds, plan.warmup)
        rows = added(pr, ("ttfb", "p50"))
        unsupported = {k: h.systems[k].unsupported[lane] for k in keys if k in h.systems and lane in h.systems[k].unsupported}
        out[lane] = {"rows": rows, "ratios": ratios(rows, ("added_ttfb", "added_p50", "cpu_ms")),
                     "unsupported": unsupported, "rounds": pr}
    return out


async def s4_ttft(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lane in ("oai>oai", "ant>ant"):
        log(f"scenario 4: 300 ms first token, {lane}")
        pr = await interleaved(h, keys, lane, True, "deltas=8 first_token_ms=300", plan.n_ttft, plan.ttft_rounds,
                               min(plan.warmup, 2))
        rows = added(pr, ("ttft", "ttfb", "p50"))
        out[lane] = {"rows": rows, "ratios": ratios(rows, ("added_ttft",)), "rounds": pr}
    return out


# ------------------------------------------------------------------ scenario 5: throughput
async def throughput_once(s: System, raw: bytes, conc: int, seconds: float) -> dict[str, float]:
    conns = [Conn("127.0.0.1", s.port) for _ in range(conc)]
    for c in conns:  # connect and warm each connection
        await c.request(raw, None)
    results: list[Result] = []
    deadline = time.perf_counter() + seconds

    async def worker(c: Conn) -> None:
        while time.perf_counter() < deadline:
            res, _ = await c.request(raw, None, timeout=30)
            results.append(res)
            if res.error:
                await asyncio.sleep(0.01)

    own0 = os.times()
    c0, t0 = cpu_seconds(s.pid), time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(s.pid) - c0
    own1 = os.times()
    for c in conns:
        c.close()
    ok = [r for r in results if r.ok]
    return {
        "rps": len(ok) / wall,
        "error_rate": (len(results) - len(ok)) / max(1, len(results)),
        "p50": pct([r.total for r in ok], 0.5) * 1000,
        "p99": pct([r.total for r in ok], 0.99) * 1000,
        "cpu_ms": cpu * 1000 / max(1, len(results)),
        "cpu_util": cpu / wall,
        "client_cpu_util": ((own1.user + own1.system) - (own0.user + own0.system)) / wall,
        "requests": len(results),
        "errors": len(results) - len(ok),
    }


async def s5_throughput(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    log(f"scenario 5: throughput at c={plan.tput_conc}")
    systems = [h.systems[k] for k in keys if k in h.systems]
    per: dict[str, list[dict[str, float]]] = {s.key: [] for s in systems}
    for r in range(plan.tput_rounds):
        order = systems[r % len(systems):] + systems[:r % len(systems)]
        for s in order:
            raw = s.request("oai>oai", False, "deltas=8")
            assert raw is not None
            per[s.key].append(await throughput_once(s, raw, plan.tput_conc, plan.tput_seconds))
            await asyncio.sleep(0.5)
    rows = {k: {m: med([x[m] for x in v]) for m in v[0]} | {"errors": sum(x["errors"] for x in v),
                                                              "requests": sum(x["requests"] for x in v)}
            for k, v in per.items() if v}
    return {"conc": plan.tput_conc, "seconds": plan.tput_seconds, "rows": rows,
            "ratios": ratios(rows, ("rps", "p50", "cpu_ms")), "rounds": per}


# ------------------------------------------------------------------ scenario 6: cold start
async def _spawn_until_served(h: Harness, name: str, argv: list[str], env: dict[str, str], cwd: Any, port: int,
                              raw: bytes, timeout: float, poll: float = 0.002) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = h.procs.start(name, argv, env=env, cwd=cwd)
    try:
        t_port = await wait_port(port, timeout, proc, poll=poll)
        conn = Conn("127.0.0.1", port)
        deadline = time.perf_counter() + timeout
        while True:
            res, body = await conn.request(raw, MARK, keep_body=True, timeout=timeout)
            if res.ok and MARK in body:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name}: first request failed: {res.status} {res.error} {body[:200]!r}")
            await asyncio.sleep(poll)
        t_done = time.perf_counter()
        conn.close()
        rss = rss_mb(proc.pid)
        return {"port_open_s": t_port - t0, "first_served_s": t_done - t0, "rss_mb": rss}
    finally:
        h.procs.stop(proc)


def _timed_python(py: str, code: str, cwd: Any, env: dict[str, str]) -> dict[str, float]:
    import subprocess

    t0 = time.perf_counter()
    out = subprocess.run([py, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{py} -c {code!r}: {out.stderr[-500:]}")
    return {"wall_s": wall, "import_s": float(out.stdout.strip().splitlines()[-1])}


def _import_budget(reps: int) -> dict[str, Any]:
    """Every entry point's module count against functions/import_budget.toml, and its import time."""
    import json
    import subprocess

    out = subprocess.run([str(PROJECT_PY), str(ROOT / "bench" / "import_budget.py"), "--json", "--reps", str(reps)],
                         cwd=ROOT, env=scrubbed_env(), capture_output=True, text=True, timeout=600)
    if not out.stdout.strip():
        raise RuntimeError(f"bench/import_budget.py: {out.stderr[-800:]}")
    budget: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return budget


IMPORT_CODE = "import time,sys;sys.path.insert(0,'.');t=time.perf_counter();import {mod};print(time.perf_counter()-t)"


async def s6_cold(h: Harness, plan: Plan, with_peers: bool) -> dict[str, Any]:
    log("scenario 6: cold start")
    # The environment the benchmarked stack configured: the same DynamoDB, tables and upstream double.
    stack_env = await get_json("127.0.0.1", h.systems["bytespike"].port, "/_bench/env")
    fn_env = scrubbed_env(**stack_env)  # type: ignore[arg-type]
    out: dict[str, Any] = {"functions": {}, "litellm_import": [], "litellm_proxy": [], "portkey": []}
    for fn, lane in (("messages", "ant>ant"), ("chat", "oai>oai")):
        cwd = ROOT / "functions" / fn
        reps = []
        # untimed: compile bytecode, warm the page cache
        _timed_python(str(PROJECT_PY), IMPORT_CODE.format(mod="main"), cwd, fn_env)
        for _ in range(plan.cold_reps):
            imp = _timed_python(str(PROJECT_PY), IMPORT_CODE.format(mod="main"), cwd, fn_env)
            port = free_port()
            key = h.systems["bytespike"]
            raw = build_request("127.0.0.1", port, *key.path_headers(lane),  # type: ignore[misc]
                                body=_body_for(lane, key))
            argv = [str(PROJECT_PY), "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                    "--loop", "uvloop", "--http", "httptools", "main:app"]
            served = await _spawn_until_served(h, f"cold-{fn}", argv, fn_env, cwd, port, raw, 60)
            reps.append({**served, "import_main_s": imp["import_s"], "import_main_wall_s": imp["wall_s"]})
        out["functions"][fn] = {"reps": reps, **{k: med([r[k] for r in reps]) for k in reps[0]}}
    for name in ("admin", "release", "sweeper"):
        cwd = ROOT / "functions" / name
        if (cwd / "handler.py").exists():
            try:
                _timed_python(str(PROJECT_PY), IMPORT_CODE.format(mod="handler"), cwd, fn_env)
                reps = [_timed_python(str(PROJECT_PY), IMPORT_CODE.format(mod="handler"), cwd, fn_env)
                        for _ in range(plan.cold_reps)]
                out["functions"][name] = {"import_main_s": med([r["import_s"] for r in reps]),
                                          "import_main_wall_s": med([r["wall_s"] for r in reps]), "reps": reps}
            except RuntimeError as exc:
                out["functions"][name] = {"error": str(exc)[-300:]}
    out["budget"] = _import_budget(plan.cold_reps)
    if with_peers and (LITELLM_VENV / "bin" / "python").exists():
        env = scrubbed_env(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
        _timed_python(str(LITELLM_VENV / "bin" / "python"), IMPORT_CODE.format(mod="litellm"), ROOT / "bench" / "out", env)
        out["litellm_import"] = [_timed_python(str(LITELLM_VENV / "bin" / "python"), IMPORT_CODE.format(mod="litellm"),
                                               ROOT / "bench" / "out", env) for _ in range(plan.cold_reps)]
        for _ in range(plan.proxy_reps):
            port = free_port()
            argv, lenv = h.litellm_argv(port)
            ll = h.systems["litellm"]
            raw = build_request("127.0.0.1", port, *ll.path_headers("oai>oai"), body=_body_for("oai>oai", ll))  # type: ignore[misc]
            out["litellm_proxy"].append(await _spawn_until_served(h, "cold-litellm", argv, lenv, ROOT / "bench" / "out",
                                                                  port, raw, 240, poll=0.02))
        if "portkey" in h.systems:
            for _ in range(plan.cold_reps):
                port = free_port()
                argv, penv = h.portkey_argv(port)
                pk = h.systems["portkey"]
                raw = build_request("127.0.0.1", port, *pk.path_headers("oai>oai"), body=_body_for("oai>oai", pk))  # type: ignore[misc]
                out["portkey"].append(await _spawn_until_served(h, "cold-portkey", argv, penv, pk_dir(), port, raw, 60))
    return out


def pk_dir() -> Any:
    from bench.systems import PORTKEY_DIR

    return PORTKEY_DIR


def _body_for(lane: str, s: System) -> dict:
    from bench.systems import MODELS, body

    client_proto, upstream = LANES[lane]
    return body(client_proto, MODELS[upstream], False, "deltas=8")


# ------------------------------------------------------------------ scenario 7: memory
async def s7_memory(h: Harness, plan: Plan, keys: list[str]) -> dict[str, Any]:
    log(f"scenario 7: memory, idle and {plan.mem_streams} open streams")
    out: dict[str, Any] = {}
    for key in keys:
        s = h.systems.get(key)
        if s is None:
            continue
        await asyncio.sleep(1.0)
        idle = rss_mb(s.pid)
        raw = s.request("oai>oai", True, "deltas=4 first_token_ms=12000")
        assert raw is not None
        t0 = time.perf_counter()
        conns = [Conn("127.0.0.1", s.port) for _ in range(plan.mem_streams)]
        tasks = [asyncio.ensure_future(c.request(raw, MARK, timeout=60)) for c in conns]
        arrived = 0
        deadline = time.perf_counter() + 10.0
        while time.perf_counter() < deadline:
            arrivals = await get_json("127.0.0.1", h.double_port, f"/_double/arrivals?since={t0}")
            arrived = len(arrivals)  # type: ignore[arg-type]
            if arrived >= plan.mem_streams:
                break
            await asyncio.sleep(0.1)
        samples = []
        for _ in range(5):
            samples.append(rss_mb(s.pid))
            await asyncio.sleep(0.1)
        open_now = sum(1 for t in tasks if not t.done())
        done = await asyncio.gather(*tasks)
        for c in conns:
            c.close()
        ok = sum(1 for res, _ in done if res.ok)
        out[key] = {"idle_mb": idle, "streams_mb": max(samples), "streams_open": min(open_now, arrived),
                    "upstream_open": arrived, "streams_ok": ok, "streams": plan.mem_streams}
    rows = out
    return {"rows": rows, "ratios": ratios(rows, ("idle_mb", "streams_mb"))}


# ------------------------------------------------------------------ scenario 8: DynamoDB calls
READ_OPS = ("get_item", "query", "batch_get_item", "scan")
WRITE_OPS = ("transact_write_items", "update_item", "put_item", "delete_item", "batch_write_item")


async def s8_dynamo(h: Harness, plan: Plan, key: str = "bytespike") -> dict[str, Any]:
    log(f"scenario 8: DynamoDB calls per request ({key})")
    s = h.systems[key]
    out: dict[str, Any] = {}
    latencies: dict[str, list[float]] = {}
    for lane in plan.lanes:
        for stream in (False, True):
            raw = s.request(lane, stream, "deltas=32" if stream else "deltas=8")
            if raw is None:
                continue
            await warm(s, raw, 3)
            before = (await get_json("127.0.0.1", s.port, "/_local/stats"))["gateway_dynamodb_calls"]  # type: ignore[index]
            t0 = time.perf_counter()
            batch = await seq_batch(s, raw, plan.dyn_reqs)
            after = (await get_json("127.0.0.1", s.port, "/_local/stats"))["gateway_dynamodb_calls"]  # type: ignore[index]
            events = await get_json("127.0.0.1", s.port, f"/_bench/dynamo?since={t0}")
            # when the gateway handed each upstream request to its HTTP client (wrapped in bench/bs_gateway.py)
            arrivals = sorted(await get_json("127.0.0.1", s.port, f"/_bench/upstream?since={t0}"))  # type: ignore[arg-type]
            n = len(batch.results)
            delta = {op: after.get(op, 0) - before.get(op, 0) for op in set(after) | set(before)}
            delta = {op: v for op, v in delta.items() if v}
            pre_first, serial_before_upstream, overlapped, spans = 0, 0, 0, 0
            serial_ops: dict[str, int] = {}
            waited: dict[str, int] = {}  # calls a request made itself (not a cache refresh beside it)
            background: dict[str, int] = {}  # cache refreshes (bytespike.background) during the batch
            pre_upstream: list[float] = []
            for op, _start, _end, in_bg in events:  # type: ignore[misc]
                if in_bg:
                    background[op] = background.get(op, 0) + 1
            for res in batch.results:
                up = next((a for a in arrivals if res.t_send <= a <= res.t_end), None)
                if up is not None:
                    pre_upstream.append((up - res.t_send) * 1000)
                for op, start, end, in_bg in events:  # type: ignore[misc]
                    if in_bg or not (res.t_send <= start <= res.t_end):
                        continue
                    waited[op] = waited.get(op, 0) + 1
                    spans += 1
                    if end <= res.t_first:
                        pre_first += 1
                    if up is not None and end <= up:
                        serial_before_upstream += 1
                        serial_ops[op] = serial_ops.get(op, 0) + 1
                    if up is not None and start <= up <= end:
                        overlapped += 1
            for op, start, end, _bg in events:  # type: ignore[misc]
                latencies.setdefault(op, []).append((end - start) * 1000)
            out[f"{lane}:{'stream' if stream else 'json'}"] = {
                "lane": lane, "stream": stream, "requests": n, "errors": sum(1 for r in batch.results if not r.ok),
                "per_request": {op: v / n for op, v in sorted(delta.items())},
                "reads": sum(delta.get(op, 0) for op in READ_OPS) / n,
                "waited_reads": sum(waited.get(op, 0) for op in READ_OPS) / n,
                "waited_key_reads": waited.get("get_item", 0) / n,
                "background_reads": {op: v / n for op, v in sorted(background.items())},
                "pre_upstream_ms": pct(pre_upstream, 0.5),
                "serialised_ops": {op: v / n for op, v in serial_ops.items()},
                "wall_s": batch.wall,
                "writes": sum(delta.get(op, 0) for op in WRITE_OPS) / n,
                "before_first_byte": pre_first / n,
                "serialised_before_upstream": serial_before_upstream / n,
                "overlapping_upstream_call": overlapped / n,
                "timed_calls": spans / n,
            }
    lat = {op: {"p50_ms": pct(v, 0.5), "p90_ms": pct(v, 0.9), "n": len(v)} for op, v in latencies.items()}
    return {"paths": out, "latency": lat}


# ------------------------------------------------------------------ DynamoDB stub check
async def side_cpu(h: Harness) -> dict[str, float]:
    return {mode: cpu_seconds(info["proc_pid"]) for mode, info in h.side.items()}


# ------------------------------------------------------------------ effect of the src changes
async def ab_variants(h: Harness, plan: Plan) -> dict[str, Any]:
    """Same run, same DynamoDB side: ByteSpike as shipped (lean DynamoDB client, uvloop) vs the
    aiobotocore client (``BYTESPIKE_DYNAMO_CLIENT=botocore``, the code before this change) and vs
    the asyncio event loop (what ``python -m bytespike.local`` runs today)."""
    mode = "stub" if "stub" in h.side else "moto"
    log(f"A/B: DynamoDB client and event loop variants (DynamoDB {mode})")
    started = {
        "as shipped: lean DynamoDB client, uvloop": await h.start_gateway("ab_lean", mode),
        "aiobotocore DynamoDB client, uvloop": await h.start_gateway("ab_botocore", mode, BYTESPIKE_DYNAMO_CLIENT="botocore"),
        "lean DynamoDB client, asyncio loop": await h.start_gateway("ab_asyncio", mode, ("--loop", "asyncio")),
    }
    out: dict[str, Any] = {"dynamo": mode, "rows": {}}
    try:
        for label, lane, stream, d, n in (("non-streaming", "oai>oai", False, "deltas=8", plan.n_nonstream * 2),
                                          ("stream 32 deltas", "oai>oai", True, "deltas=32", plan.n_stream32 * 2)):
            per: dict[str, list[dict[str, float]]] = {k: [] for k in started}
            for s in started.values():
                await warm(s, s.request(lane, stream, d), plan.warmup)  # type: ignore[arg-type]
            for r in range(max(1, plan.rounds // 3)):
                items = list(started.items())
                for k, s in items[r % len(items):] + items[:r % len(items)]:
                    per[k].append((await seq_batch(s, s.request(lane, stream, d), n)).summary())  # type: ignore[arg-type]
            out["rows"][label] = {k: {"cpu_ms": med([x["cpu_ms"] for x in v]), "p50": med([x["p50"] for x in v]),
                                      "errors": sum(x["errors"] for x in v)} for k, v in per.items()}
    finally:
        for key in ("ab_lean", "ab_botocore", "ab_asyncio"):
            s = h.systems.pop(key, None)
            if s is not None:
                if s.conn is not None:
                    s.conn.close()
                h.procs.stop(s.proc)  # type: ignore[attr-defined]
    return out
