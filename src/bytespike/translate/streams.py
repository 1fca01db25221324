"""Incremental stream translators: small state machines fed one parsed event at a time.

They run once per upstream event, so they allocate little and never re-parse: deltas
are forwarded as they arrive (tool arguments are never buffered except while a tool's
name is still unknown). Output satisfies the invariants in :mod:`.invariants`.
"""

from __future__ import annotations

import json
from typing import Any

from . import hub_events
from .hub_events import Event
from .names import ToolNameMap, safe_tool_id
from .signatures import origin_signature
from .stops import anthropic_stop_to_openai, openai_finish_to_anthropic
from .usage import anthropic_usage_to_openai, merge_anthropic_usage, openai_usage_to_anthropic

# =====================================================================================
# OpenAI-format upstream chunks → Anthropic events
# =====================================================================================


class _ToolCall:
    """One upstream tool call (an OpenAI ``tool_calls`` index, or a new id on it)."""

    __slots__ = ("block", "closed", "emitted", "name", "pending", "upstream_id")

    def __init__(self, upstream_id: str | None) -> None:
        self.upstream_id = upstream_id
        self.name: str | None = None
        self.block: int | None = None  # Anthropic block index once opened
        self.pending: list[str] = []  # argument fragments seen before the name
        self.emitted = False
        self.closed = False


_TEXT_START = {"type": "text", "text": ""}
_THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}


