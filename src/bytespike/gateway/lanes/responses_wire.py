"""OpenAI models upstream through the Responses API, for clients of other protocols.

Chat Completions carries no reasoning items, so an Anthropic (or Gemini) client on a GPT model
would lose "keep your thinking blocks"; Responses carries them. OpenAI reasoning items become
thinking blocks whose signature holds the encrypted content (``translate/responses_wire.py``),
and go back out as the exact items on the next turn (``store: false``,
``include: ["reasoning.encrypted_content"]``). Chat Completions clients on OpenAI models keep
their byte pass-through; Responses clients on OpenAI models get theirs (lanes/passthrough.py).
"""

from __future__ import annotations

import json
from typing import Any

from bytespike.billing import Usage
from bytespike.catalog import Model
from bytespike.errors import GatewayError
from bytespike.gateway.lanes.base import Event, HubSource, Wire, message_id_of, translation_error
from bytespike.gateway.pipeline import Call
from bytespike.protocols import WireName
from bytespike.providers import Account, UpstreamResponse
from bytespike.providers import openai as oai
from bytespike.sse import SSEEvent, dumps
from bytespike.translate import (
    ResponsesToAnthropicStream,
    ResponsesWireContext,
    TranslationError,
    anthropic_request_to_responses,
    responses_to_anthropic,
)


class ResponsesSource(HubSource):
    def __init__(self, ctx: tuple[dict[str, Any], ResponsesWireContext], call: Call) -> None:
        self.machine = ResponsesToAnthropicStream(model=call.model.id, message_id=message_id_of(call), ctx=ctx[1],
                                                  input_tokens_hint=call.input_estimate)
        self.usage = Usage()
        self.usage_final = False
        self.error: GatewayError | None = None

    @property
    def completed(self) -> bool:
        return self.machine.completed

    def feed(self, ev: SSEEvent) -> list[Event]:
        events = self.machine.feed(json.loads(ev.data))
        if self.machine.error is not None:
            self.error = self.machine.error.to_gateway_error(None)
        if self.machine.usage_reported:
            self.usage = Usage.from_anthropic(self.machine.usage)
            self.usage_final = self.machine.completed
        return events

    def finish(self) -> list[Event]:
        return self.machine.finish()

    def on_eof(self) -> None:
        pass


class ResponsesWire(Wire):
    name = WireName.OPENAI_RESPONSES

    def prepare(self, hub: dict[str, Any], call: Call, stream: bool) -> tuple[dict[str, Any], ResponsesWireContext]:
        try:
            body, ctx = anthropic_request_to_responses(hub, call.model.upstream_model)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        return {**body, "stream": stream}, ctx

    async def send(self, ctx: tuple[dict[str, Any], ResponsesWireContext], account: Account, model: Model,
                   stream: bool) -> UpstreamResponse:
        return await oai.post(account, dumps({**ctx[0], "model": model.upstream_model}).encode(), "/responses")

    def source(self, ctx: tuple[dict[str, Any], ResponsesWireContext], call: Call) -> HubSource:
        return ResponsesSource(ctx, call)

    def message(self, document: Any, ctx: tuple[dict[str, Any], ResponsesWireContext], call: Call) -> dict[str, Any]:
        message = responses_to_anthropic(document, ctx=ctx[1], model=call.model.id)
        message["id"] = message_id_of(call)
        return message
