"""Property tests for the OpenAI Responses translators (hypothesis; modest example counts).

Surface (hub → Responses events): every stream is well formed (sequence numbers strictly
increasing, output_index contiguous, every item added is done, ``.done`` equal to the deltas),
validates against the openai SDK's own models, equals the non-streamed object however the
deltas are split, and its items, replayed as the next request's input, give the hub back the
exact blocks. Wire (Responses events → hub): stream == whole response for any split, the hub
stream satisfies its invariants, and the blocks go back out as the same items. Both ways:
hub request → Responses body → hub request keeps the conversation.
"""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from bytespike.translate import (
    AnthropicToResponsesStream,
    ResponsesToAnthropicStream,
    ResponsesWireContext,
    anthropic_request_to_responses,
    anthropic_response_to_responses,
    assemble_anthropic_events,
    assemble_responses_events,
    check_anthropic_events,
    check_responses_events,
    origin_signature,
    responses_request_to_anthropic,
    responses_to_anthropic,
)
from bytespike.translate.responses_common import openai_reasoning_signature
from bytespike.translate.responses_surface import _message_events

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
EVENTS = TypeAdapter(ResponseStreamEvent)

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
id_chars = string.ascii_letters + string.digits + "_-"
ids = st.text(alphabet=id_chars, min_size=1, max_size=24)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), texts)
json_objects = st.dictionaries(st.text(alphabet=string.ascii_letters, min_size=1, max_size=6),
                               st.one_of(json_scalars, st.lists(json_scalars, max_size=3)), max_size=3)  # fmt: skip

TOOLS = [
    {"type": "function", "name": "lookup", "parameters": {"type": "object"}},
    {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
    {"type": "namespace", "name": "clock", "description": "time", "tools": [{"type": "function", "name": "sleep"}]},
]  # fmt: skip
HUB_TOOLS = {"lookup": "function", "apply_patch": "custom", "clock__sleep": "function"}


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points) if text[a:b]] or [text]


# ---------------------------------------------------------------------------------- surface


@st.composite
def hub_blocks(draw: st.DrawFn) -> list[dict]:
    blocks: list[dict] = []
    for _ in range(draw(st.integers(0, 2))):
        sig = draw(st.one_of(st.just("EqQBCkYI" + draw(ids)), st.just(origin_signature("deepseek"))))
        if draw(st.booleans()):
            blocks.append({"type": "thinking", "thinking": draw(texts), "signature": sig})
        else:
            blocks.append({"type": "redacted_thinking", "data": draw(ids)})
    for _ in range(draw(st.integers(0, 3))):
        blocks.append({"type": "text", "text": draw(texts)})
    used: set[str] = set()
    for n in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(HUB_TOOLS)))
        tid = f"toolu_{draw(ids)}_{n}"
        if tid in used:
            continue
        used.add(tid)
        tool_input = {"input": draw(texts)} if HUB_TOOLS[name] == "custom" else draw(json_objects)
        blocks.append({"type": "tool_use", "id": tid, "name": name, "input": tool_input})
    return blocks


def _hub_message(blocks: list[dict], stop: str) -> dict:
    if any(b["type"] == "tool_use" for b in blocks):
        stop = "tool_use"
    elif stop == "tool_use":
        stop = "end_turn"
    return {
        "id": "msg_prop", "type": "message", "role": "assistant", "model": "m", "content": blocks,
        "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 5, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 2, "output_tokens": 9},
    }  # fmt: skip


def _ctx(summary: bool) -> Any:
    body = {"model": "claude-x", "input": "hi", "tools": TOOLS}
    if summary:
        body["reasoning"] = {"effort": "low", "summary": "auto"}
    return responses_request_to_anthropic(body)[1]