class OpenAIToAnthropicStream:
    """OpenAI ``chat.completion.chunk`` dicts → Anthropic ``(event, data)`` pairs.

    Blocks are sequential (one open at a time, as Claude streams them): reasoning →
    thinking block (closed with a ``signature_delta`` carrying the origin marker),
    content → text block, each tool call → one tool_use block. ``message_start`` goes
    out on the first chunk with ``input_tokens_hint`` (upstreams report usage only at
    the end; litellm #24176/#31069); ``finish()`` sends the final cumulative usage.
    """

    def __init__(
        self,
        *,
        model: str,
        message_id: str,
        names: ToolNameMap,
        input_tokens_hint: int = 0,
        provider: str = "openai",
    ) -> None:
        self.model = model
        self.message_id = message_id
        self.names = names
        self.provider = provider
        self.usage: dict = {
            "input_tokens": input_tokens_hint,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
        self.usage_reported = False  # True once the upstream sent its own usage
        self.warnings: list[str] = []  # non-conforming upstream behaviour we had to paper over
        self._signature = origin_signature(provider)
        self._started = False
        self._finished = False
        self._next_index = 0
        self._open: int | None = None
        self._open_kind: str | None = None  # "text" | "thinking" | "tool"
        self._open_tool: _ToolCall | None = None
        self._tools: dict[int, _ToolCall] = {}
        self._order: list[_ToolCall] = []
        self._ids: set[str] = set()
        self._last_tool_index = 0
        self._finish_reason: str | None = None
        self._refusal = False

    # -- helpers ----------------------------------------------------------------------
    def _message_start(self) -> Event:
        self._started = True
        return hub_events.message_start(
            self.message_id, self.model, self.usage, output_tokens=self.usage["output_tokens"]
        )

    def _open_block(self, out: list[Event], block: dict, kind: str) -> int:
        index = self._next_index
        self._next_index += 1
        self._open = index
        self._open_kind = kind
        out.append(hub_events.block_start(index, block))
        return index

    def _close_open(self, out: list[Event]) -> None:
        index = self._open
        if index is None:
            return
        kind = self._open_kind
        if kind == "thinking":
            out.append(
                hub_events.block_delta(index, {"type": "signature_delta", "signature": self._signature})
            )
        elif kind == "tool":
            call = self._open_tool
            if call is not None:
                if not call.emitted:  # no arguments at all: send "{}" so every client parses an object
                    out.append(self._json_delta(index, "{}"))
                call.closed = True
            self._open_tool = None
        out.append(hub_events.block_stop(index))
        self._open = None
        self._open_kind = None

    @staticmethod
    def _json_delta(index: int, fragment: str) -> Event:
        return hub_events.block_delta(index, {"type": "input_json_delta", "partial_json": fragment})

    def _text(self, text: str, out: list[Event]) -> None:
        if self._open_kind != "text":
            self._close_open(out)
            self._open_block(out, dict(_TEXT_START), "text")
        out.append(hub_events.block_delta(self._open, {"type": "text_delta", "text": text}))

    def _thinking(self, text: str, out: list[Event]) -> None:
        if self._open_kind != "thinking":
            self._close_open(out)
            self._open_block(out, dict(_THINKING_START), "thinking")
        out.append(hub_events.block_delta(self._open, {"type": "thinking_delta", "thinking": text}))

    def _client_tool_id(self, call: _ToolCall) -> str:
        if call.upstream_id:
            tid = self.names.client_id(call.upstream_id)
        else:
            tid = safe_tool_id(f"toolu_{self.message_id}_{len(self._ids)}")
        if tid in self._ids:  # upstreams that reuse ids across parallel calls
            tid = safe_tool_id(f"{tid}_{len(self._ids)}")
        self._ids.add(tid)
        return tid

    def _start_tool(self, call: _ToolCall, out: list[Event]) -> None:
        self._close_open(out)
        block = {
            "type": "tool_use",
            "id": self._client_tool_id(call),
            "name": self.names.client_name(call.name or "unknown_tool"),
            "input": {},
        }
        call.block = self._open_block(out, block, "tool")
        self._open_tool = call
        for fragment in call.pending:
            out.append(self._json_delta(call.block, fragment))
            call.emitted = True
        call.pending = []

    def _tool_delta(self, tc: dict, out: list[Event]) -> None:
        tid = tc.get("id")
        if not tid or not isinstance(tid, str):
            tid = None
        index = tc.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            # Missing index (seen from Gemini's endpoint): a new id is a new call.
            index = (max(self._tools) + 1 if self._tools else 0) if tid else self._last_tool_index
        self._last_tool_index = index
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        call = self._tools.get(index)
        if call is None or (tid and call.upstream_id and tid != call.upstream_id):
            # A new id on an index already used is a new call (Ollama sends every parallel call as index 0).
            call = _ToolCall(tid)
            self._tools[index] = call
            self._order.append(call)
        elif tid and not call.upstream_id:
            call.upstream_id = tid
        name = fn.get("name")
        if name and isinstance(name, str) and not call.name:
            call.name = name
        args = fn.get("arguments")
        if args is not None and not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False)  # an upstream that sends the object itself
        if call.closed:
            if args:
                self.warnings.append(f"dropped arguments for an already-closed tool call at index {index}")
            return
        if call.block is None:
            if call.name is None:
                if args:
                    call.pending.append(args)
                return
            self._start_tool(call, out)
        if args:
            out.append(self._json_delta(call.block, args))  # type: ignore[arg-type]
            call.emitted = True

    def _apply_usage(self, usage: dict) -> None:
        self.usage = openai_usage_to_anthropic(usage)
        self.usage_reported = True

    # -- public -----------------------------------------------------------------------
    def feed(self, chunk: dict) -> list[Event]:
        """One upstream chunk → the Anthropic events it implies (maybe none)."""
        if self._finished or not isinstance(chunk, dict):
            return []
        out: list[Event] = []
        usage = chunk.get("usage")
        if usage and isinstance(usage, dict):
            self._apply_usage(usage)
        if not self._started:
            out.append(self._message_start())
        choices = chunk.get("choices")
        if not choices or not isinstance(choices, list):
            return out
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1 is never requested; ignore extra choices defensively
            delta = choice.get("delta")
            if delta and isinstance(delta, dict):
                reasoning = delta.get("reasoning_content")
                if reasoning is None:
                    reasoning = delta.get("reasoning")
                if reasoning and isinstance(reasoning, str):
                    self._thinking(reasoning, out)
                content = delta.get("content")
                if content and isinstance(content, str):
                    self._text(content, out)
                refusal = delta.get("refusal")
                if refusal and isinstance(refusal, str):
                    self._refusal = True
                    self._text(refusal, out)
                tool_calls = delta.get("tool_calls")
                if tool_calls and isinstance(
                    tool_calls, list
                ):  # `tool_calls: []` next to content is nothing (litellm #29286)
                    for tc in tool_calls:
                        if isinstance(tc, dict):
                            self._tool_delta(tc, out)
                fc = delta.get("function_call")
                if isinstance(fc, dict):
                    self._tool_delta({"index": 0, "function": fc}, out)
            finish = choice.get("finish_reason")
            if finish and isinstance(finish, str):
                self._finish_reason = finish
                self._close_open(out)
        return out

    def finish(self) -> list[Event]:
        """The upstream ended cleanly: close blocks, send stop reason + usage, ``message_stop``."""
        if self._finished:
            return []
        out: list[Event] = []
        if not self._started:
            out.append(self._message_start())
        self._close_open(out)
        for call in self._order:  # calls whose name never arrived
            if call.block is None and call.pending:
                self.warnings.append("tool call without a name")
                self._start_tool(call, out)
                self._close_open(out)
        has_tool = bool(self._ids)
        stop = openai_finish_to_anthropic(self._finish_reason, has_tool)
        if self._refusal and not has_tool:
            stop = "refusal"
        out += hub_events.message_end(stop, None, self.usage)
        self._finished = True
        return out


