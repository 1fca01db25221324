"""The Gemini client surface's translators: Gemini requests → hub, hub answers → Gemini.

What a Gemini client (Gemini CLI, google-genai) sends, what each kind of model behind the hub
gets, what comes back, and the thinking round trip through a client that keeps only
``thoughtSignature`` strings. Google's own wording is asserted where Google refuses the same.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest
from tests.support.hub_events import CLAUDE_SIGNATURE, CLAUDE_TOOL_ANSWER, message_events

from bytespike.catalog import catalog
from bytespike.errors import GatewayError, Kind, gemini_body, gemini_status
from bytespike.translate import (
    SKIP_SIGNATURE,
    AnthropicToGeminiStream,
    GeminiContext,
    GeminiToAnthropicStream,
    HubTarget,
    TranslationError,
    anthropic_count_to_gemini,
    anthropic_request_to_gemini,
    anthropic_request_to_openai,
    anthropic_response_to_gemini,
    anthropic_usage_to_gemini,
    apply_gemini_only,
    assemble_gemini_chunks,
    check_gemini_chunks,
    gemini_count_request_to_anthropic,
    gemini_embed_request_to_openai,
    gemini_model,
    gemini_models_page,
    gemini_request_to_anthropic,
    gemini_schema_to_json_schema,
    openai_embeddings_to_gemini,
    origin_signature,
    strip_hub_markers,
    unpack_marker_bytes,
)
from bytespike.translate.gemini import read_gemini_signature
from bytespike.translate.gemini_surface import read_hub_marker
from bytespike.translate.signatures import BYTES_MAGIC, MAX_MARKER_BYTES

CLAUDE = "claude-sonnet-5-5"  # adaptive thinking
CLAUDE_BUDGET = "claude-haiku-4-5"  # budget_tokens thinking
CLAUDE_ALWAYS = "claude-opus-5-5"  # thinking always on
GPT = "gpt-6.1-terra"
DEEPSEEK = "deepseek-flash"
GEMINI = "gemini-3.8-flash"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8).decode()
CLAUDE_SIG = CLAUDE_SIGNATURE

WEATHER_DECL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING", "description": "City"},
            "days": {"type": "INTEGER", "nullable": True},
        },
        "required": ["city"],
        "propertyOrdering": ["city", "days"],
    },
}


def user(*parts: dict) -> dict:
    return {"role": "user", "parts": list(parts)}


def model(*parts: dict) -> dict:
    return {"role": "model", "parts": list(parts)}


def hub(body: dict, model_id: str = CLAUDE, **kw: Any) -> tuple[dict, Any]:
    return gemini_request_to_anthropic(body, model_id, **kw)


def refused(body: dict, model_id: str = CLAUDE) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        gemini_request_to_anthropic(body, model_id)
    return info.value


def hello(**extra: Any) -> dict:
    return {"contents": [user({"text": "hello"})], **extra}


# =====================================================================================
# Requests
# =====================================================================================


def test_gemini_cli_request_on_claude() -> None:
    """Gemini CLI's chat request (temperature 1, topP 0.95, topK 64, thoughts on, JSON-schema tools)
    becomes a request Claude takes: adaptive thinking with summaries, topP/topK dropped."""
    body = {
        "contents": [user({"text": "What is in this folder?"})],
        "systemInstruction": {
            "role": "user",
            "parts": [{"text": "You are Gemini CLI."}, {"text": "Be brief."}],
        },
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "list_directory",
                        "description": "Lists a directory",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"dir_path": {"type": "string"}},
                            "required": ["dir_path"],
                        },
                    }
                ]
            }
        ],
        "generationConfig": {
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"},
        },
    }
    out, ctx = hub(body, stream=True)
    assert out["model"] == CLAUDE and out["stream"] is True
    assert out["max_tokens"] == catalog().model(CLAUDE).max_output_tokens  # Gemini's default: the model's max
    assert out["system"] == [
        {"type": "text", "text": "You are Gemini CLI."},
        {"type": "text", "text": "Be brief."},
    ]
    assert out["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert out["output_config"] == {"effort": "high"}
    assert out["temperature"] == 1 and "top_p" not in out and "top_k" not in out
    assert out["tools"] == [
        {
            "name": "list_directory",
            "input_schema": {
                "type": "object",
                "properties": {"dir_path": {"type": "string"}},
                "required": ["dir_path"],
            },
            "description": "Lists a directory",
        }
    ]
    assert ctx.include_thoughts and ctx.stream


def test_snake_case_fields_are_read_like_camel_case() -> None:
    body = {
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [user({"inline_data": {"mime_type": "image/png", "data": PNG}}, {"text": "what is it?"})],
        "tools": [{"function_declarations": [WEATHER_DECL]}],
        "tool_config": {
            "function_calling_config": {"mode": "ANY", "allowed_function_names": ["get_weather"]}
        },
        "generation_config": {"max_output_tokens": 99, "stop_sequences": ["END"]},
    }
    out, _ = hub(body)
    assert out["system"] == "sys"
    assert out["messages"][0]["content"][0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    assert out["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert out["max_tokens"] == 99 and out["stop_sequences"] == ["END"]


def test_gemini_schema_becomes_json_schema() -> None:
    schema = gemini_schema_to_json_schema(WEATHER_DECL["parameters"])
    assert schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City"},
            "days": {"type": ["integer", "null"]},
        },
        "required": ["city"],
    }
    closed = gemini_schema_to_json_schema(
        {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}}, closed=True
    )
    assert closed["items"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified", "contents"),
        (
            {"contents": [{"role": "system", "parts": [{"text": "x"}]}]},
            "Please use a valid role: user, model.",
            "contents[0].role",
        ),
        (
            hello(tools=[{"googleSearch": {}}]),
            f"google_search is not supported for models/{CLAUDE}: Google's built-in tools run only on Gemini models.",
            "tools[0].googleSearch",
        ),
        (hello(tools=[{"code_execution": {}}]), None, "tools[0].codeExecution"),
        (hello(cachedContent="cachedContents/abc"), None, "cachedContent"),
        (hello(generationConfig={"candidateCount": 2}), None, "generationConfig.candidateCount"),
        (
            hello(generationConfig={"responseModalities": ["TEXT", "IMAGE"]}),
            None,
            "generationConfig.responseModalities",
        ),
        (hello(generationConfig={"responseLogprobs": True}), None, "generationConfig.responseLogprobs"),
        (
            hello(generationConfig={"responseMimeType": "text/x.enum"}),
            None,
            "generationConfig.responseMimeType",
        ),
        (
            hello(toolConfig={"functionCallingConfig": {"mode": "ANY"}}),
            "Function calling config is set without function_declarations.",
            "toolConfig.functionCallingConfig",
        ),
        (
            hello(generationConfig={"thinkingConfig": {"thinkingLevel": "EXTREME"}}),
            None,
            "generationConfig.thinkingConfig.thinkingLevel",
        ),
    ],
)
def test_refusals(body: dict, message: str | None, param: str) -> None:
    err = refused(body)
    assert err.param == param
    if message:
        assert err.message == message


def test_cached_content_names_the_cache() -> None:
    err = refused(hello(cachedContent="cachedContents/abc123"))
    assert "cachedContents/abc123" in err.message and "only Gemini models" in err.message


def test_candidate_count_one_is_fine() -> None:
    out, _ = hub(hello(generationConfig={"candidateCount": 1}))
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


@pytest.mark.parametrize(
    ("part", "block"),
    [
        (
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            },
        ),
        (
            {"inlineData": {"mimeType": "text/plain", "data": base64.b64encode("héllo".encode()).decode()}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "héllo"}},
        ),
        (
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ),
        (
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
            {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        ),
        (
            {"inlineData": {"mimeType": "image/jpg", "data": PNG}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}},
        ),
    ],
)
def test_media_parts(part: dict, block: dict) -> None:
    out, _ = hub({"contents": [user(part)]})
    assert out["messages"][0]["content"] == [block]


@pytest.mark.parametrize(
    "part",
    [
        {"inlineData": {"mimeType": "audio/mp3", "data": "AAAA"}},
        {"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}},
        {
            "fileData": {
                "mimeType": "image/png",
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
            }
        },
        {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://bucket/a.pdf"}},
        {"fileData": {"fileUri": "https://www.youtube.com/watch?v=x"}},
    ],
)
def test_media_claude_cannot_read_is_refused_with_a_reason(part: dict) -> None:
    err = refused({"contents": [user(part)]})
    assert err.param and err.param.startswith("contents[0].parts[0]")
    assert f"models/{CLAUDE}" in err.message


def tool_loop(call_parts: list[dict], response_parts: list[dict]) -> dict:
    return {
        "contents": [user({"text": "go"}), model(*call_parts), user(*response_parts)],
        "tools": [{"functionDeclarations": [WEATHER_DECL, {"name": "read_file"}]}],
    }


def test_calls_without_ids_get_stable_ids_and_responses_pair_by_name_in_order() -> None:
    body = tool_loop(
        [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
            {"functionCall": {"name": "read_file", "args": {}}},
        ],
        [
            {"functionResponse": {"name": "read_file", "response": {"output": "data"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "rainy"}}},
        ],
    )
    out, _ = hub(body)
    calls = out["messages"][1]["content"]
    assert [c["id"] for c in calls] == ["gmc_1_0", "gmc_1_1", "gmc_1_2"]
    results = out["messages"][2]["content"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [
        ("gmc_1_2", "data"),
        ("gmc_1_0", "sunny"),
        ("gmc_1_1", "rainy"),
    ]
    again, _ = hub(body)  # stable: the same history gives the same ids
    assert again == out


def test_ids_pair_by_id_even_gemini_cli_prefixed_ones() -> None:
    """Gemini CLI prefixes the ids it echoes (``name__<id>``): long or odd ids are made safe,
    deterministically, on both the call and its response."""
    cid = "get_weather__toolu_01A09q90qw90lq917835lq9XYZ"
    body = tool_loop(
        [{"functionCall": {"id": cid, "name": "get_weather", "args": {"city": "Paris"}}}],
        [{"functionResponse": {"id": cid, "name": "get_weather", "response": {"output": "sunny"}}}],
    )
    out, ctx = hub(body)
    hub_id = out["messages"][1]["content"][0]["id"]
    assert out["messages"][2]["content"][0]["tool_use_id"] == hub_id
    assert len(hub_id) <= 40 and ctx.names.client_id(hub_id) == cid


@pytest.mark.parametrize(
    "contents",
    [
        [
            user({"text": "go"}),
            model({"functionCall": {"name": "read_file", "args": {}}}),
            user({"text": "never mind"}),
        ],
        [
            user({"text": "go"}),
            model({"functionCall": {"name": "read_file", "args": {}}}),
            user({"functionResponse": {"name": "get_weather", "response": {}}}),
        ],
    ],
)
def test_unanswered_calls_are_refused_in_googles_words(contents: list[dict]) -> None:
    err = refused({"contents": contents})
    assert err.message == (
        "Please ensure that the number of function response parts is equal to the number of function call "
        "parts of the function call turn."
    )


def test_a_response_without_a_call_is_refused_in_googles_words() -> None:
    err = refused({"contents": [user({"functionResponse": {"name": "x", "response": {}}})]})
    assert (
        err.message
        == "Please ensure that function response turn comes immediately after a function call turn."
    )


@pytest.mark.parametrize(
    ("response", "content", "is_error"),
    [
        ({"output": "done"}, "done", False),
        ({"output": {"files": ["a"]}}, '{"files":["a"]}', False),
        ({"error": "no such file"}, "no such file", True),
        ({"content": [1, 2], "ok": True}, '{"content":[1,2],"ok":true}', False),
        ({"output": ""}, None, False),
    ],
)
def test_function_response_content(response: dict, content: Any, is_error: bool) -> None:
    out, _ = hub(
        tool_loop(
            [{"functionCall": {"name": "read_file", "args": {}}}],
            [{"functionResponse": {"name": "read_file", "response": response}}],
        )
    )
    result = out["messages"][2]["content"][0]
    assert result.get("content") == content
    assert result.get("is_error", False) is is_error


def test_multimodal_function_response_and_following_text() -> None:
    out, _ = hub(
        tool_loop(
            [{"functionCall": {"name": "read_file", "args": {"path": "a.png"}}}],
            [
                {"text": "and describe it"},
                {
                    "functionResponse": {
                        "name": "read_file",
                        "response": {"output": "image attached"},
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}],
                    }
                },
            ],
        )
    )
    turn = out["messages"][2]["content"]
    assert turn[0]["type"] == "tool_result"  # Claude: results first
    assert turn[0]["content"] == [
        {"type": "text", "text": "image attached"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]
    assert turn[1] == {"type": "text", "text": "and describe it"}


@pytest.mark.parametrize(
    ("config", "choice", "tool_names"),
    [
        ({"mode": "AUTO"}, {"type": "auto"}, ["get_weather", "read_file"]),
        ({"mode": "NONE"}, {"type": "none"}, ["get_weather", "read_file"]),
        ({"mode": "ANY"}, {"type": "any"}, ["get_weather", "read_file"]),
        (
            {"mode": "ANY", "allowedFunctionNames": ["read_file"]},
            {"type": "tool", "name": "read_file"},
            ["get_weather", "read_file"],
        ),
        (
            {"mode": "ANY", "allowedFunctionNames": ["read_file", "get_weather"]},
            {"type": "any"},
            ["get_weather", "read_file"],
        ),
        ({"mode": "VALIDATED", "allowedFunctionNames": ["read_file"]}, {"type": "auto"}, ["read_file"]),
    ],
)
def test_function_calling_config(config: dict, choice: dict, tool_names: list[str]) -> None:
    body = hello(
        tools=[{"functionDeclarations": [WEATHER_DECL, {"name": "read_file"}]}],
        toolConfig={"functionCallingConfig": config},
    )
    out, _ = hub(body, GPT)
    assert out["tool_choice"] == choice
    assert [t["name"] for t in out["tools"]] == tool_names


def test_structured_output() -> None:
    schema = {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}, "required": ["n"]}
    out, ctx = hub(hello(generationConfig={"responseMimeType": "application/json", "responseSchema": schema}))
    assert out["output_config"]["format"] == {
        "type": "json_schema",
        "schema": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
            "additionalProperties": False,
        },
    }
    assert ctx.json_output
    raw = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    out, _ = hub(
        hello(generationConfig={"responseMimeType": "application/json", "responseJsonSchema": raw}), GPT
    )
    assert out["output_config"]["format"] == {"type": "json_schema", "schema": raw}
    out, _ = hub(hello(generationConfig={"responseMimeType": "application/json"}))
    assert out["system"].startswith("Respond with valid JSON only")


@pytest.mark.parametrize(
    ("model_id", "config", "thinking", "effort"),
    [
        (CLAUDE, {"thinkingBudget": 0}, {"type": "disabled"}, None),
        (CLAUDE, {"thinkingBudget": 20000}, {"type": "adaptive", "display": "omitted"}, "high"),
        (
            CLAUDE,
            {"thinkingLevel": "minimal", "includeThoughts": True},
            {"type": "adaptive", "display": "summarized"},
            "low",
        ),
        (CLAUDE, {"thinkingBudget": -1}, {"type": "adaptive", "display": "omitted"}, None),
        (CLAUDE_BUDGET, {"thinkingBudget": 4096}, {"type": "enabled", "budget_tokens": 4096}, None),
        (CLAUDE_BUDGET, {"thinkingLevel": "LOW"}, {"type": "enabled", "budget_tokens": 2048}, None),
        (CLAUDE_BUDGET, {"thinkingBudget": 0}, {"type": "disabled"}, None),
        (CLAUDE_ALWAYS, {"thinkingBudget": 0}, None, None),  # cannot be turned off: model default
        (GPT, {"thinkingLevel": "LOW"}, {"type": "adaptive", "display": "omitted"}, "low"),
        (GPT, {"thinkingBudget": 0}, None, None),
        (DEEPSEEK, {"thinkingBudget": 0}, {"type": "disabled"}, None),
        (DEEPSEEK, {"thinkingBudget": 3000}, {"type": "enabled", "budget_tokens": 3000}, None),
        (DEEPSEEK, {"thinkingLevel": "HIGH"}, {"type": "adaptive", "display": "omitted"}, "high"),
    ],
)
def test_thinking_config_per_model_style(
    model_id: str, config: dict, thinking: dict | None, effort: str | None
) -> None:
    out, _ = hub(hello(generationConfig={"thinkingConfig": config}), model_id)
    assert out.get("thinking") == thinking
    assert (out.get("output_config") or {}).get("effort") == effort


def test_budget_thinking_fits_under_max_tokens_or_is_dropped() -> None:
    out, _ = hub(
        hello(generationConfig={"maxOutputTokens": 3000, "thinkingConfig": {"thinkingLevel": "HIGH"}}),
        CLAUDE_BUDGET,
    )
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2999}
    out, ctx = hub(
        hello(generationConfig={"maxOutputTokens": 900, "thinkingConfig": {"thinkingBudget": 2048}}),
        CLAUDE_BUDGET,
    )
    assert "thinking" not in out and any("1024" in w for w in ctx.warnings)


def test_claude_sampling_rules() -> None:
    thinking = {"thinkingConfig": {"thinkingBudget": -1}}
    out, _ = hub(hello(generationConfig={"temperature": 0.2, "topP": 0.5, "topK": 5, **thinking}))
    assert not {"temperature", "top_p", "top_k"} & set(out)  # Claude thinking: t = 1, top_p >= 0.95, no top_k
    out, _ = hub(hello(generationConfig={"temperature": 1.7}))
    assert out["temperature"] == 1  # Claude's range is 0-1
    out, _ = hub(hello(generationConfig={"temperature": 0.3, "topP": 0.9}))
    assert out["temperature"] == 0.3 and "top_p" not in out  # Claude takes one of the two
    out, _ = hub(hello(generationConfig={"temperature": 1.7, "topP": 0.9, "topK": 5}), GPT)
    assert (out["temperature"], out["top_p"], out["top_k"]) == (1.7, 0.9, 5)  # others keep them


def test_claude_thinking_dropped_where_claude_would_refuse_it() -> None:
    forced = hello(
        tools=[{"functionDeclarations": [WEATHER_DECL]}],
        toolConfig={"functionCallingConfig": {"mode": "ANY"}},
        generationConfig={"thinkingConfig": {"thinkingBudget": -1}},
    )
    out, ctx = hub(forced)
    assert "thinking" not in out and any("forced" in w for w in ctx.warnings)
    loop = tool_loop(
        [{"functionCall": {"name": "read_file", "args": {}}}],
        [{"functionResponse": {"name": "read_file", "response": {"output": "x"}}}],
    )
    loop["generationConfig"] = {"thinkingConfig": {"thinkingLevel": "HIGH"}}
    out, ctx = hub(loop)
    assert "thinking" not in out and "output_config" not in out


def test_safety_settings_are_kept_for_gemini_only() -> None:
    settings = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    out, ctx = hub(hello(safetySettings=settings))
    assert "safetySettings" not in json.dumps(out) and ctx.gemini_only == {"safetySettings": settings}
    upstream, _ = anthropic_request_to_gemini(out)
    assert apply_gemini_only(upstream, ctx)["safetySettings"] == settings


def test_dropped_generation_fields_are_warned_not_sent() -> None:
    out, ctx = hub(
        hello(generationConfig={"seed": 3, "presencePenalty": 0.5, "mediaResolution": "MEDIA_RESOLUTION_LOW"})
    )
    assert not {"seed", "presence_penalty"} & set(out)
    assert len([w for w in ctx.warnings if "generationConfig." in w]) == 3


# =====================================================================================
# Thinking through the client: markers out, blocks back
# =====================================================================================

TOOL_MESSAGE = CLAUDE_TOOL_ANSWER


def surface_ctx(model_id: str = CLAUDE, include_thoughts: bool = True) -> Any:
    thinking = {"thinkingConfig": {"includeThoughts": include_thoughts}}
    return hub(hello(generationConfig=thinking), model_id)[1]


def replay(parts: list[dict], model_id: str = CLAUDE, *, answer: bool = True, **gen: Any) -> dict:
    """The next request of a client that keeps the model turn's non-thought parts (as Gemini CLI)."""
    kept = [p for p in parts if not p.get("thought")]
    contents = [user({"text": "weather in Paris?"}), model(*kept)]
    if answer:
        calls = [p["functionCall"] for p in kept if "functionCall" in p]
        contents.append(
            user(
                *(
                    {"functionResponse": {"id": c["id"], "name": c["name"], "response": {"output": "sunny"}}}
                    for c in calls
                )
            )
        )
    body = {"contents": contents, "tools": [{"functionDeclarations": [WEATHER_DECL]}]}
    if gen:
        body["generationConfig"] = gen
    return hub(body, model_id)[0]


