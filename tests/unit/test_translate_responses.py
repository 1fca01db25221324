"""Non-streaming responses, usage mapping and stop reasons."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures_translate import (
    CLAUDE_RESPONSE_TOOL,
    CLAUDE_SIG,
    DEEPSEEK_RESPONSE_REASONING,
    OPENAI_RESPONSE_TOOLS,
    fresh,
)

from bytespike.translate import (
    ToolNameMap,
    anthropic_response_to_openai,
    anthropic_stop_to_openai,
    anthropic_usage_to_openai,
    openai_finish_to_anthropic,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
    openai_usage_to_anthropic,
    origin_signature,
    signature_origin,
)

# --- Anthropic → OpenAI -----------------------------------------------------------


def test_claude_response_to_chat_completion() -> None:
    out = anthropic_response_to_openai(
        fresh(CLAUDE_RESPONSE_TOOL), model="claude-sonnet-4-5", names=ToolNameMap(), created=123
    )
    assert out["object"] == "chat.completion"
    assert out["id"] == "msg_01Aq9w938a90dw8q"
    assert out["created"] == 123
    assert out["model"] == "claude-sonnet-4-5"
    choice = out["choices"][0]
    assert choice["index"] == 0 and choice["logprobs"] is None
    assert choice["finish_reason"] == "tool_calls"
    msg = choice["message"]
    assert msg["role"] == "assistant"
    assert msg["content"] == "I'll check the weather in Paris."
    assert msg["reasoning_content"] == "The user wants the weather."
    assert msg["thinking_blocks"] == [
        {"type": "thinking", "thinking": "The user wants the weather.", "signature": CLAUDE_SIG}
    ]
    assert msg["tool_calls"] == [
        {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "c"}'},
        }
    ]
    assert out["usage"] == {
        "prompt_tokens": 472 + 1024 + 100,
        "completion_tokens": 89,
        "total_tokens": 472 + 1024 + 100 + 89,
        "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 40},
    }


def test_claude_response_maps_names_and_ids_back() -> None:
    long_name = "x" * 80
    req = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "weird:id", "type": "function", "function": {"name": long_name, "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "weird:id", "content": "done"},
        ],
        "tools": [{"type": "function", "function": {"name": long_name}}],
    }
    up, names = openai_request_to_anthropic(req)
    up_name = up["tools"][0]["name"]
    resp = {
        "id": "msg_1",
        "content": [{"type": "tool_use", "id": "toolu_new", "name": up_name, "input": {}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    out = anthropic_response_to_openai(resp, model="m", names=names)
    call = out["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == long_name
    assert call["id"] == "toolu_new"
    assert call["function"]["arguments"] == "{}"


def test_claude_text_only_and_multiple_text_blocks() -> None:
    resp = {
        "id": "msg_2",
        "content": [
            {"type": "text", "text": "The capital "},
            {"type": "text", "text": "is Paris.", "citations": [{"type": "x"}]},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 3, "cache_read_input_tokens": None},
    }
    out = anthropic_response_to_openai(resp, model="m", names=ToolNameMap())
    msg = out["choices"][0]["message"]
    assert msg["content"] == "The capital is Paris."
    assert "tool_calls" not in msg and "reasoning_content" not in msg
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] == 5


def test_claude_refusal_and_empty() -> None:
    out = anthropic_response_to_openai(
        {"id": "m", "content": [], "stop_reason": "refusal", "usage": {}}, model="m", names=ToolNameMap()
    )
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["choices"][0]["message"]["content"] is None


# --- OpenAI → Anthropic -----------------------------------------------------------


def test_openai_response_tools_to_message() -> None:
    out = openai_response_to_anthropic(fresh(OPENAI_RESPONSE_TOOLS), model="gpt-4o", names=ToolNameMap())
    assert out["type"] == "message" and out["role"] == "assistant"
    assert out["id"] == "msg_chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert out["model"] == "gpt-4o"
    assert out["stop_reason"] == "tool_use" and out["stop_sequence"] is None
    assert out["content"] == [
        {
            "type": "tool_use",
            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "name": "get_weather",
            "input": {"location": "Paris"},
        },
        {
            "type": "tool_use",
            "id": "call_ABCd8WjLfBf0iMnJ3Jbq7lqV",
            "name": "get_time",
            "input": {"tz": "Europe/Paris"},
        },
    ]
    assert out["usage"] == {
        "input_tokens": 1117 - 1024,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": 46,
        "output_tokens_details": {"thinking_tokens": 0},
    }


def test_deepseek_response_reasoning_becomes_marked_thinking() -> None:
    out = openai_response_to_anthropic(
        fresh(DEEPSEEK_RESPONSE_REASONING),
        model="deepseek-reasoner",
        names=ToolNameMap(),
        provider="deepseek",
    )
    thinking, text = out["content"]
    assert thinking["type"] == "thinking"
    assert thinking["thinking"] == "Compare 9.11 and 9.8: 9.8 = 9.80 > 9.11."
    assert signature_origin(thinking["signature"]) == "deepseek"
    assert text == {"type": "text", "text": "9.11 is smaller than 9.8."}
    assert out["stop_reason"] == "end_turn"
    assert out["usage"]["input_tokens"] == 220
    assert out["usage"]["cache_read_input_tokens"] == 1280
    assert out["usage"]["output_tokens_details"] == {"thinking_tokens": 200}


def test_openai_response_bad_arguments_kept_raw() -> None:
    resp = {
        "id": "x",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1'}}
                    ],
                },
                "finish_reason": "length",
            }
        ],
    }
    out = openai_response_to_anthropic(resp, model="m", names=ToolNameMap())
    assert out["content"][0]["input"] == {"_raw_arguments": '{"a": 1'}
    assert out["stop_reason"] == "tool_use"


def test_openai_response_ids_sanitized_deduplicated_and_synthesized() -> None:
    resp = {
        "id": "x",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "functions.f:0",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "functions.f:0",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {"type": "function", "function": {"name": "f", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    out = openai_response_to_anthropic(resp, model="m", names=ToolNameMap())
    ids = [b["id"] for b in out["content"]]
    assert len(set(ids)) == 3
    import re

    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", i) for i in ids)
    assert all(b["type"] == "tool_use" for b in out["content"])  # empty content → no text block


def test_openai_response_refusal_and_filter() -> None:
    resp = {
        "id": "x",
        "choices": [
            {
                "message": {"role": "assistant", "content": None, "refusal": "I can't help."},
                "finish_reason": "stop",
            }
        ],
    }
    out = openai_response_to_anthropic(resp, model="m", names=ToolNameMap())
    assert out["content"] == [{"type": "text", "text": "I can't help."}]
    assert out["stop_reason"] == "refusal"
    resp = {
        "id": "x",
        "choices": [
            {"message": {"role": "assistant", "content": "partial"}, "finish_reason": "content_filter"}
        ],
    }
    assert openai_response_to_anthropic(resp, model="m", names=ToolNameMap())["stop_reason"] == "refusal"


def test_openai_response_no_choices() -> None:
    out = openai_response_to_anthropic({"id": "x", "choices": []}, model="m", names=ToolNameMap())
    assert out["content"] == [] and out["stop_reason"] == "end_turn"
    assert out["usage"]["input_tokens"] == 0


# --- usage ------------------------------------------------------------------------


def test_openai_usage_to_anthropic_cache_write_deducted() -> None:
    u = {
        "prompt_tokens": 5000,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 3000, "cache_write_tokens": 1500},
    }
    assert openai_usage_to_anthropic(u) == {
        "input_tokens": 500,
        "cache_creation_input_tokens": 1500,
        "cache_read_input_tokens": 3000,
        "output_tokens": 10,
    }


def test_deepseek_hit_miss_without_details() -> None:
    u = {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "prompt_cache_hit_tokens": 64,
        "prompt_cache_miss_tokens": 36,
    }
    assert openai_usage_to_anthropic(u)["input_tokens"] == 36
    assert openai_usage_to_anthropic(u)["cache_read_input_tokens"] == 64
    only_split = {"completion_tokens": 1, "prompt_cache_hit_tokens": 10, "prompt_cache_miss_tokens": 5}
    assert openai_usage_to_anthropic(only_split)["input_tokens"] == 5


def test_usage_nulls_and_empty() -> None:
    assert openai_usage_to_anthropic(None)["input_tokens"] == 0
    assert (
        openai_usage_to_anthropic(
            {"prompt_tokens": None, "completion_tokens": None, "prompt_tokens_details": None}
        )["output_tokens"]
        == 0
    )
    assert anthropic_usage_to_openai(None)["total_tokens"] == 0
    assert "completion_tokens_details" not in anthropic_usage_to_openai(
        {"input_tokens": 1, "output_tokens": 2}
    )


@pytest.mark.parametrize("cached,write,inp", [(0, 0, 10), (5, 0, 10), (5, 7, 10), (0, 7, 0)])
def test_usage_roundtrip(cached: int, write: int, inp: int) -> None:
    anth = {
        "input_tokens": inp,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": write,
        "output_tokens": 3,
    }
    assert openai_usage_to_anthropic(anthropic_usage_to_openai(anth)) == {
        "input_tokens": inp,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": cached,
        "output_tokens": 3,
    }


# --- stop reasons -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "tool", "expected"),
    [
        ("end_turn", False, "stop"),
        ("stop_sequence", False, "stop"),
        ("max_tokens", False, "length"),
        ("tool_use", True, "tool_calls"),
        ("tool_use", False, "stop"),
        ("end_turn", True, "tool_calls"),
        ("refusal", False, "content_filter"),
        ("pause_turn", False, "stop"),
        ("model_context_window_exceeded", False, "length"),
        (None, False, "stop"),
        ("something_new", False, "stop"),
    ],
)
def test_anthropic_stop_to_openai(stop: str | None, tool: bool, expected: str) -> None:
    assert anthropic_stop_to_openai(stop, tool) == expected


@pytest.mark.parametrize(
    ("finish", "tool", "expected"),
    [
        ("stop", False, "end_turn"),
        ("length", False, "max_tokens"),
        ("tool_calls", True, "tool_use"),
        ("tool_calls", False, "end_turn"),
        ("stop", True, "tool_use"),
        ("function_call", True, "tool_use"),
        ("content_filter", False, "refusal"),
        ("insufficient_system_resource", False, "end_turn"),
        (None, False, "end_turn"),
    ],
)
def test_openai_finish_to_anthropic(finish: str | None, tool: bool, expected: str) -> None:
    assert openai_finish_to_anthropic(finish, tool) == expected


def test_origin_signature_roundtrip() -> None:
    sig = origin_signature("deepseek")
    assert sig.startswith("bsx:")
    assert signature_origin(sig) == "deepseek"
    assert signature_origin(CLAUDE_SIG) is None
    assert signature_origin("") is None
    assert signature_origin("bsx:!!!") == ""
