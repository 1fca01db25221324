"""One named regression test per translator bug in protocols.md §4 (and peers.md §3)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures_translate import (
    CLAUDE_CODE_REQUEST,
    CLAUDE_SIG,
    CLAUDE_STREAM_THINKING_TOOL,
    DEEPSEEK_RESPONSE_REASONING,
    DEEPSEEK_STREAM_REASONING_TOOL,
    GEMINI_COMPAT_STREAM,
    OLLAMA_STREAM_INDEX0,
    OPENAI_STREAM_PARALLEL_TOOLS,
    fresh,
)

from bytespike.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    ToolNameMap,
    anthropic_request_to_openai,
    assemble_anthropic_events,
    assemble_openai_chunks,
    check_anthropic_events,
    check_openai_chunks,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
    openai_usage_to_anthropic,
    origin_signature,
    strip_foreign_thinking,
)

VALID_STOPS = {
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
}


def o2a_stream(chunks: list[dict], *, hint: int = 10, provider: str = "openai") -> list[tuple[str, dict]]:
    s = OpenAIToAnthropicStream(
        model="m", message_id="msg_x", names=ToolNameMap(), input_tokens_hint=hint, provider=provider
    )
    events: list = []
    for c in fresh(chunks):
        events.extend(s.feed(c))
    events.extend(s.finish())
    check_anthropic_events(events)
    return events


def a2o_stream(events: list[tuple[str, dict]]) -> list[dict]:
    s = AnthropicToOpenAIStream(
        model="m", completion_id="chatcmpl-x", created=1, include_usage=True, names=ToolNameMap()
    )
    chunks: list = []
    for name, data in fresh(events):
        chunks.extend(s.feed(name, data))
    chunks.extend(s.finish())
    check_openai_chunks(chunks)
    return chunks


def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> dict:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "x",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }


def tool_frag(index: int, args: str, *, tid: str | None = None, name: str | None = None) -> dict:
    tc: dict = {"index": index, "function": {"arguments": args}}
    if tid:
        tc["id"], tc["type"] = tid, "function"
    if name:
        tc["function"]["name"] = name
    return chunk({"tool_calls": [tc]})


# --- litellm ------------------------------------------------------------------------


def test_litellm_25321_streaming_tool_use_input_kept() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS)
    inputs = [b["input"] for b in assemble_anthropic_events(events)["content"]]
    assert inputs == [{"location": "Paris"}, {"tz": "Europe/Paris"}]
    assert all(i for i in inputs)  # non-empty


def test_litellm_29491_input_json_delta_for_custom_openai_compatible() -> None:
    chunks = [
        chunk({"role": "assistant"}),
        tool_frag(0, "", tid="call_1", name="search"),
        tool_frag(0, '{"q": "llm gateways", '),
        tool_frag(0, '"limit": 5}'),
        chunk({}, "tool_calls"),
    ]
    events = o2a_stream(chunks, provider="custom")
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert [d["type"] for d in deltas] == ["input_json_delta", "input_json_delta"]
    assert json.loads("".join(d["partial_json"] for d in deltas)) == {"q": "llm gateways", "limit": 5}


def test_litellm_25561_gemini_calls_produce_deltas_and_clean_ids() -> None:
    events = o2a_stream(GEMINI_COMPAT_STREAM)
    assert any(n == "content_block_delta" for n, _ in events)
    for block in assemble_anthropic_events(events)["content"]:
        assert "__thought__" not in block["id"]


def test_litellm_29286_empty_tool_calls_with_content_is_text() -> None:
    events = o2a_stream(
        [
            chunk({"role": "assistant", "content": "Hello", "tool_calls": []}),
            chunk({"content": " world", "tool_calls": []}, "stop"),
        ]
    )
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    assert deltas == ["text_delta", "text_delta"]
    assert assemble_anthropic_events(events)["content"] == [{"type": "text", "text": "Hello world"}]


def test_litellm_34692_no_empty_text_block_and_tool_use_stop() -> None:
    # role chunk with content "", tool call, and an upstream that says finish_reason "stop"
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        tool_frag(0, '{"a":1}', tid="call_1", name="f"),
        chunk({"content": ""}, "stop"),
    ]
    events = o2a_stream(chunks)
    msg = assemble_anthropic_events(events)
    assert [b["type"] for b in msg["content"]] == ["tool_use"]
    assert msg["stop_reason"] == "tool_use"


def test_litellm_37273_single_stop_per_tool_block() -> None:
    chunks = [
        *OPENAI_STREAM_PARALLEL_TOOLS[:-2],
        chunk({}, "tool_calls"),
        chunk({}, "tool_calls"),
        OPENAI_STREAM_PARALLEL_TOOLS[-1],
    ]
    events = o2a_stream(chunks)
    stops = Counter(d["index"] for n, d in events if n == "content_block_stop")
    assert stops == {0: 1, 1: 1}


def test_litellm_32357_thinking_not_in_text_block() -> None:
    chunks = [
        chunk({"reasoning_content": "think 1"}),
        chunk({"content": "answer"}),
        chunk({"reasoning_content": "think 2"}),
        chunk({"content": "more"}, "stop"),
    ]
    events = o2a_stream(chunks, provider="deepseek")
    assert sum(1 for n, _ in events if n == "message_start") == 1
    block_types: dict[int, str] = {}
    for n, d in events:
        if n == "content_block_start":
            block_types[d["index"]] = d["content_block"]["type"]
        if n == "content_block_delta" and d["delta"]["type"] == "thinking_delta":
            assert block_types[d["index"]] == "thinking"
    assert list(block_types.values()) == ["thinking", "text", "thinking", "text"]


def test_litellm_31069_cache_tokens_in_message_start() -> None:
    events = o2a_stream(
        [
            chunk(
                {"content": "x"},
                usage={
                    "prompt_tokens": 2000,
                    "completion_tokens": 1,
                    "prompt_tokens_details": {"cached_tokens": 1500},
                },
            )
        ]
    )
    usage = events[0][1]["message"]["usage"]
    assert usage["cache_read_input_tokens"] == 1500 and usage["input_tokens"] == 500
    # without early usage the fields are still present (integers), and the final delta has them all
    events = o2a_stream(DEEPSEEK_STREAM_REASONING_TOOL, hint=1500, provider="deepseek")
    assert {"cache_read_input_tokens", "cache_creation_input_tokens"} <= events[0][1]["message"][
        "usage"
    ].keys()
    final = events[-2][1]["usage"]
    assert final["cache_read_input_tokens"] == 1280 and final["input_tokens"] == 220


def test_litellm_24176_message_start_usage_not_zero() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS, hint=1190)
    assert events[0][1]["message"]["usage"]["input_tokens"] == 1190


def test_litellm_13373_every_delta_has_its_block() -> None:
    events = o2a_stream(DEEPSEEK_STREAM_REASONING_TOOL, provider="deepseek")
    started: set[int] = set()
    for n, d in events:
        if n == "content_block_start":
            started.add(d["index"])
        elif n in ("content_block_delta", "content_block_stop"):
            assert d["index"] in started


def test_litellm_25477_tool_choice_without_tools_dropped() -> None:
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tool_choice": {"type": "auto"},
    }
    out, _ = anthropic_request_to_openai(req)
    assert "tool_choice" not in out and "tools" not in out


def test_litellm_30557_custom_tool_type_not_merged_into_parameters() -> None:
    schema = {"type": "object", "properties": {"p": {"type": "string"}}}
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "custom", "name": "t", "input_schema": schema}],
    }
    out, _ = anthropic_request_to_openai(req)
    assert out["tools"][0] == {"type": "function", "function": {"name": "t", "parameters": schema}}


def test_litellm_pr13638_tool_fragments_are_input_json_delta() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS)
    types = {d["delta"]["type"] for n, d in events if n == "content_block_delta"}
    assert types == {"input_json_delta"}


def test_litellm_18238_tool_name_kept() -> None:
    chunks = a2o_stream(CLAUDE_STREAM_THINKING_TOOL)
    assert assemble_openai_chunks(chunks)["tool_calls"][0]["name"] == "get_weather"


def test_litellm_20021_no_anthropic_beta_in_body() -> None:
    out, _ = anthropic_request_to_openai(fresh(CLAUDE_CODE_REQUEST))
    assert not any("beta" in k for k in out)


# --- new-api ------------------------------------------------------------------------


def test_newapi_4395_input_tokens_exclude_cached() -> None:
    u = openai_usage_to_anthropic(
        {"prompt_tokens": 10000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9000}}
    )
    assert u["input_tokens"] == 1000 and u["cache_read_input_tokens"] == 9000


def test_newapi_5335_cache_control_kept_openai_to_claude() -> None:
    req = {
        "model": "claude",
        "messages": [
            {
                "role": "system",
                "content": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "doc", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                    {"type": "text", "text": "q"},
                ],
            },
        ],
    }
    out, _ = openai_request_to_anthropic(req)
    assert out["system"] == [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}]
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in out["messages"][0]["content"][1]


def test_newapi_4240_openai_callers_can_use_claude_caching() -> None:
    req = {
        "model": "claude",
        "messages": [{"role": "user", "content": "q", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral"}}],
        "cache_control": {"type": "ephemeral"},
    }
    out, _ = openai_request_to_anthropic(req)
    assert out["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["cache_control"] == {"type": "ephemeral"}


def test_newapi_5530_thinking_not_merged_into_content() -> None:
    msg = assemble_openai_chunks(a2o_stream(CLAUDE_STREAM_THINKING_TOOL))
    assert "weather." not in msg["content"].replace("the weather in Paris.", "")
    assert msg["reasoning_content"] == "The user wants the weather."


def test_newapi_4795_reasoning_content_kept_on_tool_calls() -> None:
    # DeepSeek stream → Anthropic client → client sends history back → DeepSeek gets reasoning_content
    events = o2a_stream(DEEPSEEK_STREAM_REASONING_TOOL, provider="deepseek")
    assistant = assemble_anthropic_events(events)
    tool_id = assistant["content"][2]["id"]
    follow_up = {
        "model": "deepseek-chat",
        "max_tokens": 1000,
        "messages": [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": assistant["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "a.py"}]},
        ],
    }
    out, _ = anthropic_request_to_openai(follow_up, target="deepseek")
    turn = out["messages"][1]
    assert turn["reasoning_content"] == "The user asks for files."
    assert turn["tool_calls"][0]["id"] == tool_id


# --- claude-code-router -------------------------------------------------------------


def test_ccr_1050_deepseek_reasoning_content_echoed() -> None:
    # non-streaming DeepSeek answer with a tool call, sent back next turn
    resp = fresh(DEEPSEEK_RESPONSE_REASONING)
    resp["choices"][0]["message"]["tool_calls"] = [
        {"id": "call_0", "type": "function", "function": {"name": "calc", "arguments": '{"x": 1}'}}
    ]
    resp["choices"][0]["finish_reason"] = "tool_calls"
    message = openai_response_to_anthropic(
        resp, model="deepseek-reasoner", names=ToolNameMap(), provider="deepseek"
    )
    history = {
        "model": "deepseek-reasoner",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "compare"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_0", "content": "1"}]},
            # an earlier turn from Claude (no DeepSeek reasoning) that made a tool call
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "claude", "signature": CLAUDE_SIG},
                    {"type": "tool_use", "id": "toolu_9", "name": "calc", "input": {}},
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "2"}]},
        ],
    }
    out, _ = anthropic_request_to_openai(history, target="deepseek")
    assistants = [m for m in out["messages"] if m["role"] == "assistant"]
    assert assistants[0]["reasoning_content"] == "Compare 9.11 and 9.8: 9.8 = 9.80 > 9.11."
    assert (
        assistants[1]["reasoning_content"] == ""
    )  # present (DeepSeek 400s without it), Claude's text not leaked


def test_ccr_1378_no_contradictory_reasoning_switch() -> None:
    req = {
        "model": "deepseek-chat",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "disabled"},
    }
    out, _ = anthropic_request_to_openai(req, target="deepseek")
    assert out["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in out and "reasoning" not in out


def test_ccr_262_model_field_always_present() -> None:
    for target in ("openai", "deepseek", "ark"):
        out, _ = anthropic_request_to_openai(
            {"model": "deepseek-chat", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            target=target,
        )
        assert out["model"] == "deepseek-chat"


def test_ccr_160_gemini_proxy_tool_calls_complete() -> None:
    events = o2a_stream(GEMINI_COMPAT_STREAM)
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


# --- 1rgs/claude-code-proxy ---------------------------------------------------------


def test_1rgs_no_done_after_message_stop() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS)
    assert events[-1] == ("message_stop", {"type": "message_stop"})
    assert all("[DONE]" not in n for n, _ in events)


def test_1rgs_no_nonstandard_error_stop_reason() -> None:
    for chunks in (
        OPENAI_STREAM_PARALLEL_TOOLS,
        DEEPSEEK_STREAM_REASONING_TOOL,
        [chunk({"content": "x"}, "weird_reason")],
    ):
        events = o2a_stream(chunks)
        assert events[-2][1]["delta"]["stop_reason"] in VALID_STOPS


def test_1rgs_text_block_not_always_opened() -> None:
    events = o2a_stream(OLLAMA_STREAM_INDEX0)
    assert events[1][1]["content_block"]["type"] == "tool_use"


def test_1rgs_tool_result_not_flattened() -> None:
    content = [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}]
    req = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": content}],
            },
        ],
    }
    oai, _ = anthropic_request_to_openai(req)
    back, _ = openai_request_to_anthropic(oai)
    assert back["messages"][2]["content"][0]["content"] == content


def test_1rgs_thinking_document_and_cache_control_kept_for_claude() -> None:
    req = {
        "model": "claude",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {
                "role": "assistant",
                "content": "ok",
                "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": CLAUDE_SIG}],
            },
            {"role": "user", "content": "next"},
        ],
    }
    out, _ = openai_request_to_anthropic(req)
    assert out["messages"][0]["content"][0]["type"] == "document"
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["messages"][1]["content"][0]["type"] == "thinking"


def test_1rgs_usage_has_input_and_output() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS)
    usage = events[-2][1]["usage"]
    assert (
        usage["input_tokens"] == 176
        and usage["output_tokens"] == 48
        and usage["cache_read_input_tokens"] == 1024
    )


# --- others -------------------------------------------------------------------------


def test_cliproxy_3799_no_signature_only_thinking_block() -> None:
    chunks = [
        chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        chunk({"reasoning_content": None, "content": "hi"}, "tool_calls"),
    ]
    events = o2a_stream(chunks, provider="deepseek")
    msg = assemble_anthropic_events(events)
    assert [b["type"] for b in msg["content"]] == ["text"]
    assert msg["stop_reason"] == "end_turn"  # "tool_calls" without any tool call is not tool_use


def test_cliproxy_5956_cache_write_deducted() -> None:
    u = openai_usage_to_anthropic(
        {
            "prompt_tokens": 3000,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 1800},
        }
    )
    assert u == {
        "input_tokens": 200,
        "cache_creation_input_tokens": 1800,
        "cache_read_input_tokens": 1000,
        "output_tokens": 1,
    }


def test_cliproxy_1584_foreign_signature_stripped_for_claude() -> None:
    ds_thinking = {"type": "thinking", "thinking": "from deepseek", "signature": origin_signature("deepseek")}
    req = {
        "model": "claude",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [ds_thinking, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "y"},
        ],
    }
    out = strip_foreign_thinking(req)
    assert out["messages"][1]["content"] == [{"type": "text", "text": "a"}]
    assert req["messages"][1]["content"][0] is ds_thinking  # input not mutated
    # the same via the chat surface: a marked signature never reaches Claude
    oai = {
        "model": "claude",
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": "a", "thinking_blocks": [ds_thinking]},
            {"role": "user", "content": "y"},
        ],
    }
    assert openai_request_to_anthropic(oai)[0]["messages"][1]["content"] == [{"type": "text", "text": "a"}]


def test_claude_code_16785_stop_reason_in_message_delta() -> None:
    events = o2a_stream(OPENAI_STREAM_PARALLEL_TOOLS)
    deltas = [d for n, d in events if n == "message_delta"]
    assert len(deltas) == 1 and deltas[0]["delta"]["stop_reason"] == "tool_use"


def test_claude_code_53473_no_empty_text_blocks() -> None:
    # stream side: empty content deltas never open a text block
    events = o2a_stream(
        [chunk({"role": "assistant", "content": ""}), chunk({"content": ""}), chunk({"content": ""}, "stop")]
    )
    assert not any(n == "content_block_start" for n, _ in events)
    # request side: empty text parts and empty assistant strings are not sent to Claude
    req = {
        "model": "claude",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "q"}]},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c", "content": ""},
        ],
    }
    out, _ = openai_request_to_anthropic(req)
    for m in out["messages"]:
        for b in m["content"] if isinstance(m["content"], list) else []:
            assert not (b["type"] == "text" and not b["text"])
    assert out["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "c"}]


def test_ollama_parallel_index_zero() -> None:
    events = o2a_stream(OLLAMA_STREAM_INDEX0)
    msg = assemble_anthropic_events(events)
    assert [(b["id"], b["input"]) for b in msg["content"]] == [
        ("call_8ibc3xm1", {"city": "Paris"}),
        ("call_x2k9d0qa", {"city": "Tokyo"}),
    ]


def test_openai_python_2806_tool_call_deltas_have_index() -> None:
    chunks = a2o_stream(CLAUDE_STREAM_THINKING_TOOL)
    for c in chunks:
        for choice in c["choices"]:
            for tc in choice["delta"].get("tool_calls") or ():
                assert isinstance(tc["index"], int)


def test_portkey_1275_parallel_tool_calls_indexed_from_zero() -> None:
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"usage": {"input_tokens": 1, "output_tokens": 1}}},
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Two calls."},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"n": 1}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_b", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": '{"n": 2}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    msg = assemble_openai_chunks(a2o_stream(events))
    assert [(t["id"], t["arguments"]) for t in msg["tool_calls"]] == [
        ("toolu_a", '{"n": 1}'),
        ("toolu_b", '{"n": 2}'),
    ]