def test_claude_thinking_rides_on_the_text_and_the_first_call_and_comes_back_exactly() -> None:
    response = anthropic_response_to_gemini(TOOL_MESSAGE, surface_ctx())
    parts = response["candidates"][0]["content"]["parts"]
    assert parts[0] == {"text": "The user wants Paris weather.", "thought": True}
    assert parts[1]["text"] == "Let me check." and parts[2]["functionCall"] == {
        "id": "toolu_01",
        "name": "get_weather",
        "args": {"city": "Paris"},
    }
    assert parts[1]["thoughtSignature"] == parts[2]["thoughtSignature"]
    model_id, groups = read_hub_marker(parts[2]["thoughtSignature"])  # type: ignore[misc]
    assert model_id == CLAUDE and groups == [(0, [TOOL_MESSAGE["content"][0]])]
    out = replay(parts, thinkingConfig={"thinkingLevel": "HIGH"})
    assert out["messages"][1]["content"] == TOOL_MESSAGE["content"]  # the exact block, first
    assert (
        out["thinking"]["type"] == "adaptive"
    )  # a continuation that starts with its thinking keeps thinking


@pytest.mark.parametrize("keep", ["text", "call"])
def test_either_copy_of_the_marker_restores_the_thinking(keep: str) -> None:
    parts = anthropic_response_to_gemini(TOOL_MESSAGE, surface_ctx())["candidates"][0]["content"]["parts"]
    for p in parts:
        if ("functionCall" in p) != (keep == "call"):
            p.pop("thoughtSignature", None)
    assert replay(parts)["messages"][1]["content"][0] == TOOL_MESSAGE["content"][0]


