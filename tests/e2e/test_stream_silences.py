"""Streams under real-world timing (issue 14, finding 1): silences longer than every timer we own.

Real reasoning models think silently for minutes before the first token and stream tool
arguments slowly. A stream must keep its client alive with pings for as long as the upstream
is silent (up to the idle limit), finish with its normal final event, and bill what was
delivered. Before the fix, the first keep-alive ping cancelled the upstream read: the client
got ``event: ping`` then "The upstream closed the stream before it finished", billed 0.

Every lane is covered: the Anthropic and OpenAI surfaces x Claude, OpenAI-format and Gemini
upstreams, with silences of 1.5x and 5x the ping interval mid-stream and before the first
token. A short interval keeps the matrix fast (the ``fast`` gateway); one test runs the production
interval (10 s, the default) on a stack started without any timing override.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bytespike.config import Settings
from tests.faults._support import request
from tests.support.stack import Org, Stack, gateway_on

pytestmark = pytest.mark.timeout(240)

PING = 1.0  # the fast stacks' keep-alive interval (SSE_PING_INTERVAL)
IDLE = 12.0  # the fast stacks' upstream idle limit (UPSTREAM_IDLE_TIMEOUT), above every silence below
MODELS = {"claude": "claude-haiku-5-5", "openai-format": "gpt-6-luna", "gemini": "gemini-3.5-flash-lite"}
SURFACES = ("anthropic", "openai")


@pytest.fixture(scope="module")
def fast(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose ping interval is 1 s, so silences of 1.5x and 5x it are quick to wait out."""
    env = {"SSE_PING_INTERVAL": str(PING), "UPSTREAM_IDLE_TIMEOUT": str(IDLE)}
    with gateway_on(stack, tmp_path_factory.mktemp("silences"), env) as (info, _, _):
        yield info["base_url"]


@dataclass
class Streamed:
    status: int
    request_id: str
    frames: list[tuple[str, Any]]  # (event name or "data"/"comment", payload)
    pings: int
    text: str
    credits: int | None  # usage.credits in the stream's final usage
    finished: bool  # the protocol's normal final event arrived (message_stop / finish_reason + [DONE])
    errors: list[Any]


def stream(base_url: str, surface: str, key: str, text: str, *, model: str, timeout: float = 60) -> Streamed:
    """One streamed request read to its end, every frame kept (pings included)."""
    path, headers, body = request(surface, key, text, stream=True, model=model, max_tokens=400)
    if surface == "openai":
        body["stream_options"] = {"include_usage": True}
    frames: list[tuple[str, Any]] = []
    with httpx.stream("POST", base_url + path, json=body, headers=headers, timeout=timeout) as r:
        status, rid = r.status_code, r.headers.get("request-id", "")
        event = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith(":"):
                frames.append(("comment", line[1:].strip()))
            elif line.startswith("data:"):
                raw = line[5:].strip()
                frames.append((event or "data", json.loads(raw) if raw.startswith("{") else raw))
                event = ""
    return _summarise(surface, status, rid, frames)


def _summarise(surface: str, status: int, rid: str, frames: list[tuple[str, Any]]) -> Streamed:
    pings = sum(1 for name, _ in frames if name in ("ping", "comment"))
    texts: list[str] = []
    credits: int | None = None
    errors: list[Any] = []
    finished = False
    if surface == "anthropic":
        for name, data in frames:
            if name == "content_block_delta" and data["delta"].get("type") == "text_delta":
                texts.append(data["delta"]["text"])
            elif name == "message_delta":
                credits = data["usage"].get("credits")
            elif name == "message_stop":
                finished = True
            elif name == "error":
                errors.append(data)
    else:
        saw_finish = False
        for name, data in frames:
            if name != "data":
                continue
            if data == "[DONE]":
                finished = saw_finish
            elif "error" in data:
                errors.append(data)
            else:
                for choice in data.get("choices") or []:
                    texts.append((choice.get("delta") or {}).get("content") or "")
                    saw_finish = saw_finish or bool(choice.get("finish_reason"))
                if data.get("usage"):
                    credits = data["usage"].get("credits")
    return Streamed(status, rid, frames, pings, "".join(texts), credits, finished, errors)


def _check_billed(stack: Stack, org: Org, results: list[Streamed]) -> None:
    """Each finished stream billed exactly what its final usage said, more than 0; money conserved."""
    reservations = {r["id"]: r for r in stack.wait_all_released(org.org_id, timeout=60)}
    for s in results:
        res = reservations[s.request_id]
        assert res["state"] == "SETTLED", (s.request_id, res["state"], res.get("outcome"))
        assert s.credits is not None and s.credits > 0 and int(res["cost"]) == s.credits, (s.credits, res)
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == 0


CASES = [(surface, lane, where, factor)
         for surface in SURFACES for lane in MODELS for where in ("mid-stream", "first-token") for factor in (1.5, 5)]


def _directive(where: str, silence_s: float, tag: str) -> str:
    ms = int(silence_s * 1000)
    timing = f"interval_ms={ms}" if where == "mid-stream" else f"first_token_ms={ms}"
    return f"Tell me about rivers [[sim words=24 deltas=3 {timing} id={tag}]]"


