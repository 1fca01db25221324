"""Soak test (issue #10): mixed traffic against a local stack, then an exact reconciliation.

    python -m bench.soak --duration 600 --requests 20000 --concurrency 32   # long form (`make soak`), paced at 20/s
    python -m bench.soak --duration 60 --requests 2000 --no-report          # a quick look, docs/LOAD.md untouched
    python -m pytest tests/soak                                             # the short form (`make test`)

It starts its own stack on loopback (the moto DynamoDB in one process, ``python -m
bytespike.local --dynamodb-url …`` in another, so the gateway's memory is measured apart
from the data moto keeps), creates 3 orgs with a master key and 9 member sub-keys each
(30 keys; tight, medium and no daily quotas, one key with an RPM limit) and drives mixed
traffic, bounded by a duration and a request count at a fixed concurrency (and a pace): both surfaces
(``/v1/messages``, ``/v1/chat/completions``), Claude and GPT models on each (so half the
calls cross protocols), streaming and not, raw HTTP and the official SDKs, and a fault on
every ``1/fault_rate``-th request (upstream 500 or 429 before the first byte, an error or a
dropped connection mid-stream, the client hanging up mid-stream).

Every request is classified (expected outcome or not; an unexpected one is an undeclared
5xx, a hang, a transport error or an error in the wrong protocol's shape). Afterwards it
waits until every reservation is released and checks, per org: the conservation
invariant of DESIGN.md, no open hold, each member's quota counter = the costs of its
reservations in that period, the usage ledger = the reservations, and each request's
cost against what its client saw. The gateway's RSS is sampled from ``/proc``. Results
go to stdout and (long form) to the report section of docs/LOAD.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import math
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai

from bytespike.local.aws import wait_listening

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.stack import Stack, free_port  # noqa: E402

MODELS = {"claude": ("claude-haiku-5-5", "claude-sonnet-5-5"), "gpt": ("gpt-6-luna", "gpt-6.1-terra")}
FAULTS = ("pre_500", "pre_429", "mid_error", "mid_drop", "client_abort")
# The outcome each planned fault must produce (besides a quota / RPM refusal, which may come first).
EXPECTED_OUTCOME = {None: "ok", "pre_500": "injected_500", "pre_429": "injected_429",
                    "mid_error": "injected_mid_error", "mid_drop": "injected_drop", "client_abort": "client_abort"}
PRE_FIRST_BYTE = {"injected_500", "injected_429"}
MEMBERS = 9
TIGHT_QUOTA = 2_500  # credits a day: a Sonnet hold (max_tokens 256-512) alone can exceed it
RPM_LIMIT = 6
ORG_CREDITS = 100_000_000  # the wallet is never the limit; quotas are
REPORT_BEGIN, REPORT_END = "<!-- soak-report:begin -->", "<!-- soak-report:end -->"


# ---------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class SoakConfig:
    """How much traffic, how fast, and the memory bound."""

    duration: float = 40.0
    requests: int = 300
    concurrency: int = 16
    fault_rate: float = 0.10
    sdk_share: float = 0.25
    seed: int = 20261210
    request_timeout: float = 60.0
    warmup_fraction: float = 0.15
    rss_growth_limit_mb: float = 40.0
    sample_interval: float = 2.0
    backlog_interval: float = 10.0  # how often to count unreleased reservations during the traffic
    release_timeout: float = 120.0
    rate: float | None = None  # requests started per second at most (None: as fast as the concurrency allows)


@dataclass(frozen=True)
class KeyInfo:
    """One of the 30 keys: whose it is and what limits it carries."""

    org_id: str
    member_id: str
    secret: str = field(repr=False)
    kind: str
    quota: int | None = None
    rpm: int | None = None
    weight: int = 1  # share of the traffic (limited keys get less, so refusals stay a minority)


@dataclass(frozen=True)
class Planned:
    """One request of the plan (a pure function of the seed and its index)."""

    i: int
    key: KeyInfo
    surface: str  # anthropic | openai
    model: str
    stream: bool
    via: str  # http | sdk
    fault: str | None
    max_tokens: int
    text: str
    abort_after: int = 0


@dataclass
class Obs:
    """What the client saw."""

    status: int | None = None
    request_id: str | None = None
    hold: int | None = None
    credits: int | None = None
    complete: bool = False
    error: dict[str, Any] | None = None  # the error object (body or in-band event)
    inband: bool = False
    contents: int = 0
    aborted: bool = False
    problem: str = ""  # what went wrong, when something did
    problem_kind: str = ""  # shape (wrong protocol / malformed), transport, hang
    ttft: float | None = None
    received_chars: int = 0  # text of the content deltas that reached the client


@dataclass
class Result:
    """One request: plan, observation, classification, latency."""

    plan: Planned
    obs: Obs
    outcome: str
    expected: bool
    latency: float
    started: float


# ---------------------------------------------------------------------------- the stack
@dataclass
class Launched:
    """A running soak stack: the handle the tests use, and the pids whose RSS is sampled."""

    stack: Stack
    pids: dict[str, int]
    log_path: Path
    moto_log: Path


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"local stack exited early:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(base + "/healthz", timeout=1)
            if r.status_code == 200:
                return dict(r.json())
        time.sleep(0.2)
    raise RuntimeError(f"local stack did not become healthy:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def launch_stack(workdir: Path) -> Iterator[Launched]:
    """moto in one process, ``python -m bytespike.local --dynamodb-url`` in another; stop both after.

    ``Stack.from_info`` points this process's store code at the soak's tables through
    ``os.environ``; the environment is restored afterwards, so a test session's own stack
    (and the tests after this one) are not left pointing at a stopped stack.
    """
    saved_env = dict(os.environ)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSTREAM_")}  # simulator only
    env["PYTHONUNBUFFERED"] = "1"
    moto_port, port, sim_port = free_port(), free_port(), free_port()
    moto_log, log_path, env_file = workdir / "moto.log", workdir / "stack.log", workdir / "dev.env"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with moto_log.open("w") as out:
            # The local DynamoDB in a process of its own (the stack's AWS side without its poller:
            # bytespike.local joins it with --dynamodb-url and consumes the stream itself).
            moto = subprocess.Popen([sys.executable, "-m", "bytespike.local.aws", "--port", str(moto_port),
                                     "--table-prefix", "soak", "--poll-interval", "0"], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        procs.append(moto)
        try:
            wait_listening(moto_port, moto, 60)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}:\n{moto_log.read_text()[-4000:]}") from exc
        with log_path.open("w") as out:
            gateway = subprocess.Popen(
                [sys.executable, "-m", "bytespike.local", "--port", str(port), "--sim-port", str(sim_port),
                 "--dynamodb-url", f"http://127.0.0.1:{moto_port}", "--table-prefix", "soak",
                 "--env-file", str(env_file), "--no-reuse-key", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(gateway)
        info = _wait_healthy(gateway, f"http://127.0.0.1:{port}", log_path)
        stack = Stack.from_info(info, env_file, log_path)
        yield Launched(stack, {"gateway": gateway.pid, "moto": moto.pid}, log_path, moto_log)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        os.environ.clear()
        os.environ.update(saved_env)
        from bytespike.config import reset_settings

        reset_settings()


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MiB, from /proc/<pid>/status (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---------------------------------------------------------------------------- orgs, keys, plan
def provision(stack: Stack, cfg: SoakConfig, run_id: str) -> list[KeyInfo]:
    """3 orgs through the admin API; each: its master key + 9 member sub-keys (30 keys)."""
    # A medium key carries ~1/27 of the traffic at ~200 credits a call: its quota runs out late in a full run.
    medium = max(20_000, cfg.requests * 5)
    keys: list[KeyInfo] = []
    for o in range(3):
        org = stack.create_org(ORG_CREDITS, org_id=f"soak-{run_id}-{o}")
        keys.append(KeyInfo(org.org_id, "owner", org.master_key, "master", weight=3))
        for m in range(MEMBERS):
            body: dict[str, Any] = {"member_id": f"m{m}", "label": "soak"}
            quota: int | None = None
            rpm: int | None = None
            weight = 2
            if m < 2:  # tight: refused early and often (a Sonnet/Terra hold alone can exceed it)
                quota, weight = TIGHT_QUOTA, 1
            elif m < 5:
                quota = medium
            elif m == MEMBERS - 1:  # the RPM-limited key
                rpm, weight = RPM_LIMIT, 1
            if quota is not None:
                body.update(quota=quota, quota_period="day")
            if rpm is not None:
                body["rpm"] = rpm
            minted = stack.mint(org.master_key, **body)
            keys.append(KeyInfo(org.org_id, f"m{m}", minted["secret"], "sub", quota, rpm, weight))
    return keys


def plan_request(i: int, keys: list[KeyInfo], cfg: SoakConfig, run_id: str) -> Planned:
    """Request ``i``: a fault on every ``1/fault_rate``-th one (kinds in turn), the rest random by seed."""
    rng = random.Random(f"{cfg.seed}:{i}")
    every = max(1, round(1 / cfg.fault_rate)) if cfg.fault_rate > 0 else 0
    fault = FAULTS[(i // every) % len(FAULTS)] if every and i % every == every - 1 else None
    key = rng.choices(keys, weights=[k.weight for k in keys])[0]
    surface = rng.choice(("anthropic", "openai"))
    model = rng.choice(MODELS[rng.choice(("claude", "gpt"))])
    stream = fault in ("mid_drop", "client_abort") or rng.random() < 0.5
    via = "sdk" if rng.random() < cfg.sdk_share else "http"
    max_tokens = rng.choice((128, 256, 512))
    sim: dict[str, int] = {"words": rng.randint(5, 60)}
    if stream:
        sim.update(deltas=rng.randint(3, 12), interval_ms=rng.choice((0, 10, 30)),
                   first_token_ms=rng.choice((0, 0, 50, 200)))
    else:
        sim["delay_ms"] = rng.choice((0, 0, 50, 200))
    abort_after = 0
    if fault == "pre_500":
        sim["status"] = 500
    elif fault == "pre_429":
        sim.update(status=429, retry_after=1)
    elif fault == "mid_error":
        sim.update(deltas=8, error_after=rng.randint(1, 4))
    elif fault == "mid_drop":
        sim.update(deltas=8, drop_after=rng.randint(1, 4))
    elif fault == "client_abort":
        sim.update(deltas=24, interval_ms=20)
        abort_after = rng.randint(1, 5)
    directive = " ".join(f"{k}={v}" for k, v in sim.items())
    text = f"soak {run_id} request {i}: say something [[sim {directive}]]"
    return Planned(i, key, surface, model, stream, via, fault, max_tokens, text, abort_after)


# ---------------------------------------------------------------------------- one request
def _request(p: Planned) -> tuple[str, dict[str, str], dict[str, Any]]:
    messages = [{"role": "user", "content": p.text}]
    body: dict[str, Any] = {"model": p.model, "max_tokens": p.max_tokens, "messages": messages, "stream": p.stream}
    if p.surface == "anthropic":
        return "/v1/messages", {"x-api-key": p.key.secret, "anthropic-version": "2023-06-01"}, body
    if p.stream:
        body["stream_options"] = {"include_usage": True}
    return "/v1/chat/completions", {"authorization": f"Bearer {p.key.secret}"}, body


def _shape_error(surface: str, obj: Any, *, inband: bool) -> str:
    """'' when ``obj`` is a well-formed error of ``surface`` (body or in-band event), else what is wrong."""
    if not isinstance(obj, dict):
        return f"error is not an object: {str(obj)[:200]}"
    if surface == "anthropic":
        err = obj.get("error")
        if obj.get("type") != "error" or not isinstance(err, dict):
            return f"not an Anthropic error: {json.dumps(obj)[:300]}"
    else:
        err = obj.get("error") if not inband or "error" in obj else obj
        if not isinstance(err, dict) or (not inband and not {"param", "code"} <= err.keys()):
            return f"not an OpenAI error: {json.dumps(obj)[:300]}"
    if not isinstance(err.get("type"), str) or not isinstance(err.get("message"), str) or not err["message"]:
        return f"error without type/message: {json.dumps(obj)[:300]}"
    return ""


def _head(o: Obs, status: int, headers: Any) -> None:
    o.status = status
    o.request_id = headers.get("request-id")
    est = headers.get("estimated_credits")
    o.hold = int(est) if est and est.isdigit() else None


async def _raw(http: httpx.AsyncClient, base: str, p: Planned, o: Obs, t0: float) -> None:
    """The request over plain HTTP, parsing (and checking) every frame."""
    path, headers, body = _request(p)
    async with http.stream("POST", base + path, json=body, headers=headers) as r:
        _head(o, r.status_code, r.headers)
        if r.status_code != 200 or not p.stream:
            raw = await r.aread()
            try:
                data = json.loads(raw)
            except ValueError:
                o.problem = f"non-JSON body ({r.headers.get('content-type')}): {raw[:200]!r}"
                return
            if r.status_code != 200:
                o.error = data
                o.problem = _shape_error(p.surface, data, inband=False)
                if p.surface == "anthropic" and not o.problem and data.get("request_id") != o.request_id:
                    o.problem = "error body request_id differs from the request-id header"
                return
            usage = data.get("usage") or {}
            shape_ok = data.get("type") == "message" if p.surface == "anthropic" else data.get("object") == "chat.completion"
            o.credits = usage.get("credits")
            o.complete = shape_ok and isinstance(o.credits, int)
            if not o.complete:
                o.problem = f"malformed {p.surface} response: {json.dumps(data)[:300]}"
            return
        if not r.headers.get("content-type", "").startswith("text/event-stream"):
            o.problem = f"stream with content-type {r.headers.get('content-type')}"
            return
        event, finished, done = "", False, False
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                continue
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                continue
            try:
                obj = json.loads(payload)
            except ValueError:
                o.problem = f"non-JSON SSE data: {payload[:200]}"
                return
            content = False
            if p.surface == "anthropic":
                if event == "error" or obj.get("type") == "error":
                    o.inband, o.error = True, obj
                    o.problem = _shape_error("anthropic", obj, inband=True)
                elif event == "content_block_delta":
                    content = True
                    o.received_chars += len((obj.get("delta") or {}).get("text") or "")
                elif event == "message_delta":
                    o.credits = (obj.get("usage") or {}).get("credits")
                elif event == "message_stop":
                    finished = True
            elif "error" in obj:
                o.inband, o.error = True, obj
                o.problem = _shape_error("openai", obj, inband=True)
            else:
                for choice in obj.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content") or ""
                    content = content or bool(text)
                    o.received_chars += len(text)
                    finished = finished or bool(choice.get("finish_reason"))
                if obj.get("usage"):
                    o.credits = obj["usage"].get("credits")
            if content:
                o.contents += 1
                if o.ttft is None:
                    o.ttft = time.perf_counter() - t0
                if p.abort_after and o.contents >= p.abort_after:
                    o.aborted = True
                    return  # leaving the block closes the connection: the client hung up
        o.complete = finished and isinstance(o.credits, int) and (p.surface == "anthropic" or done)
        if o.inband and (finished or done):
            o.problem = "a stream both failed and finished"


class SdkClients:
    """One AsyncAnthropic and one AsyncOpenAI; per-key copies share their connection pools."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self._anthropic = anthropic.AsyncAnthropic(base_url=base_url, api_key="unset", max_retries=0, timeout=timeout)
        self._openai = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unset", max_retries=0, timeout=timeout)
        self._a: dict[str, anthropic.AsyncAnthropic] = {}
        self._o: dict[str, openai.AsyncOpenAI] = {}

    def anthropic(self, key: str) -> anthropic.AsyncAnthropic:
        if key not in self._a:
            self._a[key] = self._anthropic.with_options(api_key=key)
        return self._a[key]

    def openai(self, key: str) -> openai.AsyncOpenAI:
        if key not in self._o:
            self._o[key] = self._openai.with_options(api_key=key)
        return self._o[key]

    async def close(self) -> None:
        await self._anthropic.close()
        await self._openai.close()