def test_marker_for_another_model_or_provider_is_dropped() -> None:
    parts = anthropic_response_to_gemini(TOOL_MESSAGE, surface_ctx())["candidates"][0]["content"]["parts"]
    assert [b["type"] for b in replay(parts, "claude-opus-5")["messages"][1]["content"]] == [
        "text",
        "tool_use",
    ]
    assert [b["type"] for b in replay(parts, GPT)["messages"][1]["content"]] == ["text", "tool_use"]


def test_thoughts_hidden_without_include_thoughts_but_still_carried() -> None:
    parts = anthropic_response_to_gemini(TOOL_MESSAGE, surface_ctx(include_thoughts=False))["candidates"][0][
        "content"
    ]["parts"]
    assert not any(p.get("thought") for p in parts)
    assert replay(parts)["messages"][1]["content"][0]["signature"] == CLAUDE_SIG


def test_text_only_answer_and_thinking_only_answer() -> None:
    text_only = {**TOOL_MESSAGE, "content": TOOL_MESSAGE["content"][:2], "stop_reason": "end_turn"}
    parts = anthropic_response_to_gemini(text_only, surface_ctx())["candidates"][0]["content"]["parts"]
    assert "thoughtSignature" in parts[1]
    assert replay(parts, answer=False)["messages"][1]["content"] == text_only["content"]
    cut = {**TOOL_MESSAGE, "content": TOOL_MESSAGE["content"][:1], "stop_reason": "max_tokens"}
    response = anthropic_response_to_gemini(cut, surface_ctx(include_thoughts=False))
    assert response["candidates"][0]["finishReason"] == "MAX_TOKENS"
    (part,) = response["candidates"][0]["content"]["parts"]
    assert part["text"] == "" and read_hub_marker(part["thoughtSignature"])


