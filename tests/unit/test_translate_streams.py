"""Stream state machines, both directions, on recorded-format fixtures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures_translate import (
    CLAUDE_SIG,
    CLAUDE_STREAM_TEXT,
    CLAUDE_STREAM_THINKING_TOOL,
    DEEPSEEK_STREAM_REASONING_TOOL,
    GEMINI_COMPAT_STREAM,
    OPENAI_STREAM_PARALLEL_TOOLS,
    OPENAI_STREAM_TEXT,
    fresh,
)

from bytespike.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    ToolNameMap,
    assemble_anthropic_events,
    assemble_openai_chunks,
    check_anthropic_events,
    check_openai_chunks,
    signature_origin,
)


def run_o2a(
    chunks: list[dict], *, hint: int = 50, provider: str = "openai", names: ToolNameMap | None = None
) -> tuple[list, OpenAIToAnthropicStream]:
    s = OpenAIToAnthropicStream(
        model="client-model",
        message_id="msg_bs_1",
        names=names or ToolNameMap(),
        input_tokens_hint=hint,
        provider=provider,
    )
    events: list = []
    for c in fresh(chunks):
        events.extend(s.feed(c))
    events.extend(s.finish())
    check_anthropic_events(events)
    return events, s


def run_a2o(
    events: list, *, include_usage: bool = True, names: ToolNameMap | None = None
) -> tuple[list, AnthropicToOpenAIStream]:
    s = AnthropicToOpenAIStream(
        model="client-model",
        completion_id="chatcmpl-bs1",
        created=1700000000,
        include_usage=include_usage,
        names=names or ToolNameMap(),
    )
    chunks: list = []
    for name, data in fresh(events):
        chunks.extend(s.feed(name, data))
    chunks.extend(s.finish())
    check_openai_chunks(chunks, include_usage=include_usage)
    return chunks, s


# =====================================================================================
# OpenAI-format upstream → Anthropic events
# =====================================================================================


def test_openai_parallel_tools_stream() -> None:
    events, s = run_o2a(OPENAI_STREAM_PARALLEL_TOOLS, hint=1190)
    start = events[0][1]["message"]
    assert start["model"] == "client-model" and start["id"] == "msg_bs_1"
    assert start["usage"] == {
        "input_tokens": 1190,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
    }
    msg = assemble_anthropic_events(events)
    assert msg["content"] == [
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
    assert msg["stop_reason"] == "tool_use"
    final_usage = events[-2][1]["usage"]
    assert final_usage == {
        "input_tokens": 176,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": 48,
        "output_tokens_details": {"thinking_tokens": 0},
    }
    assert s.usage == final_usage and s.usage_reported
    # arguments forwarded fragment by fragment, not re-buffered
    fragments = [
        d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 0
    ]
    assert fragments == ['{"lo', 'cation": "Paris"}']


def test_openai_text_stream() -> None:
    events, _ = run_o2a(OPENAI_STREAM_TEXT)
    msg = assemble_anthropic_events(events)
    assert msg["content"] == [{"type": "text", "text": "Hello there"}]
    assert msg["stop_reason"] == "end_turn"
    assert [n for n, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_deepseek_reasoning_stream() -> None:
    events, _ = run_o2a(DEEPSEEK_STREAM_REASONING_TOOL, provider="deepseek")
    msg = assemble_anthropic_events(events)
    thinking, text, tool = msg["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "The user asks for files."
    assert signature_origin(thinking["signature"]) == "deepseek"
    assert text == {"type": "text", "text": "Listing files."}
    assert tool == {
        "type": "tool_use",
        "id": "call_00_f1mJ0nB6Zq",
        "name": "Bash",
        "input": {"command": "ls -la"},
    }
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"]["input_tokens"] == 220 and msg["usage"]["cache_read_input_tokens"] == 1280
    # signature_delta comes right before the thinking block's stop
    i = next(i for i, (n, d) in enumerate(events) if n == "content_block_stop" and d["index"] == 0)
    assert events[i - 1][1]["delta"]["type"] == "signature_delta"


def test_gemini_compat_whole_calls_without_index() -> None:
    events, _ = run_o2a(GEMINI_COMPAT_STREAM)
    msg = assemble_anthropic_events(events)
    assert [(b["id"], b["input"]) for b in msg["content"]] == [
        ("function-call-1537", {"city": "Paris"}),
        ("function-call-1538", {"city": "Rome"}),
    ]


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("length", "max_tokens"), ("content_filter", "refusal"), ("stop", "end_turn"), (None, "end_turn")],
)
def test_finish_reason_mapping_in_stream(finish: str | None, stop: str) -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": finish}]}]
    events, _ = run_o2a(chunks)
    assert events[-2][1]["delta"]["stop_reason"] == stop


def test_no_chunks_at_all() -> None:
    events, _ = run_o2a([])
    assert [n for n, _ in events] == ["message_start", "message_delta", "message_stop"]


def test_name_after_arguments_buffered() -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": '{"a"'}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ": 1}"}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    events, _ = run_o2a(chunks)
    assert assemble_anthropic_events(events)["content"] == [
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}
    ]


def test_tool_without_arguments_gets_empty_object() -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "type": "function", "function": {"name": "now"}}
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        }
    ]
    events, _ = run_o2a(chunks)
    deltas = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert deltas == ["{}"]


def test_late_fragment_for_closed_call_is_reported() -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"content": "text"}}]},
        {
            "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "garbage"}}]}}
            ]
        },
    ]
    _events, s = run_o2a(chunks)
    assert s.warnings and "closed" in s.warnings[0]


def test_usage_on_first_chunk_goes_into_message_start() -> None:
    chunks = [
        {
            "choices": [{"index": 0, "delta": {"content": "x"}}],
            "usage": {
                "prompt_tokens": 900,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 800},
            },
        }
    ]
    events, _ = run_o2a(chunks, hint=5)
    usage = events[0][1]["message"]["usage"]
    assert usage["input_tokens"] == 100 and usage["cache_read_input_tokens"] == 800


def test_refusal_and_reasoning_alias_and_legacy_function_call() -> None:
    events, _ = run_o2a([{"choices": [{"index": 0, "delta": {"refusal": "No."}, "finish_reason": "stop"}]}])
    assert events[-2][1]["delta"]["stop_reason"] == "refusal"
    events, _ = run_o2a(
        [
            {"choices": [{"index": 0, "delta": {"reasoning": "hmm"}}]},
            {"choices": [{"index": 0, "delta": {"content": "ok"}}]},
        ]
    )
    assert [b["type"] for b in assemble_anthropic_events(events)["content"]] == ["thinking", "text"]
    events, _ = run_o2a(
        [
            {"choices": [{"index": 0, "delta": {"function_call": {"name": "f", "arguments": '{"x"'}}}]},
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"function_call": {"arguments": ":2}"}},
                        "finish_reason": "function_call",
                    }
                ]
            },
        ]
    )
    block = assemble_anthropic_events(events)["content"][0]
    assert block["name"] == "f" and block["input"] == {"x": 2}


def test_feed_after_finish_and_other_choices_ignored() -> None:
    s = OpenAIToAnthropicStream(model="m", message_id="msg", names=ToolNameMap())
    events = s.feed({"choices": [{"index": 1, "delta": {"content": "other choice"}}]})
    assert [n for n, _ in events] == ["message_start"]
    events += s.finish()
    assert s.feed({"choices": [{"index": 0, "delta": {"content": "late"}}]}) == []
    assert s.finish() == []
    check_anthropic_events(events)


def test_names_mapped_back_in_stream() -> None:
    names = ToolNameMap()
    long_name = "n" * 90
    up = names.upstream_name(long_name)
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "weird.id:0",
                                "type": "function",
                                "function": {"name": up, "arguments": "{}"},
                            }
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        }
    ]
    events, _ = run_o2a(chunks, names=names)
    block = assemble_anthropic_events(events)["content"][0]
    assert block["name"] == long_name
    assert block["id"] != "weird.id:0" and block["id"].replace("_", "").replace("-", "").isalnum()


# =====================================================================================
# Claude upstream → OpenAI chunks
# =====================================================================================


def test_claude_thinking_tool_stream_to_chunks() -> None:
    chunks, s = run_a2o(CLAUDE_STREAM_THINKING_TOOL)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(
        c["id"] == "chatcmpl-bs1" and c["created"] == 1700000000 and c["model"] == "client-model"
        for c in chunks
    )
    msg = assemble_openai_chunks(chunks)
    assert msg["content"] == "I'll check the weather in Paris."
    assert msg["reasoning_content"] == "The user wants the weather."
    assert msg["tool_calls"] == [
        {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "arguments": '{"location": "Paris", "unit": "c"}',
        }
    ]
    assert json.loads(msg["tool_calls"][0]["arguments"]) == {"location": "Paris", "unit": "c"}
    assert msg["finish_reason"] == "tool_calls"
    sigs = [
        c["choices"][0]["delta"]["reasoning_signature"]
        for c in chunks
        if c["choices"] and "reasoning_signature" in c["choices"][0]["delta"]
    ]
    assert sigs == [CLAUDE_SIG]
    assert msg["usage"] == {
        "prompt_tokens": 1496,
        "completion_tokens": 89,
        "total_tokens": 1585,
        "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
    }
    assert s.usage == {
        "input_tokens": 472,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": 89,
    }
    # first tool delta carries index, id, type and name
    first_tool = next(c for c in chunks if c["choices"] and "tool_calls" in c["choices"][0]["delta"])
    tc = first_tool["choices"][0]["delta"]["tool_calls"][0]
    assert tc == {
        "index": 0,
        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    # the empty partial_json "" is not forwarded
    assert all(
        d["function"].get("arguments") != "" or "id" in d
        for c in chunks
        if c["choices"]
        for d in c["choices"][0]["delta"].get("tool_calls") or ()
    )


def test_claude_text_stream_without_include_usage() -> None:
    chunks, s = run_a2o(CLAUDE_STREAM_TEXT, include_usage=False)
    assert all("usage" not in c for c in chunks)
    assert assemble_openai_chunks(chunks)["content"] == "Hello!"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert (
        s.usage is not None
        and s.usage["cache_creation_input_tokens"] == 2048
        and s.usage["output_tokens"] == 15
    )


def test_claude_text_stream_usage_chunk() -> None:
    chunks, _ = run_a2o(CLAUDE_STREAM_TEXT)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 25 + 2048
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cache_write_tokens"] == 2048
    assert all(c["usage"] is None for c in chunks[:-1])


def test_claude_stream_cut_before_message_delta() -> None:
    events = CLAUDE_STREAM_TEXT[:4]
    chunks, _ = run_a2o(events)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_claude_tool_input_in_start_only() -> None:
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks, _ = run_a2o(events)
    assert json.loads(assemble_openai_chunks(chunks)["tool_calls"][0]["arguments"]) == {"a": [1, 2]}


def test_claude_server_tool_and_redacted_blocks() -> None:
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "redacted_thinking", "data": "EmwKAhgB"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {},
                },
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"query":"x"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_1",
                    "content": [],
                },
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 3, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 3,
                "delta": {"type": "citations_delta", "citation": {"type": "web_search_result_location"}},
            },
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "Found it."}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 3}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks, _ = run_a2o(events)
    msg = assemble_openai_chunks(chunks)
    assert msg["content"] == "Found it." and msg["tool_calls"] == [] and msg["finish_reason"] == "stop"
    assert any(
        c["choices"] and c["choices"][0]["delta"].get("redacted_thinking") == "EmwKAhgB" for c in chunks
    )


def test_claude_names_and_ids_mapped_back() -> None:
    names = ToolNameMap()
    long_name = "very_long_tool_name_" * 5
    up = names.upstream_name(long_name)
    up_id = names.upstream_id("functions.lookup:3")
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"usage": {"input_tokens": 1, "output_tokens": 1}}},
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": up_id, "name": up, "input": {}},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        ),
    ]
    chunks, _ = run_a2o(events, names=names)
    tc = assemble_openai_chunks(chunks)["tool_calls"][0]
    assert tc["name"] == long_name and tc["id"] == "functions.lookup:3"


def test_ping_error_and_unknown_events_ignored() -> None:
    s = AnthropicToOpenAIStream(
        model="m", completion_id="c", created=1, include_usage=False, names=ToolNameMap()
    )
    assert s.feed("ping", {"type": "ping"}) == []
    assert s.feed("error", {"type": "error", "error": {"type": "overloaded_error"}}) == []
    assert s.feed("future_event", {"type": "future_event"}) == []
    assert (
        s.feed(
            "content_block_delta",
            {"type": "content_block_delta", "index": 9, "delta": {"type": "text_delta", "text": "x"}},
        )
        == []
    )
    out = s.finish()
    assert s.finish() == [] and s.feed("message_stop", {"type": "message_stop"}) == []
    check_openai_chunks(out)


def test_multiple_message_deltas_single_finish() -> None:
    events = [
        *CLAUDE_STREAM_TEXT[:6],
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 5}},
        ),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 10}},
        ),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 12}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks, s = run_a2o(events)
    assert [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]
    ] == ["length"]
    assert s.usage is not None and s.usage["output_tokens"] == 12