def test_every_lane_survives_silences_longer_than_the_ping_interval(stack: Stack, fast: str) -> None:
    """24 streams at once: each pauses 1.5x or 5x the ping interval (mid-stream: twice), gets pings
    while silent, finishes with its normal final event, has all its text, and is billed for it."""
    org = stack.new_org(50_000_000)

    def one(case: tuple[str, str, str, float]) -> tuple[tuple[str, str, str, float], Streamed]:
        surface, lane, where, factor = case
        text = _directive(where, PING * factor, secrets.token_hex(3))
        return case, stream(fast, surface, org.master_key, text, model=MODELS[lane])

    with ThreadPoolExecutor(len(CASES)) as pool:
        outcomes = list(pool.map(one, CASES))
    for (surface, lane, where, factor), s in outcomes:
        label = f"{surface} <- {lane}, {where} silence {factor}x"
        assert s.status == 200, label
        assert not s.errors, (label, s.errors)
        assert s.finished, (label, s.frames[-4:])
        assert len(s.text.split()) == 24, (label, s.text)
        silences = 2 if where == "mid-stream" else 1
        assert s.pings >= silences * int(factor * 0.8), (label, s.pings)  # a ping per interval of silence
    _check_billed(stack, org, [s for _, s in outcomes])


def test_silence_past_the_idle_limit_ends_in_a_timeout_error_and_bills_nothing(stack: Stack, fast: str) -> None:
    """The idle limit is the one timer that may end a stream: past it the client gets the protocol's
    error event (pings until then), and the failure bills 0 like every upstream failure."""
    org = stack.new_org(5_000_000)
    for surface in SURFACES:
        s = stream(fast, surface, org.master_key,
                   f"slow [[sim words=6 deltas=2 interval_ms={int((IDLE + 4) * 1000)} id={secrets.token_hex(3)}]]",
                   model=MODELS["claude"])
        assert s.status == 200 and not s.finished, s.frames[-3:]
        assert len(s.errors) == 1, s.frames[-3:]
        assert s.pings >= int(IDLE / PING) - 2, s.pings
    res = stack.wait_all_released(org.org_id, timeout=30)
    assert {r["state"] for r in res} == {"FAILED"} and all(int(r["cost"]) == 0 for r in res), res
    assert stack.assert_conservation(org.org_id)["billed"] == 0


def test_the_production_ping_interval(stack: Stack, production_gateway: str) -> None:
    """The stack users run (no timing override: 10 s pings): a 15 s silence mid-stream and before
    the first token, on a passthrough and a translated lane, finish and bill what they delivered."""
    production = Settings.from_env()
    assert production.ping_interval == 10.0
    assert production.upstream_idle_timeout >= 600, "real reasoning models think silently for minutes"
    org = stack.new_org(5_000_000)
    cases = [("anthropic", "claude", "mid-stream"), ("openai", "claude", "first-token"),
             ("anthropic", "openai-format", "first-token"), ("openai", "gemini", "mid-stream")]
    started = time.monotonic()

    def one(case: tuple[str, str, str]) -> Streamed:
        surface, lane, where = case
        text = _directive(where, 15, secrets.token_hex(3)).replace("deltas=3", "deltas=2")
        return stream(production_gateway, surface, org.master_key, text, model=MODELS[lane])

    with ThreadPoolExecutor(len(cases)) as pool:
        results = list(pool.map(one, cases))
    assert time.monotonic() - started >= 15
    for case, s in zip(cases, results, strict=True):
        assert s.status == 200 and not s.errors and s.finished, (case, s.frames[-3:])
        assert len(s.text.split()) == 24 and s.pings >= 1, (case, s.pings, s.text)
    _check_billed(stack, org, results)


def test_the_official_sdks_read_through_the_pings(stack: Stack, fast: str) -> None:
    """The Anthropic and OpenAI SDKs' stream helpers, not our parser, across 5x-the-ping silences."""
    import anthropic
    import openai

    org = stack.new_org(5_000_000)
    text = _directive("mid-stream", PING * 5, secrets.token_hex(3))
    claude = anthropic.Anthropic(base_url=fast, api_key=org.master_key, max_retries=0)
    with claude.messages.stream(model=MODELS["openai-format"], max_tokens=400,
                                messages=[{"role": "user", "content": text}]) as s:
        credits = [e.usage.model_extra["credits"] for e in s if e.type == "message_delta"]  # type: ignore[union-attr]
        message = s.get_final_message()
    assert message.stop_reason == "end_turn" and len(message.content[0].text.split()) == 24  # type: ignore[union-attr]
    assert len(credits) == 1 and credits[0] > 0
    oa = openai.OpenAI(base_url=fast + "/v1", api_key=org.master_key, max_retries=0)
    chunks = list(oa.chat.completions.create(model=MODELS["claude"], max_tokens=400, stream=True,
                                             stream_options={"include_usage": True},
                                             messages=[{"role": "user", "content": text}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).split().__len__() == 24
    assert chunks[-1].usage is not None and chunks[-1].usage.model_extra["credits"] > 0
    stack.wait_all_released(org.org_id)
    assert stack.assert_conservation(org.org_id)["billed"] > 0