def test_deepseek_reasoning_round_trips_to_deepseek_only() -> None:
    reasoning = {"type": "thinking", "thinking": "step by step", "signature": origin_signature("deepseek")}
    message = {**TOOL_MESSAGE, "model": DEEPSEEK, "content": [reasoning, TOOL_MESSAGE["content"][2]]}
    parts = anthropic_response_to_gemini(message, surface_ctx(DEEPSEEK))["candidates"][0]["content"]["parts"]
    out = replay(parts, DEEPSEEK)
    assert out["messages"][1]["content"][0] == reasoning
    upstream, _ = anthropic_request_to_openai(out, target="deepseek")
    assert upstream["messages"][1]["reasoning_content"] == "step by step"


def test_foreign_gemini_signatures_dropped_for_claude_kept_on_their_part_for_gemini() -> None:
    contents = [
        user({"text": "go"}),
        model(
            {"text": "summary", "thought": True, "thoughtSignature": "SIG_T"},
            {"text": "Calling.", "thoughtSignature": "SIG_X"},
            {"functionCall": {"name": "read_file", "args": {}}, "thoughtSignature": "SIG_C"},
            {"text": "", "thoughtSignature": SKIP_SIGNATURE},
        ),
        user({"functionResponse": {"name": "read_file", "response": {"output": "x"}}}),
    ]
    body = {"contents": contents, "tools": [{"functionDeclarations": [{"name": "read_file"}]}]}
    out, ctx = hub(body)
    assert [b["type"] for b in out["messages"][1]["content"]] == ["text", "tool_use"]
    assert any("thought signature" in w for w in ctx.warnings)
    out, _ = hub(body, GEMINI)
    upstream, _ = anthropic_request_to_gemini(out)
    assert upstream["contents"][1]["parts"] == [
        {"text": "summary", "thought": True, "thoughtSignature": "SIG_T"},
        {"text": "Calling.", "thoughtSignature": "SIG_X"},
        {"functionCall": {"name": "read_file", "args": {}}, "thoughtSignature": "SIG_C"},
    ]


