"""The OpenAI Responses surface: a Responses client (Codex, the SDKs, agent frameworks) on any model.

Request items → hub request, hub events → Responses SSE events, the non-streamed ``response``
object, and the reasoning round trip that lets Codex replay Claude's thinking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bytespike.translate import (
    AnthropicToResponsesStream,
    ResponsesContext,
    TranslationError,
    anthropic_response_to_responses,
    assemble_responses_events,
    check_responses_events,
    origin_signature,
    responses_request_to_anthropic,
    signature_origin,
    strip_foreign_thinking,
)
from bytespike.translate.responses_common import decode_envelope
from bytespike.translate.responses_surface import _InputString, _message_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
CODEX = json.loads((FIXTURES / "codex-0.171.0-responses-request.json").read_text())
CLAUDE_SIG = "EqQBCkYIBxgCKkD" + "x" * 40  # an opaque Claude signature


def translate(body: dict, **kwargs: Any) -> tuple[dict, ResponsesContext]:
    return responses_request_to_anthropic({"model": "claude-sonnet-5-5", **body}, **kwargs)


def stream(ctx: ResponsesContext, message: dict, *, split: int = 0, credits: int | None = None) -> list[dict]:
    """Run the hub message through the stream machine (tool JSON split in ``split``-char pieces)."""
    machine = AnthropicToResponsesStream(ctx, response_id="resp_test", created_at=1_700_000_000)
    events: list[dict] = []
    for name, data in _message_events(message):
        delta = data.get("delta") if name == "content_block_delta" else None
        if split and delta and delta.get("type") == "input_json_delta":
            raw = delta["partial_json"]
            for i in range(0, len(raw), split):
                piece = {**data, "delta": {"type": "input_json_delta", "partial_json": raw[i : i + split]}}
                events += machine.feed(name, piece)
            continue
        events += machine.feed(name, data)
    return events + machine.finish(credits=credits)


def hub_message(*content: dict, stop: str = "end_turn", **usage: int) -> dict:
    return {
        "id": "msg_01test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 30, **usage},
    }


# ---------------------------------------------------------------------------------- requests


def test_codex_recorded_request_translates() -> None:
    """Codex 0.171.0's real request: additional_tools namespaces, custom tools, developer messages."""
    hub, ctx = responses_request_to_anthropic(CODEX)
    names = [t["name"] for t in hub["tools"]]
    assert names[:5] == ["exec", "wait", "request_user_input", "request_user_input_async", "send_message_to_user_async"]
    assert "clock__sleep" in names and "collaboration__spawn_agent" in names
    assert ctx.tools["exec"].kind == "custom" and ctx.tools["exec"].namespace == "functions"
    assert ctx.tools["clock__sleep"].namespace == "clock"
    exec_call = anthropic_response_to_responses(
        hub_message({"type": "tool_use", "id": "toolu_x", "name": "exec", "input": {"input": "1+1"}}, stop="tool_use"), ctx
    )["output"][0]
    assert exec_call["type"] == "custom_tool_call" and exec_call["name"] == "exec" and "namespace" not in exec_call
    exec_tool = hub["tools"][0]
    assert exec_tool["input_schema"]["required"] == ["input"]
    assert "lark grammar" in exec_tool["description"] and "PRAGMA_LINE" in exec_tool["description"]
    # the developer messages that lead the conversation are the system prompt, in order
    developer = [p["text"] for item in CODEX["input"] if item.get("role") == "developer" and item["type"] == "message"
                 for p in item["content"]]  # fmt: skip
    assert [b["text"] for b in hub["system"]] == developer
    assert hub["system"][0]["text"].startswith("You are Codex")
    assert [m["role"] for m in hub["messages"]] == ["user"]
    assert hub["messages"][0]["content"][-1]["text"] == "create a file hello.py that prints hi, then run it"
    # parallel_tool_calls: false, effort low, prompt_cache_key -> automatic caching
    assert hub["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert hub["thinking"]["type"] == "enabled"
    assert hub["cache_control"] == {"type": "ephemeral"}
    assert hub["stream"] is True
    assert ctx.echo["store"] is False and ctx.echo["tool_choice"] == "auto"


def test_string_input_and_instructions() -> None:
    hub, _ = translate({"input": "hello", "instructions": "Be brief."})
    assert hub["system"] == "Be brief."
    assert hub["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


def test_items_become_turns_in_order() -> None:
    hub, _ = translate(
        {
            "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
            "input": [
                {"role": "user", "content": "find x"},
                {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q":"x"}'},
                {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": ""},
                {"type": "function_call_output", "call_id": "call_1", "output": "found"},
                {"type": "function_call_output", "call_id": "call_2", "output": [
                    {"type": "input_text", "text": "also"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                ]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
            ],
        }
    )  # fmt: skip
    user1, assistant, user2 = hub["messages"]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "x"}},
            {"type": "tool_use", "id": "call_2", "name": "lookup", "input": {}},
        ],
    }
    assert [b["type"] for b in user2["content"]] == ["tool_result", "tool_result", "text"]
    assert user2["content"][0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "found"}
    assert user2["content"][1]["content"][1]["type"] == "image"
    assert user1["content"] == [{"type": "text", "text": "find x"}]


def test_later_developer_messages_stay_in_place() -> None:
    """A developer message mid-conversation is not moved into the system prompt (cache prefix kept)."""
    hub, _ = translate(
        {
            "input": [
                {"role": "developer", "content": "rules"},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "b"}]},
                {"role": "developer", "content": "new rule"},
                {"role": "user", "content": "c"},
            ]
        }
    )
    assert hub["system"] == "rules"
    assert hub["messages"][-1]["content"] == [{"type": "text", "text": "new rule"}, {"type": "text", "text": "c"}]


