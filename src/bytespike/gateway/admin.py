"""Admin HTTP handlers: authenticate, parse, call ``bytespike.admin`` in a worker thread, render.

Errors speak the caller's protocol by the shared-path rule (Anthropic shape for requests
with ``x-api-key``/``anthropic-version``, OpenAI's otherwise), like /v1/models.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from starlette.requests import Request
from starlette.responses import Response

from bytespike.admin import keys as admin_keys
from bytespike.admin import operator
from bytespike.admin import orgs as admin_orgs
from bytespike.admin import usage as admin_usage
from bytespike.admin.client import admin_client
from bytespike.admin.principal import MASTER, OPERATOR, Principal
from bytespike.admin.schemas import KEY_ID, ORG_ID, CreateKey, CreateOrg, OrgParam, TopUp, UsageQuery, parse
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.pipeline import new_request_id
from bytespike.http.render import (
    error_response,
    json_response,
    parse_json_object,
    read_body,
    surface_for_shared_path,
)
from bytespike.store import ledger
from bytespike.store.keys import KEY_PREFIX

_client: Any = None
Handler = Callable[..., Awaitable[Response]]


def _store() -> Any:
    global _client
    if _client is None:
        _client = admin_client()
    return _client


async def principal(request: Request) -> Principal:
    """The operator (by its credential, compared in constant time) or the key's role, read from the
    Keys table itself: a rotated-away or revoked secret has no admin power once the change commits."""
    secret = auth.presented_secret(request)
    if not secret.startswith(KEY_PREFIX):
        if await asyncio.to_thread(operator.matches, secret):
            return Principal.operator()
        raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
    return Principal.of_key(await auth.authenticate(request, fresh=True))


async def run(fn: Callable[..., Any], *args: Any) -> Any:
    """Admin logic is synchronous boto3; keep it off the event loop.

    A store that does not answer is the server's trouble, and a retry may help: 529/503
    with retry-after, not a bare 500.
    """
    try:
        return await asyncio.to_thread(fn, _store(), *args)
    except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as exc:
        raise GatewayError(Kind.OVERLOADED, "The store did not answer in time; retry shortly.",
                           retry_after="1") from exc


def endpoint(fn: Handler) -> Handler:
    """Request id, error rendering by the shared-path rule, no estimated_credits header."""

    async def wrapper(request: Request, **path: Any) -> Response:
        rid = new_request_id()
        try:
            return await fn(request, rid, **path)
        except GatewayError as err:
            return error_response(err, surface_for_shared_path(request), rid, None)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


# Admin bodies are a few hundred bytes (the largest names up to 500 catalog model ids); 64 KiB is
# ample and keeps a 6 MB JSON document from ever being parsed on the admin function.
ADMIN_MAX_BODY_BYTES = 64 * 1024


async def _body(request: Request) -> dict[str, Any]:
    return parse_json_object(await read_body(request, ADMIN_MAX_BODY_BYTES))


def _query(request: Request) -> dict[str, Any]:
    return dict(request.query_params)


def _org_param(request: Request) -> str | None:
    org = request.query_params.get("org_id")
    if org is not None:
        parse(OrgParam, {"org_id": org})
    return org


def _path_id(value: str, pattern: str, name: str) -> str:
    if not re.fullmatch(pattern, value):
        # Malformed ids cannot exist: the same answer as an id that does not exist.
        raise GatewayError(Kind.NOT_FOUND, f"No {name} '{value[:80]}'.")
    return value


# ------------------------------------------------------------------ orgs
@endpoint
async def create_org(request: Request, rid: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR)
    req = parse(CreateOrg, await _body(request))
    return json_response(await run(admin_orgs.create_org, p, req), rid, None, status=201)


@endpoint
async def get_org(request: Request, rid: str, org_id: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    return json_response(await run(admin_orgs.get_org, p, _path_id(org_id, ORG_ID, "org")), rid, None)


@endpoint
async def top_up(request: Request, rid: str, org_id: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR)
    req = parse(TopUp, await _body(request))
    out, applied = await run(admin_orgs.top_up, p, _path_id(org_id, ORG_ID, "org"), req)
    return json_response(out, rid, None, status=201 if applied else 200)


# ------------------------------------------------------------------ keys
@endpoint
async def create_key(request: Request, rid: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    req = parse(CreateKey, await _body(request))
    view, secret = await run(admin_keys.mint_key, p, req)
    return json_response({**view, "secret": secret}, rid, None, status=201)


@endpoint
async def list_keys(request: Request, rid: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    status = request.query_params.get("status")
    if status not in (None, "all", "active", "revoked"):
        raise GatewayError(Kind.INVALID_REQUEST, "status: one of active, revoked, all.", param="status")
    data = await run(admin_keys.list_keys, p, _org_param(request), status)
    return json_response({"object": "list", "data": data}, rid, None)


@endpoint
async def get_self(request: Request, rid: str) -> Response:
    """The caller's own key (members included): settings, quota used, slots in flight; never a secret."""
    p = await principal(request)
    return json_response(await run(admin_keys.self_view, p), rid, None)


