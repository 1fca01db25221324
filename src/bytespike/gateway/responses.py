"""The Responses function's endpoints beside POST /v1/responses (which is a lane: gateway/lanes).

``POST /v1/responses/input_tokens``: what the request's input counts, as Codex asks before a
turn, and the hold ``POST /v1/responses`` would place for it (``estimated_credits``).
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import cache_ttl_hint, hold_credits
from bytespike.billing.tokens import count_input_tokens
from bytespike.errors import GatewayError
from bytespike.gateway import auth
from bytespike.gateway.lanes import registry
from bytespike.gateway.pipeline import new_request_id
from bytespike.http import access
from bytespike.http.render import error_response, json_response, parse_json_object, read_body
from bytespike.protocols import SurfaceName

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
        surface.size(parsed)
        estimated = hold_credits(parsed.model, {"max_tokens": parsed.max_output}, input_tokens=parsed.input_tokens,
                                 cache_ttl=cache_ttl_hint(raw), at=time.time())
        count = count_input_tokens(parsed.hub) if parsed.hub else parsed.input_tokens
        return json_response({"object": "response.input_tokens", "input_tokens": count}, request_id, estimated)
    except GatewayError as err:
        return error_response(err, SURFACE.value, request_id, 0)