def _extra_credits(usage: Any) -> int | None:
    extra = getattr(usage, "model_extra", None) or {}
    value = extra.get("credits")
    return value if isinstance(value, int) else None


async def _parsed(raw: Any) -> Any:
    """``raw.parse()`` (synchronous in the SDKs' legacy raw responses, a coroutine in the new ones)."""
    parsed = raw.parse()
    return await parsed if inspect.isawaitable(parsed) else parsed


async def _sdk(clients: SdkClients, p: Planned, o: Obs, t0: float) -> None:
    """The request through the official SDK of its surface."""
    messages: Any = [{"role": "user", "content": p.text}]
    try:
        if p.surface == "anthropic":
            client = clients.anthropic(p.key.secret)
            if p.stream:
                async with client.messages.stream(model=p.model, max_tokens=p.max_tokens, messages=messages) as s:
                    _head(o, s.response.status_code, s.response.headers)
                    async for ev in s:
                        if ev.type == "content_block_delta":
                            o.contents += 1
                            o.received_chars += len(getattr(ev.delta, "text", "") or "")
                            o.ttft = o.ttft if o.ttft is not None else time.perf_counter() - t0
                            if p.abort_after and o.contents >= p.abort_after:
                                o.aborted = True
                                return
                        elif ev.type == "message_delta":
                            o.credits = _extra_credits(ev.usage)
                        elif ev.type == "message_stop":
                            o.complete = o.credits is not None
                return
            raw = await client.messages.with_raw_response.create(model=p.model, max_tokens=p.max_tokens,
                                                                 messages=messages)
            _head(o, raw.http_response.status_code, raw.headers)
            msg = await _parsed(raw)
            o.credits = _extra_credits(msg.usage)
            o.complete = msg.type == "message" and o.credits is not None
            return
        oclient = clients.openai(p.key.secret)
        if p.stream:
            stream = await oclient.chat.completions.create(model=p.model, max_tokens=p.max_tokens, messages=messages,
                                                           stream=True, stream_options={"include_usage": True})
            _head(o, stream.response.status_code, stream.response.headers)
            finished = False
            try:
                async for chunk in stream:
                    if any(c.delta.content for c in chunk.choices):
                        o.contents += 1
                        o.received_chars += sum(len(c.delta.content or "") for c in chunk.choices)
                        o.ttft = o.ttft if o.ttft is not None else time.perf_counter() - t0
                        if p.abort_after and o.contents >= p.abort_after:
                            o.aborted = True
                            return
                    finished = finished or any(c.finish_reason for c in chunk.choices)
                    if chunk.usage is not None:
                        o.credits = _extra_credits(chunk.usage)
            finally:
                await stream.close()
            o.complete = finished and o.credits is not None
            return
        oraw = await oclient.chat.completions.with_raw_response.create(model=p.model, max_tokens=p.max_tokens,
                                                                       messages=messages)
        _head(o, oraw.http_response.status_code, oraw.headers)
        completion = await _parsed(oraw)
        o.credits = _extra_credits(completion.usage)
        o.complete = completion.object == "chat.completion" and o.credits is not None
    except (anthropic.APIStatusError, openai.APIStatusError) as err:
        _head(o, err.response.status_code, err.response.headers)
        o.inband = err.response.status_code == 200
        if o.inband:  # Anthropic's in-band `event: error`: the body is the event's data
            o.error = err.body if isinstance(err.body, dict) else {"raw": str(err.body)}
        else:
            try:
                o.error = err.response.json()
            except ValueError:
                o.error = {"raw": err.response.text[:300]}
        o.problem = _shape_error(p.surface, o.error, inband=o.inband)
        if p.surface == "anthropic" and not o.inband and not o.problem and o.error.get("request_id") != o.request_id:
            o.problem = "error body request_id differs from the request-id header"
    except (anthropic.APIConnectionError, openai.APIConnectionError) as err:
        o.problem, o.problem_kind = f"{type(err).__name__}: {err}", "transport"
    except openai.APIError as err:  # the OpenAI SDK's in-band stream error (body = the error object)
        o.inband = True
        o.error = {"error": err.body} if isinstance(err.body, dict) else {"raw": str(err.body)}
        o.problem = _shape_error("openai", o.error, inband=True)
    except anthropic.APIError as err:
        o.problem = f"{type(err).__name__}: {err}"
    if o.problem and not o.problem_kind:
        o.problem_kind = "shape"


