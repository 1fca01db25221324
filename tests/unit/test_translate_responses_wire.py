"""OpenAI models upstream through /v1/responses: hub request → body, Responses events → hub events.

The point of this wire: reasoning survives. OpenAI reasoning items come back as thinking blocks
carrying their encrypted content, and go out again as the same items on the next turn.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bytespike.errors import Kind
from bytespike.translate import (
    ResponsesToAnthropicStream,
    ResponsesWireContext,
    TranslationError,
    anthropic_request_to_responses,
    assemble_anthropic_events,
    check_anthropic_events,
    origin_signature,
    responses_error,
    responses_to_anthropic,
    signature_origin,
)
from bytespike.translate.responses_common import openai_reasoning_signature, read_openai_reasoning_signature
from bytespike.translate.responses_wire import response_events

MODEL = "gpt-6.2-sol"
CLAUDE_SIG = "EqQBCkYIBxgCKkD" + "x" * 40
ENC = "gAAAAABpPMlcH0HHEv5_ozHwP5Gxz5ZLE7A8Aw7GK94sa1KWHqXLrAch29KZrZqCzH6PkWnLWTxIZv4TL70DPoKbS=="


def hub(**extra: Any) -> dict:
    return {"model": "x", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}], **extra}


def run(events: list[dict], ctx: ResponsesWireContext | None = None) -> tuple[list, ResponsesToAnthropicStream]:
    ctx = ctx or ResponsesWireContext(model=MODEL, thinking=True)
    machine = ResponsesToAnthropicStream(model=MODEL, message_id="msg_1", ctx=ctx)
    out: list = []
    for event in events:
        out += machine.feed(event)
    out += machine.finish()
    return out, machine


def response(*output: dict, status: str = "completed", usage: dict | None = None, **extra: Any) -> dict:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": MODEL,
        "output": list(output),
        "usage": usage
        or {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 60},
            "output_tokens": 40,
            "output_tokens_details": {"reasoning_tokens": 25},
            "total_tokens": 140,
        },
        **extra,
    }


REASONING = {
    "id": "rs_1",
    "type": "reasoning",
    "encrypted_content": ENC,
    "summary": [{"type": "summary_text", "text": "**Plan**\n\nCall it."}, {"type": "summary_text", "text": "Then answer."}],
}
MESSAGE = {
    "id": "msg_a",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hello there", "annotations": []}],
}
CALL = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "calc", "arguments": '{"a":1}'}


# ---------------------------------------------------------------------------------- requests


def test_body_basics() -> None:
    body, ctx = anthropic_request_to_responses(
        hub(system=[{"type": "text", "text": "A"}, {"type": "text", "text": "B"}], stream=True, temperature=0.2),
        MODEL,
    )
    assert body["model"] == MODEL and body["instructions"] == "A\n\nB"
    assert body["input"] == [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    assert body["max_output_tokens"] == 1000 and body["stream"] is True and body["store"] is False
    assert "temperature" not in body  # reasoning models refuse it (recorded: reasoning-model-temperature-error.json)
    assert "reasoning" not in body and "include" not in body and ctx.thinking is False
    body, _ = anthropic_request_to_responses(hub(temperature=0.2), "gpt-4.1", reasoning_model=False)
    assert body["temperature"] == 0.2


def test_max_tokens_below_openais_minimum_is_raised() -> None:
    body, ctx = anthropic_request_to_responses(hub(max_tokens=1), MODEL)
    assert body["max_output_tokens"] == 16 and ctx.warnings


def test_thinking_enables_reasoning_with_encrypted_content() -> None:
    body, ctx = anthropic_request_to_responses(hub(thinking={"type": "enabled", "budget_tokens": 20000}), MODEL)
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"] and ctx.thinking
    body, _ = anthropic_request_to_responses(hub(thinking={"type": "adaptive"}, output_config={"effort": "max"}), MODEL)
    assert body["reasoning"]["effort"] == "xhigh"
    body, _ = anthropic_request_to_responses(hub(thinking={"type": "adaptive", "display": "omitted"}), MODEL)
    assert "summary" not in body["reasoning"] and body["include"] == ["reasoning.encrypted_content"]


def test_reasoning_blocks_go_back_as_the_same_items() -> None:
    """OpenAI's own reasoning (marker) returns as its item; Claude's and DeepSeek's never do."""
    marker = openai_reasoning_signature("rs_1", ENC, [18, 12])
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "**Plan**\n\nCall it.\n\nThen answer.", "signature": marker},
                {"type": "thinking", "thinking": "claude", "signature": CLAUDE_SIG},
                {"type": "thinking", "thinking": "deepseek", "signature": origin_signature("deepseek")},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "text", "text": "Let me call."},
                {"type": "tool_use", "id": "call_1", "name": "calc", "input": {"a": 1}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "2"}]},
    ]
    body, _ = anthropic_request_to_responses(hub(messages=messages), MODEL)
    assert body["input"][1:] == [
        {"type": "reasoning", "summary": REASONING["summary"], "encrypted_content": ENC, "id": "rs_1"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me call."}]},
        {"type": "function_call", "call_id": "call_1", "name": "calc", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "2"},
    ]


def test_a_turn_ending_in_reasoning_drops_it() -> None:
    """OpenAI refuses a reasoning item without its following item."""
    marker = openai_reasoning_signature("rs_1", ENC)
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "", "signature": marker}]},
        {"role": "user", "content": "again"},
    ]
    body, _ = anthropic_request_to_responses(hub(messages=messages), MODEL)
    assert [i["type"] for i in body["input"]] == ["message", "message"]


