"""Stream invariants of the OpenAI Responses SSE protocol (the companion of :mod:`.invariants`).

``check_responses_events`` asserts a Responses event sequence is one the official SDKs'
stream accumulators and Codex accept; ``assemble_responses_events`` rebuilds the output items
from the events alone, so tests can compare them with the terminal ``response.output`` and
with a non-streamed answer. Checkers raise AssertionError naming the event.
"""

from __future__ import annotations

from typing import Any

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_LIFECYCLE = ("response.created", "response.queued", "response.in_progress", *TERMINAL)
_SERVER_TOOL_PREFIXES = (
    "response.web_search_call.",
    "response.file_search_call.",
    "response.code_interpreter_call",
    "response.image_generation_call.",
    "response.mcp_",
    "response.shell_call",
    "response.apply_patch_call",
    "response.compaction",
)


def _fail(i: int, event: Any, why: str) -> None:
    etype = event.get("type") if isinstance(event, dict) else event
    raise AssertionError(f"event #{i} ({etype}): {why}")


class _ItemState:
    __slots__ = ("added", "done", "parts", "summary", "text")

    def __init__(self, added: dict) -> None:
        self.added = added
        self.done: dict | None = None
        self.parts: list[list[Any]] = []  # [text, done?] per content part
        self.summary: list[list[Any]] = []  # [text, done?] per summary part
        self.text = ""  # function arguments / custom input