def classify(p: Planned, o: Obs) -> tuple[str, bool]:
    """(outcome class, expected?) of one request."""
    if o.problem:
        return {"hang": "hang", "transport": "transport_error"}.get(o.problem_kind, "wrong_shape"), False
    err = (o.error or {}).get("error") if isinstance((o.error or {}).get("error"), dict) else None
    etype, message = (err or {}).get("type", ""), (err or {}).get("message", "")
    if o.status == 402 and "quota" in message and etype in ("billing_error", "insufficient_quota"):
        return "quota_refused", p.key.quota is not None
    if o.status == 429 and "per minute" in message:
        return "rpm_limited", p.key.rpm is not None
    outcome = "unexpected_status"
    if o.aborted:
        outcome = "client_abort"
    elif o.status == 200 and o.complete and not o.inband:
        outcome = "ok" if (o.credits or 0) > 0 else "ok_without_credits"
    elif o.status == 200 and o.inband:
        outcome = {"mid_error": "injected_mid_error", "mid_drop": "injected_drop"}.get(p.fault or "", "unexpected_inband")
    elif o.status == 502 and p.fault == "pre_500":
        outcome = "injected_500"
    elif o.status == 429 and p.fault == "pre_429" and etype == "rate_limit_error":
        outcome = "injected_429"
    elif o.status in (502, 503, 529) and p.fault == "mid_error" and not p.stream:
        outcome = "injected_mid_error"  # non-streaming: the upstream's late failure is a 5xx, 0 bytes sent
    return outcome, outcome == EXPECTED_OUTCOME[p.fault]


