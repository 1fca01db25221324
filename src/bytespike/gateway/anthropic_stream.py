"""Anthropic upstream -> Anthropic client: pass frames through, read only what billing needs.

Content deltas go out as the raw bytes received. ``message_start`` (usage, model) and
``message_delta`` (cumulative usage, where ``usage.credits`` is added) are decoded and
re-encoded; ``error`` events are re-rendered in the gateway's vocabulary.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bytespike.billing import Usage
from bytespike.errors import GatewayError, anthropic_body
from bytespike.gateway.pipeline import Call, StreamTranslator, credits_for, merge_usage
from bytespike.providers.anthropic import error_from_event
from bytespike.sse import SSEEvent, anthropic_frame

# The output text of a content_block_delta, sized for abort billing without decoding the frame.
_DELTA_TEXT = re.compile(rb'"(?:text|thinking|partial_json)":\s*"((?:[^"\\]|\\.)*)"')


class AnthropicPassthrough(StreamTranslator):
    def __init__(self, call: Call) -> None:
        self.call = call
        self.usage = Usage()
        self._usage_raw: dict[str, Any] = {}
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._rename = call.model.upstream_model != call.model.id

    def on_event(self, ev: SSEEvent) -> bytes:
        name = ev.event
        if name == "content_block_delta":
            self.delivered(sum(len(t) for t in _DELTA_TEXT.findall(ev.raw)))
            return ev.raw + b"\n\n"
        if name == "message_start":
            data = json.loads(ev.data)
            message = data.get("message") or {}
            merge_usage(self._usage_raw, message.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            if self._rename:
                message["model"] = self.call.model.id
                return anthropic_frame("message_start", data)
            return ev.raw + b"\n\n"
        if name == "message_delta":
            data = json.loads(ev.data)
            merge_usage(self._usage_raw, data.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            self.usage_final = True
            usage_out = data.setdefault("usage", {})
            usage_out["credits"] = credits_for(self.call, self.usage)
            return anthropic_frame("message_delta", data)
        if name == "message_stop":
            self.completed = True
            return ev.raw + b"\n\n"
        if name == "error":
            try:
                data = json.loads(ev.data)
            except ValueError:
                data = {}
            self.upstream_error = error_from_event(data)
            return b""
        return ev.raw + b"\n\n"

    def finish(self, cost: int) -> bytes:
        return b""

    def error_frame(self, err: GatewayError) -> bytes:
        return anthropic_frame("error", anthropic_body(err, self.call.request_id))

    def ping_frame(self) -> bytes:
        return b'event: ping\ndata: {"type":"ping"}\n\n'
