"""The Anthropic Messages surface (POST /v1/messages): the hub's own shape, so to_hub is the identity."""

from __future__ import annotations

from typing import Any

from bytespike.billing import estimate_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind, anthropic_body
from bytespike.gateway import precheck
from bytespike.gateway.lanes.base import Event, HubSink, Parsed, Surface, chat_model, validated
from bytespike.gateway.pipeline import Call
from bytespike.protocols import SurfaceName
from bytespike.providers import pool
from bytespike.sse import anthropic_frame, dumps
from bytespike.wire.anthropic import MessagesRequest


def resolve_model(model_id: Any) -> Model:
    return chat_model(model_id, "model: '{model}' is not a model this gateway serves. See GET /v1/models.")


class AnthropicSink(HubSink):
    """Hub events are Anthropic's own: framed as they come; the final message_delta carries the credits."""

    def feed(self, events: list[Event]) -> bytes:
        return b"".join(anthropic_frame(name, data) for name, data in events)

    def finish(self, events: list[Event], cost: int) -> bytes:
        for name, data in events:
            if name == "message_delta":
                data.setdefault("usage", {})["credits"] = cost
        return self.feed(events)


class AnthropicSurface(Surface):
    name = SurfaceName.ANTHROPIC
    ping = b'event: ping\ndata: {"type":"ping"}\n\n'

    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        req = validated(MessagesRequest, body)
        return Parsed(model=resolve_model(req.model), body=body, raw=raw, stream=req.stream is True, validated=req)

    def size(self, parsed: Parsed) -> None:
        req, model, body = parsed.validated, parsed.model, parsed.body
        precheck.messages(req, model, catalog().provider_of(model))
        if req.max_tokens > model.max_output_tokens:
            raise GatewayError(Kind.INVALID_REQUEST,
                               f"max_tokens: {req.max_tokens} > {model.max_output_tokens}, the maximum for {model.id}",
                               param="max_tokens")
        parsed.max_output = req.max_tokens
        parsed.input_tokens = estimate_input_tokens(body)
        user = (body.get("metadata") or {}).get("user_id")
        cached = dumps([body.get("tools"), body.get("system")]).encode() if b"cache_control" in parsed.raw else None
        parsed.session = pool.session_key(user if isinstance(user, str) else None, cached)

    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        return parsed.body, None

    def sink(self, ctx: Any, call: Call) -> HubSink:
        return AnthropicSink()

    def document(self, message: dict[str, Any], ctx: Any, call: Call) -> dict[str, Any]:
        return message

    def error_frame(self, err: GatewayError, call: Call) -> bytes:
        return anthropic_frame("error", anthropic_body(err, call.request_id))
