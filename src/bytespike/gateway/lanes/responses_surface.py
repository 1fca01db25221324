"""The OpenAI Responses surface (POST /v1/responses) on any model.

Codex CLI and the OpenAI SDKs' newer defaults speak it. OpenAI models answer it by byte
pass-through (the only lane that can honour OpenAI's built-in tools); every other model gets
it through the hub: ``responses_request_to_anthropic`` in, ``AnthropicToResponsesStream`` /
``anthropic_response_to_responses`` out, Claude's thinking returned as reasoning items the
client can replay (translate/responses_common.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bytespike.billing import BYTES_PER_TOKEN_UPPER, estimate_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind, openai_body, redact
from bytespike.gateway.lanes.base import (
    Event,
    HubSink,
    Parsed,
    Surface,
    message_id_of,
    translation_error,
    validated,
)
from bytespike.gateway.lanes.chat_surface import resolve_model, session_key
from bytespike.gateway.pipeline import Call
from bytespike.protocols import SurfaceName, WireName
from bytespike.sse import dumps
from bytespike.store import conversations
from bytespike.store.keys import KeyRecord
from bytespike.translate import (
    AnthropicToResponsesStream,
    ResponsesContext,
    TranslationError,
    anthropic_response_to_responses,
    response_id_for,
    responses_request_to_anthropic,
)
from bytespike.wire.responses import CompactRequest, ResponsesRequest

log = logging.getLogger("bytespike.responses")


@dataclass(slots=True)
class ResponsesState:
    """What a Responses request continues and whether its answer is kept (the gateway owns this state
    for every model: docs/ARCHITECTURE.md, "Stored responses")."""

    key: KeyRecord
    store: bool = False  # ``store: true``: keep the answer for previous_response_id and GET
    previous: str | None = None
    history: list[Any] = field(default_factory=list)  # the stored conversation it continues

    def input_items(self, body: dict[str, Any]) -> list[Any]:
        """The whole input of this request: the stored history, then its own input items."""
        own = body.get("input")
        items = [{"type": "message", "role": "user", "content": own}] if isinstance(own, str) else list(own or ())
        return [*self.history, *items]


async def responses_state(key: KeyRecord, previous: str | None, *, store: bool = False) -> ResponsesState:
    """The request's state: the conversation a ``previous_response_id`` continues (OpenAI's refusal
    of an unknown id), and whether its answer is kept."""
    state = ResponsesState(key=key, store=store, previous=previous)
    if previous:
        stored = await conversations.load(key.org_id, key.key_id, previous)
        if stored is None:
            raise GatewayError(Kind.INVALID_REQUEST, f"Previous response with id '{previous}' not found.",
                               param="previous_response_id")
        state.history = stored.conversation()
    return state


def responses_session(body: dict[str, Any]) -> str | None:
    """Stickiness for a Responses request: its ``prompt_cache_key`` or ``user``, as on Chat Completions."""
    return session_key({"prompt_cache_key": body.get("prompt_cache_key"), "user": body.get("user"), "messages": []})


async def keep_response(state: ResponsesState | None, body: dict[str, Any], response: dict[str, Any] | None) -> None:
    """Store a finished response (completed or incomplete) when its request said ``store: true``.

    Written before the client's last frame, so a ``previous_response_id`` sent the moment the answer
    ends finds it. A write that fails after its retries never turns a paid answer into an error: it
    is logged and the response is not stored (a later ``previous_response_id`` gets OpenAI's 400)."""
    if state is None or not state.store or not response or response.get("status") not in ("completed", "incomplete"):
        return
    record = conversations.StoredResponse(response=response, input=state.input_items(body))
    try:
        await conversations.save(state.key.org_id, state.key.key_id, record)
    except Exception as exc:
        log.error("storing response %s failed: %s", response.get("id"), exc, exc_info=not isinstance(exc, GatewayError))


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
        req = validated(ResponsesRequest, body)
        if req.background:
            # Background responses run past their HTTP request: nothing in a function invocation can.
            raise GatewayError(Kind.INVALID_REQUEST, "background mode is not supported by this gateway; stream the "
                               "response instead (stream: true), which survives silences of any length.",
                               param="background")
        return Parsed(model=resolve_model(req.model), body=body, raw=raw, stream=req.stream is True, validated=req)

    async def resolve(self, parsed: Parsed, key: KeyRecord) -> None:
        req = parsed.validated
        parsed.state = await responses_state(key, req.previous_response_id, store=req.store is True)

    def size(self, parsed: Parsed) -> None:
        req, model = parsed.validated, parsed.model
        state: ResponsesState | None = parsed.state
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
                builtin_tools="list" if passthrough else "refuse", history=state.history if state else None)
        except TranslationError as exc:
            if not passthrough:
                raise translation_error(exc) from exc
            # Never stricter than the upstream: what OpenAI takes and our translator does not know
            # still passes through, held by its size (the estimator's bytes-per-token bound).
            hub, ctx = None, None
        parsed.max_output = int(req.max_output_tokens or model.max_output_tokens)
        history_bytes = len(dumps(state.history)) if state and state.history else 0
        parsed.input_tokens = estimate_input_tokens(hub) if hub else \
            int((len(parsed.raw) + history_bytes) / BYTES_PER_TOKEN_UPPER) + 16
        parsed.session = responses_session(parsed.body)
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

    async def keep_stream(self, parsed: Parsed, call: Call, sink: HubSink, frames: AsyncIterator[bytes]
                          ) -> AsyncIterator[bytes]:
        assert isinstance(sink, ResponsesSink)
        kept = False
        try:
            async for chunk in frames:
                if not kept and sink.machine.response is not None:  # the terminal event is in this chunk
                    kept = True
                    await keep_response(parsed.state, parsed.body, sink.machine.response)
                yield chunk
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    async def keep(self, parsed: Parsed, call: Call, document: dict[str, Any]) -> None:
        await keep_response(parsed.state, parsed.body, document)