def test_custom_and_namespace_tool_calls_in_history() -> None:
    hub, _ = translate(
        {
            "tools": [
                {"type": "custom", "name": "apply_patch", "description": "Edit files",
                 "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
                {"type": "namespace", "name": "crm", "description": "Customer tools",
                 "tools": [{"type": "function", "name": "find", "parameters": {"type": "object"}}]},
            ],
            "input": [
                {"role": "user", "content": "go"},
                {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "function_call", "call_id": "c2", "name": "find", "namespace": "crm", "arguments": "{}"},
                {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"},
                {"type": "function_call_output", "call_id": "c2", "output": "none"},
            ],
        }
    )  # fmt: skip
    assert [t["name"] for t in hub["tools"]] == ["apply_patch", "crm__find"]
    assert hub["tools"][1]["description"].startswith("[crm: Customer tools]")
    calls = hub["messages"][1]["content"]
    assert calls[0] == {"type": "tool_use", "id": "c1", "name": "apply_patch", "input": {"input": "*** Begin Patch"}}
    assert calls[1]["name"] == "crm__find"


@pytest.mark.parametrize("tool", ["web_search", "file_search", "computer_use_preview", "code_interpreter",
                                  "image_generation", "mcp", "local_shell", "web_search_preview"])  # fmt: skip
def test_builtin_tools_refused_in_openais_words(tool: str) -> None:
    with pytest.raises(TranslationError) as exc:
        translate({"input": "hi", "tools": [{"type": tool}]})
    assert exc.value.message == f"Hosted tool '{tool}' is not supported with claude-sonnet-5-5."
    assert exc.value.param == "tools"


def test_builtin_tools_listed_for_the_lane_to_route() -> None:
    """``builtin_tools="list"``: the context tells the gateway to use OpenAI's pass-through instead."""
    hub, ctx = translate(
        {"input": "hi", "tools": [{"type": "web_search"}, {"type": "function", "name": "f"}]}, builtin_tools="list"
    )
    assert ctx.builtin_tools == ["web_search"]
    assert [t["name"] for t in hub["tools"]] == ["f"]


def test_builtin_tool_choice_refused() -> None:
    with pytest.raises(TranslationError, match="Hosted tool 'file_search'"):
        translate({"input": "hi", "tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "file_search"}})


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "name": "f"}, {"type": "tool", "name": "f"}),
        ({"type": "custom", "name": "g"}, {"type": "tool", "name": "g"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict) -> None:
    hub, _ = translate(
        {"input": "hi", "tools": [{"type": "function", "name": "f"}, {"type": "custom", "name": "g"}], "tool_choice": choice}
    )
    assert hub["tool_choice"] == expected


def test_allowed_tools_narrow_the_tools() -> None:
    hub, _ = translate(
        {
            "input": "hi",
            "tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b"}],
            "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "b"}]},
        }
    )
    assert [t["name"] for t in hub["tools"]] == ["b"] and hub["tool_choice"] == {"type": "any"}


def test_text_format_and_reasoning() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    hub, ctx = translate(
        {
            "input": "hi",
            "max_output_tokens": 20000,
            "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}, "verbosity": "low"},
            "reasoning": {"effort": "high", "summary": "auto"},
        }
    )
    assert hub["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert hub["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert hub["max_tokens"] == 20000
    assert ctx.summary is True
    hub, ctx = translate({"input": "hi", "reasoning": {"effort": "medium"}}, thinking_style="adaptive")
    assert hub["thinking"] == {"type": "adaptive"} and hub["output_config"] == {"effort": "medium"}
    assert ctx.summary is False
    hub, _ = translate({"input": "hi", "reasoning": {"effort": "none"}})
    assert "thinking" not in hub


def test_json_object_format_is_an_instruction() -> None:
    hub, _ = translate({"input": "hi", "instructions": "x", "text": {"format": {"type": "json_object"}}})
    assert hub["system"][1]["text"].startswith("Respond with a single valid JSON object")


def test_sampling_and_identity() -> None:
    hub, _ = translate({"input": "hi", "temperature": 1.7, "top_p": 0.9, "safety_identifier": "user-7"})
    assert hub["temperature"] == 1 and hub["top_p"] == 0.9 and hub["metadata"] == {"user_id": "user-7"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ({"input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": "hi", "background": True}, "background"),
        ({"input": "hi", "top_logprobs": 3}, "top_logprobs"),
        ({"input": [{"type": "compaction", "encrypted_content": "gAAA"}]}, "input[0]"),
        ({"input": [{"type": "local_shell_call", "call_id": "x"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}]}, "input[0].arguments"),
        ({"input": 5}, "input"),
        ({"input": "hi", "reasoning": {"effort": "ultra"}}, "reasoning.effort"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]}, "input[0].content[0]"),
    ],
)
def test_client_mistakes_are_translation_errors(body: dict, param: str) -> None:
    with pytest.raises(TranslationError) as exc:
        translate(body)
    assert exc.value.param == param