def test_markers_are_base64_bytes_compressed_and_refuse_zip_bombs() -> None:
    """google-genai types thoughtSignature as bytes: the marker must be base64, and read back
    whichever alphabet the client re-encodes it in (the SDK sends bytes back URL-safe)."""
    block = {"type": "thinking", "thinking": "x" * 5000 + "é", "signature": "s+/="}
    message = {**TOOL_MESSAGE, "content": [block, TOOL_MESSAGE["content"][2]]}
    parts = anthropic_response_to_gemini(message, surface_ctx())["candidates"][0]["content"]["parts"]
    marker = parts[-1]["thoughtSignature"]
    raw = base64.urlsafe_b64decode(marker)
    assert len(marker) < 500 and unpack_marker_bytes(raw)["g"] == [[0, [block]]]  # type: ignore[index]
    standard = base64.b64encode(raw).decode()
    assert read_hub_marker(standard) == read_hub_marker(marker) == (CLAUDE, [(0, [block])])
    bomb = BYTES_MAGIC + zlib.compress(b'{"p":"hub","x":"' + b"a" * (MAX_MARKER_BYTES + 10) + b'"}', 9)
    assert unpack_marker_bytes(bomb) is None
    assert read_hub_marker(base64.b64encode(bomb).decode()) is None
    assert read_hub_marker("YnN4A!!!") is None and read_hub_marker("EqQBCkYI") is None


