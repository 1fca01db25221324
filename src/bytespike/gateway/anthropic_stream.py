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
from bytespike.errors import GatewayError, Kind, anthropic_body
from bytespike.gateway.pipeline import Call, StreamTranslator, credits_for, merge_usage
from bytespike.providers.anthropic import error_from_event
from bytespike.sse import SSEEvent, anthropic_frame

# The output text of a content_block_delta, sized for abort billing without decoding the frame.
_DELTA_TEXT = re.compile(rb'"(?:text|thinking|partial_json)":\s*"((?:[^"\\]|\\.)*)"')


class MessageStarts:
    """Claude sends ``message_start`` once, but real traffic has repeats (recorded: the same start
    twice; a stream that restarts with a new message after a cut-off tool call). A repeat that
    restates the message before any content is dropped; a new message after content ends the
    stream as the upstream's failure (the client cannot un-receive the first one's blocks, and
    an SDK that resets on it would silently lose them). Shared by both surfaces' Claude lanes."""

    def __init__(self) -> None:
        self.message_id: str | None = None
        self.content = False

    def admit(self, data: dict[str, Any]) -> bool | GatewayError:
        """True: forward this message_start; False: drop it; an error: end the stream with it."""
        message_id = (data.get("message") or {}).get("id")
        if self.message_id is None:
            self.message_id = message_id or ""
            return True
        if not self.content or message_id == self.message_id:
            return False
        return GatewayError(Kind.UPSTREAM, "Upstream: the answer restarted mid-stream (a second message_start).")


class AnthropicPassthrough(StreamTranslator):
    def __init__(self, call: Call) -> None:
        self.call = call
        self.usage = Usage()
        self._usage_raw: dict[str, Any] = {}
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._rename = call.model.upstream_model != call.model.id
        self._starts = MessageStarts()
        self._delta_seen = False
        self._stop_reason: str | None = None

    def on_event(self, ev: SSEEvent) -> bytes:
        name = ev.event
        if name == "content_block_start":
            self._starts.content = True
        if name == "content_block_delta":
            self.delivered(sum(len(t) for t in _DELTA_TEXT.findall(ev.raw)))
            return ev.raw + b"\n\n"
        if name == "message_start":
            data = json.loads(ev.data)
            admitted = self._starts.admit(data)
            if admitted is not True:
                if isinstance(admitted, GatewayError):
                    self.upstream_error = admitted
                return b""
            message = data.get("message") or {}
            self._stop_reason = message.get("stop_reason")
            merge_usage(self._usage_raw, message.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            if self._rename:
                message["model"] = self.call.model.id
                return anthropic_frame("message_start", data)
            return ev.raw + b"\n\n"
        if name == "message_delta":
            self._delta_seen = True
            data = json.loads(ev.data)
            merge_usage(self._usage_raw, data.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            self.usage_final = True
            usage_out = data.setdefault("usage", {})
            usage_out["credits"] = credits_for(self.call, self.usage)
            return anthropic_frame("message_delta", data)
        if name == "message_stop":
            self.completed = True
            if not self._delta_seen and self._stop_reason is not None:
                # Claude answered whole in message_start (programmatic tool calling) and sent no
                # message_delta: one is added, so the client still gets the cumulative usage and
                # ``usage.credits`` every answer carries.
                usage = {**self._usage_raw, "credits": credits_for(self.call, self.usage)}
                delta = {"type": "message_delta", "delta": {"stop_reason": self._stop_reason, "stop_sequence": None},
                         "usage": usage}
                return anthropic_frame("message_delta", delta) + ev.raw + b"\n\n"
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