def check_responses_events(events: list[dict], *, require_sequence: bool = True) -> None:
    """Assert a Responses stream is well formed.

    ``response.created`` first, exactly one terminal event (completed / incomplete / failed),
    last, an ``error`` event only right before ``response.failed``; one response id; every
    ``sequence_number`` an integer, strictly increasing; ``output_index`` contiguous from 0 in
    ``output_item.added`` order; every item added is done exactly once, with the same id and
    type, and nothing refers to it afterwards; content parts and summary parts contiguous,
    their deltas inside them, each ``.done`` text equal to its deltas; function arguments and
    custom inputs equal to their deltas; unique call ids; the terminal ``output`` equal to the
    done items (but for sealed fields, which OpenAI re-encrypts); usage with integer counts
    that add up. An ``error`` event's message may sit in a nested ``error`` object (OpenAI's
    own shape); server-tool progress events need no ``item_id``.
    """
    assert events, "no events"
    last_seq = -1
    for i, ev in enumerate(events):
        if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
            raise AssertionError(f"event #{i}: not an event object: {ev!r}")
        seq = ev.get("sequence_number")
        if require_sequence:
            if isinstance(seq, bool) or not isinstance(seq, int):
                _fail(i, ev, f"sequence_number must be an integer, got {seq!r}")
            if seq <= last_seq:
                _fail(i, ev, f"sequence_number {seq} does not increase (previous {last_seq})")
            last_seq = seq
    if events[0]["type"] != "response.created":
        _fail(0, events[0], "the first event must be response.created")
    terminals = [i for i, ev in enumerate(events) if ev["type"] in TERMINAL]
    if len(terminals) != 1:
        raise AssertionError(f"expected exactly one terminal event, got {len(terminals)}")
    if terminals[0] != len(events) - 1:
        _fail(terminals[0], events[terminals[0]], "the terminal event must be the last")
    terminal = events[-1]
    response_id = None
    for i, ev in enumerate(events):
        if ev["type"] in _LIFECYCLE:
            response = ev.get("response")
            if not isinstance(response, dict) or not isinstance(response.get("id"), str):
                _fail(i, ev, "lifecycle events carry the response object with its id")
            if response_id is None:
                response_id = response["id"]
            elif response["id"] != response_id:
                _fail(i, ev, f"response id changed from {response_id!r} to {response['id']!r}")
            if response.get("object") != "response":
                _fail(i, ev, "response.object must be 'response'")
        if ev["type"] == "error":
            if i != len(events) - 2 or terminal["type"] != "response.failed":
                _fail(i, ev, "an error event comes only right before response.failed")
            nested = ev.get("error") if isinstance(ev.get("error"), dict) else {}
            if not isinstance(ev.get("message", nested.get("message")), str):
                _fail(i, ev, "error events carry a message (OpenAI nests it in an error object)")

    items: dict[int, _ItemState] = {}
    ids: set[str] = set()
    call_ids: set[str] = set()
    for i, ev in enumerate(events):
        etype = ev["type"]
        if etype in _LIFECYCLE or etype == "error":
            continue
        index = ev.get("output_index")
        if etype == "response.output_item.added":
            item = ev.get("item")
            if index != len(items):
                _fail(i, ev, f"output_index {index!r} is not the next contiguous index {len(items)}")
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                _fail(i, ev, "output_item.added needs an item with a type")
            if not isinstance(item.get("id"), str) or not item["id"]:
                _fail(i, ev, "output items need an id")
            if item["id"] in ids:
                _fail(i, ev, f"item id {item['id']!r} reused")
            ids.add(item["id"])
            items[index] = _ItemState(item)
            continue
        if not isinstance(index, int) or index not in items:
            _fail(i, ev, f"output_index {index!r} was never added")
        state = items[index]
        if state.done is not None:
            _fail(i, ev, f"item {index} is already done")
        server_event = etype.startswith(_SERVER_TOOL_PREFIXES)
        if etype != "response.output_item.done" and not server_event and ev.get("item_id") != state.added["id"]:
            _fail(i, ev, f"item_id {ev.get('item_id')!r} is not item {index}'s id {state.added['id']!r}")
        itype = state.added["type"]
        if etype == "response.output_item.done":
            item = ev.get("item")
            if not isinstance(item, dict) or item.get("id") != state.added["id"] or item.get("type") != itype:
                _fail(i, ev, "output_item.done must carry the added item (same id and type)")
            if any(not p[1] for p in state.parts) or any(not p[1] for p in state.summary):
                _fail(i, ev, "item done while a content or summary part is still open")
            if itype == "message":
                content = item.get("content")
                texts = [p.get("text") for p in content or () if isinstance(p, dict)]
                if texts != [p[0] for p in state.parts]:
                    _fail(i, ev, f"message content {texts!r} differs from its streamed parts")
            elif itype == "reasoning":
                summary = [p.get("text") for p in item.get("summary") or () if isinstance(p, dict)]
                if state.summary and summary != [p[0] for p in state.summary]:
                    _fail(i, ev, "reasoning summary differs from its streamed parts")
            elif itype == "function_call":
                if state.text and item.get("arguments") != state.text:
                    _fail(i, ev, "function_call arguments differ from their deltas")
            elif itype == "custom_tool_call" and state.text and item.get("input") != state.text:
                _fail(i, ev, "custom_tool_call input differs from its deltas")
            if itype in ("function_call", "custom_tool_call"):
                call_id = item.get("call_id")
                if not isinstance(call_id, str) or not call_id or not isinstance(item.get("name"), str):
                    _fail(i, ev, f"{itype} needs a call_id and a name")
                if call_id in call_ids:
                    _fail(i, ev, f"call_id {call_id!r} reused")
                call_ids.add(call_id)
            state.done = item
        elif etype == "response.content_part.added":
            if itype != "message" or ev.get("content_index") != len(state.parts):
                _fail(i, ev, "content parts belong to messages and are numbered contiguously")
            if state.parts and not state.parts[-1][1]:
                _fail(i, ev, "a content part opened while the previous one is open")
            state.parts.append([(ev.get("part") or {}).get("text") or "", False])
        elif etype in ("response.output_text.delta", "response.refusal.delta"):
            part = _open_part(state.parts, ev, "content_index", i)
            if not isinstance(ev.get("delta"), str):
                _fail(i, ev, "delta must be a string")
            part[0] += ev["delta"]
        elif etype in ("response.output_text.done", "response.refusal.done"):
            part = _open_part(state.parts, ev, "content_index", i)
            full = ev.get("text") if etype == "response.output_text.done" else ev.get("refusal")
            if full != part[0]:
                _fail(i, ev, f"done text {full!r} differs from the deltas {part[0]!r}")
        elif etype == "response.content_part.done":
            part = _open_part(state.parts, ev, "content_index", i)
            done = ev.get("part") or {}
            if done.get("text", done.get("refusal")) != part[0]:
                _fail(i, ev, "content_part.done text differs from the deltas")
            part[1] = True
        elif etype == "response.reasoning_summary_part.added":
            if itype != "reasoning" or ev.get("summary_index") != len(state.summary):
                _fail(i, ev, "summary parts belong to reasoning items and are numbered contiguously")
            state.summary.append([(ev.get("part") or {}).get("text") or "", False])
        elif etype == "response.reasoning_summary_text.delta":
            _open_part(state.summary, ev, "summary_index", i)[0] += ev.get("delta") or ""
        elif etype == "response.reasoning_summary_text.done":
            part = _open_part(state.summary, ev, "summary_index", i)
            if ev.get("text") != part[0]:
                _fail(i, ev, "summary done text differs from its deltas")
        elif etype == "response.reasoning_summary_part.done":
            part = _open_part(state.summary, ev, "summary_index", i)
            if (ev.get("part") or {}).get("text") != part[0]:
                _fail(i, ev, "summary part done text differs from its deltas")
            part[1] = True
        elif etype == "response.function_call_arguments.delta":
            if itype != "function_call":
                _fail(i, ev, "arguments deltas belong to function_call items")
            state.text += ev.get("delta") or ""
        elif etype == "response.function_call_arguments.done":
            if itype != "function_call" or ev.get("arguments") != state.text:
                _fail(i, ev, "arguments done differs from the deltas")
        elif etype == "response.custom_tool_call_input.delta":
            if itype != "custom_tool_call":
                _fail(i, ev, "input deltas belong to custom_tool_call items")
            state.text += ev.get("delta") or ""
        elif etype == "response.custom_tool_call_input.done":
            if itype != "custom_tool_call" or ev.get("input") != state.text:
                _fail(i, ev, "custom input done differs from the deltas")
        elif etype.startswith(("response.reasoning_text.", "response.output_text.annotation")):
            continue
        elif not etype.startswith(_SERVER_TOOL_PREFIXES):
            _fail(i, ev, "unknown event type")

    undone = [k for k, s in items.items() if s.done is None]
    if terminal["type"] != "response.failed":
        if undone:
            raise AssertionError(f"items {undone} were added but never done")
        response = terminal["response"]
        output = [_comparable(o) for o in response.get("output") or ()]
        if output != [_comparable(items[k].done) for k in sorted(items)]:
            raise AssertionError("the terminal response.output differs from the done items")
        _check_usage(response.get("usage"))
        if terminal["type"] == "response.incomplete" and not response.get("incomplete_details"):
            raise AssertionError("response.incomplete needs incomplete_details")
    else:
        error = terminal["response"].get("error")
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise AssertionError("response.failed needs response.error with a message")


