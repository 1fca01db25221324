"""Alert endpoints of the admin function (``/v1/alerts…``): authenticate, parse, run, render.

They follow the admin API's conventions (``gateway/admin.py``: the shared-path error shape, a
64 KiB body cap, logic in a worker thread); ``ROUTES`` is what the app factory registers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.admin.schemas import parse
from bytespike.alerts import api
from bytespike.errors import GatewayError, Kind
from bytespike.gateway.admin import ADMIN_MAX_BODY_BYTES, endpoint, principal, run
from bytespike.http.render import json_response, parse_json_object, read_body


def _org(request: Request) -> str | None:
    return request.query_params.get("org_id") or None


@endpoint
async def get_rules(request: Request, rid: str) -> Response:
    p = await principal(request)
    return json_response(await run(api.get_rules, p, _org(request)), rid, None)


@endpoint
async def put_rules(request: Request, rid: str) -> Response:
    p = await principal(request)
    p.require("operator", "master")  # role before the body is read
    body = parse_json_object(await read_body(request, ADMIN_MAX_BODY_BYTES))
    if _org(request) and "org_id" not in body:
        body["org_id"] = _org(request)
    return json_response(await run(api.put_rules, p, parse(api.AlertRules, body)), rid, None)


@endpoint
async def send_test(request: Request, rid: str) -> Response:
    p = await principal(request)
    return json_response(await run(api.send_test, p, _org(request)), rid, None, status=202)


@endpoint
async def list_events(request: Request, rid: str) -> Response:
    p = await principal(request)
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise GatewayError(Kind.INVALID_REQUEST, "limit: a whole number from 1 to 500.", param="limit")
    data = await run(api.events, p, _org(request), int(raw))
    return json_response({"object": "list", "data": data}, rid, None)


ROUTES: list[tuple[str, Callable[..., Awaitable[Response]], list[str], str]] = [
    ("/v1/alerts", get_rules, ["GET"], "Alert rules of the org (never the signing secret)"),
    ("/v1/alerts", put_rules, ["PUT"], "Set the alert rules (thresholds, webhook, emails)"),
    ("/v1/alerts/test", send_test, ["POST"], "Send a test alert through every channel"),
    ("/v1/alerts/events", list_events, ["GET"], "Alert events and their delivery log"),
]


def register(add: Callable[..., Any]) -> None:
    """``add(path, handler, methods=..., summary=...)``: the app factory's route adder."""
    for path, handler, methods, summary in ROUTES:
        add(path, handler, methods=methods, summary=summary)
