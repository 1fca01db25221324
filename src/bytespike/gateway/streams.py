"""Stream translators for the relay: one small state machine per (upstream, client) pair.

Each wraps a pure translator from ``bytespike.translate`` (or passes frames through) and
tracks what billing needs: usage, whether the upstream finished, what reached the client.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bytespike.billing import Usage
from bytespike.errors import GatewayError, anthropic_body, openai_body
from bytespike.gateway.anthropic_stream import MessageStarts
from bytespike.gateway.pipeline import Call, StreamTranslator, anthropic_delta_chars
from bytespike.providers.anthropic import error_from_event
from bytespike.providers.openai import error_from_chunk
from bytespike.sse import OPENAI_DONE, SSEEvent, anthropic_frame, dumps, openai_frame
from bytespike.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    ToolNameMap,
    openai_usage_to_anthropic,
)

_NONEMPTY_CONTENT = re.compile(rb'"(?:reasoning_)?content":\s*"[^"]')
_DELTA_TEXT = re.compile(rb'"(?:reasoning_content|content|arguments)":\s*"((?:[^"\\]|\\.)*)"')


class OpenAIFrames:
    """Error and keep-alive frames on the OpenAI surface."""

    call: Call

    def error_frame(self, err: GatewayError) -> bytes:
        return openai_frame(openai_body(err))

    def ping_frame(self) -> bytes:
        return b": ping\n\n"


class AnthropicFrames:
    call: Call

    def error_frame(self, err: GatewayError) -> bytes:
        return anthropic_frame("error", anthropic_body(err, self.call.request_id))

    def ping_frame(self) -> bytes:
        return b'event: ping\ndata: {"type":"ping"}\n\n'


class OpenAIPassthrough(OpenAIFrames, StreamTranslator):
    """OpenAI-format upstream -> OpenAI client: chunks forwarded as received.

    Only the usage chunk is decoded (to bill and add ``usage.credits``); it is withheld
    when the client did not ask for ``include_usage`` (the gateway always asks upstream).
    """

    def __init__(self, call: Call, *, client_wants_usage: bool) -> None:
        self.call = call
        self.client_wants_usage = client_wants_usage
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._rename = (f'"model":"{call.model.upstream_model}"'.encode(), f'"model":"{call.model.id}"'.encode()) \
            if call.model.upstream_model != call.model.id else None
        self._usage_chunk: dict[str, Any] | None = None

    def on_event(self, ev: SSEEvent) -> bytes:
        data = ev.data
        if data == "[DONE]":
            self.completed = True
            return b""
        raw = ev.raw
        if b'"choices":[]' in raw and b'"usage":{' not in raw and b'"error"' not in raw:
            return b""  # a metadata-only chunk (Azure's prompt_filter_results, empty id and object)
        if b'"usage":{' in raw or b'"error"' in raw:
            chunk = json.loads(data)
            if "error" in chunk and not chunk.get("choices"):
                self.upstream_error = error_from_chunk(chunk)
                return b""
            if chunk.get("usage"):
                self.usage = Usage.from_anthropic(openai_usage_to_anthropic(chunk["usage"]))
                self.usage_final = True
                if not chunk.get("choices"):
                    self._usage_chunk = chunk  # sent by finish(), with credits
                    return b""
                # DeepSeek puts the usage on its last content chunk; OpenAI's contract (and the
                # credits) is one final ``choices: []`` chunk, so the usage moves there.
                self._usage_chunk = {**{k: v for k, v in chunk.items() if k != "choices"}, "choices": []}
                chunk["usage"] = None
                self._delivered_from(raw)
                if self._rename is not None:
                    chunk["model"] = self.call.model.id
                return openai_frame(chunk)
        else:
            self._delivered_from(raw)
        if self._rename is not None:
            raw = raw.replace(*self._rename)
        return raw + b"\n\n"

    def _delivered_from(self, raw: bytes) -> None:
        if _NONEMPTY_CONTENT.search(raw) or b'"tool_calls"' in raw:  # not the role chunk's "content":""
            # Estimate from the delta text itself (the chunk's JSON envelope is not output).
            self.delivered(sum(len(t) for t in _DELTA_TEXT.findall(raw)))

    def finish(self, cost: int) -> bytes:
        out = b""
        if self.client_wants_usage and self._usage_chunk is not None:
            self._usage_chunk["usage"]["credits"] = cost
            if self._rename is not None:
                self._usage_chunk["model"] = self.call.model.id
            out = openai_frame(self._usage_chunk)
        return out + OPENAI_DONE


class AnthropicToOpenAI(OpenAIFrames, StreamTranslator):
    """Claude upstream -> OpenAI client."""

    def __init__(self, call: Call, *, completion_id: str, created: int, include_usage: bool, names: ToolNameMap) -> None:
        self.call = call
        self.machine = AnthropicToOpenAIStream(model=call.model.id, completion_id=completion_id, created=created,
                                               include_usage=include_usage, names=names)
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._starts = MessageStarts()

    def on_event(self, ev: SSEEvent) -> bytes:
        name = ev.event
        if name == "ping":
            return b""
        data = json.loads(ev.data)
        if name == "error":
            self.upstream_error = error_from_event(data)
            return b""
        if name == "content_block_start":
            self._starts.content = True
        elif name == "message_start":
            admitted = self._starts.admit(data)
            if admitted is not True:
                if isinstance(admitted, GatewayError):
                    self.upstream_error = admitted
                return b""
        chunks = self.machine.feed(name or data.get("type", ""), data)
        if self.machine.usage:
            self.usage = Usage.from_anthropic(self.machine.usage)
        if name == "content_block_delta":
            self.delivered(anthropic_delta_chars(data.get("delta") or {}))
        elif name == "message_delta":
            self.usage_final = True
        elif name == "message_stop":
            self.completed = True
        return b"".join(openai_frame(c) for c in chunks)

    def finish(self, cost: int) -> bytes:
        out = []
        for chunk in self.machine.finish():
            if chunk.get("usage"):
                chunk["usage"]["credits"] = cost
            out.append(openai_frame(chunk))
        return b"".join(out) + OPENAI_DONE


class OpenAIToAnthropic(AnthropicFrames, StreamTranslator):
    """OpenAI-format upstream -> Anthropic client (text, reasoning -> thinking, tool_calls -> tool_use)."""

    def __init__(self, call: Call, *, message_id: str, names: ToolNameMap, input_tokens: int, provider: str) -> None:
        self.call = call
        self.machine = OpenAIToAnthropicStream(model=call.model.id, message_id=message_id, names=names,
                                               input_tokens_hint=input_tokens, provider=provider)
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None

    def on_event(self, ev: SSEEvent) -> bytes:
        if ev.data == "[DONE]":
            self.completed = True
            return b""
        chunk = json.loads(ev.data)
        if "error" in chunk and not chunk.get("choices"):
            self.upstream_error = error_from_chunk(chunk)
            return b""
        events = self.machine.feed(chunk)
        if self.machine.usage_reported:
            self.usage = Usage.from_anthropic(self.machine.usage)
            self.usage_final = True  # OpenAI-format upstreams report usage once, in the last chunk
        for name, data in events:
            if name == "content_block_delta":
                self.delivered(anthropic_delta_chars(data.get("delta") or {}))
        return b"".join(anthropic_frame(name, data) for name, data in events)

    def finish(self, cost: int) -> bytes:
        out = []
        for name, data in self.machine.finish():
            if name == "message_delta":
                data.setdefault("usage", {})["credits"] = cost
            out.append(anthropic_frame(name, data))
        return b"".join(out)


def dumps_bytes(obj: Any) -> bytes:
    return dumps(obj).encode()