@SETTINGS
@given(
    blocks=hub_blocks(),
    stop=st.sampled_from(["end_turn", "max_tokens", "refusal", "stop_sequence", "tool_use"]),
    summary=st.booleans(),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_surface_stream_is_well_formed_and_equals_the_whole(blocks: list[dict], stop: str, summary: bool, cuts: list[int]) -> None:
    message = _hub_message(blocks, stop)
    ctx = _ctx(summary)
    machine = AnthropicToResponsesStream(ctx, response_id="resp_prop", created_at=7)
    events: list[dict] = []
    for name, data in _message_events(message):
        delta = data.get("delta") if name == "content_block_delta" else None
        key = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}.get(
            (delta or {}).get("type", "")
        )
        if key and delta[key]:  # type: ignore[index]
            for piece in _split(delta[key], cuts):  # type: ignore[index]
                events += machine.feed(name, {**data, "delta": {**delta, key: piece}})  # type: ignore[dict-item]
            continue
        events += machine.feed(name, data)
    events += machine.finish(credits=4)
    check_responses_events(events)
    for raw in events:
        EVENTS.validate_python(raw)
    whole = anthropic_response_to_responses(message, ctx, response_id="resp_prop", created_at=7, credits=4)
    assert assemble_responses_events(events) == whole
    Response.model_validate(whole)

    # replayed as the next request's input, the items give the hub back its blocks exactly
    replay = [{"role": "user", "content": "hi"}, *whole["output"]]
    replay += [{"type": "function_call_output", "call_id": b["id"], "output": "ok"} for b in blocks if b["type"] == "tool_use"]
    replay.append({"role": "user", "content": "next"})
    hub, _ = responses_request_to_anthropic({"model": "claude-x", "input": replay, "tools": TOOLS})
    assistant = [m for m in hub["messages"] if m["role"] == "assistant"]
    thinking_first = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
    rest = [b for b in blocks if b["type"] not in ("thinking", "redacted_thinking")]
    expected = thinking_first + rest
    got = [b for m in assistant for b in m["content"]]
    if blocks:
        assert got == expected
    else:
        assert got == []


# ---------------------------------------------------------------------------------- wire


@st.composite
def response_items(draw: st.DrawFn) -> list[dict]:
    items: list[dict] = []
    for n in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["reasoning", "message", "function_call", "custom_tool_call"]))
        if kind == "reasoning":
            summary = [{"type": "summary_text", "text": t} for t in draw(st.lists(texts, max_size=3))]
            items.append({"id": f"rs_{n}", "type": "reasoning", "summary": summary, "encrypted_content": "gAAAA" + draw(ids)})
        elif kind == "message":
            parts = [{"type": "output_text", "text": t, "annotations": []} for t in draw(st.lists(texts, min_size=1, max_size=2))]
            items.append({"id": f"msg_{n}", "type": "message", "role": "assistant", "status": "completed", "content": parts})
        elif kind == "function_call":
            items.append({"id": f"fc_{n}", "type": "function_call", "status": "completed", "call_id": f"call_{n}",
                          "name": "lookup", "arguments": json.dumps(draw(json_objects))})  # fmt: skip
        else:
            items.append({"id": f"ctc_{n}", "type": "custom_tool_call", "status": "completed", "call_id": f"call_{n}",
                          "name": "apply_patch", "input": draw(texts)})  # fmt: skip
    return items


def _stream_of(items: list[dict], cuts: list[int]) -> list[dict]:
    events: list[dict] = [{"type": "response.created", "response": {"id": "resp_w", "status": "in_progress", "output": []}}]
    for index, item in enumerate(items):
        iid = item["id"]
        base = {"item_id": iid, "output_index": index}
        if item["type"] == "reasoning":
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {"id": iid, "type": "reasoning", "summary": []}})  # fmt: skip
            for k, part in enumerate(item["summary"]):
                events.append({"type": "response.reasoning_summary_part.added", **base, "summary_index": k})
                for piece in _split(part["text"], cuts):
                    events.append({"type": "response.reasoning_summary_text.delta", **base, "summary_index": k, "delta": piece})
                events.append({"type": "response.reasoning_summary_text.done", **base, "summary_index": k, "text": part["text"]})
        elif item["type"] == "message":
            events.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "content": []}})
            for k, part in enumerate(item["content"]):
                events.append({"type": "response.content_part.added", **base, "content_index": k})
                for piece in _split(part["text"], cuts):
                    events.append({"type": "response.output_text.delta", **base, "content_index": k, "delta": piece})
        elif item["type"] == "function_call":
            events.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "arguments": ""}})
            for piece in _split(item["arguments"], cuts):
                events.append({"type": "response.function_call_arguments.delta", **base, "delta": piece})
        else:
            events.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "input": ""}})
            for piece in _split(item["input"], cuts):
                events.append({"type": "response.custom_tool_call_input.delta", **base, "delta": piece})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def _response(items: list[dict]) -> dict:
    return {"id": "resp_w", "object": "response", "status": "completed", "output": items,
            "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 20}, "output_tokens": 30,
                      "output_tokens_details": {"reasoning_tokens": 10}, "total_tokens": 80}}  # fmt: skip


