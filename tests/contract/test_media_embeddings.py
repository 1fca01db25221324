"""Embeddings over HTTP with the official openai SDK: shapes, float/base64, dimensions, billing per token."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import openai
import pytest

from bytespike.catalog import catalog
from tests.support.stack import Stack

MODELS = ["text-embedding-3-small", "gemini-embedding-001", "doubao-embedding-large"]


def _vec(b64: str) -> list[float]:
    raw = base64.b64decode(b64)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def test_float_shape_and_billing(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    raw = stack.openai(org.master_key).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["the quick brown fox", "jumps over the lazy dog"],
        encoding_format="float")
    result = raw.parse()
    assert result.object == "list" and result.model == "text-embedding-3-small"
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 1536 and isinstance(d.embedding[0], float) for d in result.data)
    assert abs(math.fsum(x * x for x in result.data[0].embedding) - 1) < 1e-3
    tokens = result.usage.prompt_tokens
    price = catalog().model("text-embedding-3-small").unit_price
    expected = -(-tokens * price.rate() // price.per)
    assert result.usage.model_extra["credits"] == expected
    assert expected <= int(raw.headers["estimated_credits"])
    request_id = raw.headers["x-request-id"]
    [res] = stack.wait_all_released(org.org_id)
    assert res["id"] == request_id and res["state"] == "SETTLED" and res["cost"] == expected
    assert res["usage"]["unit"] == "token" and res["usage"]["quantity"] == tokens
    row = stack.usage_row(org.org_id, request_id)
    assert row["modality"] == "embeddings" and row["credits"] == expected and row["model"] == "text-embedding-3-small"
    stack.assert_conservation(org.org_id)


@pytest.mark.parametrize("model", MODELS)
def test_base64_and_dimensions(stack: Stack, model: str) -> None:
    client = stack.openai()
    explicit = client.embeddings.create(model=model, input="hello vectors", dimensions=256, encoding_format="base64")
    vec = _vec(explicit.data[0].embedding)
    assert len(vec) == 256 and abs(math.fsum(x * x for x in vec) - 1) < 1e-3
    # Without encoding_format the SDK asks for base64 itself and decodes it: same vector.
    decoded = client.embeddings.create(model=model, input="hello vectors", dimensions=256)
    assert len(decoded.data[0].embedding) == 256
    assert all(abs(a - b) < 1e-6 for a, b in zip(decoded.data[0].embedding, vec, strict=True))


def test_gemini_bills_the_held_count(stack: Stack) -> None:
    """batchEmbedContents reports no usage: the held (upper-bound) count is what is billed."""
    org = stack.new_org(1_000_000)
    raw = stack.openai(org.master_key).embeddings.with_raw_response.create(model="gemini-embedding-001",
                                                                           input=["x" * 100, "y" * 50])
    result = raw.parse()
    assert result.usage.prompt_tokens == 40 + 20  # ceil(bytes / 2.5)
    assert result.usage.model_extra["credits"] == int(raw.headers["estimated_credits"]) == 9  # 60 tokens x 150,000 credits / 1M
    stack.wait_all_released(org.org_id)
    stack.assert_conservation(org.org_id)


@pytest.mark.parametrize("body,param", [
    ({"model": "text-embedding-3-small", "input": ""}, "input[0]"),
    ({"model": "text-embedding-3-small", "input": []}, "input"),
    ({"model": "text-embedding-3-small", "input": "x", "dimensions": 5000}, "dimensions"),
    ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "gemini-embedding-001", "input": [[1, 2, 3]]}, "input"),
    ({"model": "gpt-image-1", "input": "x"}, "model"),
])
def test_bad_requests_hold_nothing(stack: Stack, body: dict, param: str) -> None:
    org = stack.new_org(100_000)
    r = httpx.post(f"{stack.base_url}/v1/embeddings", json=body, timeout=10,
                   headers={"authorization": f"Bearer {org.master_key}"})
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["param"] == param and r.headers["x-should-retry"] == "false"
    assert stack.reservations(org.org_id) == []


def test_upstream_failure_bills_zero(stack: Stack) -> None:
    org = stack.new_org(100_000)
    with pytest.raises(openai.InternalServerError):
        stack.openai(org.master_key).embeddings.create(model="text-embedding-3-small", input="boom [[sim status=500]]")
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
