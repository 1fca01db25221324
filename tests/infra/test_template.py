"""template.yaml, the app factory and the local stack agree: functions, entry modules, paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bytespike.http.app import REGISTRARS, create_app
from bytespike.http.paths import PATH_TABLE, function_for
from bytespike.local.template import TABLE_ENV, load_template, resources

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = resources("AWS::Serverless::Function")


def logical_name(function: str) -> str:
    return function.capitalize() + "Function"


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_every_function_has_its_entry_module(logical: str) -> None:
    props = FUNCTIONS[logical]["Properties"]
    code = REPO / props["CodeUri"]
    handler = props["Handler"]
    if handler == "run.sh":  # Lambda Web Adapter: run.sh starts uvicorn on main:app
        assert (code / "run.sh").is_file() and "main:app" in (code / "run.sh").read_text()
        assert (code / "main.py").is_file()
    else:
        module, _, attr = handler.rpartition(".")
        source = (code / f"{module}.py").read_text()
        assert re.search(rf"\b{attr}\b", source), f"{logical}: {handler} not found"
    # Entry modules stay thin: the logic lives in the shared layer.
    for py in code.glob("*.py"):
        assert len(py.read_text().splitlines()) <= 25, f"{py} is not a thin entry module"


def _api_paths() -> dict[str, str]:
    """OpenAPI path -> the logical function its integration invokes."""
    body = load_template()["Resources"]["GatewayApi"]["Properties"]["DefinitionBody"]
    out = {}
    for path, methods in body["paths"].items():
        uri = methods["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        # the `live` alias SAM generates (<Function>Aliaslive): SnapStart applies to published
        # versions, never to $LATEST
        out[path] = re.search(r"\$\{(\w+)Aliaslive\}", uri).group(1)
    return out


def test_front_door_path_table_equals_the_local_one() -> None:
    expected: dict[str, str] = {}
    for prefix, function in PATH_TABLE:
        for path in (["/"] if prefix == "/" else [prefix, prefix + "/{proxy+}"]):
            expected[path] = logical_name(function)
    assert _api_paths() == expected


def test_streaming_functions_stream_through_the_front_door() -> None:
    body = load_template()["Resources"]["GatewayApi"]["Properties"]["DefinitionBody"]
    for path, methods in body["paths"].items():
        integration = methods["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        target = FUNCTIONS[_api_paths()[path]]["Properties"]
        streams = target["Handler"] == "run.sh"
        assert (integration.get("responseTransferMode") == "STREAM") == streams, path
        assert ("response-streaming-invocations" in integration["uri"]["Fn::Sub"]) == streams, path
        if streams:
            env = target["Environment"]["Variables"]
            assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"


def test_no_public_function_urls_to_bypass_the_front_door() -> None:
    for logical, res in FUNCTIONS.items():
        assert "FunctionUrlConfig" not in res["Properties"], logical


@pytest.mark.parametrize("function", sorted(REGISTRARS))
def test_every_route_is_reachable_through_the_path_table(function: str) -> None:
    app = create_app(function)
    assert logical_name(function) in FUNCTIONS
    for route in app.routes:
        path = getattr(route, "path", "")
        if path in ("/healthz", "/openapi.json") or not path:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert function_for(concrete) == function, f"{function}: {path} is routed to {function_for(concrete)}"


def test_tables_come_from_the_template() -> None:
    tables = resources("AWS::DynamoDB::Table")
    assert set(TABLE_ENV) <= set(tables)
    reservations = tables["ReservationsTable"]["Properties"]
    assert reservations["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    for res in tables.values():
        assert res["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert res["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_front_doors_own_answers_carry_estimated_credits() -> None:
    """A path no function serves, throttling and API Gateway's own 5xx never reach a function, so
    the header every function adds (http/access.py) is set on API Gateway's gateway responses."""
    body = load_template()["Resources"]["GatewayApi"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for name, response in responses.items():
        assert response["responseParameters"]["gatewayresponse.header.estimated_credits"] == "'0'", name
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == 404