# =====================================================================================
# Responses and streams
# =====================================================================================


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "STOP"),
        ("stop_sequence", "STOP"),
        ("tool_use", "STOP"),
        ("max_tokens", "MAX_TOKENS"),
        ("model_context_window_exceeded", "MAX_TOKENS"),
        ("refusal", "SAFETY"),
        ("pause_turn", "STOP"),
        (None, "STOP"),
    ],
)
def test_finish_reasons(stop: str | None, finish: str) -> None:
    message = {"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop, "usage": {}}
    assert anthropic_response_to_gemini(message, surface_ctx())["candidates"][0]["finishReason"] == finish


def test_usage_metadata() -> None:
    assert anthropic_usage_to_gemini(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 5,
            "output_tokens": 40,
        }
    ) == {
        "promptTokenCount": 105,
        "candidatesTokenCount": 40,
        "cachedContentTokenCount": 90,
        "totalTokenCount": 145,
    }
    assert anthropic_usage_to_gemini(
        {"input_tokens": 3, "output_tokens": 40, "output_tokens_details": {"thinking_tokens": 30}}
    ) == {"promptTokenCount": 3, "candidatesTokenCount": 10, "thoughtsTokenCount": 30, "totalTokenCount": 43}


def stream(message: dict, ctx: Any, credits: int | None = None) -> list[dict]:
    s = AnthropicToGeminiStream(ctx)
    chunks: list[dict] = []
    for event, data in message_events(message):
        chunks += s.feed(event, data)
    return chunks + s.finish(credits=credits)


@pytest.mark.parametrize("include_thoughts", [True, False])
def test_stream_equals_non_stream_and_holds_its_invariants(include_thoughts: bool) -> None:
    ctx = surface_ctx(include_thoughts=include_thoughts)
    chunks = stream(TOOL_MESSAGE, ctx, credits=12)
    check_gemini_chunks(chunks)
    assert assemble_gemini_chunks(chunks) == anthropic_response_to_gemini(TOOL_MESSAGE, ctx, credits=12)
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP" and last["usageMetadata"]["credits"] == 12
    assert all(c["responseId"] == "msg_01" and c["modelVersion"] == CLAUDE for c in chunks)
    calls = [p for c in chunks for p in c["candidates"][0]["content"]["parts"] if "functionCall" in p]
    assert len(calls) == 1 and calls[0]["functionCall"]["args"] == {"city": "Paris"}  # whole, once