async def run_one(http: httpx.AsyncClient, clients: SdkClients, base: str, p: Planned, cfg: SoakConfig) -> Result:
    """Send one planned request, bounded by the request timeout (past it: a hang)."""
    o = Obs()
    t0 = time.perf_counter()
    started = time.time()
    try:
        coro = _sdk(clients, p, o, t0) if p.via == "sdk" else _raw(http, base, p, o, t0)
        await asyncio.wait_for(coro, cfg.request_timeout)
    except TimeoutError:
        o.problem, o.problem_kind = f"no end within {cfg.request_timeout:.0f}s", "hang"
    except httpx.HTTPError as err:
        o.problem, o.problem_kind = f"{type(err).__name__}: {err}", "transport"
    except Exception as err:  # anything else the client tripped over is reported, not fatal
        o.problem, o.problem_kind = f"client exception {type(err).__name__}: {err}", "shape"
    if o.problem and not o.problem_kind:
        o.problem_kind = "shape"
    latency = time.perf_counter() - t0
    outcome, expected = classify(p, o)
    return Result(p, o, outcome, expected, latency, started)


# ---------------------------------------------------------------------------- the run
@dataclass
class Sample:
    """One RSS reading of each process."""

    t: float
    done: int
    rss: dict[str, float | None]
    released_records: int | None = None  # stream records the local release poller has delivered so far
    unreleased: int | None = None  # reservations not released yet (counted every backlog_interval)


async def drive(base: str, keys: list[KeyInfo], cfg: SoakConfig, run_id: str, pids: dict[str, int],
                samples: list[Sample], progress: bool = False,
                open_count: Callable[[], int] | None = None) -> tuple[list[Result], float]:
    """All the traffic: ``concurrency`` workers until the request count or the duration runs out."""
    results: list[Result] = []
    counter = iter(range(cfg.requests))
    t_start = time.monotonic()
    deadline = t_start + cfg.duration
    limits = httpx.Limits(max_connections=cfg.concurrency * 2, max_keepalive_connections=cfg.concurrency)
    # Client timeouts beyond the request bound, so a stuck request is seen as a hang by wait_for.
    http = httpx.AsyncClient(timeout=httpx.Timeout(cfg.request_timeout + 30, connect=10), limits=limits)
    clients = SdkClients(base, cfg.request_timeout + 30)
    stop = asyncio.Event()

    async def worker() -> None:
        for i in counter:
            if cfg.rate:
                await asyncio.sleep(max(0.0, t_start + i / cfg.rate - time.monotonic()))
            if time.monotonic() >= deadline:
                return
            results.append(await run_one(http, clients, base, plan_request(i, keys, cfg, run_id), cfg))

    async def sampler() -> None:
        last_print = last_count = 0.0
        unreleased: int | None = None
        while not stop.is_set():
            delivered = None
            with contextlib.suppress(httpx.HTTPError, ValueError):
                delivered = (await http.get(base + "/_local/stats", timeout=10)).json().get("stream_records_delivered")
            counted = None
            if open_count is not None and time.monotonic() - last_count >= cfg.backlog_interval:
                last_count = time.monotonic()
                counted = unreleased = await asyncio.to_thread(open_count)
            samples.append(Sample(time.monotonic() - t_start, len(results), {n: rss_mb(pid) for n, pid in pids.items()},
                                  delivered, counted))
            if progress and time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                bad = sum(not r.expected for r in results)
                rss = ", ".join(f"{n} {v:.0f} MB" for n, v in samples[-1].rss.items() if v)
                print(f"  t={samples[-1].t:5.0f}s  {len(results)} requests, {bad} unexpected, RSS {rss}, "
                      f"unreleased {unreleased}", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cfg.sample_interval)

    sampling = asyncio.create_task(sampler())
    try:
        await asyncio.gather(*(worker() for _ in range(cfg.concurrency)))
    finally:
        elapsed = time.monotonic() - t_start
        stop.set()
        await sampling
        await http.aclose()
        await clients.close()
    samples.append(Sample(elapsed, len(results), {n: rss_mb(pid) for n, pid in pids.items()}))
    return results, elapsed


