"""Bad input on the Anthropic surface: the right status and error shape, and nothing held."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"


def _post(stack: Stack, content: bytes | None = None, *, json_body: dict | None = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/messages", content=content, json=json_body, timeout=30,
                      headers={"anthropic-version": "2023-06-01", "content-type": "application/json", **(headers or {})})


CASES = [
    ("malformed json", b'{"model": "claude-haiku-5-5", "max_tokens": 10, "messages": [', None, 400, "invalid_request_error", None),
    ("not an object", b"[1,2,3]", None, 400, "invalid_request_error", None),
    ("empty body", b"", None, 400, "invalid_request_error", None),
    ("missing max_tokens", None, {"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]}, 400,
     "invalid_request_error", "max_tokens"),
    ("bad role", None, {"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, 400,
     "invalid_request_error", "messages.0.role"),
    ("no messages", None, {"model": CLAUDE, "max_tokens": 5, "messages": []}, 400, "invalid_request_error", "messages"),
    ("temperature > 1", None, {"model": CLAUDE, "max_tokens": 5, "temperature": 1.5,
                               "messages": [{"role": "user", "content": "x"}]}, 400, "invalid_request_error", "temperature"),
    ("max_tokens too large", None, {"model": CLAUDE, "max_tokens": 10_000_000,
                                    "messages": [{"role": "user", "content": "x"}]}, 400, "invalid_request_error", "max_tokens"),
    ("unknown model", None, {"model": "claude-nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
     404, "not_found_error", "model"),
]


@pytest.mark.parametrize(("name", "raw", "body", "status", "etype", "mentions"), CASES, ids=[c[0] for c in CASES])
def test_bad_body(stack: Stack, name: str, raw: bytes | None, body: dict | None, status: int, etype: str,
                  mentions: str | None) -> None:
    org = stack.new_org(1_000_000)
    r = _post(stack, raw, json_body=body, headers={"x-api-key": org.master_key})
    assert r.status_code == status, r.text
    err = r.json()
    assert err["type"] == "error" and err["error"]["type"] == etype and err["request_id"] == r.headers["request-id"]
    if mentions:
        assert mentions in err["error"]["message"]
    assert r.headers["x-should-retry"] == "false" and "estimated_credits" in r.headers
    assert stack.reservations(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


@pytest.mark.parametrize("headers", [
    {}, {"x-api-key": "sk-bs-not-a-real-key"}, {"x-api-key": "garbage"}, {"authorization": "Bearer sk-bs-nope"},
    {"authorization": "Basic abc"},
])
def test_bad_or_missing_key(stack: Stack, headers: dict[str, str]) -> None:
    r = _post(stack, json_body={"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
              headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_key_in_query_string_refused(stack: Stack) -> None:
    r = httpx.post(f"{stack.base_url}/v1/messages?api_key={stack.master_key}", timeout=30,
                   json={"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                   headers={"x-api-key": stack.master_key})
    assert r.status_code == 401 and "URL" in r.json()["error"]["message"]


def test_body_over_limit(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    big = {"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
    r = _post(stack, json_body=big, headers={"x-api-key": org.master_key})
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"
    assert stack.reservations(org.org_id) == []


def test_insufficient_credit_holds_nothing(stack: Stack) -> None:
    org = stack.new_org(10)
    r = _post(stack, json_body={"model": CLAUDE, "max_tokens": 1000, "messages": [{"role": "user", "content": "x"}]},
              headers={"x-api-key": org.master_key})
    assert r.status_code == 402 and r.json()["error"]["type"] == "billing_error"
    assert int(r.headers["estimated_credits"]) > 10
    assert stack.reservations(org.org_id) == [] and stack.wallet(org.org_id)["balance"] == 10


def test_unknown_path_and_method_in_shape(stack: Stack) -> None:
    r = httpx.get(f"{stack.base_url}/v1/messages", headers={"x-api-key": stack.master_key})
    assert r.status_code == 405 and r.json()["type"] == "error"
    r = httpx.get(f"{stack.base_url}/v1/nope")
    assert r.status_code == 404