_SEALED = frozenset({"encrypted_content", "fingerprint"})


def _comparable(item: Any) -> Any:
    """An item without its sealed fields: OpenAI re-encrypts them for the terminal event."""
    return {k: v for k, v in item.items() if k not in _SEALED} if isinstance(item, dict) else item


def _open_part(parts: list[list[Any]], ev: dict, key: str, i: int) -> list[Any]:
    index = ev.get(key)
    if not isinstance(index, int) or not 0 <= index < len(parts):
        _fail(i, ev, f"{key} {index!r} does not name an added part")
    part = parts[index]
    if part[1]:
        _fail(i, ev, f"part {index} is already done")
    return part


def _check_usage(usage: Any) -> None:
    if not isinstance(usage, dict):
        raise AssertionError("the terminal response needs usage")
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        if isinstance(usage.get(key), bool) or not isinstance(usage.get(key), int):
            raise AssertionError(f"usage.{key} must be an integer")
    if usage["total_tokens"] != usage["input_tokens"] + usage["output_tokens"]:
        raise AssertionError("usage.total_tokens must be input_tokens + output_tokens")
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens")
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
    if not isinstance(cached, int) or cached > usage["input_tokens"]:
        raise AssertionError(
            "usage.input_tokens_details.cached_tokens must be an integer within input_tokens"
        )
    if not isinstance(reasoning, int) or reasoning > usage["output_tokens"]:
        raise AssertionError(
            "usage.output_tokens_details.reasoning_tokens must be an integer within output_tokens"
        )


def assemble_responses_events(events: list[dict]) -> dict:
    """The final ``response`` object a client rebuilds from a (valid) stream: the terminal
    event's response with its ``output`` rebuilt from the done items."""
    done: dict[int, dict] = {}
    for ev in events:
        if ev.get("type") == "response.output_item.done":
            done[ev["output_index"]] = ev["item"]
    terminal = next(ev for ev in reversed(events) if ev.get("type") in TERMINAL)
    return {**terminal["response"], "output": [done[k] for k in sorted(done)]}
