"""Claude upstream (Anthropic Messages) for clients of other protocols: the hub is its own shape.

Anthropic clients on Claude never come here: their lane is the byte pass-through
(lanes/passthrough.py). The source below reads Claude's events as the hub events they are,
keeping what billing needs and the rules real traffic calls for (repeated message_start).
"""

from __future__ import annotations

import json
from typing import Any

from bytespike.billing import Usage
from bytespike.catalog import Model
from bytespike.errors import GatewayError
from bytespike.gateway.lanes.base import Event, HubSource, Wire
from bytespike.gateway.lanes.passthrough import MessageStarts
from bytespike.gateway.pipeline import Call, merge_usage
from bytespike.protocols import WireName
from bytespike.providers import Account, UpstreamResponse
from bytespike.providers import anthropic as claude
from bytespike.providers.anthropic import error_from_event
from bytespike.sse import SSEEvent, dumps
from bytespike.translate import strip_foreign_thinking


class ClaudeSource(HubSource):
    def __init__(self) -> None:
        self.usage = Usage()
        self.usage_final = False
        self.completed = False
        self.error: GatewayError | None = None
        self._usage_raw: dict[str, Any] = {}
        self._starts = MessageStarts()

    def feed(self, ev: SSEEvent) -> list[Event]:
        name = ev.event
        if name == "ping":
            return []
        data = json.loads(ev.data)
        name = name or data.get("type", "")
        if name == "error":
            self.error = error_from_event(data)
            return []
        if name == "content_block_start":
            self._starts.content = True
        elif name == "message_start":
            admitted = self._starts.admit(data)
            if admitted is not True:
                if isinstance(admitted, GatewayError):
                    self.error = admitted
                return []
            merge_usage(self._usage_raw, (data.get("message") or {}).get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
        elif name == "message_delta":
            merge_usage(self._usage_raw, data.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            self.usage_final = True
        elif name == "message_stop":
            self.completed = True
        return [(name, data)]

    def finish(self) -> list[Event]:
        return []

    def on_eof(self) -> None:
        pass


class AnthropicWire(Wire):
    name = WireName.ANTHROPIC

    def prepare(self, hub: dict[str, Any], call: Call, stream: bool) -> dict[str, Any]:
        # Thinking another provider produced (our origin markers) cannot be replayed to Claude.
        return {**strip_foreign_thinking(hub), "stream": stream}

    async def send(self, ctx: dict[str, Any], account: Account, model: Model, stream: bool) -> UpstreamResponse:
        return await claude.post(account, "/v1/messages", dumps({**ctx, "model": model.upstream_model}).encode(), {})

    def source(self, ctx: dict[str, Any], call: Call) -> HubSource:
        return ClaudeSource()

    def message(self, document: Any, ctx: dict[str, Any], call: Call) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise ValueError("the upstream's answer is not a JSON object")
        return document
