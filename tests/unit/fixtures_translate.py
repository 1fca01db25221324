"""Recorded-format fixtures for the translator tests.

Shapes follow what the providers actually send (field order, nulls, usage placement):
Claude SSE events as parsed ``(event, data)`` pairs, OpenAI-format chunks as parsed
``data:`` JSON. Values are illustrative; the structure is what matters.
"""

from __future__ import annotations

import copy
from typing import Any

CLAUDE_SIG = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds2pbyIXiRqRAWjdZfExI3GCmDUm1AKPDlBLnlAmKdb16uk5fiqLSKRr3"

# --- Claude stream: thinking → text → tool_use (interleaved pings, like the real API) ---
CLAUDE_STREAM_THINKING_TOOL: list[tuple[str, dict]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01Aq9w938a90dw8q",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 472,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 1024,
                    "output_tokens": 2,
                },
            },
        },
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "The user wants "},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "the weather."},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": CLAUDE_SIG},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "I'll check "}},
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "the weather in Paris."},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {},
            },
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"location": "Pa'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": 'ris", "unit": "c"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]

CLAUDE_STREAM_TEXT: list[tuple[str, dict]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-4-5-20251001",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 25,
                    "cache_creation_input_tokens": 2048,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 15},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]

CLAUDE_RESPONSE_TOOL: dict[str, Any] = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The user wants the weather.", "signature": CLAUDE_SIG},
        {"type": "text", "text": "I'll check the weather in Paris."},
        {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {"location": "Paris", "unit": "c"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 472,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1024,
        "output_tokens": 89,
        "output_tokens_details": {"thinking_tokens": 40},
    },
}


def _oai_chunk(
    delta: dict, finish: str | None = None, *, cid: str = "chatcmpl-AxYz", model: str = "gpt-4o-2024-08-06"
) -> dict:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1726000000,
        "model": model,
        "system_fingerprint": "fp_5050236cbd",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


# --- OpenAI gpt-4o: text, then two parallel tool calls streamed sequentially, include_usage ---
OPENAI_STREAM_PARALLEL_TOOLS: list[dict] = [
    _oai_chunk({"role": "assistant", "content": None, "refusal": None}),
    _oai_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    _oai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"lo'}}]}),
    _oai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'cation": "Paris"}'}}]}),
    _oai_chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_ABCd8WjLfBf0iMnJ3Jbq7lqV",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                }
            ]
        }
    ),
    _oai_chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "Europe/Paris"}'}}]}),
    _oai_chunk({}, "tool_calls"),
    {
        "id": "chatcmpl-AxYz",
        "object": "chat.completion.chunk",
        "created": 1726000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_5050236cbd",
        "choices": [],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 48,
            "total_tokens": 1248,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    },
]

OPENAI_STREAM_TEXT: list[dict] = [
    _oai_chunk({"role": "assistant", "content": "", "refusal": None}),
    _oai_chunk({"content": "Hello"}),
    _oai_chunk({"content": " there"}),
    _oai_chunk({}, "stop"),
    {
        "id": "chatcmpl-AxYz",
        "object": "chat.completion.chunk",
        "created": 1726000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    },
]


def _ds_chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> dict:
    return {
        "id": "5f8a9c2e-1b7d-4e0a-9c1f-3d2b6a7e8f90",
        "object": "chat.completion.chunk",
        "created": 1738000000,
        "model": "deepseek-reasoner",
        "system_fingerprint": "fp_7e73fd9a08_prod0225",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }


DEEPSEEK_USAGE = {
    "prompt_tokens": 1500,
    "completion_tokens": 300,
    "total_tokens": 1800,
    "prompt_tokens_details": {"cached_tokens": 1280},
    "completion_tokens_details": {"reasoning_tokens": 200},
    "prompt_cache_hit_tokens": 1280,
    "prompt_cache_miss_tokens": 220,
}

# --- DeepSeek: reasoning_content first (content null), then a tool call; usage on the last chunk ---
DEEPSEEK_STREAM_REASONING_TOOL: list[dict] = [
    _ds_chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
    _ds_chunk({"content": None, "reasoning_content": "The user asks"}),
    _ds_chunk({"content": None, "reasoning_content": " for files."}),
    _ds_chunk({"content": "Listing files.", "reasoning_content": None}),
    _ds_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_00_f1mJ0nB6Zq",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": ""},
                }
            ]
        }
    ),
    _ds_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"command":'}}]}),
    _ds_chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "ls -la"}'}}]}),
    _ds_chunk({"content": ""}, "tool_calls", DEEPSEEK_USAGE),
]

