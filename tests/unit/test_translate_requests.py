"""Request translation, field by field, both directions."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures_translate import (
    CLAUDE_CODE_REQUEST,
    CLAUDE_SIG,
    OPENAI_CLIENT_REQUEST,
    PDF_B64,
    PNG_B64,
    fresh,
)

from bytespike.translate import (
    DEFAULT_MAX_TOKENS,
    ToolNameMap,
    TranslationError,
    anthropic_request_to_openai,
    openai_request_to_anthropic,
    origin_signature,
    safe_tool_id,
    safe_tool_name,
    strip_foreign_thinking,
)


def o2a(req: dict, **kw: object) -> dict:
    return openai_request_to_anthropic(req, **kw)[0]  # type: ignore[arg-type]


def a2o(req: dict, target: str = "openai") -> dict:
    return anthropic_request_to_openai(req, target=target)[0]


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# =====================================================================================
# OpenAI → Anthropic
# =====================================================================================


class TestOpenAIToAnthropicFixture:
    def setup_method(self) -> None:
        self.out, self.names = openai_request_to_anthropic(fresh(OPENAI_CLIENT_REQUEST))

    def test_model_kept_and_limits(self) -> None:
        assert self.out["model"] == "claude-sonnet-4-5"
        assert self.out["max_tokens"] == 2048
        assert self.out["temperature"] == 0.7
        assert self.out["top_p"] == 0.9
        assert self.out["stop_sequences"] == ["END"]
        assert self.out["metadata"] == {"user_id": "end-user-42"}
        assert self.out["stream"] is True

    def test_dropped_fields(self) -> None:
        for key in (
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "logit_bias",
            "stream_options",
            "user",
            "n",
        ):
            assert key not in self.out

    def test_system_blocks_keep_cache_control(self) -> None:
        assert self.out["system"] == [
            {"type": "text", "text": "Big cached prompt", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in French."},
        ]

    def test_user_parts(self) -> None:
        first = self.out["messages"][0]
        assert first["role"] == "user"
        text, img, url_img, doc = first["content"]
        assert text == {"type": "text", "text": "What's in this image and PDF?"}
        assert img == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
        }
        assert url_img == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        assert doc == {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
            "title": "spec.pdf",
        }

    def test_tool_calls_become_tool_use_with_safe_ids(self) -> None:
        assistant = self.out["messages"][1]
        assert assistant["role"] == "assistant"
        a, b = assistant["content"]
        assert a == {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "cat"}}
        assert b["id"] == safe_tool_id("functions.lookup:1")
        assert b["id"] != "functions.lookup:1"
        assert b["input"] == {"q": "pdf"}
        assert self.names.client_id(b["id"]) == "functions.lookup:1"

    def test_tool_messages_merge_into_one_user_turn_results_first(self) -> None:
        turn = self.out["messages"][2]
        assert turn["role"] == "user"
        assert [b["type"] for b in turn["content"]] == ["tool_result", "tool_result", "text"]
        assert turn["content"][0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "a cat"}
        assert turn["content"][1]["tool_use_id"] == safe_tool_id("functions.lookup:1")
        assert turn["content"][1]["content"] == [{"type": "text", "text": "a spec"}]
        assert turn["content"][2] == {"type": "text", "text": "Thanks, summarise."}
        assert len(self.out["messages"]) == 3

    def test_tools_and_choice(self) -> None:
        assert self.out["tools"] == [
            {
                "name": "lookup",
                "description": "Look something up",
                "input_schema": {
                    "type": "object",
                    "properties": {"q": {"type": "string"}},
                    "required": ["q"],
                },
                "strict": True,
            }
        ]
        assert self.out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_max_tokens_default_and_legacy_field() -> None:
    assert o2a({"model": "m", "messages": [user("hi")]})["max_tokens"] == DEFAULT_MAX_TOKENS == 4096
    assert o2a({"model": "m", "messages": [user("hi")]}, default_max_tokens=64000)["max_tokens"] == 64000
    assert o2a({"model": "m", "messages": [user("hi")], "max_tokens": 77})["max_tokens"] == 77
    both = {"model": "m", "messages": [user("hi")], "max_tokens": 77, "max_completion_tokens": 99}
    assert o2a(both)["max_tokens"] == 99


def test_plain_string_contents_stay_strings() -> None:
    out = o2a({"model": "m", "messages": [{"role": "system", "content": "be nice"}, user("hi")]})
    assert out["system"] == "be nice"
    assert out["messages"] == [{"role": "user", "content": "hi"}]


def test_temperature_clamped_and_negative_rejected() -> None:
    assert o2a({"model": "m", "messages": [user("x")], "temperature": 1.6})["temperature"] == 1
    assert o2a({"model": "m", "messages": [user("x")], "temperature": 0})["temperature"] == 0
    with pytest.raises(TranslationError) as e:
        o2a({"model": "m", "messages": [user("x")], "temperature": -0.1})
    assert e.value.param == "temperature"


def test_stop_list_and_empty_entries() -> None:
    out = o2a({"model": "m", "messages": [user("x")], "stop": ["a", "", "b"]})
    assert out["stop_sequences"] == ["a", "b"]
    assert "stop_sequences" not in o2a({"model": "m", "messages": [user("x")], "stop": []})


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("n", 2, "n"),
        ("logprobs", True, "logprobs"),
        ("top_logprobs", 3, "logprobs"),
        ("modalities", ["text", "audio"], "modalities"),
        ("audio", {"voice": "alloy", "format": "wav"}, "audio"),
        ("web_search_options", {}, "web_search_options"),
    ],
)
def test_unsupported_features_rejected(field: str, value: object, param: str) -> None:
    with pytest.raises(TranslationError) as e:
        o2a({"model": "m", "messages": [user("x")], field: value})
    assert e.value.param == param


def test_n_one_and_logprobs_false_accepted() -> None:
    out = o2a({"model": "m", "messages": [user("x")], "n": 1, "logprobs": False})
    assert "n" not in out


def test_invalid_tool_arguments_rejected_with_param() -> None:
    req = {
        "model": "m",
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
                ],
            },
        ],
    }
    with pytest.raises(TranslationError) as e:
        o2a(req)
    assert e.value.param == "messages[1].tool_calls[0].function.arguments"
    req["messages"][1]["tool_calls"][0]["function"]["arguments"] = "[1, 2]"
    with pytest.raises(TranslationError):
        o2a(req)


def test_empty_arguments_mean_no_arguments() -> None:
    req = {
        "model": "m",
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
    }
    out = o2a(req)
    assert out["messages"][1]["content"][0]["input"] == {}


def test_audio_input_rejected() -> None:
    req = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}],
            }
        ],
    }
    with pytest.raises(TranslationError) as e:
        o2a(req)
    assert e.value.param == "messages[0].content[0]"


def test_file_id_rejected_and_text_file_becomes_text_document() -> None:
    with pytest.raises(TranslationError):
        o2a(
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}
                ],
            }
        )
    text_b64 = base64.b64encode(b"hello notes").decode()
    out = o2a(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "file",
                            "file": {"file_data": f"data:text/plain;base64,{text_b64}", "filename": "n.txt"},
                        }
                    ],
                }
            ],
        }
    )
    assert out["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "hello notes"},
        "title": "n.txt",
    }


def test_image_jpg_alias_and_non_image_data_uri() -> None:
    out = o2a(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/jpg;base64,AAAA"}}],
                }
            ],
        }
    )
    assert out["messages"][0]["content"][0]["source"]["media_type"] == "image/jpeg"
    with pytest.raises(TranslationError):
        o2a(
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:text/html;base64,AAAA"}}
                        ],
                    }
                ],
            }
        )


def test_empty_text_parts_skipped_and_prefill_stripped() -> None:
    out = o2a(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": "Sure:  \n"},
            ],
        }
    )
    assert out["messages"][0]["content"] == [{"type": "text", "text": "hi"}]
    assert out["messages"][1]["content"] == [{"type": "text", "text": "Sure:"}]


def test_assistant_refusal_and_name_dropped() -> None:
    out = o2a(
        {
            "model": "m",
            "messages": [
                user("x"),
                {"role": "assistant", "name": "bot", "content": None, "refusal": "I can't."},
                user("y"),
            ],
        }
    )
    assert out["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "I can't."}]}


def test_unknown_role_rejected() -> None:
    with pytest.raises(TranslationError) as e:
        o2a({"model": "m", "messages": [{"role": "critic", "content": "x"}]})
    assert e.value.param == "messages[0].role"


def test_only_system_rejected() -> None:
    with pytest.raises(TranslationError):
        o2a({"model": "m", "messages": [{"role": "system", "content": "x"}]})
    with pytest.raises(TranslationError):
        o2a({"model": "m", "messages": []})


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice_mapping(choice: object, expected: dict) -> None:
    tools = [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    ]
    out = o2a({"model": "m", "messages": [user("x")], "tools": tools, "tool_choice": choice})
    assert out["tool_choice"] == expected


def test_allowed_tools_narrow_the_tool_list() -> None:
    tools = [{"type": "function", "function": {"name": n}} for n in ("a", "b", "c")]
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "b"}}]},
    }
    out = o2a({"model": "m", "messages": [user("x")], "tools": tools, "tool_choice": choice})
    assert [t["name"] for t in out["tools"]] == ["b"]
    assert out["tool_choice"] == {"type": "any"}
    assert out["tools"][0]["input_schema"] == {"type": "object", "properties": {}}


def test_parallel_tool_calls_false_without_choice() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = o2a({"model": "m", "messages": [user("x")], "tools": tools, "parallel_tool_calls": False})
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    out = o2a(
        {
            "model": "m",
            "messages": [user("x")],
            "tools": tools,
            "parallel_tool_calls": False,
            "tool_choice": "none",
        }
    )
    assert out["tool_choice"] == {"type": "none"}


def test_custom_tools_rejected_and_choice_without_tools() -> None:
    with pytest.raises(TranslationError) as e:
        o2a({"model": "m", "messages": [user("x")], "tools": [{"type": "custom", "custom": {"name": "x"}}]})
    assert e.value.param == "tools[0].type"
    with pytest.raises(TranslationError):
        o2a({"model": "m", "messages": [user("x")], "tool_choice": "required"})
    assert "tool_choice" not in o2a({"model": "m", "messages": [user("x")], "tool_choice": "none"})


def test_tool_cache_control_kept() -> None:
    tools = [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral"}}]
    out = o2a({"model": "m", "messages": [user("x")], "tools": tools})
    assert out["tools"][0]["cache_control"] == {"type": "ephemeral"}


def test_long_tool_names_mapped() -> None:
    long_name = "mcp__server__" + "x" * 70
    tools = [{"type": "function", "function": {"name": long_name}}]
    msgs = [
        user("x"),
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": long_name, "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    ]
    out, names = openai_request_to_anthropic(
        {
            "model": "m",
            "messages": msgs,
            "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": long_name}},
        }
    )
    up = out["tools"][0]["name"]
    assert len(up) == 64 and up == safe_tool_name(long_name)
    assert out["messages"][1]["content"][0]["name"] == up
    assert out["tool_choice"]["name"] == up
    assert names.client_name(up) == long_name


def test_legacy_functions() -> None:
    req = {
        "model": "m",
        "messages": [
            user("x"),
            {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": '{"a":1}'}},
            {"role": "function", "name": "f", "content": "done"},
        ],
        "functions": [
            {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}
        ],
        "function_call": {"name": "f"},
    }
    out = o2a(req)
    tu = out["messages"][1]["content"][0]
    assert tu["type"] == "tool_use" and tu["input"] == {"a": 1}
    assert out["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": tu["id"],
        "content": "done",
    }
    assert out["tool_choice"] == {"type": "tool", "name": "f"}


def test_response_format_json_schema_and_json_object() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    out = o2a({"model": "m", "messages": [user("x")], "response_format": rf})
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    out = o2a(
        {
            "model": "m",
            "messages": [{"role": "system", "content": "S"}, user("x")],
            "response_format": {"type": "json_object"},
        }
    )
    assert "output_config" not in out
    assert out["system"][-1]["text"].startswith("Respond with a single valid JSON object")
    assert out["system"][0] == {"type": "text", "text": "S"}
    assert "output_config" not in o2a(
        {"model": "m", "messages": [user("x")], "response_format": {"type": "text"}}
    )


@pytest.mark.parametrize(
    ("effort", "budget"), [("minimal", 1024), ("low", 2048), ("medium", 8192), ("high", 16384)]
)
def test_reasoning_effort_to_budget(effort: str, budget: int) -> None:
    out = o2a(
        {"model": "m", "messages": [user("x")], "reasoning_effort": effort, "max_completion_tokens": 32000}
    )
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}


def test_reasoning_effort_budget_below_max_tokens_or_dropped() -> None:
    out = o2a({"model": "m", "messages": [user("x")], "reasoning_effort": "high", "max_tokens": 5000})
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4999}
    out = o2a({"model": "m", "messages": [user("x")], "reasoning_effort": "high", "max_tokens": 500})
    assert "thinking" not in out
    assert "thinking" not in o2a({"model": "m", "messages": [user("x")], "reasoning_effort": "none"})


def test_reasoning_effort_adaptive_style() -> None:
    out = o2a(
        {"model": "m", "messages": [user("x")], "reasoning_effort": "minimal"}, thinking_style="adaptive"
    )
    assert out["thinking"] == {"type": "adaptive"}
    assert out["output_config"] == {"effort": "low"}
    with pytest.raises(TranslationError) as e:
        o2a({"model": "m", "messages": [user("x")], "reasoning_effort": "extreme"})
    assert e.value.param == "reasoning_effort"


def test_thinking_guards() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    base = {"model": "m", "messages": [user("x")], "reasoning_effort": "low", "max_tokens": 9000}
    # sampling knobs Claude forbids with thinking are dropped
    out = o2a({**base, "temperature": 0.2, "top_p": 0.5, "top_k": 5})
    assert "thinking" in out and "temperature" not in out and "top_p" not in out and "top_k" not in out
    # forced tool use: thinking dropped
    assert "thinking" not in o2a({**base, "tools": tools, "tool_choice": "required"})
    # a tool-use continuation without the thinking block echoed: thinking dropped
    msgs = [
        user("x"),
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    ]
    assert "thinking" not in o2a({**base, "messages": msgs, "tools": tools})
    # ... but kept when the client echoed Claude's signed thinking (our thinking_blocks field)
    msgs[1]["thinking_blocks"] = [{"type": "thinking", "thinking": "hmm", "signature": CLAUDE_SIG}]
    out = o2a({**base, "messages": msgs, "tools": tools})
    assert out["thinking"]["type"] == "enabled"
    assert out["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "hmm",
        "signature": CLAUDE_SIG,
    }


def test_reasoning_echo_forms() -> None:
    # reasoning_content + reasoning_signature (our stream convention) → thinking block
    msgs = [
        user("x"),
        {"role": "assistant", "content": "a", "reasoning_content": "r", "reasoning_signature": CLAUDE_SIG},
        user("y"),
    ]
    out = o2a({"model": "m", "messages": msgs})
    assert out["messages"][1]["content"][0] == {"type": "thinking", "thinking": "r", "signature": CLAUDE_SIG}
    # unsigned (e.g. DeepSeek) reasoning or our origin marker cannot go to Claude
    msgs[1]["reasoning_signature"] = origin_signature("deepseek")
    assert o2a({"model": "m", "messages": msgs})["messages"][1]["content"] == [{"type": "text", "text": "a"}]
    del msgs[1]["reasoning_signature"]
    assert o2a({"model": "m", "messages": msgs})["messages"][1]["content"] == [{"type": "text", "text": "a"}]
    # redacted thinking survives
    msgs[1]["thinking_blocks"] = [
        {"type": "redacted_thinking", "data": "EmwKAhgB"},
        {"type": "thinking", "thinking": "x", "signature": ""},
    ]
    assert o2a({"model": "m", "messages": msgs})["messages"][1]["content"][0] == {
        "type": "redacted_thinking",
        "data": "EmwKAhgB",
    }


def test_anthropic_style_thinking_passthrough_and_top_k() -> None:
    out = o2a({"model": "m", "messages": [user("x")], "thinking": {"type": "adaptive"}, "top_k": 3})
    assert out["thinking"] == {"type": "adaptive"}
    assert out["top_k"] == 3


def test_prompt_cache_breakpoint_and_message_cache_control() -> None:
    out = o2a(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "a", "prompt_cache_breakpoint": {"mode": "explicit"}}
                    ],
                },
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            ],
        }
    )
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["messages"][2]["content"] == [
        {"type": "text", "text": "c", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]


def test_tool_message_with_image_parts_kept_for_claude() -> None:
    msgs = [
        user("x"),
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "shot", "arguments": "{}"}}],
        },
        {
            "role": "tool",
            "tool_call_id": "c",
            "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}],
        },
    ]
    out = o2a({"model": "m", "messages": msgs})
    assert out["messages"][2]["content"][0]["content"][0]["type"] == "image"


def test_non_dict_request_rejected() -> None:
    with pytest.raises(TranslationError):
        openai_request_to_anthropic([])  # type: ignore[arg-type]


# =====================================================================================
# Anthropic → OpenAI
# =====================================================================================


class TestAnthropicToOpenAIFixture:
    def setup_method(self) -> None:
        self.out, self.names = anthropic_request_to_openai(fresh(CLAUDE_CODE_REQUEST), target="openai")

    def test_top_level(self) -> None:
        out = self.out
        assert out["model"] == "claude-sonnet-4-5"
        assert out["max_completion_tokens"] == 32000 and "max_tokens" not in out
        assert out["stop"] == ["\n\nHuman:"]
        assert out["temperature"] == 1
        assert "top_k" not in out
        assert out["user"] == "user_abc123"
        assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
        assert out["reasoning_effort"] == "high"  # budget 10000 → high
        assert "thinking" not in out

    def test_system_message_cache_control_dropped(self) -> None:
        assert self.out["messages"][0] == {
            "role": "system",
            "content": [
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                {"type": "text", "text": "Working directory: /repo"},
            ],
        }

    def test_messages(self) -> None:
        m = self.out["messages"]
        assert [x["role"] for x in m] == ["system", "user", "assistant", "tool", "user"]
        assert m[1]["content"] == [
            {"type": "text", "text": "<system-reminder>Be brief.</system-reminder>"},
            {"type": "text", "text": "List the files"},
        ]
        assert m[2] == {
            "role": "assistant",
            "content": "Running ls.",
            "tool_calls": [
                {
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
                }
            ],
        }
        assert "reasoning_content" not in m[2]  # Claude's thinking never goes to OpenAI
        assert m[3] == {
            "role": "tool",
            "tool_call_id": "toolu_01A09q90qw90lq917835lq9",
            "content": "a.py\nb.py",
        }
        assert m[4] == {"role": "user", "content": [{"type": "text", "text": "Now read a.py"}]}

    def test_tools(self) -> None:
        bash, long_tool = self.out["tools"]
        assert bash == {
            "type": "function",
            "function": {
                "name": "Bash",
                "description": "Run a shell command",
                "parameters": {
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                },
            },
        }
        up = long_tool["function"]["name"]
        assert len(up) <= 64 and up != CLAUDE_CODE_REQUEST["tools"][1]["name"]
        assert self.names.client_name(up) == CLAUDE_CODE_REQUEST["tools"][1]["name"]
        assert self.out["tool_choice"] == "auto"
        assert self.out["parallel_tool_calls"] is False


def test_deepseek_dialect() -> None:
    out = a2o(fresh(CLAUDE_CODE_REQUEST), target="deepseek")
    assert out["max_tokens"] == 32000 and "max_completion_tokens" not in out
    assert out["thinking"] == {"type": "enabled"}
    assert out["reasoning_effort"] == "high"
    assert "user" not in out
    # string content only
    assert (
        out["messages"][0]["content"]
        == "You are Claude Code, Anthropic's official CLI for Claude.\n\nWorking directory: /repo"
    )
    assert out["messages"][1]["content"] == "<system-reminder>Be brief.</system-reminder>\n\nList the files"
    # tool-call turn carries reasoning_content even when the thinking was Claude's (stripped to "")
    assert out["messages"][2]["reasoning_content"] == ""


def test_ark_dialect() -> None:
    req = fresh(CLAUDE_CODE_REQUEST)
    out = a2o(req, target="ark")
    assert out["thinking"] == {"type": "enabled"} and "reasoning_effort" not in out
    assert out["max_tokens"] == 32000
    req["thinking"] = {"type": "adaptive"}
    assert a2o(req, target="ark")["thinking"] == {"type": "auto"}
    req["thinking"] = {"type": "disabled"}
    assert a2o(req, target="ark")["thinking"] == {"type": "disabled"}


@pytest.mark.parametrize(
    ("thinking", "output_config", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 8000}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 30000}, None, "high"),
        ({"type": "adaptive"}, None, "medium"),
        ({"type": "adaptive"}, {"effort": "xhigh"}, "xhigh"),
        ({"type": "enabled", "budget_tokens": 1024}, {"effort": "max"}, "max"),
        (None, {"effort": "low"}, "low"),
        ({"type": "disabled"}, None, None),
    ],
)
def test_thinking_to_reasoning_effort_openai(
    thinking: dict | None, output_config: dict | None, expected: str | None
) -> None:
    req: dict = {"model": "m", "max_tokens": 50000, "messages": [user("x")]}
    if thinking:
        req["thinking"] = thinking
    if output_config:
        req["output_config"] = output_config
    assert a2o(req).get("reasoning_effort") == expected


def test_deepseek_thinking_switch() -> None:
    req: dict = {"model": "m", "max_tokens": 100, "messages": [user("x")], "thinking": {"type": "disabled"}}
    assert a2o(req, "deepseek")["thinking"] == {"type": "disabled"}
    req["thinking"] = {"type": "adaptive"}
    out = a2o(req, "deepseek")
    assert out["thinking"] == {"type": "enabled"} and "reasoning_effort" not in out
    del req["thinking"]
    assert "thinking" not in a2o(req, "deepseek")  # DeepSeek's own default


def test_tool_choice_to_openai() -> None:
    tools = [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    base = {"model": "m", "max_tokens": 10, "messages": [user("x")], "tools": tools}
    assert a2o({**base, "tool_choice": {"type": "any"}})["tool_choice"] == "required"
    assert a2o({**base, "tool_choice": {"type": "none"}})["tool_choice"] == "none"
    assert a2o({**base, "tool_choice": {"type": "tool", "name": "f"}})["tool_choice"] == {
        "type": "function",
        "function": {"name": "f"},
    }
    out = a2o({**base, "tool_choice": {"type": "any", "disable_parallel_tool_use": True}})
    assert out["parallel_tool_calls"] is False
    no_tools = a2o({"model": "m", "max_tokens": 10, "messages": [user("x")], "tool_choice": {"type": "auto"}})
    assert "tool_choice" not in no_tools and "tools" not in no_tools  # litellm #25477
    with pytest.raises(TranslationError):
        a2o({"model": "m", "max_tokens": 10, "messages": [user("x")], "tool_choice": {"type": "any"}})


def test_server_tools_rejected_on_openai_targets() -> None:
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [user("x")],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    }
    with pytest.raises(TranslationError) as e:
        a2o(req)
    assert e.value.param == "tools[0].type"
    custom = {
        "model": "m",
        "max_tokens": 10,
        "messages": [user("x")],
        "tools": [{"type": "custom", "name": "f", "input_schema": {"type": "object"}, "strict": True}],
    }
    assert a2o(custom)["tools"][0]["function"]["strict"] is True


def test_output_config_format_to_response_format() -> None:
    strict_schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    loose_schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [user("x")],
        "output_config": {"format": {"type": "json_schema", "schema": strict_schema}},
    }
    assert a2o(req)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "structured_output", "schema": strict_schema, "strict": True},
    }
    req["output_config"]["format"]["schema"] = loose_schema
    assert a2o(req)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "structured_output", "schema": loose_schema},
    }


def test_images_documents_to_openai_parts() -> None:
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                        "title": "a.pdf",
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                    },
                ],
            }
        ],
    }
    parts = a2o(req)["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    assert parts[2] == {
        "type": "file",
        "file": {"file_data": f"data:application/pdf;base64,{PDF_B64}", "filename": "a.pdf"},
    }
    assert parts[3] == {"type": "text", "text": "notes"}
    with pytest.raises(TranslationError) as e:
        a2o(req, "deepseek")
    assert e.value.param == "messages[0].content[0]"


def test_url_pdf_rejected() -> None:
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}],
            }
        ],
    }
    with pytest.raises(TranslationError):
        a2o(req)


def test_tool_result_error_and_images_moved() -> None:
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_a", "name": "shot", "input": {}},
                    {"type": "tool_use", "id": "toolu_b", "name": "run", "input": {"c": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_a",
                        "content": [
                            {"type": "text", "text": "screenshot taken"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                            },
                        ],
                    },
                    {"type": "tool_result", "tool_use_id": "toolu_b", "content": "boom", "is_error": True},
                    {"type": "text", "text": "what now?"},
                ],
            },
        ],
    }
    m = a2o(req)["messages"]
    assert [x["role"] for x in m] == ["user", "assistant", "tool", "tool", "user"]
    assert m[1]["content"] is None
    assert m[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert m[2]["content"] == [
        {"type": "text", "text": "screenshot taken"},
        {"type": "text", "text": "[attachments follow in the next user message]"},
    ]
    assert m[3] == {"role": "tool", "tool_call_id": "toolu_b", "content": "Error: boom"}
    assert m[4]["content"] == [
        {"type": "text", "text": "[attachments returned by tool call toolu_a]"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "text", "text": "what now?"},
    ]


def test_foreign_tool_ids_sanitized_consistently() -> None:
    bad = "toolu_" + "z" * 50  # longer than OpenAI's 40-char id limit
    req = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            user("x"),
            {"role": "assistant", "content": [{"type": "tool_use", "id": bad, "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": bad, "content": "ok"}]},
        ],
    }
    out, names = anthropic_request_to_openai(req)
    tc_id = out["messages"][1]["tool_calls"][0]["id"]
    assert len(tc_id) <= 40 and tc_id == out["messages"][2]["tool_call_id"]
    assert names.client_id(tc_id) == bad


def test_max_tokens_zero_rejected_and_mcp_rejected() -> None:
    with pytest.raises(TranslationError) as e:
        a2o({"model": "m", "max_tokens": 0, "messages": [user("x")]})
    assert e.value.param == "max_tokens"
    with pytest.raises(TranslationError):
        a2o(
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [user("x")],
                "mcp_servers": [{"type": "url", "url": "x", "name": "n"}],
            }
        )


def test_assistant_text_blocks_joined_and_empty_turn_skipped() -> None:
    req = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "Paris is "}, {"type": "text", "text": "the capital."}],
            },
            user("y"),
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "abc"}]},
            user("z"),
        ],
    }
    m = a2o(req)["messages"]
    assert m[1] == {"role": "assistant", "content": "Paris is the capital."}
    assert [x["role"] for x in m] == ["user", "assistant", "user", "user"]


def test_reasoning_echo_only_to_its_own_provider() -> None:
    def req_with(sig: str) -> dict:
        return {
            "model": "m",
            "max_tokens": 5,
            "messages": [
                user("x"),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "deep thought", "signature": sig},
                        {"type": "text", "text": "answer"},
                    ],
                },
                user("y"),
            ],
        }

    assert (
        a2o(req_with(origin_signature("deepseek")), "deepseek")["messages"][1]["reasoning_content"]
        == "deep thought"
    )
    assert a2o(req_with(origin_signature("ark")), "ark")["messages"][1]["reasoning_content"] == "deep thought"
    assert "reasoning_content" not in a2o(req_with(origin_signature("ark")), "deepseek")["messages"][1]
    assert "reasoning_content" not in a2o(req_with(CLAUDE_SIG), "deepseek")["messages"][1]
    assert "reasoning_content" not in a2o(req_with(origin_signature("openai")), "openai")["messages"][1]


def test_unknown_target_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        anthropic_request_to_openai({"model": "m", "max_tokens": 1, "messages": [user("x")]}, target="gemini")


def test_strip_foreign_thinking_for_claude() -> None:
    req = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "ds", "signature": origin_signature("deepseek")}
                ],
            },
            user("y"),
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "claude", "signature": CLAUDE_SIG},
                    {"type": "redacted_thinking", "data": "r"},
                    {"type": "thinking", "thinking": "unsigned", "signature": ""},
                    {"type": "text", "text": "t"},
                ],
            },
        ],
    }
    out = strip_foreign_thinking(req)
    assert [m["role"] for m in out["messages"]] == ["user", "user", "assistant"]
    assert [b["type"] for b in out["messages"][2]["content"]] == ["thinking", "redacted_thinking", "text"]
    assert out["messages"][2]["content"][0]["signature"] == CLAUDE_SIG
    untouched = {"model": "m", "messages": [user("x")]}
    assert strip_foreign_thinking(untouched) is untouched


def test_tool_name_map_identity_and_roundtrip() -> None:
    names = ToolNameMap()
    assert names.upstream_name("get_weather") == "get_weather"
    assert names.upstream_id("call_abc") == "call_abc"
    assert names.is_identity
    weird = "my.tool/with spaces"
    up = names.upstream_name(weird)
    assert up.startswith("my_tool_with_spaces_") and len(up) == len("my_tool_with_spaces") + 9
    assert names.client_name(up) == weird
    assert names.client_name("unknown") == "unknown"
    assert not names.is_identity
    assert names.renamed_tools == {weird: up}
    # deterministic across requests
    assert ToolNameMap().upstream_name(weird) == up
    assert json.dumps(names.renamed_ids) == "{}"


def test_mid_conversation_system_turn_becomes_a_system_message_in_place() -> None:
    """Issue #16 finding 1: Claude Code's ``role: system`` turn, translated for Chat Completions."""
    from bytespike.translate import anthropic_request_to_openai

    req = {"model": "m", "max_tokens": 64, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": [{"type": "text", "text": "Agents: A, B"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "go"}]}
    for target in ("openai", "deepseek", "ark"):
        out, _ = anthropic_request_to_openai(req, target=target)
        assert [m["role"] for m in out["messages"]] == ["user", "system", "assistant", "user"]
        assert out["messages"][1]["content"] == "Agents: A, B"


def test_mid_conversation_system_turn_becomes_gemini_user_context() -> None:
    from bytespike.translate import anthropic_request_to_gemini

    req = {"model": "gemini-3.8-flash", "max_tokens": 64, "messages": [
        {"role": "user", "content": "hi"}, {"role": "system", "content": "Agents: A, B"}]}
    body, _ = anthropic_request_to_gemini(req)
    assert body["contents"] == [{"role": "user", "parts": [
        {"text": "hi"}, {"text": "<system-reminder>\nAgents: A, B\n</system-reminder>"}]}]