# ------------------------------------------------------------------ POST /v1/responses/compact
COMPACTION_MAX_TOKENS = 8192  # a handoff summary's budget (the hold covers it whole)
RETAINED_BYTES = 256_000  # the most recent user messages kept beside the summary (~64k tokens, as OpenAI)


def retained_user_messages(items: list[Any], base: str) -> list[dict[str, Any]]:
    """The user messages a compaction keeps verbatim (the most recent, up to ``RETAINED_BYTES``, in
    order), as the output items OpenAI's ``/responses/compact`` returns them."""
    kept: list[dict[str, Any]] = []
    budget = RETAINED_BYTES
    for item in reversed(items):
        if isinstance(item, str):
            item = {"type": "message", "role": "user", "content": item}
        if not isinstance(item, dict) or item.get("role") != "user" or item.get("type", "message") != "message":
            continue
        content = item.get("content")
        parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else list(content or ())
        size = len(dumps(parts))
        if size > budget:
            break
        budget -= size
        kept.append({"type": "message", "role": "user", "status": "completed", "content": parts})
    kept.reverse()
    return [{"id": f"msg_{base}_u{i}", **item} for i, item in enumerate(kept)]


class CompactSurface(ResponsesSurface):
    """``POST /v1/responses/compact``: a conversation compacted into the user messages it keeps and
    one ``compaction`` item. OpenAI models compact it themselves (pass-through to
    ``/responses/compact``, their own opaque item); any other model by a billed summary call through
    the hub (a ``compaction_trigger`` request: translate/responses_common.compaction_request), its
    item carrying the summary in our envelope, which any later request (to any model) expands."""

    upstream_path = "/responses/compact"

    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        req = validated(CompactRequest, body)
        return Parsed(model=resolve_model(req.model), body=body, raw=raw, stream=False, validated=req)

    async def resolve(self, parsed: Parsed, key: KeyRecord) -> None:
        parsed.state = await responses_state(key, parsed.validated.previous_response_id)

    def size(self, parsed: Parsed) -> None:
        model, state = parsed.model, parsed.state
        assert isinstance(state, ResponsesState)
        parsed.session = responses_session(parsed.body)
        if speaks_responses(model):  # OpenAI compacts it (its own compaction item), sized from the bytes
            parsed.max_output = min(model.max_output_tokens, COMPACTION_MAX_TOKENS)
            parsed.input_tokens = int((len(parsed.raw) + len(dumps(state.history))) / BYTES_PER_TOKEN_UPPER) + 16
            return
        items = state.input_items(parsed.body)
        body = {"model": model.id, "input": [*items, {"type": "compaction_trigger"}]}
        if parsed.body.get("instructions") is not None:
            body["instructions"] = parsed.body["instructions"]
        style = "adaptive" if model.thinking == "adaptive" else "budget"
        try:
            hub, ctx = responses_request_to_anthropic(
                body, default_max_tokens=min(model.max_output_tokens, COMPACTION_MAX_TOKENS), thinking_style=style)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        parsed.hub, parsed.answer = hub, (ctx, items)
        parsed.max_output = int(hub["max_tokens"])
        parsed.input_tokens = estimate_input_tokens(hub)

    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        assert parsed.hub is not None
        return parsed.hub, parsed.answer

    def document(self, message: dict[str, Any], answer: tuple[ResponsesContext, list[Any]], call: Call
                 ) -> dict[str, Any]:
        ctx, items = answer
        response = super().document(message, ctx, call)
        return {"id": response["id"], "object": "response.compaction", "created_at": response["created_at"],
                "output": [*retained_user_messages(items, response["id"].removeprefix("resp_")),
                           *response["output"]],
                "usage": response["usage"]}

    async def keep(self, parsed: Parsed, call: Call, document: dict[str, Any]) -> None:
        return None  # a compaction is not a stored response