def test_tool_results_with_media_and_errors() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}},
                                          {"type": "tool_use", "id": "t2", "name": "shot", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [
                    {"type": "text", "text": "screen"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                ]},
                {"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": "boom"},
                {"type": "text", "text": "and?"},
            ],
        },
    ]
    body, _ = anthropic_request_to_responses(hub(messages=messages), MODEL)
    out1, out2, follow = body["input"][3:]
    assert out1["output"] == [
        {"type": "input_text", "text": "screen"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"},
    ]
    assert out2 == {"type": "function_call_output", "call_id": "t2", "output": "Error: boom"}
    assert follow["content"] == [{"type": "input_text", "text": "and?"}]


def test_tools_choice_format_identity() -> None:
    body, ctx = anthropic_request_to_responses(
        hub(
            tools=[{"name": "calc", "description": "math", "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": "calc", "disable_parallel_tool_use": True},
            output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
            metadata={"user_id": "u" * 200},
        ),
        MODEL,
    )
    assert body["tools"] == [{"type": "function", "name": "calc", "description": "math",
                              "parameters": {"type": "object"}, "strict": False}]  # fmt: skip
    assert body["tool_choice"] == {"type": "function", "name": "calc"} and body["parallel_tool_calls"] is False
    assert body["text"]["format"]["type"] == "json_schema" and body["text"]["format"]["name"] == "structured_output"
    assert len(body["safety_identifier"]) == 64 == len(body["prompt_cache_key"])
    assert ctx.declared == {"calc"}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"mcp_servers": [{"url": "x"}]}, "mcp_servers"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"tool_choice": {"type": "any"}}, "tool_choice"),
    ],
)
def test_refusals(extra: dict, param: str) -> None:
    with pytest.raises(TranslationError) as exc:
        anthropic_request_to_responses(hub(**extra), MODEL)
    assert exc.value.param == param


# ---------------------------------------------------------------------------------- answers


def test_whole_response_with_reasoning_text_and_tool() -> None:
    ctx = ResponsesWireContext(model=MODEL, thinking=True)
    message = responses_to_anthropic(response(REASONING, MESSAGE, CALL), ctx=ctx)
    thinking, text, tool = message["content"]
    assert thinking["thinking"] == "**Plan**\n\nCall it.\n\nThen answer."
    assert signature_origin(thinking["signature"]) == "openai"
    marker = read_openai_reasoning_signature(thinking["signature"])
    assert marker == {"p": "openai", "i": "rs_1", "e": ENC, "s": [18, 12]}
    assert text == {"type": "text", "text": "Hello there"}
    assert tool == {"type": "tool_use", "id": "call_1", "name": "calc", "input": {"a": 1}}
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {
        "input_tokens": 40,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
        "output_tokens": 40,
        "output_tokens_details": {"thinking_tokens": 25},
    }


def test_reasoning_left_out_when_thinking_was_not_asked() -> None:
    message = responses_to_anthropic(response(REASONING, MESSAGE), ctx=ResponsesWireContext(model=MODEL))
    assert [b["type"] for b in message["content"]] == ["text"]