def test_stream_error_event_becomes_googles_error_chunk() -> None:
    s = AnthropicToGeminiStream(surface_ctx())
    s.feed(*message_events(TOOL_MESSAGE)[0])
    (chunk,) = s.feed(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    assert chunk == {"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}}
    assert json.dumps(chunk).startswith('{"error":')  # what google-genai looks for in a stream
    assert s.finish() == []


def test_cut_off_tool_arguments_are_dropped_not_sent_broken() -> None:
    ctx = surface_ctx()
    s = AnthropicToGeminiStream(ctx)
    events = message_events(TOOL_MESSAGE)
    broken = [
        (e, {**d, "delta": {**d["delta"], "partial_json": '{"city": "Par'}})
        if d.get("delta", {}).get("type") == "input_json_delta"
        else (e, d)
        for e, d in events
    ]
    chunks = [c for e, d in broken for c in s.feed(e, d)] + s.finish()
    assert not any("functionCall" in p for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert any("cut off" in w for w in ctx.warnings)


def test_server_tool_blocks_are_dropped() -> None:
    message = {
        **TOOL_MESSAGE,
        "content": [
            {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
            {"type": "text", "text": "Found it."},
        ],
        "stop_reason": "end_turn",
    }
    ctx = surface_ctx()
    assert anthropic_response_to_gemini(message, ctx)["candidates"][0]["content"]["parts"] == [
        {"text": "Found it."}
    ]
    chunks = stream(message, surface_ctx())
    check_gemini_chunks(chunks)
    assert assemble_gemini_chunks(chunks) == anthropic_response_to_gemini(message, surface_ctx())


def test_gemini_upstream_through_the_hub_gets_its_own_signatures_back() -> None:
    """A Gemini answer (signed call, signed text) through Gemini → hub → Gemini surface."""
    answer = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Thinking...", "thought": True, "thoughtSignature": "SIG_T"},
                        {"text": "Calling.", "thoughtSignature": "SIG_X"},
                        {
                            "functionCall": {"name": "read_file", "args": {"p": 1}},
                            "thoughtSignature": "SIG_C",
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 5,
            "candidatesTokenCount": 7,
            "thoughtsTokenCount": 11,
            "totalTokenCount": 23,
        },
        "responseId": "r1",
    }
    up = GeminiToAnthropicStream(model=GEMINI, message_id="r1", ctx=GeminiContext(model=GEMINI))
    events = up.feed(answer) + up.finish()
    ctx = surface_ctx(GEMINI)
    s = AnthropicToGeminiStream(ctx)
    chunks = [c for e, d in events for c in s.feed(e, d)] + s.finish()
    check_gemini_chunks(chunks)
    out = assemble_gemini_chunks(chunks)
    parts = out["candidates"][0]["content"]["parts"]
    assert parts[0] == {"text": "Thinking...", "thought": True, "thoughtSignature": "SIG_T"}
    assert parts[1]["text"] == "Calling."
    assert parts[2]["thoughtSignature"] == "SIG_C" and parts[2]["functionCall"]["args"] == {"p": 1}
    assert out["usageMetadata"] == answer["usageMetadata"]


# =====================================================================================
# Errors
# =====================================================================================


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        (Kind.INVALID_REQUEST, 400, "INVALID_ARGUMENT"),
        (Kind.AUTHENTICATION, 401, "UNAUTHENTICATED"),
        (Kind.PERMISSION, 403, "PERMISSION_DENIED"),
        (Kind.NOT_FOUND, 404, "NOT_FOUND"),
        (Kind.CONFLICT, 409, "ABORTED"),
        (Kind.TOO_LARGE, 413, "INVALID_ARGUMENT"),
        (Kind.BILLING, 402, "FAILED_PRECONDITION"),
        (Kind.RATE_LIMIT, 429, "RESOURCE_EXHAUSTED"),
        (Kind.OVERLOADED, 503, "UNAVAILABLE"),
        (Kind.UPSTREAM, 502, "UNAVAILABLE"),
        (Kind.TIMEOUT, 504, "DEADLINE_EXCEEDED"),
        (Kind.API, 500, "INTERNAL"),
    ],
)
def test_every_error_kind_in_googles_shape(kind: Kind, code: int, status: str) -> None:
    err = GatewayError(kind, "something")
    assert gemini_status(err) == code
    assert gemini_body(err) == {"error": {"code": code, "message": "something", "status": status}}


def test_error_details_retry_param_override_and_redaction() -> None:
    err = GatewayError(Kind.RATE_LIMIT, "slow down, key sk-bs-abcdefghijklmnopqrstuvwxyz", retry_after="34")
    body = gemini_body(err)["error"]
    assert "sk-bs-" not in body["message"]
    assert body["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]
    bad = gemini_body(GatewayError(Kind.INVALID_REQUEST, "bad role", param="contents[0].role"))["error"]
    assert bad["details"][0]["fieldViolations"] == [{"field": "contents[0].role", "description": "bad role"}]
    kept = GatewayError(Kind.INVALID_REQUEST, "Upstream: not found", status=404)
    assert gemini_status(kept) == 404 and gemini_body(kept)["error"]["status"] == "NOT_FOUND"


# =====================================================================================
# Models, countTokens, embeddings
# =====================================================================================


def test_models_from_the_catalog() -> None:
    claude = gemini_model(catalog().model(CLAUDE), extras={"thinking": "adaptive"})  # type: ignore[arg-type]
    m = catalog().model(CLAUDE)
    assert claude == {
        "name": f"models/{CLAUDE}",
        "displayName": m.display_name,  # type: ignore[union-attr]
        "description": f"{m.display_name}, served by ByteSpike (anthropic).",  # type: ignore[union-attr]
        "inputTokenLimit": m.input_limit,  # type: ignore[union-attr]
        "outputTokenLimit": m.max_output_tokens,  # type: ignore[union-attr]
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        "temperature": 1.0,
        "maxTemperature": 1.0,
        "thinking": True,
        "bytespike": {"thinking": "adaptive"},
    }
    embed = gemini_model(catalog().model("gemini-embedding-001"))  # type: ignore[arg-type]
    assert embed is not None and embed["supportedGenerationMethods"] == [
        "embedContent",
        "batchEmbedContents",
        "countTokens",
    ]
    assert gemini_model(catalog().model("gpt-image-1")) is None  # type: ignore[arg-type]


def test_models_pages() -> None:
    models = list(catalog().models.values())
    served = [m for m in models if m.modality in ("chat", "embeddings")]
    first = gemini_models_page(models, page_size="3")
    assert [x["name"] for x in first["models"]] == [f"models/{m.id}" for m in served[:3]]
    names = [x["name"] for x in first["models"]]
    token = first["nextPageToken"]
    while token:
        page = gemini_models_page(models, page_size=3, page_token=token)
        names += [x["name"] for x in page["models"]]
        token = page.get("nextPageToken")
    assert names == [f"models/{m.id}" for m in served]
    assert len(gemini_models_page(models)["models"]) == len(served)  # default 50 holds them all
    with pytest.raises(TranslationError):
        gemini_models_page(models, page_token="bm90LWEtbW9kZWw")
    with pytest.raises(TranslationError):
        gemini_models_page(models, page_size="many")


def test_count_tokens_request_both_forms() -> None:
    contents = [user({"text": "hi"}), model({"functionCall": {"name": "f", "args": {}}})]
    plain = gemini_count_request_to_anthropic({"contents": contents}, CLAUDE)
    wrapped = gemini_count_request_to_anthropic(
        {
            "generateContentRequest": {
                "model": f"models/{CLAUDE}",
                "contents": contents,
                "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "f"}]}],
                "generationConfig": {"candidateCount": 4},
            }
        },
        CLAUDE,
    )
    assert plain["messages"] == wrapped["messages"] and set(plain) == {"model", "messages"}
    assert [t["name"] for t in wrapped["tools"]] == ["f"]  # built-in tools are not counted, not refused
    assert anthropic_count_to_gemini({"input_tokens": 31}) == {
        "totalTokens": 31,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}],
    }


