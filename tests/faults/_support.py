"""Shared helpers for the fault suites: one request in either protocol, and error-shape checks."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.stack import Org, Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
SURFACES = ["anthropic", "openai"]


def request(surface: str, key: str, text: str, *, stream: bool, model: str | None = None,
            max_tokens: int = 200) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(path, headers, body) of a chat request on ``surface``."""
    messages = [{"role": "user", "content": text}]
    if surface == "anthropic":
        return ("/v1/messages", {"x-api-key": key, "anthropic-version": "2023-06-01"},
                {"model": model or CLAUDE, "max_tokens": max_tokens, "stream": stream, "messages": messages})
    return ("/v1/chat/completions", {"authorization": f"Bearer {key}"},
            {"model": model or GPT, "max_tokens": max_tokens, "stream": stream, "messages": messages})


def post(base_url: str, surface: str, key: str, text: str, *, stream: bool, model: str | None = None,
         max_tokens: int = 200, timeout: float = 30) -> httpx.Response:
    path, headers, body = request(surface, key, text, stream=stream, model=model, max_tokens=max_tokens)
    return httpx.post(base_url + path, json=body, headers=headers, timeout=timeout)


def sse_data(text: str) -> list[Any]:
    """Every ``data:`` payload of an SSE body, JSON-decoded where it is JSON."""
    out: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data:"):
            raw = line[5:].strip()
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append(raw)
    return out


def assert_error_body(surface: str, r: httpx.Response) -> dict[str, Any]:
    """A complete (non-200) error response in the caller's protocol; never a bare 500."""
    assert r.status_code != 200 and r.status_code != 500, (r.status_code, r.text[:500])
    assert 400 <= r.status_code < 600, r.status_code
    assert r.headers.get("content-type", "").startswith("application/json"), (r.headers, r.text[:300])
    body = r.json()
    if surface == "anthropic":
        assert body["type"] == "error" and isinstance(body["error"]["type"], str) and body["error"]["message"], body
    else:
        assert isinstance(body["error"], dict) and body["error"]["message"] and "type" in body["error"], body
    return body


def assert_stream_error(surface: str, r: httpx.Response) -> dict[str, Any]:
    """A 200 stream that ends in the protocol's in-band error event (never a clean finish)."""
    assert r.status_code == 200, (r.status_code, r.text[:500])
    if surface == "anthropic":
        assert "event: error" in r.text and "event: message_stop" not in r.text, r.text[-800:]
        [err] = [d for d in sse_data(r.text) if isinstance(d, dict) and d.get("type") == "error"]
        assert isinstance(err["error"]["type"], str) and err["error"]["message"], err
        return err
    errors = [d for d in sse_data(r.text) if isinstance(d, dict) and "error" in d]
    assert len(errors) == 1, r.text[-800:]
    assert isinstance(errors[0]["error"], dict) and errors[0]["error"]["message"], errors[0]
    assert not any(isinstance(d, dict) and any(c.get("finish_reason") for c in d.get("choices") or [])
                   for d in sse_data(r.text)), r.text[-800:]
    return errors[0]


def assert_error(surface: str, r: httpx.Response, *, stream: bool) -> dict[str, Any]:
    """Either shape is proper: a stream may already have started (200 + in-band error)."""
    if stream and r.status_code == 200:
        return assert_stream_error(surface, r)
    return assert_error_body(surface, r)


def assert_released_unbilled(stack: Stack, org: Org) -> list[dict[str, Any]]:
    res = stack.wait_all_released(org.org_id)
    assert all(int(x.get("cost") or 0) == 0 for x in res), res
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == 0 and totals["billed"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    return res