def test_previous_response_history_is_prepended() -> None:
    history = [{"role": "user", "content": "first"}, {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}]
    hub, _ = translate({"input": "second", "previous_response_id": "resp_1"}, history=history)
    assert [m["role"] for m in hub["messages"]] == ["user", "assistant", "user"]


def test_server_items_in_history_are_dropped() -> None:
    hub, ctx = translate(
        {"input": [{"role": "user", "content": "q"}, {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                   {"role": "assistant", "content": [{"type": "output_text", "text": "a"}]},
                   {"role": "user", "content": "q2"}]}
    )
    assert len(hub["messages"]) == 3 and ctx.warnings


def test_foreign_openai_reasoning_is_marked_not_sent_to_claude() -> None:
    """A real OpenAI reasoning item (a Codex session that switched to Claude) is kept with the
    OpenAI origin marker, then stripped before Claude like any foreign thinking."""
    hub, _ = translate(
        {
            "input": [
                {"role": "user", "content": "q"},
                {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAAABfoo",
                 "summary": [{"type": "summary_text", "text": "thought"}]},
                {"role": "assistant", "content": [{"type": "output_text", "text": "a"}]},
                {"role": "user", "content": "q2"},
            ]
        }
    )  # fmt: skip
    block = hub["messages"][1]["content"][0]
    assert block["type"] == "thinking" and block["thinking"] == "thought"
    assert signature_origin(block["signature"]) == "openai"
    assert strip_foreign_thinking(hub)["messages"][1]["content"] == [{"type": "text", "text": "a"}]


# ---------------------------------------------------------------------------------- streams


def _ctx(**body: Any) -> ResponsesContext:
    return translate({"input": "hi", **body})[1]


def test_stream_event_sequence_text_only() -> None:
    events = stream(_ctx(), hub_message({"type": "text", "text": "Hello"}), credits=7)
    check_responses_events(events)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    usage = events[-1]["response"]["usage"]
    assert usage == {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 42,
        "credits": 7,
    }


def test_usage_counts_cached_and_written_tokens_as_input() -> None:
    events = stream(
        _ctx(),
        hub_message(
            {"type": "text", "text": "x"},
            cache_read_input_tokens=100,
            cache_creation_input_tokens=50,
            output_tokens_details={"thinking_tokens": 4},  # type: ignore[arg-type]
        ),
    )
    usage = events[-1]["response"]["usage"]
    assert usage["input_tokens"] == 162 and usage["input_tokens_details"] == {"cached_tokens": 100, "cache_write_tokens": 50}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 4}


