"""Usage API: what one request was billed, readable by the key that made it (or its org's master)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.pipeline import new_request_id
from bytespike.http.render import error_response, json_response, surface_for_shared_path
from bytespike.store import ledger


async def get_request_usage(request: Request, request_id: str) -> Response:
    surface = surface_for_shared_path(request)
    rid = new_request_id()
    try:
        key = await auth.authenticate(request, fresh=True)  # the admin API reads the table
        res = await ledger.get_reservation(request_id) if request_id.startswith("req_") else None
        visible = res is not None and res.get("org_id") == key.org_id and (
            key.kind == "master" or res.get("key_id") == key.key_id
        )
        if not visible:
            raise GatewayError(Kind.NOT_FOUND, f"No usage found for request '{request_id}'.")
        assert res is not None
        return json_response(
            ledger.request_view(res),
            rid,
            None,
        )
    except GatewayError as err:
        return error_response(err, surface, rid, None)
