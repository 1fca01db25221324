"""The Responses function's endpoints beside POST /v1/responses (which is a lane: gateway/lanes).

``POST /v1/responses/input_tokens``: what the request's input counts, as Codex asks before a
turn, and the hold ``POST /v1/responses`` would place for it (``estimated_credits``).
``GET``/``DELETE /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items`` and
``POST /v1/responses/{id}/cancel``: responses stored with ``store: true`` (store/conversations.py),
readable only by the key that stored them.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import cache_ttl_hint, hold_credits
from bytespike.billing.tokens import count_input_tokens
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.lanes import registry
from bytespike.gateway.pipeline import new_request_id
from bytespike.http import access
from bytespike.http.render import error_response, json_response, parse_json_object, read_body
from bytespike.protocols import SurfaceName
from bytespike.store import conversations
from bytespike.store.keys import KeyRecord

SURFACE = SurfaceName.OPENAI_RESPONSES


async def input_tokens(request: Request) -> Response:
    """``{object: "response.input_tokens", input_tokens}``: a typical count of the input (the
    translated request's, as count_tokens gives for models without a counting endpoint), never the
    hold's deliberately high estimate, which is the ``estimated_credits`` header."""
    request_id = new_request_id()
    try:
        key = await auth.authenticate(request)
        raw = await read_body(request)
        body = parse_json_object(raw)
        access.note(model=body.get("model"))
        surface = registry.surface(SURFACE)
        parsed = surface.parse({**body, "stream": False}, raw)
        auth.authorize(key, parsed.model)
        await surface.resolve(parsed, key)  # a previous_response_id's stored conversation counts too
        surface.size(parsed)
        estimated = hold_credits(parsed.model, {"max_tokens": parsed.max_output}, input_tokens=parsed.input_tokens,
                                 cache_ttl=cache_ttl_hint(raw), at=time.time())
        count = count_input_tokens(parsed.hub) if parsed.hub else parsed.input_tokens
        return json_response({"object": "response.input_tokens", "input_tokens": count}, request_id, estimated)
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)


# ------------------------------------------------------------------ stored responses
def _not_found(response_id: str) -> GatewayError:
    """OpenAI's 404 for a response that is not there (unknown, expired, deleted, or another key's)."""
    return GatewayError(Kind.NOT_FOUND, f"No response found with id '{response_id}'.", param="response_id")


async def _stored(request: Request, response_id: str) -> tuple[KeyRecord, conversations.StoredResponse]:
    key = await auth.authenticate(request)
    stored = await conversations.load(key.org_id, key.key_id, response_id)
    if stored is None:
        raise _not_found(response_id)
    return key, stored


async def retrieve(request: Request, response_id: str) -> Response:
    """``GET /v1/responses/{id}``: a response stored with ``store: true``, as its client got it."""
    request_id = new_request_id()
    try:
        if request.query_params.get("stream", "").lower() in ("true", "1"):
            raise GatewayError(Kind.INVALID_REQUEST, "Only background responses can be streamed again; this "
                               "gateway runs none (see background).", param="stream")
        _, stored = await _stored(request, response_id)
        return json_response(stored.response, request_id, 0)
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)


async def delete(request: Request, response_id: str) -> Response:
    """``DELETE /v1/responses/{id}``: gone for good (a later previous_response_id to it is OpenAI's 400)."""
    request_id = new_request_id()
    try:
        key = await auth.authenticate(request)
        if not await conversations.delete(key.org_id, key.key_id, response_id):
            raise _not_found(response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True}, request_id, 0)
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)


async def cancel(request: Request, response_id: str) -> Response:
    """``POST /v1/responses/{id}/cancel``: OpenAI cancels only background responses; the gateway runs
    none (a foreground answer is cancelled by closing its stream, which bills only what was sent), so a
    stored response gets OpenAI's refusal for a foreground one and an unknown id its 404."""
    request_id = new_request_id()
    try:
        await _stored(request, response_id)
        raise GatewayError(Kind.INVALID_REQUEST, "Only responses created with background=true can be cancelled.",
                           param="response_id")
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)


def _listed(item: Any, response_id: str, index: int) -> dict[str, Any]:
    """An input item as OpenAI lists it: an object with an id and a status (messages as content parts)."""
    if isinstance(item, str):
        item = {"type": "message", "role": "user", "content": item}
    item = dict(item) if isinstance(item, dict) else {"type": "message", "role": "user", "content": str(item)}
    if item.get("type") is None and "role" in item:
        item["type"] = "message"
    if item.get("type") == "message":
        content = item.get("content")
        if isinstance(content, str):
            kind = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": content}]
        item.setdefault("status", "completed")
    item.setdefault("id", f"item_{response_id.removeprefix('resp_')}_{index}")
    return item


async def input_items(request: Request, response_id: str) -> Response:
    """``GET /v1/responses/{id}/input_items``: the input that produced a stored response (its stored
    history included), OpenAI's list page: ``limit`` (1-100, 20), ``order`` (desc by default), ``after``."""
    request_id = new_request_id()
    try:
        _, stored = await _stored(request, response_id)
        params = request.query_params
        limit_raw, order, after = params.get("limit", "20"), params.get("order", "desc"), params.get("after")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100:
            raise GatewayError(Kind.INVALID_REQUEST, "limit must be an integer from 1 to 100.", param="limit")
        if order not in ("asc", "desc"):
            raise GatewayError(Kind.INVALID_REQUEST, "order must be 'asc' or 'desc'.", param="order")
        items = [_listed(item, stored.id, i) for i, item in enumerate(stored.input)]
        if order == "desc":
            items.reverse()
        if after is not None:
            ids = [i["id"] for i in items]
            if after not in ids:
                raise GatewayError(Kind.INVALID_REQUEST, f"No input item with id '{after}'.", param="after")
            items = items[ids.index(after) + 1:]
        page = items[: int(limit_raw)]
        return json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None, "has_more": len(items) > len(page)},
                             request_id, 0)
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)
