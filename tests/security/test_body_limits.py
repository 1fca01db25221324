"""Request size limits per endpoint (docs/SECURITY.md, "Request size limits").

| endpoint | cap |
|---|---|
| paid JSON endpoints (/v1/messages, chat, embeddings, rerank, images, speech, videos) | MAX_BODY_BYTES (6 MB; 1 MiB in the test stack) |
| multipart uploads (/v1/audio/transcriptions, /v1/images/edits, /v1/videos) | the same body cap; per file min(model limit, cap) |
| admin (/v1/orgs, /v1/keys, topups) | 64 KiB |
| playground (/playground/estimate, /playground/run), anonymous | 4 x PLAYGROUND_MAX_BODY_BYTES + 4 KiB read, 32 KiB request |

Declared lengths are refused before reading; chunked bodies are counted as they stream.
Paid and admin endpoints authenticate before they read a byte of the body.
The declared-length case of /v1/messages: tests/e2e/test_bad_input.py::test_body_over_limit.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator

import httpx
import pytest

from bytespike.gateway.admin import ADMIN_MAX_BODY_BYTES
from tests.conftest import STACK_ENV
from tests.support.stack import Stack, next_client_ip

STACK_LIMIT = int(STACK_ENV["MAX_BODY_BYTES"])


def _chunked(payload: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """A body sent without Content-Length (Transfer-Encoding: chunked)."""
    for i in range(0, len(payload), size):
        yield payload[i:i + size]


def _too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert "request_too_large" in (err.get("type"), err.get("code")), err


@pytest.mark.parametrize("chunked", [False, True])
def test_admin_bodies_are_capped_at_64_kib(stack: Stack, chunked: bool) -> None:
    org = stack.create_org(1_000)
    big = json.dumps({"member_id": "big", "label": "x" * (ADMIN_MAX_BODY_BYTES + 1)}).encode()
    for key, path in ((org.master_key, "/v1/keys"), (stack.operator_key, "/v1/orgs"),
                      (stack.operator_key, f"/v1/orgs/{org.org_id}/topups")):
        content = _chunked(big) if chunked else big
        r = httpx.post(stack.base_url + path, content=content, timeout=30,
                       headers={"x-api-key": key, "content-type": "application/json"})
        _too_large(r)
    assert [k for k in stack.admin("GET", "/v1/keys", org.master_key).json()["data"] if k["member_id"] == "big"] == []


@pytest.mark.parametrize("chunked", [False, True])
def test_the_anonymous_playground_reads_at_most_a_small_body(stack: Stack, chunked: bool) -> None:
    body = json.dumps({"surface": "anthropic", "request": {"model": "claude-haiku-5-5", "max_tokens": 5,
                                                           "messages": [{"role": "user", "content": "x" * 300_000}]}})
    with stack.http_from(next_client_ip(), timeout=30) as client:
        before = client.get("/playground/config").json()["free"]["runs_left"]
        for path in ("/playground/estimate", "/playground/run"):
            # A valid request over the cap, and 300 KB of non-JSON: the latter proves the cap bites
            # while reading (a parse would answer 400), not after parsing.
            for raw in (body.encode(), b"{" + b"x" * 300_000):
                content = _chunked(raw) if chunked else raw
                _too_large(client.post(path, content=content, headers={"content-type": "application/json"}))
        assert client.get("/playground/config").json()["free"]["runs_left"] == before  # no run was counted


def test_a_chunked_paid_body_is_counted_and_cut(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    payload = json.dumps({"model": "claude-haiku-5-5", "max_tokens": 5,
                          "messages": [{"role": "user", "content": "x" * (STACK_LIMIT + 10)}]}).encode()
    for path, auth in (("/v1/messages", {"x-api-key": org.master_key}),
                       ("/v1/embeddings", {"authorization": f"Bearer {org.master_key}"})):
        r = httpx.post(stack.base_url + path, content=_chunked(payload), timeout=30,
                       headers={**auth, "content-type": "application/json"})
        _too_large(r)
    assert stack.reservations(org.org_id) == []


def _wav(seconds: float) -> bytes:
    frames = int(16_000 * seconds)
    data = b"\x00\x00" * frames
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16_000,
                                                                                     32_000, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


def test_multipart_uploads_are_capped(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    audio = _wav(STACK_LIMIT / 32_000 + 1)  # just over the body cap
    assert len(audio) > STACK_LIMIT
    r = httpx.post(stack.base_url + "/v1/audio/transcriptions", timeout=30,
                   headers={"authorization": f"Bearer {org.master_key}"},
                   data={"model": "whisper-1"}, files={"file": ("big.wav", io.BytesIO(audio), "audio/wav")})
    _too_large(r)
    assert stack.reservations(org.org_id) == []


def test_an_unauthenticated_caller_cannot_make_a_paid_endpoint_read_its_body(stack: Stack) -> None:
    """Auth comes first: a huge body without a valid key is a 401, not a 413 (nothing was read)."""
    payload = b"{" + b" " * (STACK_LIMIT * 2) + b"}"
    for path in ("/v1/messages", "/v1/chat/completions", "/v1/images/generations", "/v1/keys"):
        r = httpx.post(stack.base_url + path, content=_chunked(payload), timeout=30,
                       headers={"x-api-key": "sk-bs-" + "n" * 43, "content-type": "application/json"})
        assert r.status_code == 401, (path, r.status_code)
