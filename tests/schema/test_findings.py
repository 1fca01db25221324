"""Minimal reproducers of what the schemathesis runs found, one per finding.

Each was ``xfail(strict=True)`` until fixed; all are fixed now and stay as regression tests.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.stack


def test_thinking_block_with_a_non_ascii_signature_is_a_400(stack: Stack) -> None:
    """Was a 502: the simulator's signature check raised on a non-ASCII str (fixed; kept as a regression)."""
    org = stack.new_org(10_000_000)
    body = {"model": "claude-haiku-5-5", "max_tokens": 16, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": "\u00e9"}]},
        {"role": "user", "content": "go on"},
    ]}
    r = httpx.post(stack.base_url + "/v1/messages", json=body, timeout=30,
                   headers={"x-api-key": org.master_key, "anthropic-version": "2023-06-01"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["error"]["type"] == "invalid_request_error"
    stack.wait_all_released(org.org_id)
    assert stack.assert_conservation(org.org_id)["billed"] == 0


def test_every_playground_asset_404_speaks_one_protocol(stack: Stack) -> None:
    missing = httpx.get(stack.base_url + "/playground/static/nope.js", timeout=10)
    unroutable = httpx.get(stack.base_url + "/playground/static/a%2Fb.js", timeout=10)
    assert missing.status_code == unroutable.status_code == 404
    assert missing.json().get("type") == "error", missing.text  # Anthropic's shape
    assert unroutable.json().get("type") == "error", unroutable.text


_DOCUMENTS = {
    "base64 data not a string": {"type": "document", "source": {"type": "base64", "media_type": "", "data": True}},
    "source not an object": {"type": "document", "source": "x"},
}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/playground/estimate"])
@pytest.mark.parametrize("block", list(_DOCUMENTS.values()), ids=list(_DOCUMENTS))
def test_a_malformed_document_block_is_a_400(stack: Stack, path: str, block: dict) -> None:
    org = stack.new_org(10_000_000)
    request = {"model": "claude-haiku-5-5", "max_tokens": 1, "messages": [{"role": "user", "content": [block]}]}
    body = {"surface": "anthropic", "request": request} if path.startswith("/playground") else request
    r = httpx.post(stack.base_url + path, json=body, timeout=30,
                   headers={"x-api-key": org.master_key, "anthropic-version": "2023-06-01"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert stack.reservations(org.org_id) == []