def test_thinking_text_and_tools_stream() -> None:
    ctx = translate(
        {
            "input": "hi",
            "reasoning": {"effort": "low", "summary": "auto"},
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object"}},
                {"type": "custom", "name": "apply_patch"},
                {"type": "namespace", "name": "clock", "description": "", "tools": [{"type": "function", "name": "sleep"}]},
            ],
        }
    )[1]
    message = hub_message(
        {"type": "thinking", "thinking": "Plan: patch then sleep.", "signature": CLAUDE_SIG},
        {"type": "text", "text": "Working on it."},
        {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": 'a "quoted"\nline\t✓ 😀'}},
        {"type": "tool_use", "id": "toolu_2", "name": "clock__sleep", "input": {"ms": 5}},
        {"type": "tool_use", "id": "toolu_3", "name": "f", "input": {}},
        stop="tool_use",
    )
    for split in (1, 2, 5, 1000):
        events = stream(ctx, message, split=split)
        check_responses_events(events)
        output = events[-1]["response"]["output"]
        assert [o["type"] for o in output] == ["reasoning", "message", "custom_tool_call", "function_call", "function_call"]
        reasoning, text, patch, sleep, f = output
        assert reasoning["summary"] == [{"type": "summary_text", "text": "Plan: patch then sleep."}]
        assert decode_envelope(reasoning["encrypted_content"]) == message["content"][0]
        assert text["content"][0]["text"] == "Working on it."
        assert patch["input"] == 'a "quoted"\nline\t✓ 😀' and patch["call_id"] == "toolu_1" and "namespace" not in patch
        custom_deltas = "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta")
        assert custom_deltas == patch["input"]
        assert sleep["name"] == "sleep" and sleep["namespace"] == "clock" and json.loads(sleep["arguments"]) == {"ms": 5}
        assert f["arguments"] == "{}"
        assert events[-1]["type"] == "response.completed"


def test_summary_hidden_unless_asked_but_thinking_still_replayable() -> None:
    message = hub_message({"type": "thinking", "thinking": "secret plan", "signature": CLAUDE_SIG}, {"type": "text", "text": "ok"})
    events = stream(_ctx(), message)
    check_responses_events(events)
    assert not any(e["type"].startswith("response.reasoning_summary") for e in events)
    reasoning = events[-1]["response"]["output"][0]
    assert reasoning["summary"] == []
    assert decode_envelope(reasoning["encrypted_content"]) == message["content"][0]


def test_redacted_thinking_round_trips() -> None:
    message = hub_message({"type": "redacted_thinking", "data": "EmwKAhgB"}, {"type": "text", "text": "ok"})
    output = anthropic_response_to_responses(message, _ctx())["output"]
    assert decode_envelope(output[0]["encrypted_content"]) == {"type": "redacted_thinking", "data": "EmwKAhgB"}


