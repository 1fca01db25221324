"""The OpenAI Responses surface (POST /v1/responses) on any model.

Codex CLI and the OpenAI SDKs' newer defaults speak it. OpenAI models answer it by byte
pass-through (the only lane that can honour OpenAI's built-in tools); every other model gets
it through the hub: ``responses_request_to_anthropic`` in, ``AnthropicToResponsesStream`` /
``anthropic_response_to_responses`` out, Claude's thinking returned as reasoning items the
client can replay (translate/responses_common.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bytespike.billing import BYTES_PER_TOKEN_UPPER, estimate_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind, openai_body, redact
from bytespike.gateway.lanes.base import Event, HubSink, Parsed, Surface, message_id_of, translation_error
from bytespike.gateway.lanes.chat_surface import resolve_model, session_key
from bytespike.gateway.pipeline import Call
from bytespike.protocols import SurfaceName, WireName
from bytespike.sse import dumps
from bytespike.translate import (
    AnthropicToResponsesStream,
    ResponsesContext,
    TranslationError,
    anthropic_response_to_responses,
    response_id_for,
    responses_request_to_anthropic,
)
from bytespike.wire.anthropic import first_error
from bytespike.wire.responses import ResponsesRequest


def frames(events: list[dict[str, Any]]) -> bytes:
    """Responses SSE: each event named by its type (the SDKs dispatch on ``data.type``)."""
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + dumps(e).encode() + b"\n\n" for e in events)


def error_code(err: GatewayError) -> str:
    """OpenAI's code for a failed response (``response.failed`` / ``error`` events)."""
    return openai_body(err)["error"]["code"] or "server_error"


def speaks_responses(model: Model) -> bool:
    """The model's provider answers /v1/responses itself (then the lane is a pass-through)."""
    return WireName.OPENAI_RESPONSES.value in catalog().provider_of(model).wires


class ResponsesSink(HubSink):
    def __init__(self, ctx: ResponsesContext, call: Call) -> None:
        self.machine = AnthropicToResponsesStream(ctx, response_id=response_id_for(message_id_of(call)))

    def feed(self, events: list[Event]) -> bytes:
        return frames([e for name, data in events for e in self.machine.feed(name, data)])

    def finish(self, events: list[Event], cost: int) -> bytes:
        out = [e for name, data in events for e in self.machine.feed(name, data)]
        return frames(out + self.machine.finish(credits=cost))

    def fail(self, err: GatewayError) -> bytes:
        return frames(self.machine.fail(redact(err.message), code=error_code(err)))


class ResponsesSurface(Surface):
    name = SurfaceName.OPENAI_RESPONSES
    ping = b": ping\n\n"  # a comment: a `ping` event would be an unknown Responses event type

    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        try:
            req = ResponsesRequest.model_validate(body)  # typed values from here on
        except ValidationError as exc:
            param, message = first_error(exc)
            raise GatewayError(Kind.INVALID_REQUEST, message, param=param) from exc
        return Parsed(model=resolve_model(req.model), body=body, raw=raw, stream=req.stream is True, validated=req)

    def size(self, parsed: Parsed) -> None:
        req, model = parsed.validated, parsed.model
        if req.max_output_tokens is not None and req.max_output_tokens > model.max_output_tokens:
            raise GatewayError(Kind.INVALID_REQUEST,
                               f"max_output_tokens is too large: {req.max_output_tokens}. This model supports at most "
                               f"{model.max_output_tokens} output tokens.", param="max_output_tokens")
        style = "adaptive" if model.thinking == "adaptive" else "budget"
        passthrough = speaks_responses(model)
        try:
            # Built-in tools are OpenAI's to run: listed (for the pass-through) on OpenAI models,
            # refused in OpenAI's own wording elsewhere.
            hub, ctx = responses_request_to_anthropic(
                {**parsed.body, "model": model.id}, default_max_tokens=model.max_output_tokens, thinking_style=style,
                builtin_tools="list" if passthrough else "refuse")
        except TranslationError as exc:
            if not passthrough:
                raise translation_error(exc) from exc
            # Never stricter than the upstream: what OpenAI takes and our translator does not know
            # still passes through, held by its size (the estimator's bytes-per-token bound).
            hub, ctx = None, None
        parsed.max_output = int(req.max_output_tokens or model.max_output_tokens)
        parsed.input_tokens = estimate_input_tokens(hub) if hub else int(len(parsed.raw) / BYTES_PER_TOKEN_UPPER) + 16
        parsed.session = session_key({"prompt_cache_key": parsed.body.get("prompt_cache_key"),
                                      "user": parsed.body.get("user"), "messages": []})
        parsed.hub, parsed.answer = hub, ctx

    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        if parsed.hub is None:  # sized from its bytes for the pass-through: no hub lane can carry it
            raise GatewayError(Kind.INVALID_REQUEST, "This request can only be served by OpenAI models.")
        return parsed.hub, parsed.answer

    def sink(self, ctx: ResponsesContext, call: Call) -> HubSink:
        return ResponsesSink(ctx, call)

    def document(self, message: dict[str, Any], ctx: ResponsesContext, call: Call) -> dict[str, Any]:
        return anthropic_response_to_responses(message, ctx, response_id=response_id_for(message_id_of(call)))

    def error_frame(self, err: GatewayError, call: Call) -> bytes:
        return frames([{"type": "error", "sequence_number": 0, "code": error_code(err), "message": redact(err.message),
                        "param": err.param}])
