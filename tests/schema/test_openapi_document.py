"""The gateway's OpenAPI document cannot drift from the app factory or the path table.

Every route each function registers is an operation of the document (and the other way
round), each operation belongs to the function the path table sends its path to, every
path-table prefix has operations, and each function serves exactly its own part at
``GET /openapi.json``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from bytespike.http import openapi
from bytespike.http.app import REGISTRARS, GatewayApp, create_app
from bytespike.http.paths import PATH_TABLE, function_for

# Served by every function (and the local stack's dispatcher) but not part of the public API.
NOT_DOCUMENTED = {"/healthz", "/openapi.json"}
METHODS = ("get", "put", "post", "delete", "patch")


def _routes(app: GatewayApp) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route (``{name:path}`` converters dropped)."""
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, Route) or route.path in NOT_DOCUMENTED:
            continue
        path = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", route.path)
        out |= {(m.lower(), path) for m in route.methods if m not in ("HEAD", "OPTIONS")}
    return out


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, path) for path, item in doc["paths"].items() for m in item if m in METHODS}


@pytest.fixture(scope="module")
def apps() -> dict[str, GatewayApp]:
    return {name: create_app(name) for name in REGISTRARS}


def test_document_is_valid_openapi_3_1() -> None:
    import schemathesis

    doc = openapi.build_document()
    assert doc["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(doc)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    labels = [op.ok().label for op in schema.get_all_operations()]  # raises on an unusable operation
    assert len(labels) == len(_documented(doc))


def test_examples_are_valid_requests() -> None:
    """Each body example validates against its own schema (they seed schemathesis' examples phase)."""
    import jsonschema

    doc = openapi.build_document()
    checked = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "example" in media:
                validator = jsonschema.Draft202012Validator({**media["schema"], "components": doc["components"]})
                assert not list(validator.iter_errors(media["example"])), (method, path)
                checked.append((method, path))
    assert len(checked) >= 10


def test_every_route_is_documented_and_every_operation_routed(apps: dict[str, GatewayApp]) -> None:
    doc = openapi.build_document()
    routed = set().union(*(_routes(app) for app in apps.values()))
    documented = _documented(doc)
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations no app serves"


@pytest.mark.parametrize("function", sorted(REGISTRARS))
def test_each_operation_belongs_to_the_function_the_path_table_names(function: str, apps: dict[str, GatewayApp]) -> None:
    doc = openapi.build_document()
    for method, path in _routes(apps[function]):
        operation = doc["paths"][path][method]
        assert operation["x-bytespike-function"] == function, (method, path)
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert function_for(concrete) == function, (method, path)


def test_every_path_table_prefix_has_operations() -> None:
    paths = openapi.build_document()["paths"]
    for prefix, function in PATH_TABLE:
        if prefix == "/openapi.json":  # the document itself, not an operation in it
            continue
        under = [p for p in paths if p == prefix or p.startswith(prefix.rstrip("/") + "/")]
        assert under, f"no documented operation under {prefix} ({function})"
        assert function in REGISTRARS


@pytest.mark.parametrize("function", sorted(REGISTRARS))
def test_each_function_serves_its_own_part(function: str, apps: dict[str, GatewayApp]) -> None:
    r = TestClient(apps[function]).get("/openapi.json")
    assert r.status_code == 200, r.text[:300]
    served = r.json()
    assert served["openapi"].startswith("3.1")
    if openapi.served_by(function) is None:  # the path table routes /openapi.json here: the whole document
        assert served == openapi.build_document()
        return
    assert _documented(served) == _routes(apps[function])
    assert all(op["x-bytespike-function"] == function for item in served["paths"].values() for op in item.values())


def test_operations_declare_auth_errors_and_shapes() -> None:
    doc = openapi.build_document()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["Bearer"]["scheme"] == "bearer"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            shape = op["x-bytespike-error-shape"]
            assert shape in ("anthropic", "openai", "gemini", "by-auth-header", "by-body-surface"), (method, path)
            errors = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
            assert "404" in errors, (method, path)
            for response in errors.values():
                assert "application/json" in response["content"], (method, path)
            if op["security"]:
                assert "401" in errors, (method, path)
            if method == "post" and path not in ("/v1/keys/{key_id}/revoke", "/v1/keys/{key_id}/rotate",
                                                 "/v1/alerts/test",  # actions without a body
                                                 "/v1/responses/{response_id}/cancel"):  # (as OpenAI's)
                assert op.get("requestBody"), (method, path)
