"""A hub (Anthropic) Message as the stream events Claude would send for it, split where told.

Test helper for the surface stream translators: the same message whole and as events, so a
stream translator's assembled output can be compared with the non-streaming translator's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Splitter = Callable[[str], list[str]]

CLAUDE_SIGNATURE = "EqQBCkYIBxgCKkBclaudesignature+/="
CLAUDE_TOOL_ANSWER: dict[str, Any] = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5",
    "content": [
        {"type": "thinking", "thinking": "The user wants Paris weather.", "signature": CLAUDE_SIGNATURE},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "usage": {
        "input_tokens": 20,
        "cache_read_input_tokens": 10,
        "cache_creation_input_tokens": 0,
        "output_tokens": 30,
    },
}
"""Claude's answer to a tool-using prompt with thinking: signed thinking, text, one call."""


def halves(text: str) -> list[str]:
    """Two pieces (the first may be empty), a split every stream translator must take."""
    mid = len(text) // 2
    return [text[:mid], text[mid:]]


def message_events(message: dict[str, Any], split: Splitter = halves) -> list[tuple[str, dict]]:
    """``message`` → ``message_start``, the blocks' start/delta/stop events, ``message_delta``,
    ``message_stop``; text, thinking and tool-input JSON cut into the pieces ``split`` gives."""
    usage = dict(message.get("usage") or {})
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str, dict]] = [("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(message.get("content") or ()):
        kind = block["type"]

        def delta(d: dict, i: int = i) -> tuple[str, dict]:
            return ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})

        if kind == "text":
            events.append(_start(i, {"type": "text", "text": ""}))
            events += [delta({"type": "text_delta", "text": piece}) for piece in split(block["text"])]
        elif kind == "thinking":
            events.append(_start(i, {"type": "thinking", "thinking": "", "signature": ""}))
            events += [
                delta({"type": "thinking_delta", "thinking": p}) for p in split(block["thinking"]) if p
            ]
            events.append(delta({"type": "signature_delta", "signature": block["signature"]}))
        elif kind == "tool_use":
            events.append(_start(i, {**block, "input": {}}))
            events += [
                delta({"type": "input_json_delta", "partial_json": p})
                for p in split(json.dumps(block["input"]))
            ]
        else:
            events.append(_start(i, block))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason")}, "usage": usage},
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _start(index: int, block: dict) -> tuple[str, dict]:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