# --- Ollama: every parallel call arrives whole, all with index 0 ---
OLLAMA_STREAM_INDEX0: list[dict] = [
    _oai_chunk({"role": "assistant", "content": ""}, model="qwen3:8b", cid="chatcmpl-412"),
    _oai_chunk(
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_8ibc3xm1",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        model="qwen3:8b",
        cid="chatcmpl-412",
    ),
    _oai_chunk(
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_x2k9d0qa",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
                }
            ],
        },
        model="qwen3:8b",
        cid="chatcmpl-412",
    ),
    _oai_chunk({"role": "assistant", "content": ""}, "tool_calls", model="qwen3:8b", cid="chatcmpl-412"),
]

# --- Gemini's OpenAI-compatible endpoint: whole calls in one chunk, ids like "function-call-…", no index ---
GEMINI_COMPAT_STREAM: list[dict] = [
    _oai_chunk(
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "function-call-1537",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "function-call-1538",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        "tool_calls",
        model="gemini-2.5-flash",
        cid="gem-1",
    ),
]

# --- Non-streaming OpenAI-format responses ---
OPENAI_RESPONSE_TOOLS: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                    },
                    {
                        "id": "call_ABCd8WjLfBf0iMnJ3Jbq7lqV",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"tz":"Europe/Paris"}'},
                    },
                ],
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

DEEPSEEK_RESPONSE_REASONING: dict[str, Any] = {
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
    "object": "chat.completion",
    "created": 1738000000,
    "model": "deepseek-reasoner",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "9.11 is smaller than 9.8.",
                "reasoning_content": "Compare 9.11 and 9.8: 9.8 = 9.80 > 9.11.",
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": DEEPSEEK_USAGE,
}

# --- Requests ---
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PDF_B64 = (
    "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"
)

# What Claude Code sends (abridged): cached system blocks, tools, adaptive-free thinking, a tool loop.
CLAUDE_CODE_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 32000,
    "system": [
        {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
        {"type": "text", "text": "Working directory: /repo", "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<system-reminder>Be brief.</system-reminder>"},
                {"type": "text", "text": "List the files", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should run ls.", "signature": CLAUDE_SIG},
                {"type": "text", "text": "Running ls."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "Bash",
                    "input": {"command": "ls"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                    "content": "a.py\nb.py",
                },
                {"type": "text", "text": "Now read a.py"},
            ],
        },
    ],
    "tools": [
        {
            "name": "Bash",
            "description": "Run a shell command",
            "input_schema": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
        {
            "name": "mcp__github__create_pull_request_with_a_really_long_descriptive_name_v2",
            "description": "Create a PR",
            "input_schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"},
        },
    ],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 10000},
    "metadata": {"user_id": "user_abc123"},
    "stop_sequences": ["\n\nHuman:"],
    "temperature": 1,
    "top_k": 40,
    "stream": True,
}

# An OpenAI client (e.g. the openai SDK / Cursor) talking to the chat surface.
OPENAI_CLIENT_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "messages": [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "Big cached prompt", "cache_control": {"type": "ephemeral"}}
            ],
        },
        {"role": "developer", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What's in this image and PDF?"},
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{PNG_B64}", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {
                    "type": "file",
                    "file": {"filename": "spec.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"cat"}'},
                },
                {
                    "id": "functions.lookup:1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"pdf"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {
            "role": "tool",
            "tool_call_id": "functions.lookup:1",
            "content": [{"type": "text", "text": "a spec"}],
        },
        {"role": "user", "content": "Thanks, summarise."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look something up",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
                "strict": True,
            },
        }
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "max_completion_tokens": 2048,
    "temperature": 0.7,
    "top_p": 0.9,
    "stop": "END",
    "user": "end-user-42",
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.1,
    "logit_bias": {"1234": -100},
    "stream": True,
    "stream_options": {"include_usage": True},
}


def fresh(value: Any) -> Any:
    """A deep copy, so a test can never mutate a shared fixture."""
    return copy.deepcopy(value)
