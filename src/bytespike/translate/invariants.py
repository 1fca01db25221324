"""Stream invariants every translator output must satisfy (protocols.md §4 assertions).

Used by unit and property tests, and usable by the gateway's own tests on whole
relayed streams. Checkers raise AssertionError with a message naming the event.
The ``assemble_*`` helpers rebuild the final message so tests can compare content.
"""

from __future__ import annotations

import json
from typing import Any

_DELTA_FOR = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
    "tool_use": {"input_json_delta"},
    "server_tool_use": {"input_json_delta"},
}
_KNOWN_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
}


def _fail(i: int, event: str, why: str) -> None:
    raise AssertionError(f"event #{i} ({event}): {why}")


def check_anthropic_events(events: list[tuple[str, dict]], *, allow_empty_thinking: bool = False) -> None:
    """Assert an Anthropic event sequence is one a strict client accepts.

    message_start first and once (usage with input and cache tokens); each block index
    started and stopped exactly once, indices 0..n-1 in start order, deltas only inside
    their block and of its type; no empty text (or, unless allowed, thinking) blocks;
    tool inputs parse to JSON objects; stop_reason is tool_use iff a tool_use exists;
    message_delta usage has cumulative output_tokens; one message_stop, last; no [DONE].
    """
    assert events, "no events"
    for i, item in enumerate(events):
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
        ):
            raise AssertionError(f"event #{i}: expected (name, dict), got {item!r}")
        name, data = item
        if "[DONE]" in name:
            _fail(i, name, "[DONE] has no place in an Anthropic stream")
        if name not in _KNOWN_EVENTS:
            _fail(i, name, "unknown event name")
        if data.get("type") != name:
            _fail(i, name, f"data.type {data.get('type')!r} does not match the event name")

    if events[0][0] != "message_start":
        _fail(0, events[0][0], "the first event must be message_start")
    starts = [i for i, (n, _) in enumerate(events) if n == "message_start"]
    if len(starts) != 1:
        _fail(starts[1], "message_start", "message_start must appear exactly once")
    stops = [i for i, (n, _) in enumerate(events) if n == "message_stop"]
    if len(stops) != 1:
        raise AssertionError(f"expected exactly one message_stop, got {len(stops)}")
    if stops[0] != len(events) - 1:
        _fail(stops[0], "message_stop", "message_stop must be the last event")

    message = events[0][1].get("message")
    if not isinstance(message, dict):
        _fail(0, "message_start", "missing message")
    usage = message.get("usage")
    if not isinstance(usage, dict):
        _fail(0, "message_start", "message.usage missing")
    for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"):
        value = usage.get(key)
        # Claude itself sends null cache counts at times; the SDKs type them Optional[int].
        if not isinstance(value, int) and not (value is None and key.startswith("cache_")):
            _fail(0, "message_start", f"usage.{key} must be an integer, got {value!r}")
    content = message.get("content")
    if not isinstance(content, list) or not all(isinstance(b, dict) and b.get("type") for b in content):
        _fail(0, "message_start", "message.content must be a list of whole blocks (usually empty)")

    # Claude may answer with whole blocks in message_start (programmatic tool calling, recorded).
    whole = [b["type"] for b in content]
    blocks: list[dict] = []  # per index: type, open, text, json
    open_blocks: set[int] = set()
    last_output = -1
    stop_reason: Any = message.get("stop_reason")
    saw_delta = stop_reason is not None  # a start that already carries its stop reason needs no delta
    for i, (name, data) in enumerate(events):
        if name == "content_block_start":
            index = data.get("index")
            if index != len(blocks):
                _fail(i, name, f"index {index!r} is not the next contiguous index {len(blocks)}")
            if saw_delta:
                _fail(i, name, "content block started after message_delta")
            block = data.get("content_block")
            # Claude's own block types beyond the ones translators produce (server-tool results,
            # compaction, fallback, MCP ...) pass through to Anthropic clients: never stricter
            # than the upstream. Their deltas are Claude's to define.
            if not isinstance(block, dict) or not isinstance(block.get("type"), str) or not block["type"]:
                _fail(i, name, f"bad content_block {block!r}")
            btype = block["type"]
            state = {"type": btype, "text": "", "json": "", "start": block}
            if btype == "text":
                state["text"] = block.get("text") or ""
            elif btype == "thinking":
                state["text"] = block.get("thinking") or ""
            elif btype in ("tool_use", "server_tool_use"):
                if not block.get("id") or not block.get("name"):
                    _fail(i, name, "tool_use start needs id and name")
                if not isinstance(block.get("input"), dict):
                    _fail(i, name, "tool_use start needs an input object")
            blocks.append(state)
            open_blocks.add(index)
        elif name == "content_block_delta":
            index = data.get("index")
            if index not in open_blocks:
                _fail(i, name, f"delta for block {index!r} which is not open")
            state = blocks[index]
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if state["type"] in _DELTA_FOR and dtype not in _DELTA_FOR[state["type"]]:
                _fail(i, name, f"{dtype!r} inside a {state['type']} block")
            if not isinstance(dtype, str):
                _fail(i, name, "a delta needs a type")
            if dtype == "text_delta":
                if not isinstance(delta.get("text"), str):
                    _fail(i, name, "text_delta.text must be a string")
                state["text"] += delta["text"]
            elif dtype == "thinking_delta":
                state["text"] += delta.get("thinking") or ""
            elif dtype == "signature_delta":
                if not isinstance(delta.get("signature"), str):
                    _fail(i, name, "signature_delta.signature must be a string")
                state["signature"] = delta["signature"]
            elif dtype == "input_json_delta":
                if not isinstance(delta.get("partial_json"), str):
                    _fail(i, name, "input_json_delta.partial_json must be a string")
                state["json"] += delta["partial_json"]
        elif name == "content_block_stop":
            index = data.get("index")
            if index not in open_blocks:
                _fail(i, name, f"stop for block {index!r} which is not open (double stop? litellm #37273)")
            open_blocks.discard(index)
            state = blocks[index]
            if state["type"] == "text" and not state["text"]:
                _fail(i, name, f"text block {index} is empty (claude-code #53473)")
            if state["type"] == "thinking" and not state["text"] and not allow_empty_thinking:
                _fail(i, name, f"thinking block {index} has no thinking (CLIProxyAPI #3799)")
            if state["type"] in ("tool_use", "server_tool_use"):
                raw = state["json"]
                try:
                    value = json.loads(raw) if raw else {}
                except ValueError:
                    _fail(i, name, f"tool_use block {index} input is not valid JSON: {raw!r}")
                if not isinstance(value, dict):
                    _fail(i, name, f"tool_use block {index} input is not an object: {raw!r}")
        elif name == "message_delta":
            saw_delta = True
            if open_blocks:
                _fail(i, name, f"message_delta while blocks {sorted(open_blocks)} are open")
            u = data.get("usage")
            if not isinstance(u, dict) or not isinstance(u.get("output_tokens"), int):
                _fail(i, name, "message_delta.usage.output_tokens must be an integer")
            if u["output_tokens"] < last_output:
                _fail(i, name, "output_tokens must be cumulative (non-decreasing)")
            last_output = u["output_tokens"]
            d = data.get("delta") or {}
            if d.get("stop_reason") is not None:
                stop_reason = d["stop_reason"]
    if open_blocks:
        raise AssertionError(f"blocks {sorted(open_blocks)} never stopped")
    if not saw_delta:
        raise AssertionError("no message_delta (stop_reason and usage never sent)")
    has_tool = any(b["type"] == "tool_use" for b in blocks) or "tool_use" in whole
    if has_tool and stop_reason != "tool_use":
        raise AssertionError(
            f"stop_reason is {stop_reason!r} but the message has tool_use blocks (litellm #34692)"
        )
    if stop_reason == "tool_use" and not has_tool:
        raise AssertionError("stop_reason is tool_use but there is no tool_use block (CLIProxyAPI #3799)")
    if stop_reason is None:
        raise AssertionError("stop_reason never set")


