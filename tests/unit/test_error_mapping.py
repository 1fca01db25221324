"""Every provider's documented error bodies → the gateway's kind → status and type on both surfaces.

The table is data: tests/fixtures/<provider>/errors.json (each case: upstream status and
body, expected kind, kept status, whether it is the gateway's own account at fault, and
a retry delay carried in the body).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bytespike.errors import (
    GatewayError,
    Kind,
    anthropic_body,
    anthropic_status,
    error_headers,
    openai_body,
    openai_status,
)
from bytespike.translate.errors_map import PROVIDER_MAPPERS, UpstreamError, map_upstream_error

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROVIDERS = ("anthropic", "openai", "deepseek", "ark", "gemini")

# kind → (anthropic status, anthropic type, openai status, openai type) when no status is kept
SURFACES = {
    Kind.INVALID_REQUEST: (400, "invalid_request_error", 400, "invalid_request_error"),
    Kind.TOO_LARGE: (413, "request_too_large", 413, "invalid_request_error"),
    Kind.RATE_LIMIT: (429, "rate_limit_error", 429, "rate_limit_error"),
    Kind.OVERLOADED: (529, "overloaded_error", 503, "server_error"),
    Kind.UPSTREAM: (502, "api_error", 502, "server_error"),
    Kind.TIMEOUT: (504, "timeout_error", 504, "server_error"),
}


def cases() -> list[tuple[str, dict]]:
    out = []
    for provider in PROVIDERS:
        data = json.loads((FIXTURES / provider / "errors.json").read_text())
        assert data["_source"], f"{provider}: fixtures must name their source"
        out.extend((provider, case) for case in data["cases"])
    return out


CASES = cases()


@pytest.mark.parametrize(("provider", "case"), CASES, ids=[f"{p}-{c['name']}" for p, c in CASES])
def test_documented_error_bodies(provider: str, case: dict) -> None:
    raw = case["body"]
    body = raw if isinstance(raw, str) else json.dumps(raw).encode()  # as bytes off the wire
    mapped = map_upstream_error(provider, case["status"], body)
    assert isinstance(mapped, UpstreamError)
    assert mapped.kind == Kind(case["kind"]), mapped
    assert mapped.status == case["keep_status"]
    assert mapped.account_fault is case["account_fault"]
    assert mapped.retry_after == case.get("retry_after")
    assert mapped.upstream_status == case["status"]
    # the same result from an already-parsed body
    assert map_upstream_error(provider, case["status"], raw) == mapped

    err = mapped.to_gateway_error(retry_after_header="9" if case["status"] == 429 else None)
    assert isinstance(err, GatewayError)
    a_status, a_type, o_status, o_type = SURFACES[mapped.kind]
    if case["keep_status"] is not None:  # an upstream 4xx about the request stays what it was
        a_status = o_status = case["keep_status"]
    assert anthropic_status(err) == a_status and anthropic_body(err, "req_1")["error"]["type"] == a_type
    assert openai_status(err) == o_status and openai_body(err)["error"]["type"] == o_type
    assert anthropic_status(err) < 500 or mapped.kind is not Kind.INVALID_REQUEST  # a client mistake is never a 5xx
    headers = error_headers(err)
    no_retry = mapped.kind in (Kind.INVALID_REQUEST, Kind.TOO_LARGE)
    assert headers["x-should-retry"] == ("false" if no_retry else "true")
    if case["status"] == 429:
        assert headers["retry-after"] == "9"  # the upstream header wins over the body's delay
    if mapped.account_fault:
        # never blamed on the caller's key or wallet, and the upstream's text is not shown
        assert mapped.kind is Kind.UPSTREAM and err.kind not in (Kind.AUTHENTICATION, Kind.BILLING)
        assert "Insufficient Balance" not in err.message and "API key" not in err.message
    elif mapped.message:
        assert mapped.message in err.message  # the upstream's message is kept
    assert mapped.should_failover is (mapped.kind not in (Kind.INVALID_REQUEST, Kind.TOO_LARGE))


def test_every_provider_has_a_mapper_and_cases() -> None:
    assert set(PROVIDER_MAPPERS) == set(PROVIDERS)
    for provider in PROVIDERS:
        kinds = {c["kind"] for p, c in CASES if p == provider}
        assert {"invalid_request", "upstream_error", "rate_limit"} <= kinds, provider


def test_body_retry_delay_is_used_without_a_header() -> None:
    case = next(c for p, c in CASES if p == "gemini" and c["name"] == "resource_exhausted_retry_info")
    err = map_upstream_error("gemini", 429, case["body"]).to_gateway_error()
    assert err.retry_after == "37"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("status", "kind"), [(400, Kind.INVALID_REQUEST), (429, Kind.RATE_LIMIT), (500, Kind.UPSTREAM),
                                              (502, Kind.UPSTREAM), (504, Kind.TIMEOUT), (401, Kind.UPSTREAM)])  # fmt: skip
def test_unreadable_bodies_fall_back_to_the_status(provider: str, status: int, kind: Kind) -> None:
    for body in (b"<html>502 Bad Gateway</html>", b"", None, b"\xff\xfe"):
        mapped = map_upstream_error(provider, status, body)
        assert mapped.kind is kind, (provider, status, body)
        assert mapped.account_fault is (status == 401)


def test_unknown_provider_uses_the_openai_shape() -> None:
    mapped = map_upstream_error("mystery", 429, {"error": {"message": "slow down", "code": "rate_limit_exceeded"}})
    assert mapped.kind is Kind.RATE_LIMIT and mapped.message == "slow down"
