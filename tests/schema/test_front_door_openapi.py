"""The whole OpenAPI document is served at the base URL, through the production path table."""

from __future__ import annotations

import httpx

from bytespike.http import openapi
from tests.support.stack import Stack


def test_openapi_json_is_served_at_the_base_url(stack: Stack) -> None:
    r = httpx.get(stack.base_url + "/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == set(openapi.build_document()["paths"])  # every function's operations
    assert {"/v1/messages", "/v1/chat/completions", "/v1/embeddings", "/v1/keys"} <= set(doc["paths"])
