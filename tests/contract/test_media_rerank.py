"""Rerank over HTTP (httpx: the OpenAI SDK has no rerank): Cohere/Jina shape, billing per search unit / token."""

from __future__ import annotations

import httpx
import pytest

from bytespike.catalog import catalog
from tests.support.stack import Stack

DOCS = ["Paris is the capital of France.", {"text": "Berlin is the capital of Germany."},
        "The capital of France has the Eiffel tower.", "Bananas are yellow."]


def _post(stack: Stack, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/rerank", json=body, timeout=10, headers={"authorization": f"Bearer {key}"})


@pytest.mark.parametrize("model,unit", [("rerank-v3.5", "search_units"), ("jina-reranker-m0", "total_tokens")])
def test_rerank_shape_and_billing(stack: Stack, model: str, unit: str) -> None:
    org = stack.new_org(1_000_000)
    r = _post(stack, org.master_key, {"model": model, "query": "capital of France", "documents": DOCS, "top_n": 2,
                                      "return_documents": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model and body["id"]
    results = body["results"]
    assert len(results) == 2 and results[0]["relevance_score"] >= results[1]["relevance_score"]
    assert {x["index"] for x in results} <= {0, 2} and results[0]["document"]["text"] in (DOCS[0], DOCS[2])
    units = body["usage"][unit]
    price = catalog().model(model).unit_price
    expected = -(-units * price.rate() // price.per)
    assert body["usage"]["credits"] == expected <= int(r.headers["estimated_credits"])
    [res] = stack.wait_all_released(org.org_id)
    assert res["cost"] == expected and res["usage"]["quantity"] == units
    row = stack.usage_row(org.org_id, r.headers["x-request-id"])
    assert row["modality"] == "rerank" and row["credits"] == expected
    stack.assert_conservation(org.org_id)


def test_cohere_search_units_count_chunks(stack: Stack) -> None:
    """One search unit per 100 documents (long documents count once per chunk)."""
    docs = [f"document number {i}" for i in range(150)]
    r = _post(stack, stack.master_key, {"model": "rerank-v3.5", "query": "number 7", "documents": docs})
    assert r.status_code == 200
    assert r.json()["usage"]["search_units"] == 2 and r.json()["usage"]["credits"] == 4000
    assert len(r.json()["results"]) == 150 and "document" not in r.json()["results"][0]


@pytest.mark.parametrize("body,param", [
    ({"model": "rerank-v3.5", "query": "q"}, "documents"),
    ({"model": "rerank-v3.5", "query": "q", "documents": [1, 2]}, "documents[0]"),
    ({"model": "rerank-v3.5", "query": "", "documents": ["a"]}, "query"),
    ({"model": "rerank-v3.5", "query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
    ({"model": "jina-reranker-m0", "query": "q", "documents": ["a"], "return_documents": "yes"}, "return_documents"),
])
def test_bad_requests_hold_nothing(stack: Stack, body: dict, param: str) -> None:
    org = stack.new_org(100_000)
    r = _post(stack, org.master_key, body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert stack.reservations(org.org_id) == []


def test_upstream_failure_bills_zero(stack: Stack) -> None:
    org = stack.new_org(100_000)
    r = _post(stack, org.master_key, {"model": "jina-reranker-m0", "query": "q [[sim status=503]]", "documents": ["a"]})
    assert r.status_code == 503 and r.json()["error"]["type"] == "server_error"
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
