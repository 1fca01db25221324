"""The OpenAI Chat Completions surface (POST /v1/chat/completions) on any model.

OpenAI-format upstreams are a pass-through (lanes/passthrough.py); every other wire gets the
request through the hub (``openai_request_to_anthropic``) and answers back through
``AnthropicToOpenAIStream`` / ``anthropic_response_to_openai``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bytespike.billing import estimate_openai_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind, openai_body
from bytespike.gateway import precheck
from bytespike.gateway.lanes.base import (
    Event,
    HubSink,
    Parsed,
    Surface,
    chat_model,
    translation_error,
    validated,
)
from bytespike.gateway.pipeline import Call
from bytespike.protocols import SurfaceName
from bytespike.providers import pool
from bytespike.sse import OPENAI_DONE, dumps, openai_frame
from bytespike.translate import (
    AnthropicToOpenAIStream,
    ToolNameMap,
    TranslationError,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
)
from bytespike.wire.openai import ChatRequest

MAX_CHOICES = 128  # OpenAI's bound on `n`


def resolve_model(model_id: Any) -> Model:
    return chat_model(model_id, "The model '{model}' does not exist or you do not have access to it.")


def max_output(req: ChatRequest, model: Model) -> int:
    """The output one completion may take; every limit the client set must be within the model's
    maximum (OpenAI checks each of max_tokens and max_completion_tokens, whichever it then uses)."""
    for name, requested in (("max_completion_tokens", req.max_completion_tokens), ("max_tokens", req.max_tokens)):
        if requested is not None and requested > model.max_output_tokens:
            raise GatewayError(Kind.INVALID_REQUEST,
                               f"{name} is too large: {requested}. This model supports at most "
                               f"{model.max_output_tokens} completion tokens.", param=name)
    return int(req.max_completion_tokens or req.max_tokens or model.max_output_tokens)


def choices(body: dict[str, Any]) -> int:
    """``n``: how many completions the upstream generates, each up to the output budget.

    The hold covers all of them (``n`` x the output budget); lanes that cannot produce more
    than one (Claude and Gemini, translated) refuse ``n`` > 1 in their translators.
    """
    n = body.get("n")
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
        raise GatewayError(Kind.INVALID_REQUEST, f"Invalid 'n': must be an integer from 1 to {MAX_CHOICES}.", param="n")
    return n


def session_key(body: dict[str, Any]) -> str | None:
    """Stickiness: the caller's user / prompt_cache_key, or a hash of the system prompt."""
    user = body.get("prompt_cache_key") or body.get("user")
    system = [m.get("content") for m in body.get("messages", []) if isinstance(m, dict) and m.get("role") in ("system", "developer")]
    return pool.session_key(user if isinstance(user, str) else None, dumps(system).encode() if system else None)


@dataclass(slots=True)
class ChatAnswer:
    """What answering a Chat Completions client needs: its tool names and the completion's identity."""

    names: ToolNameMap
    completion_id: str
    created: int
    include_usage: bool


class ChatSink(HubSink):
    def __init__(self, ctx: ChatAnswer, call: Call) -> None:
        self.machine = AnthropicToOpenAIStream(model=call.model.id, completion_id=ctx.completion_id, created=ctx.created,
                                               include_usage=ctx.include_usage, names=ctx.names)

    def feed(self, events: list[Event]) -> bytes:
        return b"".join(openai_frame(c) for name, data in events for c in self.machine.feed(name, data))

    def finish(self, events: list[Event], cost: int) -> bytes:
        out = self.feed(events)
        chunks = self.machine.finish()
        for chunk in chunks:
            if chunk.get("usage"):
                chunk["usage"]["credits"] = cost
        return out + b"".join(openai_frame(c) for c in chunks) + OPENAI_DONE


class ChatSurface(Surface):
    name = SurfaceName.OPENAI_CHAT
    ping = b": ping\n\n"

    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        req = validated(ChatRequest, body)
        return Parsed(model=resolve_model(req.model), body=body, raw=raw, stream=req.stream is True, validated=req)

    def size(self, parsed: Parsed) -> None:
        req, model = parsed.validated, parsed.model
        precheck.chat(req, model, catalog().provider_of(model))
        parsed.max_output = max_output(req, model) * choices(parsed.body)
        parsed.input_tokens = estimate_openai_input_tokens(parsed.body)
        parsed.session = session_key(parsed.body)

    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        body, model = parsed.body, parsed.model
        style = "adaptive" if model.thinking == "adaptive" else "budget"
        try:
            hub, names = openai_request_to_anthropic(body, default_max_tokens=max_output(parsed.validated, model),
                                                     thinking_style=style)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        completion_id = "chatcmpl-" + call.request_id.removeprefix("req_")
        return hub, ChatAnswer(names, completion_id, int(time.time()), include_usage)

    def sink(self, ctx: ChatAnswer, call: Call) -> HubSink:
        return ChatSink(ctx, call)

    def document(self, message: dict[str, Any], ctx: ChatAnswer, call: Call) -> dict[str, Any]:
        completion = anthropic_response_to_openai(message, model=call.model.id, names=ctx.names, created=ctx.created)
        completion["id"] = ctx.completion_id
        return completion

    def error_frame(self, err: GatewayError, call: Call) -> bytes:
        return openai_frame(openai_body(err))