def _streamed(*items: dict, split: int = 3) -> list[dict]:
    """The event stream OpenAI sends for these items, deltas split in ``split``-char pieces."""
    events: list[dict] = [{"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}]
    for index, item in enumerate(items):
        iid = item["id"]
        if item["type"] == "reasoning":
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {"id": iid, "type": "reasoning", "summary": []}})  # fmt: skip
            for k, part in enumerate(item["summary"]):
                events.append({"type": "response.reasoning_summary_part.added", "item_id": iid, "output_index": index,
                               "summary_index": k, "part": {"type": "summary_text", "text": ""}})  # fmt: skip
                text = part["text"]
                for i in range(0, len(text), split):
                    events.append({"type": "response.reasoning_summary_text.delta", "item_id": iid,
                                   "output_index": index, "summary_index": k, "delta": text[i : i + split]})  # fmt: skip
                events.append({"type": "response.reasoning_summary_text.done", "item_id": iid, "output_index": index,
                               "summary_index": k, "text": text})  # fmt: skip
        elif item["type"] == "message":
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {**item, "content": [], "status": "in_progress"}})  # fmt: skip
            text = item["content"][0]["text"]
            events.append({"type": "response.content_part.added", "item_id": iid, "output_index": index,
                           "content_index": 0, "part": {"type": "output_text", "text": ""}})  # fmt: skip
            for i in range(0, len(text), split):
                events.append({"type": "response.output_text.delta", "item_id": iid, "output_index": index,
                               "content_index": 0, "delta": text[i : i + split]})  # fmt: skip
            events.append({"type": "response.output_text.done", "item_id": iid, "output_index": index,
                           "content_index": 0, "text": text})  # fmt: skip
        elif item["type"] == "function_call":
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {**item, "arguments": "", "status": "in_progress"}})  # fmt: skip
            for i in range(0, len(item["arguments"]), split):
                events.append({"type": "response.function_call_arguments.delta", "item_id": iid, "output_index": index,
                               "delta": item["arguments"][i : i + split]})  # fmt: skip
        elif item["type"] == "custom_tool_call":
            events.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "input": ""}})
            for i in range(0, len(item["input"]), split):
                events.append({"type": "response.custom_tool_call_input.delta", "item_id": iid, "output_index": index,
                               "delta": item["input"][i : i + split]})  # fmt: skip
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": response(*items)})
    return events


@pytest.mark.parametrize("split", [1, 3, 100])
def test_stream_equals_whole_response(split: int) -> None:
    custom = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch",
              "input": '*** Begin Patch\n+ "quoted" ✓\n'}  # fmt: skip
    items = (REASONING, MESSAGE, CALL, custom)
    events, machine = run(_streamed(*items, split=split))
    check_anthropic_events(events, allow_empty_thinking=True)
    streamed = assemble_anthropic_events(events)
    whole = responses_to_anthropic(response(*items), ctx=ResponsesWireContext(model=MODEL, thinking=True))
    assert streamed["content"] == whole["content"]
    assert streamed["content"][3]["input"] == {"input": custom["input"]}
    assert machine.usage == whole["usage"] and machine.usage_reported


def test_items_without_deltas_still_arrive() -> None:
    """Real streams put some content only in .done events (image generation, apply_patch, custom tools)."""
    events, _ = run(response_events(response(REASONING, MESSAGE, CALL)))
    check_anthropic_events(events, allow_empty_thinking=True)
    assert [b["type"] for b in assemble_anthropic_events(events)["content"]] == ["thinking", "text", "tool_use"]