def test_replayed_items_restore_the_exact_hub_blocks() -> None:
    """Codex replays our output items: Claude must get its own signed thinking back, exactly."""
    ctx = _ctx(tools=[{"type": "function", "name": "f"}, {"type": "custom", "name": "apply_patch"}])
    thinking = {"type": "thinking", "thinking": "I should call f.", "signature": CLAUDE_SIG}
    deepseek = {"type": "thinking", "thinking": "foreign", "signature": origin_signature("deepseek")}
    message = hub_message(
        thinking,
        deepseek,
        {"type": "text", "text": "Calling."},
        {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": [1, 2]}},
        {"type": "tool_use", "id": "toolu_10", "name": "apply_patch", "input": {"input": "*** Begin Patch\n"}},
        stop="tool_use",
    )
    response = anthropic_response_to_responses(message, ctx)
    replay = [
        {"role": "user", "content": "hi"},
        *response["output"],
        {"type": "function_call_output", "call_id": "toolu_9", "output": "done"},
        {"type": "custom_tool_call_output", "call_id": "toolu_10", "output": "patched"},
    ]
    hub, _ = translate({"input": replay, "tools": [{"type": "function", "name": "f"}, {"type": "custom", "name": "apply_patch"}]})
    assistant = hub["messages"][1]
    assert assistant["content"] == [thinking, deepseek, *message["content"][2:]]
    # the foreign block keeps its origin marker and is stripped before Claude; Claude's stays
    assert strip_foreign_thinking(hub)["messages"][1]["content"][0] == thinking


def test_non_stream_equals_stream() -> None:
    ctx = _ctx(tools=[{"type": "function", "name": "f"}], reasoning={"effort": "low", "summary": "detailed"})
    message = hub_message(
        {"type": "thinking", "thinking": "t", "signature": CLAUDE_SIG},
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
        stop="tool_use",
    )
    events = stream(ctx, message, split=3, credits=5)
    whole = anthropic_response_to_responses(message, ctx, response_id="resp_test", created_at=1_700_000_000, credits=5)
    assert assemble_responses_events(events) == whole == events[-1]["response"]
    assert whole["output"][1]["content"][1]["text"] == "b"  # a run of text blocks is one message, one part per block


@pytest.mark.parametrize(
    ("stop", "event", "details"),
    [
        ("max_tokens", "response.incomplete", {"reason": "max_output_tokens"}),
        ("refusal", "response.incomplete", {"reason": "content_filter"}),
        ("end_turn", "response.completed", None),
        ("tool_use", "response.completed", None),
    ],
)
def test_stop_reasons_become_statuses(stop: str, event: str, details: dict | None) -> None:
    content = [{"type": "text", "text": "cut"}]
    if stop == "tool_use":
        content.append({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}})
    events = stream(_ctx(tools=[{"type": "function", "name": "f"}]), hub_message(*content, stop=stop))
    check_responses_events(events)
    assert events[-1]["type"] == event
    assert events[-1]["response"]["incomplete_details"] == details


def test_failure_mid_stream() -> None:
    machine = AnthropicToResponsesStream(_ctx(), response_id="resp_x")
    events = machine.feed("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 1}}})
    events += machine.feed(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    events += machine.feed(
        "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "par"}}
    )
    events += machine.fail("Upstream overloaded", code="server_error")
    check_responses_events(events)
    error = {"code": "server_error", "message": "Upstream overloaded", "param": None}
    assert events[-2] == {"type": "error", "sequence_number": events[-2]["sequence_number"], **error,
                          "error": {"type": "server_error", **error}}  # fmt: skip
    assert events[-1]["response"]["status"] == "failed"
    assert machine.finish() == [] and machine.fail("again") == []


def test_server_tool_blocks_are_dropped() -> None:
    message = hub_message(
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "answer"},
    )
    events = stream(_ctx(), message)
    check_responses_events(events)
    assert [o["type"] for o in events[-1]["response"]["output"]] == ["message"]


@pytest.mark.parametrize(
    "value",
    ['plain', 'quote " and \\ backslash', "newline\n tab\t", "unicode ✓ é 😀 \u2028", "", "\\u0041"],
)
def test_custom_input_decoder_every_split(value: str) -> None:
    raw = json.dumps({"input": value})
    for size in range(1, len(raw) + 1):
        decoder = _InputString()
        out = "".join(decoder.feed(raw[i : i + size]) for i in range(0, len(raw), size))
        assert out == value, size
        assert decoder.final() == value


def test_custom_input_decoder_survives_broken_escapes() -> None:
    """A lone surrogate (unencodable as UTF-8) becomes U+FFFD; a bad escape stops streaming, never raises."""
    for raw, want in (('{"input": "a\\ud83d b"}', "a\ufffd b"), ('{"input": "a\\uZZZZ"}', "a\\uZZZZ")):
        for size in range(1, len(raw) + 1):
            decoder = _InputString()
            for i in range(0, len(raw), size):
                decoder.feed(raw[i : i + size])
            assert decoder.final() == want


def test_custom_input_decoder_falls_back_for_other_shapes() -> None:
    decoder = _InputString()
    assert decoder.feed('{"other": 1, "input": "x"}') == ""
    assert decoder.final() == "x"
