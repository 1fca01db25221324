"""Gemini upstream (generateContent / streamGenerateContent?alt=sse) for clients of other protocols."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bytespike.billing import Usage
from bytespike.catalog import Model
from bytespike.errors import GatewayError
from bytespike.gateway.lanes.base import Event, HubSource, Wire, message_id_of, translation_error
from bytespike.gateway.pipeline import Call
from bytespike.protocols import WireName
from bytespike.providers import Account, UpstreamResponse, gemini
from bytespike.sse import SSEEvent, dumps
from bytespike.translate import (
    GeminiContext,
    GeminiToAnthropicStream,
    TranslationError,
    anthropic_request_to_gemini,
    gemini_response_to_anthropic,
)


@dataclass(slots=True)
class GeminiUpstream:
    payload: bytes  # the translated request (the model is in Gemini's URL, not its body)
    ctx: GeminiContext


class GeminiSource(HubSource):
    def __init__(self, ctx: GeminiUpstream, call: Call) -> None:
        self.machine = GeminiToAnthropicStream(model=call.model.id, message_id=message_id_of(call), ctx=ctx.ctx,
                                               input_tokens_hint=call.input_estimate)
        self.usage = Usage()
        self.usage_final = False
        self.completed = False
        self.error: GatewayError | None = None

    def feed(self, ev: SSEEvent) -> list[Event]:
        chunk = json.loads(ev.data)
        if "error" in chunk and "candidates" not in chunk:
            self.error = gemini.error_from_chunk(chunk)
            return []
        events = self.machine.feed(chunk)
        if self.machine.usage_reported:  # Gemini's usageMetadata is cumulative: final only with the finishReason
            self.usage = Usage.from_anthropic(self.machine.usage)
            self.usage_final = self.machine.finish_reason is not None
        return events

    def finish(self) -> list[Event]:
        return self.machine.finish()

    def on_eof(self) -> None:
        # Gemini ends a stream by closing it; a finishReason before that means it finished.
        self.completed = self.machine.finish_reason is not None


class GeminiWire(Wire):
    name = WireName.GEMINI

    def prepare(self, hub: dict[str, Any], call: Call, stream: bool) -> GeminiUpstream:
        style = "budget" if call.model.thinking == "budget" else "level"
        try:
            body, ctx = anthropic_request_to_gemini({**hub, "model": call.model.upstream_model}, thinking_style=style)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        return GeminiUpstream(dumps(body).encode(), ctx)

    async def send(self, ctx: GeminiUpstream, account: Account, model: Model, stream: bool) -> UpstreamResponse:
        return await gemini.post(account, model.upstream_model, ctx.payload, stream=stream)

    def source(self, ctx: GeminiUpstream, call: Call) -> HubSource:
        return GeminiSource(ctx, call)

    def message(self, document: Any, ctx: GeminiUpstream, call: Call) -> dict[str, Any]:
        message = gemini_response_to_anthropic(document, model=call.model.id, ctx=ctx.ctx)
        message["id"] = message_id_of(call)
        return message
