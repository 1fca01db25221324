"""OpenAI-format upstreams (OpenAI, DeepSeek, Doubao/Ark) for clients of other protocols.

OpenAI Chat Completions clients on these models never come here: their lane is the
pass-through (lanes/passthrough.py). The hub request becomes a Chat Completions request
(``anthropic_request_to_openai``, with each provider's quirks); the answer comes back through
``OpenAIToAnthropicStream`` / ``openai_response_to_anthropic``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bytespike.billing import Usage
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError
from bytespike.gateway.lanes.base import Event, HubSource, Wire, message_id_of, translation_error
from bytespike.gateway.pipeline import Call
from bytespike.protocols import WireName
from bytespike.providers import Account, UpstreamResponse
from bytespike.providers import openai as oai
from bytespike.providers.openai import error_from_chunk
from bytespike.sse import SSEEvent, dumps
from bytespike.translate import (
    TARGETS,
    OpenAIToAnthropicStream,
    ToolNameMap,
    TranslationError,
    anthropic_request_to_openai,
    openai_response_to_anthropic,
)


@dataclass(slots=True)
class ChatUpstream:
    body: dict[str, Any]
    names: ToolNameMap
    target: str  # the provider's dialect: "openai", "deepseek", "ark"


class ChatSource(HubSource):
    def __init__(self, ctx: ChatUpstream, call: Call) -> None:
        self.machine = OpenAIToAnthropicStream(model=call.model.id, message_id=message_id_of(call), names=ctx.names,
                                               input_tokens_hint=call.input_estimate, provider=ctx.target)
        self.usage = Usage()
        self.usage_final = False
        self.completed = False
        self.error: GatewayError | None = None

    def feed(self, ev: SSEEvent) -> list[Event]:
        if ev.data == "[DONE]":
            self.completed = True
            return []
        chunk = json.loads(ev.data)
        if "error" in chunk and not chunk.get("choices"):
            self.error = error_from_chunk(chunk)
            return []
        events = self.machine.feed(chunk)
        if self.machine.usage_reported:
            self.usage = Usage.from_anthropic(self.machine.usage)
            self.usage_final = True  # OpenAI-format upstreams report usage once, in the last chunk
        return events

    def finish(self) -> list[Event]:
        return self.machine.finish()

    def on_eof(self) -> None:
        pass


class ChatWire(Wire):
    name = WireName.OPENAI_CHAT

    def prepare(self, hub: dict[str, Any], call: Call, stream: bool) -> ChatUpstream:
        provider = catalog().provider_of(call.model)
        target = provider.name if provider.name in TARGETS else "openai"
        try:
            body, names = anthropic_request_to_openai({**hub, "stream": stream}, target=target)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        if target in ("deepseek", "ark") and "thinking" not in hub:
            # Anthropic semantics: no `thinking` means none; DeepSeek (and Ark's auto mode) would think and bill for it.
            body["thinking"] = {"type": "disabled"}
        return ChatUpstream(body, names, target)

    async def send(self, ctx: ChatUpstream, account: Account, model: Model, stream: bool) -> UpstreamResponse:
        return await oai.post(account, dumps({**ctx.body, "model": model.upstream_model}).encode())

    def source(self, ctx: ChatUpstream, call: Call) -> HubSource:
        return ChatSource(ctx, call)

    def message(self, document: Any, ctx: ChatUpstream, call: Call) -> dict[str, Any]:
        message = openai_response_to_anthropic(document, model=call.model.id, names=ctx.names, provider=ctx.target)
        message["id"] = message_id_of(call)
        return message
