"""Schemathesis against the gateway's own OpenAPI document, every operation, over real HTTP.

Positive and negative cases for every operation of ``bytespike.http.openapi`` go to the
local stack: once with a valid key of a dedicated, funded org (so requests pass auth and
valid ones really run on the simulator), once with no key or a wrong one. Every response
must be: never a 5xx (the simulator never fails unless told to, so any 5xx is the
gateway's), fast, conformant to the document (status, content type, headers, body), and
every error in the protocol that path speaks. Afterwards nothing of the org is still
held, its money is conserved, and the server is healthy.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bytespike.http import openapi
from tests.support.stack import Org, Stack, next_client_ip

pytestmark = pytest.mark.stack

SEED = int(os.environ.get("BYTESPIKE_FUZZ_SEED", "20261010"))
# A deeper run than CI's: BYTESPIKE_FUZZ_EXAMPLES=200 BYTESPIKE_FUZZ_LOG=/tmp/fuzz.jsonl pytest tests/schema
EXAMPLES = int(os.environ.get("BYTESPIKE_FUZZ_EXAMPLES", "8"))
LOG = os.environ.get("BYTESPIKE_FUZZ_LOG", "")
ONLY = [n for n in os.environ.get("BYTESPIKE_FUZZ_ONLY", "").split(",") if n]  # "POST /v1/messages,GET /v1/usage"
MAX_SECONDS = 15.0  # no single response (streams included) may take longer on this box
CREDITS = 10**13  # enough that no generated request is refused for money (402 is still a valid answer)
OPERATIONS = {(op.method.upper(), op.path): op for op in openapi.operations()}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none",
                       "with-security-parameters": False},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "request-timeout": MAX_SECONDS + 5,
    })


def _closed(document: dict[str, Any]) -> dict[str, Any]:
    """The document with unknown request fields closed off (BYTESPIKE_FUZZ_CLOSED=1): positive bodies then
    carry only known fields, so more of them get past validation into the lanes (deeper manual runs)."""
    schemas = document["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"].rsplit("/", 1)[-1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    todo = [name for item in document["paths"].values() for op in item.values()
            for name in refs(op.get("requestBody", {}))]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += list(refs(schemas[name]))

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    for name in seen:
        close(schemas[name])
    return document


DOCUMENT = openapi.build_document()
if os.environ.get("BYTESPIKE_FUZZ_CLOSED"):
    DOCUMENT = _closed(DOCUMENT)


def _selected(ctx: Any, *, secured_only: bool = False) -> bool:
    """Operations to fuzz: all (or BYTESPIKE_FUZZ_ONLY's), or just those that need a key."""
    operation = ctx.operation
    if ONLY and operation.label not in ONLY:
        return False
    return bool(operation.definition.raw.get("security")) or not secured_only


schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config(EXAMPLES)).include(func=_selected)
secured = schemathesis.openapi.from_dict(DOCUMENT, config=_config(max(2, EXAMPLES // 3))).include(
    func=lambda ctx: _selected(ctx, secured_only=True))


# ------------------------------------------------------------------ fixtures
class _FromAddress(HTTPAdapter):
    """Connections from one loopback address: the playground counts free runs per client IP."""

    def __init__(self, ip: str) -> None:
        self._ip = ip
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._ip, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def fuzz_org(stack: Stack) -> Org:
    return stack.new_org(CREDITS)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.mount("http://", _FromAddress(next_client_ip()))
    yield session
    session.close()


@pytest.fixture(scope="module")
def started() -> float:
    return time.time()


# ------------------------------------------------------------------ checks
def _sent_headers(response: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in response.request.headers.items()}


def expected_error_shape(method: str, path: str, response: Any) -> str:
    """The protocol an error of this request must speak (the document's x-bytespike-error-shape)."""
    shape = OPERATIONS[(method, path)].error_shape
    if shape == "by-auth-header":
        sent = _sent_headers(response)
        if "x-goog-api-key" in sent:
            return "gemini"
        return "anthropic" if ("anthropic-version" in sent or "x-api-key" in sent) else "openai"
    if shape == "by-body-surface":
        try:
            surface = json.loads(response.request.body or b"").get("surface")
        except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
            return "anthropic"
        return surface if surface in ("anthropic", "openai") else "anthropic"
    return shape


def header(response: Any, name: str) -> str:
    """One response header (schemathesis keeps lists of values, lower-cased names)."""
    values = response.headers.get(name.lower()) or [""]
    return values[0] if isinstance(values, list) else str(values)


def assert_error_shape(shape: str, response: Any) -> None:
    """A complete error in the protocol's own shape, with the retry hint."""
    assert header(response, "content-type").startswith("application/json"), response.headers
    body = response.json()
    if shape == "anthropic":
        assert body.get("type") == "error", body
        assert isinstance(body["error"]["type"], str) and body["error"]["message"], body
    elif shape == "gemini":  # google.rpc.Status, as Google's SDKs parse it
        assert set(body) == {"error"}, body
        err = body["error"]
        assert err["code"] == response.status_code and err["message"] and err["status"].isupper(), body
    else:
        assert set(body) == {"error"}, body
        err = body["error"]
        assert isinstance(err["message"], str) and err["message"] and isinstance(err["type"], str), body
        assert {"param", "code"} <= set(err), body
    assert header(response, "x-should-retry") in ("true", "false"), response.headers


def call_and_check(case: schemathesis.Case, base_url: str, http: requests.Session, headers: dict[str, str]) -> Any:
    """Send the case; no 5xx, no slow answer, document-conformant, errors in the path's protocol."""
    t0 = time.monotonic()
    response = case.call(base_url=base_url, session=http, headers=headers)
    elapsed = time.monotonic() - t0
    _log(case, response, elapsed)
    assert elapsed < MAX_SECONDS, f"{case.method} {case.formatted_path} took {elapsed:.1f}s"
    assert response.status_code < 500, (response.status_code, response.content[:500].decode(errors="replace"),
                                        case.as_curl_command())
    case.validate_response(response, checks=CHECKS, headers=headers)
    if response.status_code >= 400:
        assert_error_shape(expected_error_shape(case.method, case.path, response), response)
    return response


def _log(case: schemathesis.Case, response: Any, elapsed: float) -> None:
    """With BYTESPIKE_FUZZ_LOG=path, one JSON line per request (for deeper manual runs)."""
    if not LOG:
        return
    row = {"op": f"{case.method} {case.path}", "status": response.status_code, "seconds": round(elapsed, 2),
           "mode": case.meta.generation.mode.value if case.meta else None,
           "request_headers": dict(response.request.headers), "request_body": repr(case.body)[:2000],
           "response": response.content[:500].decode(errors="replace"),
           "raw_body": base64.b64encode(response.request.body or b"").decode() if isinstance(response.request.body, bytes)
           else response.request.body}
    with open(LOG, "a") as out:
        out.write(json.dumps(row, default=str) + "\n")


def _auth(style: str, key: str) -> dict[str, str]:
    """The key as Anthropic SDKs send it, as OpenAI SDKs do, or as Google's do."""
    if style == "x-api-key":
        return {"x-api-key": key}
    if style == "x-goog-api-key":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}


# ------------------------------------------------------------------ the runs
# Credentials rotate case by case (schemathesis cannot combine `given` with schema examples).
_STYLES = itertools.cycle(["x-api-key", "bearer", "x-goog-api-key"])
_WRONG = itertools.cycle([
    {},
    {"x-api-key": "sk-bs-" + "0" * 40},
    {"authorization": "Bearer sk-bs-" + "1" * 40},
    {"x-api-key": "hunter2-not-a-key"},
    {"authorization": "Bearer "},
    {"x-goog-api-key": "AIza" + "2" * 35},
])


@schema.parametrize()
def test_every_operation_with_a_valid_key(case: schemathesis.Case, stack: Stack, fuzz_org: Org,
                                          http: requests.Session, started: float) -> None:
    call_and_check(case, stack.base_url, http, _auth(next(_STYLES), fuzz_org.master_key))


@secured.parametrize()
def test_every_secured_operation_refuses_a_missing_or_wrong_key(case: schemathesis.Case, stack: Stack,
                                                                 http: requests.Session) -> None:
    headers = dict(next(_WRONG))  # a copy: the transport adds its own headers to the dict
    response = call_and_check(case, stack.base_url, http, headers)
    assert response.status_code == 401, (headers, response.status_code, response.text[:300])


def _wait_released(stack: Stack, org_id: str, since: float, timeout: float = 30.0) -> None:
    """Every reservation of ``org_id`` made since ``since`` (epoch seconds) is released."""
    deadline = time.monotonic() + timeout
    while True:
        open_ = [(r["id"], r["state"]) for r in stack.reservations(org_id)
                 if int(r.get("created_at") or 0) >= (since - 1) * 1000 and not r.get("released")]  # created_at: ms
        if not open_ or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not open_, f"still held after {timeout}s: {open_}"


def test_after_the_run_nothing_is_held_and_money_is_conserved(stack: Stack, fuzz_org: Org, started: float) -> None:
    """Runs after the fuzzing above (file order): every hold released, conservation, healthy server."""
    res = stack.wait_all_released(fuzz_org.org_id, timeout=30)
    assert all(r["state"] != "HELD" for r in res)
    assert stack.assert_conservation(fuzz_org.org_id)["open_holds"] == 0
    if stack.house_org:  # free playground runs bill the house wallet
        _wait_released(stack, stack.house_org, started)
        stack.assert_conservation(stack.house_org)
    health = requests.get(stack.base_url + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["ok"] is True