def test_refusal_and_incomplete() -> None:
    refusal = {"id": "msg_r", "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "refusal", "refusal": "I can't help with that."}]}  # fmt: skip
    message = responses_to_anthropic(response(refusal), ctx=ResponsesWireContext(model=MODEL))
    assert message["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert message["stop_reason"] == "refusal"
    cut = response(MESSAGE, status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert responses_to_anthropic(cut, ctx=ResponsesWireContext(model=MODEL))["stop_reason"] == "max_tokens"
    filtered = response(MESSAGE, status="incomplete", incomplete_details={"reason": "content_filter"})
    assert responses_to_anthropic(filtered, ctx=ResponsesWireContext(model=MODEL))["stop_reason"] == "refusal"


def test_stop_sequences_are_emulated() -> None:
    """Responses has no `stop`: the text ends at the first stop sequence, even split across deltas."""
    _, ctx = anthropic_request_to_responses(hub(stop_sequences=["STOP", "\n\nHuman:"]), MODEL)
    item = {**MESSAGE, "content": [{"type": "output_text", "text": "keep this ST then STOP and not this"}]}
    for split in (1, 2, 3, 50):
        events, _machine = run(_streamed(item, split=split), ctx)
        check_anthropic_events(events)
        message = assemble_anthropic_events(events)
        assert message["content"] == [{"type": "text", "text": "keep this ST then "}]
        assert message["stop_reason"] == "stop_sequence" and message["stop_sequence"] == "STOP"
    for text in ("no match here", "ST", "ends with STO"):  # held-back text that never became a match
        for split in (1, 2, 50):
            two = [{**MESSAGE, "content": [{"type": "output_text", "text": text}]},
                   {**MESSAGE, "id": "msg_b", "content": [{"type": "output_text", "text": "next"}]}]  # fmt: skip
            events, _ = run(_streamed(*two, split=split), ctx)
            check_anthropic_events(events)
            assert assemble_anthropic_events(events)["content"] == [{"type": "text", "text": text},
                                                                    {"type": "text", "text": "next"}]  # fmt: skip
            events, _ = run(response_events(response(two[0])), ctx)
            assert assemble_anthropic_events(events)["content"] == [{"type": "text", "text": text}]


def test_parallel_wrapper_is_unwrapped() -> None:
    """gpt-5.4's undeclared `parallel` wrapper (recorded: parallel-tool-call-wrapper.1) → the real calls."""
    args = json.dumps({"tool_uses": [
        {"recipient_name": "functions.weather", "parameters": {"location": "SF"}},
        {"recipient_name": "functions.cityAttractions", "parameters": {"city": "Rome"}},
    ]})  # fmt: skip
    wrapper = {**CALL, "call_id": "call_p", "name": "parallel", "arguments": args}
    message = responses_to_anthropic(response(wrapper), ctx=ResponsesWireContext(model=MODEL))
    assert message["content"] == [
        {"type": "tool_use", "id": "call_p_0", "name": "weather", "input": {"location": "SF"}},
        {"type": "tool_use", "id": "call_p_1", "name": "cityAttractions", "input": {"city": "Rome"}},
    ]
    declared = ResponsesWireContext(model=MODEL, declared={"parallel"})  # a real tool of that name stays itself
    assert responses_to_anthropic(response(wrapper), ctx=declared)["content"][0]["name"] == "parallel"


def test_server_tool_items_are_dropped_with_a_warning() -> None:
    search = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search"}}
    events, machine = run(response_events(response(search, MESSAGE)))
    check_anthropic_events(events)
    assert [b["type"] for b in assemble_anthropic_events(events)["content"]] == ["text"]
    assert machine.warnings == ["dropped a web_search_call item: no Anthropic block carries it"]


@pytest.mark.parametrize(
    ("event", "kind", "account", "status"),
    [
        ({"type": "error", "code": "insufficient_quota", "message": "You exceeded your current quota"},
         Kind.UPSTREAM, True, None),
        ({"type": "error", "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "q"}},
         Kind.UPSTREAM, True, None),
        ({"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}},
         Kind.RATE_LIMIT, False, None),
        ({"type": "response.failed", "response": {"error": {"code": "server_error", "message": "oops"}}},
         Kind.UPSTREAM, False, None),
        ({"type": "response.failed", "response": {"error": {"code": "context_length_exceeded", "message": "long"}}},
         Kind.INVALID_REQUEST, False, 400),
        ({"type": "error", "code": "invalid_encrypted_content", "message": "The encrypted content gAAA...DQ== could not be verified."},
         Kind.INVALID_REQUEST, False, 400),
    ],
)  # fmt: skip
def test_stream_errors_map_to_the_gateways_vocabulary(event: dict, kind: Kind, account: bool, status: int | None) -> None:
    err = responses_error(event)
    assert (err.kind, err.account_fault, err.status) == (kind, account, status)
    _events, machine = run([{"type": "response.created", "response": {"id": "r"}}, event, {"type": "response.completed"}])
    assert machine.error is not None and machine.error.kind is kind and not machine.completed
