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
        key = await auth.authenticate(request)
        res = await ledger.get_reservation(request_id) if request_id.startswith("req_") else None
        visible = res is not None and res.get("org_id") == key.org_id and (
            key.kind == "master" or res.get("key_id") == key.key_id
        )
        if not visible:
            raise GatewayError(Kind.NOT_FOUND, f"No usage found for request '{request_id}'.")
        assert res is not None
        return json_response(
            {
                "request_id": res["request_id"],
                "model": res.get("model"),
                "provider": res.get("provider"),
                "surface": res.get("surface"),
                "modality": res.get("modality", "chat"),
                "key_id": res.get("key_id"),
                "member_id": res.get("member_id"),
                "state": res["state"],
                "outcome": res.get("outcome"),
                "hold": res["hold"],
                "credits": res.get("cost", 0) if res["state"] != ledger.HELD else None,
                "released": bool(res.get("released")),
                "usage": res.get("usage") or {},
                "created_at": res.get("created_at"),
            },
            rid,
            None,
        )
    except GatewayError as err:
        return error_response(err, surface, rid, None)