# =====================================================================================
# Claude upstream events → OpenAI chunks
# =====================================================================================

_TEXT, _THINKING, _TOOL, _OTHER = 0, 1, 2, 3


class AnthropicToOpenAIStream:
    """Claude stream events → ``chat.completion.chunk`` dicts.

    text_delta → ``content``; thinking_delta → ``reasoning_content``; signature_delta
    → ``reasoning_signature`` and redacted thinking → ``redacted_thinking`` (both
    non-standard; OpenAI SDKs ignore unknown delta fields, our own chat surface reads
    them back); tool_use → ``tool_calls`` with index/id/name then argument fragments.
    ``error`` is the gateway's business and ``ping`` is ignored.
    """

    def __init__(
        self, *, model: str, completion_id: str, created: int, include_usage: bool, names: ToolNameMap
    ) -> None:
        self.names = names
        self.include_usage = include_usage
        self.usage: dict | None = None
        self._base: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        if include_usage:
            self._base["usage"] = None
        self._role_sent = False
        self._finish_sent = False
        self._done = False
        self._blocks: dict[int, list] = {}  # index → [kind, tool_index, start_input, got_delta]
        self._tool_count = 0
        self._stop_reason: str | None = None

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        chunk = self._base.copy()
        chunk["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        return chunk

    def _role(self, out: list[dict]) -> None:
        if not self._role_sent:
            self._role_sent = True
            out.append(self._chunk({"role": "assistant", "content": ""}))

    def feed(self, event: str, data: dict) -> list[dict]:
        """One Claude event → the chunks it implies (maybe none)."""
        if self._done or not isinstance(data, dict):
            return []
        kind = event or data.get("type")
        out: list[dict] = []
        if kind == "content_block_delta":
            index = data.get("index")
            info = self._blocks.get(index) if isinstance(index, int) else None
            d = data.get("delta")
            if info is None or not isinstance(d, dict):
                return out
            dt = d.get("type")
            if dt == "text_delta":
                text = d.get("text")
                if text and isinstance(text, str):
                    out.append(self._chunk({"content": text}))
            elif dt == "input_json_delta":
                fragment = d.get("partial_json")
                if fragment and info[0] == _TOOL and isinstance(fragment, str):
                    info[3] = True
                    out.append(
                        self._chunk({"tool_calls": [{"index": info[1], "function": {"arguments": fragment}}]})
                    )
            elif dt == "thinking_delta":
                text = d.get("thinking")
                if text and isinstance(text, str):
                    out.append(self._chunk({"reasoning_content": text}))
            elif dt == "signature_delta":
                sig = d.get("signature")
                if sig and isinstance(sig, str):
                    out.append(self._chunk({"reasoning_signature": sig}))
            return out
        if kind == "content_block_start":
            self._role(out)
            index = data.get("index")
            block = data.get("content_block")
            if not isinstance(index, int) or not isinstance(block, dict):
                return out
            bt = block.get("type")
            if bt == "text":
                self._blocks[index] = [_TEXT, None, None, False]
                if block.get("text") and isinstance(block["text"], str):
                    out.append(self._chunk({"content": block["text"]}))
            elif bt == "thinking":
                self._blocks[index] = [_THINKING, None, None, False]
                if block.get("thinking") and isinstance(block["thinking"], str):
                    out.append(self._chunk({"reasoning_content": block["thinking"]}))
            elif bt == "redacted_thinking":
                self._blocks[index] = [_OTHER, None, None, False]
                if block.get("data") and isinstance(block["data"], str):
                    out.append(self._chunk({"redacted_thinking": block["data"]}))
            elif bt == "tool_use":
                tool_index = self._tool_count
                self._tool_count += 1
                self._blocks[index] = [_TOOL, tool_index, block.get("input"), False]
                call = {
                    "index": tool_index,
                    "id": self.names.client_id(str(block.get("id") or f"toolu_{tool_index}")),
                    "type": "function",
                    "function": {
                        "name": self.names.client_name(str(block.get("name") or "")),
                        "arguments": "",
                    },
                }
                out.append(self._chunk({"tool_calls": [call]}))
            else:  # server tools and their results have no Chat Completions equivalent
                self._blocks[index] = [_OTHER, None, None, False]
            return out
        if kind == "content_block_stop":
            index = data.get("index")
            info = self._blocks.get(index) if isinstance(index, int) else None
            if (
                info is not None
                and info[0] == _TOOL
                and not info[3]
                and info[2]
                and isinstance(info[2], dict)
            ):
                # Input given whole in content_block_start (some proxies do this): send it now.
                info[3] = True
                args = json.dumps(info[2], ensure_ascii=False)
                out.append(self._chunk({"tool_calls": [{"index": info[1], "function": {"arguments": args}}]}))
            return out
        if kind == "message_start":
            message = data.get("message")
            self._role(out)
            if isinstance(message, dict):
                self.usage = merge_anthropic_usage(self.usage, message.get("usage"))
                # Claude can answer with whole blocks in message_start and no deltas at all
                # (programmatic tool calling: client tool calls made from code execution,
                # recorded); they are this message's first blocks.
                content = message.get("content")
                for i, block in enumerate(content if isinstance(content, list) else ()):
                    out += self.feed("content_block_start", {"index": -1 - i, "content_block": block})
                    out += self.feed("content_block_stop", {"index": -1 - i})
                if isinstance(message.get("stop_reason"), str):
                    self._stop_reason = message["stop_reason"]
            return out
        if kind == "message_delta":
            self.usage = merge_anthropic_usage(self.usage, data.get("usage"))
            d = data.get("delta")
            stop = d.get("stop_reason") if isinstance(d, dict) else None
            if stop and isinstance(stop, str):
                self._stop_reason = stop
                if not self._finish_sent:
                    self._role(out)
                    self._finish_sent = True
                    out.append(self._chunk({}, anthropic_stop_to_openai(stop, self._tool_count > 0)))
            return out
        return out  # message_stop, ping, error (handled by the gateway), unknown events

    def finish(self) -> list[dict]:
        """The upstream ended cleanly: finish_reason (if not sent yet) and the usage chunk."""
        if self._done:
            return []
        self._done = True
        out: list[dict] = []
        self._role(out)
        if not self._finish_sent:
            self._finish_sent = True
            out.append(self._chunk({}, anthropic_stop_to_openai(self._stop_reason, self._tool_count > 0)))
        if self.include_usage:
            chunk = self._base.copy()
            chunk["choices"] = []
            chunk["usage"] = anthropic_usage_to_openai(self.usage)
            out.append(chunk)
        return out