@SETTINGS
@given(items=response_items(), cuts=st.lists(st.integers(0, 200), max_size=6), thinking=st.booleans())
def test_wire_stream_equals_whole_and_round_trips(items: list[dict], cuts: list[int], thinking: bool) -> None:
    response = _response(items)
    ctx = ResponsesWireContext(model="gpt-x", thinking=thinking)
    machine = ResponsesToAnthropicStream(model="gpt-x", message_id="msg_w", ctx=ctx)
    events: list = []
    for event in [*_stream_of(items, cuts), {"type": "response.completed", "response": response}]:
        events += machine.feed(event)
    events += machine.finish()
    check_anthropic_events(events, allow_empty_thinking=True)
    streamed = assemble_anthropic_events(events)
    whole = responses_to_anthropic(response, ctx=ResponsesWireContext(model="gpt-x", thinking=thinking))
    assert streamed["content"] == whole["content"]
    assert streamed["stop_reason"] == whole["stop_reason"]

    # the blocks go back out as the items they came from (reasoning only when it was kept)
    results = [{"type": "tool_result", "tool_use_id": b["id"], "content": "ok"} for b in whole["content"] if b["type"] == "tool_use"]
    request = {"model": "x", "max_tokens": 100,
               "messages": [{"role": "user", "content": "q"}, whole, {"role": "user", "content": results or "go on"}]}  # fmt: skip
    body, _ = anthropic_request_to_responses(request, "gpt-x")
    sent = body["input"][1:]
    sent = sent[: len(sent) - (len(results) if results else 1)]
    expected: list[dict] = []
    for item in items:
        if item["type"] == "reasoning" and thinking:
            expected.append({"type": "reasoning", "summary": [{"type": "summary_text", "text": p["text"]} for p in item["summary"]],
                             "encrypted_content": item["encrypted_content"], "id": item["id"]})  # fmt: skip
        elif item["type"] == "message":
            text = "".join(p["text"] for p in item["content"])
            if expected and expected[-1]["type"] == "message":
                expected[-1]["content"].append({"type": "output_text", "text": text})
            else:
                expected.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
        elif item["type"] == "function_call":
            expected.append({"type": "function_call", "call_id": item["call_id"], "name": "lookup",
                             "arguments": json.dumps(json.loads(item["arguments"]), ensure_ascii=False)})  # fmt: skip
        elif item["type"] == "custom_tool_call":
            expected.append({"type": "function_call", "call_id": item["call_id"], "name": "apply_patch",
                             "arguments": json.dumps({"input": item["input"]}, ensure_ascii=False)})  # fmt: skip
    while expected and expected[-1]["type"] == "reasoning":
        expected.pop()
    assert sent == expected


@SETTINGS
@given(
    turns=st.lists(st.tuples(texts, st.one_of(st.none(), json_objects), texts), min_size=1, max_size=3),
    final=texts,
)
def test_hub_request_through_a_responses_body_and_back(turns: list[tuple], final: str) -> None:
    """A hub conversation → a Responses request body → the hub: the same conversation."""
    messages: list[dict] = []
    for n, (question, call_input, answer) in enumerate(turns):
        messages.append({"role": "user", "content": [{"type": "text", "text": question}]})
        if call_input is None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
            continue
        tid = f"toolu_{n}"
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": tid, "name": "lookup", "input": call_input}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid, "content": answer}]})
    messages.append({"role": "user", "content": [{"type": "text", "text": final}]})
    # the hub merges consecutive user turns; so does the way back
    merged: list[dict] = []
    for m in messages:
        if merged and merged[-1]["role"] == m["role"]:
            merged[-1] = {**merged[-1], "content": merged[-1]["content"] + m["content"]}
        else:
            merged.append(m)
    hub = {"model": "x", "max_tokens": 500, "system": "sys", "messages": merged,
           "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]}  # fmt: skip
    body, _ = anthropic_request_to_responses(hub, "gpt-x")
    back, _ = responses_request_to_anthropic(body)
    assert back["system"] == "sys"
    assert back["messages"] == merged
    assert [t["name"] for t in back["tools"]] == ["lookup"]


def test_reasoning_marker_survives_empty_summaries() -> None:
    sig = openai_reasoning_signature("rs_1", "gAAA", [0, 3])
    body, _ = anthropic_request_to_responses(
        {"model": "x", "max_tokens": 100, "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "\n\nabc", "signature": sig},
                                              {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"}]},
        "gpt-x",
    )  # fmt: skip
    assert body["input"][1]["summary"] == [{"type": "summary_text", "text": ""}, {"type": "summary_text", "text": "abc"}]
