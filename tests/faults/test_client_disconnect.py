"""The client going away at every stage of a streamed call: the hold is always released, nothing is
billed when no content reached the client, and at most the full cost when some did."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
import pytest

from tests.faults._support import SURFACES, request
from tests.support.stack import Org, Stack


def _is_content(surface: str, line: str) -> bool:
    if surface == "anthropic":
        return line.startswith("event: content_block_delta")
    if not line.startswith("data: {"):
        return False
    choices = json.loads(line[6:]).get("choices") or []
    return any((c.get("delta") or {}).get("content") for c in choices)


def _is_start(surface: str, line: str) -> bool:
    return line.startswith("event: message_start") if surface == "anthropic" else line.startswith("data: {")


def _stream_until(stack: Stack, surface: str, org: Org, text: str, stop: Any) -> int:
    """Stream ``text`` and hang up as soon as ``stop(line, contents_seen)`` is true; contents seen."""
    path, headers, body = request(surface, org.master_key, text, stream=True, max_tokens=2000)
    seen = 0
    with httpx.stream("POST", stack.base_url + path, json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if _is_content(surface, line):
                seen += 1
            if stop(line, seen):
                break
        else:
            raise AssertionError("the stream ended before the client hung up")
    return seen


def _full_cost(stack: Stack, surface: str, org: Org, text: str) -> int:
    """The billed cost of the same stream read to its end."""
    path, headers, body = request(surface, org.master_key, text, stream=True, max_tokens=2000)
    r = httpx.post(stack.base_url + path, json=body, headers=headers, timeout=30)
    assert r.status_code == 200 and ("message_stop" in r.text or "[DONE]" in r.text), r.text[-500:]
    rid = r.headers["request-id"]
    [res] = [x for x in stack.wait_all_released(org.org_id) if x["id"] == rid]
    return int(res["cost"])


def _settled(stack: Stack, org: Org, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while len(stack.reservations(org.org_id)) < count:
        assert time.monotonic() < deadline, "the reservation never appeared"
        time.sleep(0.1)
    res = stack.wait_all_released(org.org_id)
    stack.assert_conservation(org.org_id)
    assert stack.assert_conservation(org.org_id)["open_holds"] == 0
    return res


def _healthy(stack: Stack) -> None:
    assert httpx.get(stack.base_url + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_hangup_right_after_sending(stack: Stack, surface: str) -> None:
    """Gone before the hold commits / the upstream answers: nothing billed."""
    org = stack.new_org(1_000_000)
    path, headers, body = request(surface, org.master_key, "early [[sim delay_ms=1200]]", stream=True)
    payload = json.dumps(body).encode()
    host, port = stack.base_url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "content-type": "application/json",
                                                  "content-length": str(len(payload)), "host": host}.items())
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + payload)
    time.sleep(2.5)  # past the upstream's delay: whatever the gateway started has ended by now
    res = stack.wait_all_released(org.org_id)
    assert stack.assert_conservation(org.org_id)["open_holds"] == 0
    assert all(x["cost"] == 0 for x in res), res
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    _healthy(stack)


@pytest.mark.parametrize("surface", SURFACES)
def test_hangup_after_headers_before_content(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    _stream_until(stack, surface, org, "wait [[sim first_token_ms=1500]]", lambda line, seen: _is_start(surface, line))
    [res] = _settled(stack, org, 1)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    _healthy(stack)


@pytest.mark.parametrize("surface", SURFACES)
def test_hangup_mid_content(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    text = "long [[sim deltas=40 interval_ms=40]]"
    got = _stream_until(stack, surface, org, text, lambda line, seen: seen >= 5)
    assert got == 5
    [res] = _settled(stack, org, 1)
    full = _full_cost(stack, surface, org, text)
    assert 0 < res["cost"] < full, (res, full)
    _healthy(stack)


@pytest.mark.parametrize("surface", SURFACES)
def test_hangup_after_last_content_before_stop(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    text = "short [[sim deltas=6 interval_ms=30]]"
    got = _stream_until(stack, surface, org, text, lambda line, seen: seen >= 6)
    assert got == 6
    [res] = _settled(stack, org, 1)
    full = _full_cost(stack, surface, org, text)
    assert 0 < res["cost"] <= full, (res, full)
    _healthy(stack)


NON_STREAMING_LANES = [("anthropic", "claude-haiku-5-5"), ("anthropic", "gpt-6-luna"), ("anthropic", "gemini-3.5-flash-lite"),
                       ("openai", "gpt-6-luna"), ("openai", "claude-haiku-5-5"), ("openai", "gemini-3.5-flash-lite")]


@pytest.mark.parametrize(("surface", "model"), NON_STREAMING_LANES)
def test_non_streaming_hangup_cancels_the_upstream_and_bills_nothing(stack: Stack, surface: str, model: str) -> None:
    """Issue 14, finding 4: a non-streaming client that hung up kept the upstream running and was billed
    the whole answer it never received. Now the hang-up cancels the upstream call at once and, as for a
    stream aborted before its first content, nothing is billed."""
    org = stack.new_org(1_000_000)
    path, headers, body = request(surface, org.master_key, "slow answer [[sim delay_ms=4000 words=300]]",
                                  stream=False, model=model, max_tokens=2000)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(stack.base_url + path, json=body, headers=headers, timeout=httpx.Timeout(30, read=1.0))
    [res] = _settled(stack, org, 1)
    assert res["state"] == "FAILED" and res["outcome"] == "client_aborted" and int(res["cost"]) == 0, res
    # Settled about when the client left, not when the upstream would have answered (4 s).
    assert int(res["settled_at"]) - int(res["created_at"]) < 3000, res
    assert time.monotonic() - started < 30
    assert stack.assert_conservation(org.org_id)["billed"] == 0
    _healthy(stack)