@endpoint
async def get_key(request: Request, rid: str, key_id: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    return json_response(await run(admin_keys.get_key, p, _org_param(request), _path_id(key_id, KEY_ID, "key")),
                         rid, None)


@endpoint
async def revoke_key(request: Request, rid: str, key_id: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    return json_response(await run(admin_keys.revoke_key, p, _org_param(request), _path_id(key_id, KEY_ID, "key")),
                         rid, None)


@endpoint
async def rotate_key(request: Request, rid: str, key_id: str) -> Response:
    p = await principal(request)
    p.require(OPERATOR, MASTER)
    view, secret = await run(admin_keys.rotate_key, p, _org_param(request), _path_id(key_id, KEY_ID, "key"))
    return json_response({**view, "secret": secret}, rid, None)


# ------------------------------------------------------------------ usage
def _wants_csv(request: Request, q: UsageQuery) -> bool:
    if q.format is not None:
        return q.format == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _csv(body: str, rid: str, filename: str, cursor: str | None = None) -> Response:
    headers = {"request-id": rid, "x-request-id": rid, "content-disposition": f'attachment; filename="{filename}"'}
    if cursor:
        headers["x-next-cursor"] = cursor
    return Response(body, headers=headers, media_type="text/csv; charset=utf-8")


async def _usage_scope(request: Request) -> tuple[Principal, UsageQuery, admin_usage.Scope]:
    p = await principal(request)
    q = parse(UsageQuery, _query(request))
    scope = admin_usage.scope_for(p, q)
    await run(admin_usage.check_org, p, scope.org_id)
    return p, q, scope


@endpoint
async def usage_rows(request: Request, rid: str) -> Response:
    _, q, scope = await _usage_scope(request)
    rows, cursor = await run(admin_usage.page, scope, q.limit, q.cursor)
    if _wants_csv(request, q):
        name = f"usage-{scope.org_id}-{scope.start}-{scope.end}.csv"
        return _csv(admin_usage.to_csv(rows, admin_usage.ROW_COLUMNS), rid, name, cursor)
    body = {"object": "list", "org_id": scope.org_id, "start": scope.start.isoformat(), "end": scope.end.isoformat(),
            "data": rows, "has_more": cursor is not None, "next_cursor": cursor}
    return json_response(body, rid, None, extra={"x-next-cursor": cursor} if cursor else None)


def _summarize(client: Any, scope: admin_usage.Scope, groups: tuple[str, ...]) -> dict[str, Any]:
    return admin_usage.summarize(admin_usage.all_rows(client, scope), groups)


@endpoint
async def usage_summary(request: Request, rid: str) -> Response:
    _, q, scope = await _usage_scope(request)
    if q.cursor is not None:
        raise GatewayError(Kind.INVALID_REQUEST, "cursor: the summary covers the whole range; no cursor.",
                           param="cursor")
    groups = admin_usage.parse_groups(q.group_by)
    summary = await run(_summarize, scope, groups)
    if _wants_csv(request, q):
        name = f"usage-summary-{scope.org_id}-{scope.start}-{scope.end}.csv"
        return _csv(admin_usage.to_csv(summary["data"], admin_usage.summary_columns(groups)), rid, name)
    return json_response({"object": "usage_summary", "org_id": scope.org_id, "start": scope.start.isoformat(),
                          "end": scope.end.isoformat(), **summary}, rid, None)


async def request_usage(request: Request, request_id: str) -> Response | None:
    """The operator's view of one request (any org); None means "not the operator, use the key path"."""
    try:
        secret = auth.presented_secret(request)
    except GatewayError:
        return None  # the key path renders the missing-key error
    if secret.startswith(KEY_PREFIX):
        return None
    rid = new_request_id()
    surface = surface_for_shared_path(request)
    try:
        if not await asyncio.to_thread(operator.matches, secret):
            raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
        res = await ledger.get_reservation(request_id) if request_id.startswith("req_") else None
        if res is None:
            raise GatewayError(Kind.NOT_FOUND, f"No usage found for request '{request_id}'.")
        return json_response({**admin_usage.request_view(res), "org_id": res.get("org_id")}, rid, None)
    except GatewayError as err:
        return error_response(err, surface, rid, None)
