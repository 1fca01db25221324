"""One paid call, on any surface and any wire: auth -> estimate -> hold ∥ open -> relay -> settle.

The surface codec reads the client's request and writes its answer; the wire adapter speaks
to the upstream; the hub (Anthropic Messages) sits between. Everything about money - the
hold, the pooled open with failover and fallback, the relay with its keep-alive, the settle,
hang-ups - is here and in gateway/pipeline.py, once, for every pair.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.billing import Usage, cache_ttl_hint, hold_credits
from bytespike.catalog import catalog
from bytespike.config import settings
from bytespike.errors import GatewayError
from bytespike.gateway import auth
from bytespike.gateway.lanes import registry
from bytespike.gateway.lanes.base import SSE_HEADERS, HubRelay, Lane, Parsed, Surface, Wire
from bytespike.gateway.pipeline import (
    Call,
    billed_json,
    call_headers,
    hold_and_open,
    new_request_id,
    open_pooled,
    read_json,
    relay,
    request_id_for,
    session_id_of,
)
from bytespike.http import access
from bytespike.http.render import error_response, parse_json_object, read_body
from bytespike.protocols import SurfaceName


async def run_lane(request: Request, surface_name: SurfaceName, codec: Surface | None = None) -> Response:
    """The endpoint of every paid chat surface: errors before the stream in the surface's own shape.
    ``codec``: a variant of the surface's codec for one endpoint (the Responses compaction)."""
    surface = codec or registry.surface(surface_name)
    request_id = new_request_id()
    estimated: int | None = 0
    try:
        key = await auth.authenticate(request)
        raw = await read_body(request)
        body = parse_json_object(raw)
        access.note(model=body.get("model"))
        parsed = surface.parse_request(request, body, raw)
        auth.authorize(key, parsed.model)
        await surface.resolve(parsed, key)
        surface.size(parsed)
        at = time.time()
        estimated = hold_credits(parsed.model, {"max_tokens": parsed.max_output}, input_tokens=parsed.input_tokens,
                                 cache_ttl=cache_ttl_hint(raw), at=at)
        request_id, idempotent = request_id_for(key, request.headers.get("idempotency-key"))
        call = Call(request_id=request_id, surface=surface_name.value, key=key, model=parsed.model, hold=estimated,
                    reservation_id=request_id, idempotent=idempotent, input_estimate=parsed.input_tokens, at=at,
                    request=request, session_id=session_id_of(request.headers))
        lane = registry.lane_for(surface_name, catalog().provider_of(parsed.model))
        return await lane.run(surface, parsed, call, request)
    except GatewayError as err:
        return error_response(err, surface_name.value, request_id, estimated)


class HubLane(Lane):
    """A surface and a wire of different protocols, joined through the hub."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response:
        hub, answer_ctx = surface.to_hub(parsed, call)
        wire, stream = self.wire, parsed.stream
        upstream_ctx = wire.prepare(hub, call, stream)
        upstream = await hold_and_open(call, lambda: open_pooled(
            call, lambda account, model: wire.send(upstream_ctx, account, model, stream), parsed.session))
        headers = call_headers(call)
        if stream:
            sink = surface.sink(answer_ctx, call)
            translator = HubRelay(call, wire.source(upstream_ctx, call), sink, surface)
            frames = relay(call, upstream, translator, ping_interval=settings().ping_interval)
            return StreamingResponse(surface.keep_stream(parsed, call, sink, frames),
                                     media_type=surface.stream_media_type(parsed), headers={**headers, **SSE_HEADERS})
        message = await read_json(call, upstream, lambda doc: wire.message(doc, upstream_ctx, call))
        document = surface.document(message, answer_ctx, call)
        response = await billed_json(call, Usage.from_anthropic(message.get("usage")), document, headers,
                                     surface.with_credits)
        await surface.keep(parsed, call, document)  # the document has its credits; nothing is sent yet
        return response