def assemble_anthropic_events(events: list[tuple[str, dict]]) -> dict:
    """Rebuild the final Message from a (valid) event sequence, as the SDK would."""
    message = dict(events[0][1]["message"])
    message["content"] = [dict(b) for b in message.get("content") or ()]  # whole blocks, when Claude sends them
    first = len(message["content"])
    jsons: dict[int, str] = {}
    usage = dict(message.get("usage") or {})
    for name, data in events[1:]:
        if name == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block = message["content"][first + data["index"]]
            d = data["delta"]
            if d["type"] == "text_delta":
                block["text"] = block.get("text", "") + d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
            elif d["type"] == "input_json_delta":
                jsons[data["index"]] = jsons.get(data["index"], "") + d["partial_json"]
            elif d["type"] == "citations_delta":
                block.setdefault("citations", []).append(d.get("citation"))
            else:  # another block kind's delta (e.g. compaction): strings append, the rest replace
                for key, value in d.items():
                    if key != "type":
                        block[key] = (block.get(key) or "") + value if isinstance(value, str) else value
        elif name == "content_block_stop":
            if data["index"] in jsons:
                raw = jsons[data["index"]]
                message["content"][first + data["index"]]["input"] = json.loads(raw) if raw else {}
        elif name == "message_delta":
            message.update({k: v for k, v in (data.get("delta") or {}).items()})
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
    message["usage"] = usage
    return message