# ---------------------------------------------------------------------------- reconciliation
def _read_all(stack: Stack, op: str, table: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a consistent ``scan`` or ``query`` (``op``), all pages, decoded."""
    from bytespike.store.dynamo import from_item

    read = getattr(stack.ddb, op)
    out: list[dict[str, Any]] = []
    kwargs = {"TableName": stack.tables[table], "ConsistentRead": True, **kwargs}
    while True:
        page = read(**kwargs)
        out.extend(from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def open_reservations(stack: Stack) -> int:
    """How many reservations are not released yet: a COUNT on the sparse ``open-by-deadline`` index.

    Only unreleased reservations carry ``open_shard``, so this reads nothing else; a full scan
    per poll would keep moto (one lock, a slow serializer) busy and slow the release poller down.
    """
    from bytespike.config import settings

    total = 0
    for shard in range(settings().reservation_shards):
        kwargs: dict[str, Any] = {"TableName": stack.tables["RESERVATIONS_TABLE"], "IndexName": "open-by-deadline",
                                  "KeyConditionExpression": "open_shard = :s", "Select": "COUNT",
                                  "ExpressionAttributeValues": {":s": {"S": f"S{shard}"}}}
        while True:
            page = stack.ddb.query(**kwargs)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return total


def wait_released(stack: Stack, org_ids: list[str], timeout: float,
                  progress: bool = False) -> tuple[list[dict[str, Any]], float]:
    """Every reservation of these orgs once none is open any more (or, at the timeout, as they are)."""
    t0 = time.monotonic()
    last_print = t0
    while (left := open_reservations(stack)) and time.monotonic() - t0 < timeout:
        if progress and time.monotonic() - last_print >= 30:
            last_print = time.monotonic()
            print(f"  draining: {left} reservations not released yet ({time.monotonic() - t0:.0f}s)", flush=True)
        time.sleep(2.0)
    waited = time.monotonic() - t0
    prefix = org_ids[0].rsplit("-", 1)[0] + "-"  # soak-<run id>-<n>
    res = [r for r in _read_all(stack, "scan", "RESERVATIONS_TABLE", FilterExpression="begins_with(org_id, :p)",
                            ExpressionAttributeValues={":p": {"S": prefix}}) if r["org_id"] in org_ids]
    return res, waited


@dataclass
class Check:
    """One reconciliation check and its detail."""

    name: str
    ok: bool
    detail: str = ""
    blocking: bool = True  # False: a known gateway finding, reported but not failing the soak (see docs/LOAD.md)


def reconcile(stack: Stack, keys: list[KeyInfo], results: list[Result], timeout: float,
              progress: bool = False) -> tuple[list[Check], dict[str, Any]]:
    """Wallets, member quotas, ledger and per-request costs, checked exactly."""
    from bytespike.store import ledger

    org_ids = sorted({k.org_id for k in keys})
    reservations, waited = wait_released(stack, org_ids, timeout, progress)
    totals: dict[str, Any] = {"drain": waited}
    checks: list[Check] = []
    open_ = [(r["id"], r["state"]) for r in reservations if not r.get("released")]
    checks.append(Check("every reservation released", not open_, f"waited {waited:.1f}s; open: {open_[:5]}"))
    held = [r["id"] for r in reservations if r["state"] == "HELD"]
    checks.append(Check("no HELD reservation", not held, f"{held[:5]}"))
    states = Counter(r["state"] for r in reservations)
    checks.append(Check("states only SETTLED/FAILED", set(states) <= {"SETTLED", "FAILED"}, dict(states).__repr__()))
    totals.update(reservations=len(reservations), states=dict(states), orgs={})

    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in reservations:
        by_org[r["org_id"]].append(r)
    for org_id in org_ids:
        res = by_org[org_id]
        wallet = stack.wallet(org_id)
        billed = sum(int(r.get("cost") or 0) for r in res if r.get("released"))
        holds = sum(int(r["hold"]) for r in res if not r.get("released"))
        ok = (wallet["topped_up"] == ORG_CREDITS and wallet["balance"] == ORG_CREDITS - billed and holds == 0
              and wallet["balance"] >= 0)
        checks.append(Check(f"{org_id}: balance = top-ups - billed", ok,
                            f"balance {wallet['balance']:,}, topped up {wallet['topped_up']:,}, billed {billed:,}, "
                            f"open holds {holds:,}"))
        try:
            stack.assert_conservation(org_id)
            checks.append(Check(f"{org_id}: Stack.assert_conservation", True))
        except AssertionError as err:
            checks.append(Check(f"{org_id}: Stack.assert_conservation", False, str(err)[:300]))
        # The usage ledger: one row per reservation, the same cost.
        rows = _read_all(stack, "query", "USAGE_TABLE", KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": f"ORG#{org_id}"}})
        row_cost = {r["request_id"]: int(r.get("credits") or 0) for r in rows}
        res_cost = {r["id"]: int(r.get("cost") or 0) for r in res}
        checks.append(Check(f"{org_id}: usage ledger = reservations", len(rows) == len(res) and row_cost == res_cost,
                            f"{len(rows)} rows, {len(res)} reservations, ledger {sum(row_cost.values()):,} credits"))
        # Member quota counters: per (member, period), exactly the costs of its reservations.
        spent: dict[tuple[str, str], int] = defaultdict(int)
        for r in res:
            for counter in ledger.quota_counters(r):
                spent[counter] += int(r.get("cost") or 0)
        bad: list[str] = []
        today = ledger.period_label("day")
        for k in keys:
            if k.org_id != org_id:
                continue
            periods = {p for (m, p) in spent if m == k.member_id} | {today}
            for period in periods:
                used = stack.member_used(org_id, k.member_id, period)
                want = spent.get((k.member_id, period), 0)
                if k.quota is None:
                    if used is not None:
                        bad.append(f"{k.member_id} has no quota but a counter {used}")
                elif (used or 0) != want or want > k.quota:
                    bad.append(f"{k.member_id}/{period}: counter {used}, billed {want}, quota {k.quota}")
        checks.append(Check(f"{org_id}: member quota counters = billed", not bad, "; ".join(bad[:5])))
        totals["orgs"][org_id] = {"billed": billed, "balance": wallet["balance"], "reservations": len(res),
                                  "ledger_rows": len(rows)}

    # Each request against the client's view.
    by_id = {r["id"]: r for r in reservations}
    seen_ids = {r.obs.request_id for r in results if r.obs.request_id}
    problems: list[str] = []
    for r in results:
        rid, res = r.obs.request_id, by_id.get(r.obs.request_id or "")
        if r.outcome in ("quota_refused", "rpm_limited"):
            if res is not None:
                problems.append(f"{rid} {r.outcome} but held {res['hold']}")
        elif r.outcome == "ok":
            if res is None or res["state"] != "SETTLED" or int(res["cost"]) != r.obs.credits:
                problems.append(f"{rid} ok with credits {r.obs.credits} but reservation {_brief(res)}")
        elif r.outcome in PRE_FIRST_BYTE or r.outcome in ("injected_mid_error", "injected_drop"):
            if res is not None and (res["state"] != "FAILED" or int(res.get("cost") or 0) != 0):
                problems.append(f"{rid} {r.outcome} but reservation {_brief(res)}")
        elif r.outcome == "client_abort" and res is not None and not 0 <= int(res.get("cost") or 0) <= int(res["hold"]):
            problems.append(f"{rid} aborted, reservation {_brief(res)}")
        if res is not None and r.obs.hold is not None and int(res["hold"]) != r.obs.hold:
            problems.append(f"{rid}: estimated_credits {r.obs.hold} but hold {res['hold']}")
    orphans = [rid for rid in by_id if rid not in seen_ids]
    checks.append(Check("each request's cost = what its client saw", not problems, "; ".join(problems[:5])))
    checks.append(Check("no reservation without a client request", not orphans, f"{orphans[:5]}"))
    ok_costs = [int(by_id[r.obs.request_id]["cost"]) for r in results if r.outcome == "ok" and r.obs.request_id in by_id]
    checks.append(Check("successes cost > 0", all(c > 0 for c in ok_costs), f"{len(ok_costs)} successes"))
    over, under = abort_billing(results, by_id)
    aborts = sum(r.outcome == "client_abort" for r in results)
    # Not blocking: when the gateway notices a hang-up late it has already relayed (and is billed for)
    # more than the client read; that bound depends on socket timing (docs/LOAD.md, "Findings").
    # The frame-size over-billing this check found is pinned by tests/soak/test_abort_billing.py.
    checks.append(Check("aborted streams: billed output <= what reached the client", not over,
                        f"{len(over)} of {aborts} over-billed, e.g. {'; '.join(over[:3])}" if over else "",
                        blocking=False))
    checks.append(Check("aborted streams: billed output >= what reached the client", not under,
                        f"{len(under)} under-billed, e.g. {'; '.join(under[:3])}" if under else ""))
    aborted = [by_id[r.obs.request_id] for r in results if r.outcome == "client_abort" and r.obs.request_id in by_id]
    totals["aborted_billed"] = sum(int(x.get("cost") or 0) for x in aborted)
    totals["aborted_client_aborted"] = sum(x.get("outcome") == "client_aborted" for x in aborted)
    totals["billed"] = sum(o["billed"] for o in totals["orgs"].values())
    totals["client_seen_credits"] = sum(r.obs.credits or 0 for r in results if r.outcome == "ok")
    return checks, totals


def abort_billing(results: list[Result], by_id: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Aborted streams whose billed output tokens are far from the text their client received.

    A client that hangs up after k deltas may have had a few more in flight (the gateway notices
    at its next write), so the upper bound allows 4 more deltas' worth at 2 characters a token;
    the lower bound is 8 characters a token. Both are loose: only gross errors trip them.
    """
    over: list[str] = []
    under: list[str] = []
    for r in results:
        res = by_id.get(r.obs.request_id or "")
        if r.outcome != "client_abort" or res is None or res.get("outcome") != "client_aborted":
            continue
        out = int((res.get("usage") or {}).get("output_tokens") or 0)
        chars, n = r.obs.received_chars, max(1, r.obs.contents)
        lane = f"{r.plan.surface}->{r.plan.model}"
        if out > math.ceil(chars * (n + 4) / n / 2) + 4:
            over.append(f"{lane}: {out} tokens billed for {chars} chars received ({res['id']})")
        elif chars >= 16 and out < chars / 8:
            under.append(f"{lane}: {out} tokens billed for {chars} chars received ({res['id']})")
    return over, under


def _brief(res: dict[str, Any] | None) -> str:
    if res is None:
        return "missing"
    return f"{res['state']}/{res.get('outcome')} cost {res.get('cost')} hold {res['hold']}"


# ---------------------------------------------------------------------------- summary and report
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


@dataclass
class Report:
    """Everything one soak run found."""

    cfg: SoakConfig
    results: list[Result]
    elapsed: float
    samples: list[Sample]
    checks: list[Check]
    totals: dict[str, Any]
    memory: dict[str, Any]
    log_findings: Counter[str]
    started_at: str

    @property
    def unexpected(self) -> list[Result]:
        return [r for r in self.results if not r.expected]

    @property
    def reconciled(self) -> bool:
        return all(c.ok for c in self.checks if c.blocking)

    @property
    def ok(self) -> bool:
        return not self.unexpected and self.reconciled and self.memory["ok"]


def memory_verdict(samples: list[Sample], cfg: SoakConfig, total: int, end: dict[str, float | None]) -> dict[str, Any]:
    """Gateway RSS: start, after warm-up, middle, end; growth after warm-up must stay under the bound."""
    gw = [(s, s.rss.get("gateway")) for s in samples if s.rss.get("gateway")]
    warm_n = max(1, int(total * cfg.warmup_fraction))
    warm = next((v for s, v in gw if s.done >= warm_n), None)
    mid = next((v for s, v in gw if s.done >= total // 2), None)
    start = gw[0][1] if gw else None
    end_gw = end.get("gateway")
    growth = (end_gw - warm) if end_gw is not None and warm is not None else None
    second_half = (end_gw - mid) if end_gw is not None and mid is not None else None
    moto = [s.rss.get("moto") for s in samples if s.rss.get("moto")]
    moto_end = end.get("moto")
    return {"start": start, "warm": warm, "mid": mid, "end": end_gw, "peak": max((v or 0) for _, v in gw) if gw else None,
            "growth_after_warmup": growth, "growth_second_half": second_half, "limit": cfg.rss_growth_limit_mb,
            "moto_start": moto[0] if moto else None, "moto_end": moto_end,
            "ok": growth is not None and growth <= cfg.rss_growth_limit_mb}


_REQUEST_ID = re.compile(r"req_[0-9a-f]+")
_NUMBERS = re.compile(r"(?<![\w.])\d+(?![\w.])")
SIM_DISCONNECT = "simulator: ClientDisconnect reading a request body (the gateway had cancelled that upstream call)"


def scan_log(path: Path) -> Counter[str]:
    """The stack log's warnings and errors (it runs at WARNING), grouped: first line (+ exception) -> count."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return Counter()
    entries: list[list[str]] = []
    for line in lines:
        starts = line[:4].isdigit() or line.startswith(("ERROR:", "WARNING:", "CRITICAL:"))
        if starts:
            entries.append([line])
        elif entries and (line.startswith((" ", "Traceback")) or (line and not line[0].isspace() and ":" in line)):
            entries[-1].append(line)
    found: Counter[str] = Counter()
    for entry in entries:
        head = entry[0]
        if not any(level in head for level in ("WARNING", "ERROR", "CRITICAL")):
            continue
        text = "\n".join(entry)
        if "ClientDisconnect" in text and "bytespike/simulator/" in text:
            found[SIM_DISCONNECT] += 1
            continue
        head = head.split(" ", 2)[-1] if head[:4].isdigit() else head
        last = next((ln for ln in reversed(entry[1:]) if ln and not ln.startswith(" ")), "")
        key = (head + (" / " + last if last and last != head else ""))[:300]
        found[_NUMBERS.sub("N", _REQUEST_ID.sub("req_…", key))] += 1  # one line per kind, not per request
    return found


def gateway_log_findings(found: Counter[str]) -> Counter[str]:
    """What in the log is the gateway's (the simulator's disconnect noise set apart)."""
    return Counter({k: v for k, v in found.items() if k != SIM_DISCONNECT})


def run_soak(launched: Launched, cfg: SoakConfig, *, progress: bool = False) -> Report:
    """Provision, drive, reconcile, measure: one complete soak against a launched stack."""
    run_id = secrets.token_hex(3)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    stack = launched.stack
    t0 = time.monotonic()
    keys = provision(stack, cfg, run_id)
    samples: list[Sample] = [Sample(0.0, 0, {n: rss_mb(pid) for n, pid in launched.pids.items()})]
    t_run = time.monotonic()
    results, elapsed = asyncio.run(drive(stack.base_url, keys, cfg, run_id, launched.pids, samples, progress,
                                         open_count=lambda: open_reservations(stack)))
    t_traffic = time.monotonic()
    checks, totals = reconcile(stack, keys, results, cfg.release_timeout, progress)
    totals["phases"] = {"provision": t_run - t0, "traffic": elapsed, "drain": totals["drain"],
                        "reconcile": time.monotonic() - t_traffic - totals["drain"]}
    stats = httpx.get(stack.base_url + "/_local/stats", timeout=10).json()
    checks.append(Check("stream poller has nothing pending", stats.get("stream_pending") == 0, str(stats.get("stream_pending"))))
    end = {n: rss_mb(pid) for n, pid in launched.pids.items()}
    samples.append(Sample(time.monotonic() - t_run, len(results), end))  # after the releases drained
    memory = memory_verdict(samples, cfg, len(results), end)
    return Report(cfg, results, elapsed, samples, checks, totals, memory, scan_log(launched.log_path), started_at)


def _f(v: float | None, spec: str = ".0f") -> str:
    return "–" if v is None else format(v, spec)


def summary_rows(report: Report) -> list[tuple[str, int, int, float, float, float | None]]:
    """(outcome, count, unexpected, p50 ms, p99 ms, p50 first-token ms) per outcome class."""
    by: dict[str, list[Result]] = defaultdict(list)
    for r in report.results:
        by[r.outcome].append(r)
    rows = []
    for outcome in sorted(by, key=lambda k: -len(by[k])):
        rs = by[outcome]
        lat = [r.latency * 1000 for r in rs]
        ttft = [r.obs.ttft * 1000 for r in rs if r.obs.ttft is not None]
        rows.append((outcome, len(rs), sum(not r.expected for r in rs), pct(lat, 50), pct(lat, 99),
                     pct(ttft, 50) if ttft else None))
    return rows


def render_markdown(report: Report) -> str:
    """The report section of docs/LOAD.md (between the soak-report markers)."""
    cfg, res = report.cfg, report.results
    n = len(res)
    lat = [r.latency * 1000 for r in res]
    m = report.memory
    mix = Counter((r.plan.surface, "stream" if r.plan.stream else "json") for r in res)
    cross = sum((r.plan.surface == "anthropic") != r.plan.model.startswith("claude") for r in res)
    sdk = sum(r.plan.via == "sdk" for r in res)
    status = Counter(r.obs.status for r in res)
    lines = [
        REPORT_BEGIN,
        f"## Last long run: {report.started_at}",
        "",
        f"`python -m bench.soak --duration {cfg.duration:.0f} --requests {cfg.requests} --concurrency {cfg.concurrency}"
        f"{f' --rate {cfg.rate:g}' if cfg.rate else ''}` "
        f"(seed {cfg.seed}, fault rate {cfg.fault_rate:.0%}, SDK share {cfg.sdk_share:.0%}).",
        "",
        "| | |",
        "|---|---|",
        f"| Machine | {machine()} |",
        f"| Traffic time | {report.elapsed:.0f} s ({'request count' if n >= cfg.requests else 'duration'} reached first) |",
        f"| Requests | {n:,} ({n / report.elapsed:.1f} req/s): "
        + ", ".join(f"{s} {k} {v:,}" for (s, k), v in sorted(mix.items()))
        + f"; {cross:,} cross-protocol; {sdk:,} through the SDKs |",
        f"| HTTP statuses | {', '.join(f'{k}: {v:,}' for k, v in sorted(status.items(), key=lambda kv: str(kv[0])))} |",
        f"| Latency, all | p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms |",
        f"| **Unexpected** | **{len(report.unexpected)}** |",
        f"| Reconciliation | **{'exact' if report.reconciled else 'FAILED'}**: {report.totals['reservations']:,} reservations "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(report.totals['states'].items()))}), "
        f"{report.totals['billed']:,} credits billed; client-seen credits of successes {report.totals['client_seen_credits']:,} "
        f"+ aborted streams {report.totals['aborted_billed']:,} |",
        f"| Gateway RSS (MiB) | start {_f(m['start'])}, after warm-up {_f(m['warm'])}, middle {_f(m['mid'])}, "
        f"end {_f(m['end'])}, peak {_f(m['peak'])}; growth after warm-up {_f(m['growth_after_warmup'], '+.1f')} "
        f"(bound {m['limit']:.0f}), second half {_f(m['growth_second_half'], '+.1f')} |",
        f"| moto process RSS (MiB) | {_f(m['moto_start'])} → {_f(m['moto_end'])} (holds every item and stream record in memory; "
        f"grows with the data by design) |",
        f"| Stack log (WARNING and up) | {_log_line(report.log_findings)} |",
        f"| Release backlog | {poller_rate(report)}; drained {report.totals['drain']:.0f} s after the traffic stopped "
        f"(the local stream poller releases serially; see \"Pacing\" above) |",
        "",
        "| Outcome | Requests | Unexpected | p50 (ms) | p99 (ms) | p50 first token (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for outcome, count, bad, p50, p99, ttft in summary_rows(report):
        lines.append(f"| {outcome} | {count:,} | {bad} | {p50:.0f} | {p99:.0f} | {_f(ttft)} |")
    lines += ["", "| Check | Result | Detail |", "|---|---|---|"]
    for c in report.checks:
        verdict = "ok" if c.ok else ("**FAILED**" if c.blocking else "**finding** (not blocking)")
        lines.append(f"| {c.name} | {verdict} | {c.detail.replace('|', '/')} |")
    lines += ["", "RSS samples (s since start, requests done, gateway MiB, moto MiB):", ""]
    step = max(1, len(report.samples) // 12)
    picked = report.samples[::step] + ([report.samples[-1]] if (len(report.samples) - 1) % step else [])
    lines.append(", ".join(f"({s.t:.0f}, {s.done}, {_f(s.rss.get('gateway'))}, {_f(s.rss.get('moto'))})" for s in picked))
    backlog = [s for s in report.samples if s.unreleased is not None]
    if backlog:
        step = max(1, len(backlog) // 12)
        lines += ["", "Unreleased reservations during the traffic (s since start, requests done, unreleased):", "",
                  ", ".join(f"({s.t:.0f}, {s.done}, {s.unreleased})" for s in backlog[::step])]
    lines += ["", REPORT_END]
    return "\n".join(lines) + "\n"


def write_report(path: Path, section: str) -> None:
    """Replace the report section of ``path`` (append it when the markers are missing)."""
    text = path.read_text() if path.exists() else "# Load\n\n"
    if REPORT_BEGIN in text and REPORT_END in text:
        head, rest = text.split(REPORT_BEGIN, 1)
        tail = rest.split(REPORT_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def machine() -> str:
    """CPU model, cores, memory, kernel and Python, on one line."""
    cpu = "?"
    with contextlib.suppress(OSError):
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "?")
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB"
    return (f"{cpu}, {os.cpu_count()} cores (shared with other work during the run), {mem} RAM, "
            f"Linux {platform.release()}, Python {platform.python_version()}, loopback only")


def poller_rate(report: Report) -> str:
    """Stream records the local release poller delivered per second during the traffic."""
    pts = [s for s in report.samples if s.released_records is not None and s.t <= report.elapsed + 1]
    if len(pts) < 2 or pts[-1].t <= pts[0].t:
        return "poller rate unknown"
    rate = (pts[-1].released_records - pts[0].released_records) / (pts[-1].t - pts[0].t)  # type: ignore[operator]
    return f"poller delivered {rate:.1f} stream records/s during the traffic ({len(report.results) / report.elapsed:.1f} req/s)"


def _log_line(found: Counter[str]) -> str:
    if not found:
        return "nothing"
    return "; ".join(f"{n} × {what}" for what, n in found.most_common(6)).replace("|", "/")


def print_summary(report: Report) -> None:
    """The human summary on stdout."""
    n = len(report.results)
    lat = [r.latency * 1000 for r in report.results]
    print(f"\nsoak: {n} requests in {report.elapsed:.1f}s ({n / max(report.elapsed, 1e-9):.1f} req/s), "
          f"p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms, {len(report.unexpected)} unexpected")
    print(f"  {'outcome':<22}{'n':>7}{'unexp':>7}{'p50 ms':>9}{'p99 ms':>9}{'ttft p50':>10}")
    for outcome, count, bad, p50, p99, ttft in summary_rows(report):
        print(f"  {outcome:<22}{count:>7}{bad:>7}{p50:>9.0f}{p99:>9.0f}{_f(ttft):>10}")
    for r in report.unexpected[:10]:
        print(f"  UNEXPECTED #{r.plan.i} {r.plan.surface} {r.plan.model} stream={r.plan.stream} via={r.plan.via} "
              f"fault={r.plan.fault}: {r.outcome} status={r.obs.status} {r.obs.problem or r.obs.error}")
    print("phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in report.totals["phases"].items()))
    print("reconciliation:")
    for c in report.checks:
        verdict = "ok" if c.ok else ("FAILED" if c.blocking else "FINDING")
        print(f"  [{verdict}] {c.name}" + (f": {c.detail}" if c.detail else ""))
    m = report.memory
    print(f"gateway RSS MiB: start {_f(m['start'])}, warm {_f(m['warm'])}, mid {_f(m['mid'])}, end {_f(m['end'])}, "
          f"growth after warm-up {_f(m['growth_after_warmup'], '+.1f')} (bound {m['limit']:.0f}) "
          f"-> {'ok' if m['ok'] else 'FAILED'}; moto {_f(m['moto_start'])} -> {_f(m['moto_end'])}")
    print(f"stack log: {_log_line(report.log_findings)}")
    print(f"release: {poller_rate(report)}; backlog drained {report.totals['drain']:.1f}s after the traffic")
    print("RESULT:", "ok" if report.ok else "FAILED")


def main(argv: list[str] | None = None) -> int:
    """Command line: the long form (`make soak`)."""
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=600, help="seconds of traffic at most")
    ap.add_argument("--requests", type=int, default=20_000, help="requests at most")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--fault-rate", type=float, default=0.10)
    ap.add_argument("--sdk-share", type=float, default=0.25)
    ap.add_argument("--rate", type=float, default=20.0,
                    help="start at most this many requests per second (0: no pacing). The local stack's release "
                         "poller keeps up with about 20/s on 2 cores; above that the release backlog grows "
                         "during the run and drains after it")
    ap.add_argument("--seed", type=int, default=SoakConfig.seed)
    ap.add_argument("--rss-limit-mb", type=float, default=60.0, help="bound on gateway RSS growth after warm-up")
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "LOAD.md")
    ap.add_argument("--no-report", action="store_true", help="print only; leave docs/LOAD.md alone")
    ap.add_argument("--workdir", type=Path, default=None, help="logs go here (default: a temporary directory)")
    args = ap.parse_args(argv)
    cfg = SoakConfig(duration=args.duration, requests=args.requests, concurrency=args.concurrency,
                     fault_rate=args.fault_rate, sdk_share=args.sdk_share, seed=args.seed,
                     rss_growth_limit_mb=args.rss_limit_mb, sample_interval=5.0, release_timeout=1800.0,
                     rate=args.rate or None)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bytespike-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"soak: up to {cfg.requests} requests / {cfg.duration:.0f}s at concurrency {cfg.concurrency}; logs in {workdir}",
          flush=True)
    with launch_stack(workdir) as launched:
        report = run_soak(launched, cfg, progress=True)
    print_summary(report)
    if not args.no_report:
        write_report(args.report, render_markdown(report))
        print(f"report section written to {args.report}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