def test_count_tokens_is_lenient_about_unpaired_responses() -> None:
    out = gemini_count_request_to_anthropic(
        {"contents": [user({"functionResponse": {"name": "f", "response": {"output": "x"}}})]}, CLAUDE
    )
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "f: x"}]}]


def test_embed_requests() -> None:
    single, extras = gemini_embed_request_to_openai(
        {
            "content": {"parts": [{"text": "a"}, {"text": "b"}]},
            "taskType": "RETRIEVAL_QUERY",
            "outputDimensionality": 256,
        },
        "models/text-embedding-3-small",
        batch=False,
    )
    assert single == {
        "model": "text-embedding-3-small",
        "input": ["a\nb"],
        "encoding_format": "float",
        "dimensions": 256,
    }
    assert extras == [{"taskType": "RETRIEVAL_QUERY"}]
    batch, _ = gemini_embed_request_to_openai(
        {"requests": [{"model": "models/e", "content": {"parts": [{"text": t}]}} for t in "xyz"]},
        "e",
        batch=True,
    )
    assert batch["input"] == ["x", "y", "z"] and "dimensions" not in batch
    for body in (
        {"requests": [{"model": "models/other", "content": {"parts": [{"text": "x"}]}}]},
        {"requests": [{"content": {"parts": [{"text": "x"}]}, "outputDimensionality": d} for d in (64, 128)]},
        {"requests": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}]}}]},
        {"requests": []},
    ):
        with pytest.raises(TranslationError):
            gemini_embed_request_to_openai(body, "e", batch=True)


def test_embed_responses() -> None:
    packed = base64.b64encode(struct.pack("<2f", 0.5, -1.0)).decode()
    response = {
        "data": [{"index": 1, "embedding": packed}, {"index": 0, "embedding": [0.25, 0.75]}],
        "usage": {"prompt_tokens": 4, "total_tokens": 4, "credits": 2},
    }
    assert openai_embeddings_to_gemini(response, batch=True) == {
        "embeddings": [{"values": [0.25, 0.75]}, {"values": [0.5, -1.0]}],
        "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4, "credits": 2},
    }
    one = openai_embeddings_to_gemini({"data": [{"index": 0, "embedding": [1.0]}]}, batch=False, credits=1)
    assert one == {
        "embedding": {"values": [1.0]},
        "usageMetadata": {"promptTokenCount": 0, "totalTokenCount": 0, "credits": 1},
    }


def test_hub_target_follows_the_catalog() -> None:
    assert gemini_request_to_anthropic(hello(), f"models/{CLAUDE}")[0]["model"] == CLAUDE
    assert gemini_request_to_anthropic(hello(), CLAUDE)[1].target == HubTarget.of(catalog().model(CLAUDE))  # type: ignore[arg-type]
    assert HubTarget.of(catalog().model(DEEPSEEK)).thinking == "switch"  # type: ignore[arg-type]
    assert read_gemini_signature(origin_signature("deepseek")) is None


def test_switching_to_a_gemini_model_strips_our_markers_for_the_pass_through() -> None:
    """Claude answered, the user switched the chat to a Gemini model: the pass-through request
    must not carry our markers (Gemini would refuse them as corrupted signatures)."""
    parts = anthropic_response_to_gemini(TOOL_MESSAGE, surface_ctx())["candidates"][0]["content"]["parts"]
    kept = [p for p in parts if not p.get("thought")]
    body = {
        "contents": [
            user({"text": "weather?"}),
            model(*kept),
            user(
                {
                    "functionResponse": {
                        "id": "toolu_01",
                        "name": "get_weather",
                        "response": {"output": "sunny"},
                    }
                }
            ),
        ]
    }
    stripped, removed = strip_hub_markers(body)
    assert removed == 2
    assert stripped["contents"][1]["parts"] == [
        {"text": "Let me check."},
        {"functionCall": kept[1]["functionCall"], "thoughtSignature": SKIP_SIGNATURE},
    ]
    assert stripped["contents"][0] is body["contents"][0]
    untouched = {"contents": [model({"text": "x", "thoughtSignature": "REAL"})]}
    assert strip_hub_markers(untouched) == (untouched, 0)
    assert strip_hub_markers(untouched)[0] is untouched  # pass-through stays the same object
    cut = anthropic_response_to_gemini(
        {**TOOL_MESSAGE, "content": TOOL_MESSAGE["content"][:1], "stop_reason": "max_tokens"}, surface_ctx()
    )["candidates"][0]["content"]["parts"]
    only_marker = {"contents": [model(*[p for p in cut if not p.get("thought")])]}
    assert strip_hub_markers(only_marker) == ({"contents": []}, 1)  # an empty turn goes