def check_openai_chunks(chunks: list[dict], *, include_usage: bool | None = None) -> None:
    """Assert a chat.completion.chunk sequence is one the OpenAI SDK accepts.

    Same id/model/created everywhere; role first; every tool_calls delta has an int
    index and the first per index has id/type/function.name; ids unique; exactly one
    finish_reason (tool_calls iff tool calls were emitted); with include_usage one
    final ``choices: []`` chunk with usage and ``usage: null`` on all others.
    ``include_usage=None`` infers it from the last chunk.
    """
    assert chunks, "no chunks"
    for i, c in enumerate(chunks):
        if not isinstance(c, dict):
            raise AssertionError(f"chunk #{i}: not a dict ({c!r}); [DONE] is framing, not a chunk")
        if c.get("object") != "chat.completion.chunk":
            raise AssertionError(f"chunk #{i}: object is {c.get('object')!r}")
        for key in ("id", "model", "created"):
            if c.get(key) != chunks[0].get(key):
                raise AssertionError(
                    f"chunk #{i}: {key} changed from {chunks[0].get(key)!r} to {c.get(key)!r}"
                )
        if not isinstance(c.get("choices"), list):
            raise AssertionError(f"chunk #{i}: choices must be a list")
    if include_usage is None:
        include_usage = chunks[-1]["choices"] == [] and isinstance(chunks[-1].get("usage"), dict)
    body = chunks
    if include_usage:
        last = chunks[-1]
        if last["choices"] != [] or not isinstance(last.get("usage"), dict):
            raise AssertionError("include_usage: the last chunk must have choices [] and a usage object")
        u = last["usage"]
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            if not isinstance(u.get(key), int):
                raise AssertionError(f"usage chunk: {key} must be an integer")
        body = chunks[:-1]
    for i, c in enumerate(body):
        if c.get("usage") is not None:
            raise AssertionError(f"chunk #{i}: usage must be null except on the final usage chunk")
        if not c["choices"]:
            raise AssertionError(f"chunk #{i}: empty choices outside the final usage chunk")
    if not body:
        raise AssertionError("no content chunks")
    first = body[0]["choices"][0].get("delta") or {}
    if first.get("role") != "assistant":
        raise AssertionError("the first chunk must carry delta.role 'assistant'")

    seen_index: dict[int, str] = {}
    finishes: list[tuple[int, str]] = []
    for i, c in enumerate(body):
        for choice in c["choices"]:
            delta = choice.get("delta") or {}
            if finishes and (
                delta.get("content") or delta.get("tool_calls") or delta.get("reasoning_content")
            ):
                raise AssertionError(f"chunk #{i}: content after finish_reason")
            for tc in delta.get("tool_calls") or ():
                index = tc.get("index")
                if not isinstance(index, int) or isinstance(index, bool):
                    raise AssertionError(
                        f"chunk #{i}: tool_calls delta without an integer index (openai-python #2806)"
                    )
                if index not in seen_index:
                    fn = tc.get("function") or {}
                    if not tc.get("id") or tc.get("type") != "function" or not fn.get("name"):
                        raise AssertionError(
                            f"chunk #{i}: first delta of tool call {index} needs id, type and name"
                        )
                    if tc["id"] in seen_index.values():
                        raise AssertionError(f"chunk #{i}: tool call id {tc['id']!r} reused")
                    seen_index[index] = tc["id"]
                elif tc.get("id") and tc["id"] != seen_index[index]:
                    raise AssertionError(f"chunk #{i}: tool call {index} changed id")
                args = (tc.get("function") or {}).get("arguments")
                if args is not None and not isinstance(args, str):
                    raise AssertionError(f"chunk #{i}: function.arguments must be a string")
            if choice.get("finish_reason") is not None:
                finishes.append((i, choice["finish_reason"]))
    if len(finishes) != 1:
        raise AssertionError(f"expected exactly one finish_reason, got {len(finishes)}")
    reason = finishes[0][1]
    if seen_index and reason != "tool_calls":
        raise AssertionError(f"finish_reason is {reason!r} but tool calls were emitted")
    if reason == "tool_calls" and not seen_index:
        raise AssertionError("finish_reason is tool_calls but no tool call was emitted")


def assemble_openai_chunks(chunks: list[dict]) -> dict:
    """Rebuild the final assistant message (+ finish_reason, usage) as the OpenAI SDK would."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, dict] = {}
    finish = None
    usage = None
    for c in chunks:
        if c.get("usage"):
            usage = c["usage"]
        for choice in c.get("choices") or ():
            d = choice.get("delta") or {}
            if d.get("content"):
                content.append(d["content"])
            if d.get("reasoning_content"):
                reasoning.append(d["reasoning_content"])
            for tc in d.get("tool_calls") or ():
                call = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                if tc.get("id"):
                    call["id"] = tc["id"]
                fn = tc.get("function") or {}
                if fn.get("name"):
                    call["name"] = fn["name"]
                call["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    return {
        "content": "".join(content),
        "reasoning_content": "".join(reasoning),
        "tool_calls": [calls[k] for k in sorted(calls)],
        "finish_reason": finish,
        "usage": usage,
    }
