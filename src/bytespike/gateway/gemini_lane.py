"""Gemini models on both surfaces: Anthropic <-> Gemini directly, OpenAI via the Anthropic shape."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.billing import Usage
from bytespike.config import settings
from bytespike.errors import GatewayError
from bytespike.gateway.crossing import SSE_HEADERS, translation_error
from bytespike.gateway.pipeline import (
    Call,
    StreamTranslator,
    anthropic_delta_chars,
    billed_json,
    call_headers,
    hold_and_open,
    open_pooled,
    read_json,
    relay,
)
from bytespike.gateway.streams import AnthropicFrames, OpenAIFrames, dumps_bytes
from bytespike.providers import gemini
from bytespike.sse import OPENAI_DONE, SSEEvent, anthropic_frame, openai_frame
from bytespike.translate import (
    AnthropicToOpenAIStream,
    GeminiContext,
    GeminiToAnthropicStream,
    TranslationError,
    anthropic_request_to_gemini,
    anthropic_response_to_openai,
    gemini_response_to_anthropic,
    openai_request_to_anthropic,
)


def _to_gemini(call: Call, anthropic_body: dict[str, Any]) -> tuple[bytes, GeminiContext]:
    style = "budget" if call.model.thinking == "budget" else "level"
    try:
        body, ctx = anthropic_request_to_gemini({**anthropic_body, "model": call.model.upstream_model}, thinking_style=style)
    except TranslationError as exc:
        raise translation_error(exc) from exc
    return dumps_bytes(body), ctx


async def _open(call: Call, payload: bytes, stream: bool, session: str | None):  # type: ignore[no-untyped-def]
    return await hold_and_open(call, lambda: open_pooled(
        call, lambda account, model: gemini.post(account, model.upstream_model, payload, stream=stream), session))


class _GeminiEvents:
    """Gemini chunks -> Anthropic events, with the billing bookkeeping every lane needs."""

    def _init(self, call: Call, ctx: GeminiContext, message_id: str, input_tokens: int) -> None:
        self.call = call
        self.gemini = GeminiToAnthropicStream(model=call.model.id, message_id=message_id, ctx=ctx,
                                              input_tokens_hint=input_tokens)
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None

    def _events(self, ev: SSEEvent) -> list[tuple[str, dict[str, Any]]]:
        chunk = json.loads(ev.data)
        if "error" in chunk and "candidates" not in chunk:
            self.upstream_error = gemini.error_from_chunk(chunk)
            return []
        events = self.gemini.feed(chunk)
        if self.gemini.usage_reported:  # Gemini's usageMetadata is cumulative: final only with the finishReason
            self.usage = Usage.from_anthropic(self.gemini.usage)
            self.usage_final = self.gemini.finish_reason is not None
        for name, data in events:
            if name == "content_block_delta":
                self.delivered(anthropic_delta_chars(data.get("delta") or {}))
        return events

    def on_eof(self) -> None:
        # Gemini ends a stream by closing it; a finishReason before that means it finished.
        self.completed = self.gemini.finish_reason is not None


class GeminiToAnthropic(_GeminiEvents, AnthropicFrames, StreamTranslator):
    def __init__(self, call: Call, ctx: GeminiContext, *, message_id: str, input_tokens: int) -> None:
        self._init(call, ctx, message_id, input_tokens)

    def on_event(self, ev: SSEEvent) -> bytes:
        return b"".join(anthropic_frame(name, data) for name, data in self._events(ev))

    def finish(self, cost: int) -> bytes:
        out = []
        for name, data in self.gemini.finish():
            if name == "message_delta":
                data.setdefault("usage", {})["credits"] = cost
            out.append(anthropic_frame(name, data))
        return b"".join(out)


class GeminiToOpenAI(_GeminiEvents, OpenAIFrames, StreamTranslator):
    """Gemini -> Anthropic events -> OpenAI chunks: two small state machines in a row."""

    def __init__(self, call: Call, ctx: GeminiContext, *, completion_id: str, created: int, include_usage: bool,
                 input_tokens: int) -> None:
        self._init(call, ctx, "msg_" + completion_id, input_tokens)
        self.openai = AnthropicToOpenAIStream(model=call.model.id, completion_id=completion_id, created=created,
                                              include_usage=include_usage, names=ctx.names)

    def on_event(self, ev: SSEEvent) -> bytes:
        return b"".join(openai_frame(c) for name, data in self._events(ev) for c in self.openai.feed(name, data))

    def finish(self, cost: int) -> bytes:
        chunks = [c for name, data in self.gemini.finish() for c in self.openai.feed(name, data)]
        for chunk in self.openai.finish():
            if chunk.get("usage"):
                chunk["usage"]["credits"] = cost
            chunks.append(chunk)
        return b"".join(openai_frame(c) for c in chunks) + OPENAI_DONE


async def messages_via_gemini(request: Request, call: Call, body: dict[str, Any], input_tokens: int) -> Response:
    payload, ctx = _to_gemini(call, body)
    stream = bool(body.get("stream"))
    upstream = await _open(call, payload, stream, None)
    headers = call_headers(call)
    message_id = "msg_" + call.request_id.removeprefix("req_")
    if stream:
        translator = GeminiToAnthropic(call, ctx, message_id=message_id, input_tokens=input_tokens)
        return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                 media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
    message = await _read_message(call, upstream, ctx)
    message["id"] = message_id
    return await billed_json(call, Usage.from_anthropic(message.get("usage")), message, headers)


async def chat_via_gemini(request: Request, call: Call, body: dict[str, Any], max_out: int) -> Response:
    try:
        anthropic_body, _ = openai_request_to_anthropic(body, default_max_tokens=max_out)
    except TranslationError as exc:
        raise translation_error(exc) from exc
    payload, ctx = _to_gemini(call, anthropic_body)
    stream = bool(body.get("stream"))
    upstream = await _open(call, payload, stream, None)
    headers = call_headers(call)
    completion_id = "chatcmpl-" + call.request_id.removeprefix("req_")
    created = int(time.time())
    if stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        translator = GeminiToOpenAI(call, ctx, completion_id=completion_id, created=created,
                                    include_usage=include_usage, input_tokens=0)
        return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                 media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
    message = await _read_message(call, upstream, ctx)
    completion = anthropic_response_to_openai(message, model=call.model.id, names=ctx.names, created=created)
    completion["id"] = completion_id
    return await billed_json(call, Usage.from_anthropic(message.get("usage")), completion, headers)


async def _read_message(call: Call, upstream: Any, ctx: GeminiContext) -> dict[str, Any]:
    return await read_json(call, upstream, lambda g: gemini_response_to_anthropic(g, model=call.model.id, ctx=ctx))
