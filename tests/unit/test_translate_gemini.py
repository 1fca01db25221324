"""Anthropic ↔ Gemini translation: requests, responses, streams, usage and thoughtSignature fidelity.

Recorded-format fixtures (from Google's documented shapes) live in tests/fixtures/gemini/.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bytespike.errors import Kind
from bytespike.translate import (
    SKIP_SIGNATURE,
    AnthropicToOpenAIStream,
    GeminiContext,
    GeminiToAnthropicStream,
    TranslationError,
    anthropic_request_to_gemini,
    assemble_anthropic_events,
    check_anthropic_events,
    check_openai_chunks,
    clean_schema_for_gemini,
    gemini_error_kind,
    gemini_finish_to_anthropic,
    gemini_path,
    gemini_response_to_anthropic,
    gemini_usage_to_anthropic,
    signature_origin,
    strip_foreign_thinking,
)
from bytespike.translate.gemini import read_gemini_signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gemini"
MODEL = "gemini-3.8-flash"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8).decode()
WEATHER = {
    "name": "get_current_temperature",
    "description": "Current temperature",
    "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"location": {"type": "string", "default": "Paris"}},
        "required": ["location"],
        "additionalProperties": False,
    },
}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def sse_chunks(name: str) -> list[dict]:
    """Parse a recorded ``alt=sse`` stream (CRLF framing, comment lines) into chunk dicts."""
    text = (FIXTURES / name).read_bytes().decode().replace("\r\n", "\n")
    chunks = []
    for frame in text.split("\n\n"):
        data = [line[6:] for line in frame.split("\n") if line.startswith("data: ")]
        if data:
            chunks.append(json.loads("\n".join(data)))
    return chunks


def base_request(**extra: Any) -> dict:
    req = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]}
    req.update(extra)
    return req


def run_stream(chunks: list[dict], ctx: GeminiContext, message_id: str = "msg_test") -> list[tuple[str, dict]]:
    stream = GeminiToAnthropicStream(model=MODEL, message_id=message_id, ctx=ctx, input_tokens_hint=7)
    events: list[tuple[str, dict]] = []
    for chunk in chunks:
        events.extend(stream.feed(chunk))
    events.extend(stream.finish())
    check_anthropic_events(events, allow_empty_thinking=True)
    return events


def replay(message_content: list[dict], *, style: str = "level", extra_user: list[dict] | None = None) -> dict:
    """Send the assistant turn back (with tool results for its calls) and return the model content."""
    results = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "15C"}
        for b in message_content
        if b["type"] == "tool_use"
    ]
    messages = [
        {"role": "user", "content": "Check the weather in Paris and London."},
        {"role": "assistant", "content": message_content},
    ]
    if results or extra_user:
        messages.append({"role": "user", "content": results + (extra_user or [])})
    body, _ = anthropic_request_to_gemini(
        {"model": MODEL, "max_tokens": 100, "messages": messages, "tools": [WEATHER]}, thinking_style=style
    )
    model_turns = [c for c in body["contents"] if c["role"] == "model"]
    assert len(model_turns) == 1
    return model_turns[0]


# ----------------------------------------------------------------------------- requests


def test_system_contents_and_generation_config() -> None:
    body, ctx = anthropic_request_to_gemini(
        base_request(
            system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be kind."}],
            stop_sequences=["END"],
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            metadata={"user_id": "u1"},
            stream=True,
        )
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert body["generationConfig"] == {
        "maxOutputTokens": 1024,
        "stopSequences": ["END"],
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
    }
    assert "model" not in body and ctx.model == MODEL and ctx.stream
    assert any("cache_control" in w for w in ctx.warnings)  # dropped, and said so
    assert gemini_path(MODEL, stream=True) == f"/models/{MODEL}:streamGenerateContent?alt=sse"
    assert gemini_path(MODEL, stream=False) == f"/models/{MODEL}:generateContent"


def test_images_documents_and_urls() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.JPG?x=1"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/render"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}},
        {"type": "text", "text": "describe"},
    ]
    body, _ = anthropic_request_to_gemini(base_request(messages=[{"role": "user", "content": content}]))
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {"fileData": {"fileUri": "https://example.com/cat.JPG?x=1", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "https://example.com/render"}},  # mimeType unknown: Gemini sniffs it
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        {"fileData": {"fileUri": "https://example.com/paper", "mimeType": "application/pdf"}},
        {"text": "plain words"},
        {"text": "describe"},
    ]


@pytest.mark.parametrize(
    ("block", "param"),
    [
        ({"type": "image", "source": {"type": "url", "url": "http://insecure.example/cat.png"}}, "messages[0].content[0].source.url"),
        ({"type": "image", "source": {"type": "url", "url": "ftp://files.example/cat.png"}}, "messages[0].content[0].source.url"),
        ({"type": "image", "source": {"type": "file", "file_id": "file_abc"}}, "messages[0].content[0]"),
        ({"type": "web_search_tool_result", "content": []}, "messages[0].content[0]"),
    ],
)
def test_rejects_what_gemini_cannot_fetch_or_read(block: dict, param: str) -> None:
    with pytest.raises(TranslationError) as err:
        anthropic_request_to_gemini(base_request(messages=[{"role": "user", "content": [block]}]))
    assert err.value.param == param


def test_rejections_and_limits() -> None:
    with pytest.raises(TranslationError, match="at most 5"):
        anthropic_request_to_gemini(base_request(stop_sequences=list("abcdef")))
    with pytest.raises(TranslationError, match="server tool"):
        anthropic_request_to_gemini(base_request(tools=[{"type": "web_search_20250305", "name": "web_search"}]))
    with pytest.raises(TranslationError, match="mcp_servers"):
        anthropic_request_to_gemini(base_request(mcp_servers=[{"url": "https://x"}]))
    with pytest.raises(TranslationError, match="max_tokens"):
        anthropic_request_to_gemini(base_request(max_tokens=0))
    with pytest.raises(TranslationError, match="requires tools"):
        anthropic_request_to_gemini(base_request(tool_choice={"type": "any"}))
    with pytest.raises(TranslationError) as err:
        anthropic_request_to_gemini(base_request(model=""))
    assert err.value.param == "model"
    with pytest.raises(ValueError):
        anthropic_request_to_gemini(base_request(), thinking_style="bogus")


def test_tools_schema_cleaning_and_tool_choice() -> None:
    tools = [
        WEATHER,
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
        {"name": "bad.name/with spaces", "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    ]
    cases = {
        "auto": {"mode": "AUTO"},
        "any": {"mode": "ANY"},
        "none": {"mode": "NONE"},
    }
    for ctype, expected in cases.items():
        body, _ = anthropic_request_to_gemini(base_request(tools=tools, tool_choice={"type": ctype}))
        assert body["toolConfig"] == {"functionCallingConfig": expected}
    body, ctx = anthropic_request_to_gemini(
        base_request(
            tools=tools, tool_choice={"type": "tool", "name": "bad.name/with spaces", "disable_parallel_tool_use": True}
        )
    )
    decls = body["tools"][0]["functionDeclarations"]
    upstream_bad = ctx.names.upstream_name("bad.name/with spaces")
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [upstream_bad]}}
    assert decls[0] == {
        "name": "get_current_temperature",
        "description": "Current temperature",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    }
    assert decls[1] == {"name": "ping"}  # no parameters: Gemini rejects an OBJECT with empty properties
    assert decls[2]["name"] == upstream_bad and ctx.names.client_name(upstream_bad) == "bad.name/with spaces"
    assert any("disable_parallel_tool_use" in w for w in ctx.warnings)


def test_clean_schema_for_gemini_rewrites_what_gemini_rejects() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number", "format": "double"}}}},
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "when": {"type": "string", "format": "date-time", "default": "now"},
            "email": {"type": "string", "format": "email"},
            "count": {"type": ["integer", "null"], "format": "int64", "exclusiveMinimum": 0},
            "mode": {"const": "fast"},
            "level": {"enum": [1, 2, 3], "type": "integer"},
            "where": {"$ref": "#/$defs/Point"},
            "tags": {"type": "array", "items": {"type": "string", "examples": ["a"]}},
            "either": {"oneOf": [{"type": "string"}, {"type": "null"}]},
            "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                               {"properties": {"b": {"type": "string"}}}]},
            "free": {"type": "object", "properties": {}},
            "tree": {"$ref": "#"},
        },
        "required": ["when", "ghost"],
    }
    cleaned = clean_schema_for_gemini(schema)
    props = cleaned["properties"]
    assert "additionalProperties" not in cleaned and "$schema" not in cleaned and "$defs" not in cleaned
    assert cleaned["required"] == ["when"]  # names that are not properties are dropped
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["email"] == {"type": "string"}  # unsupported string format dropped
    assert props["count"] == {"type": "integer", "format": "int64", "nullable": True}
    assert props["mode"] == {"enum": ["fast"], "type": "string"}
    assert props["level"] == {"type": "integer"}  # Gemini enums are strings only
    assert props["where"] == {"type": "object", "properties": {"x": {"type": "number", "format": "double"}}}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["either"] == {"type": "string", "nullable": True}
    assert props["both"]["properties"] == {"a": {"type": "string"}, "b": {"type": "string"}}
    assert props["free"] == {"type": "object"}
    assert props["tree"]["type"] == "object"  # recursion cut, no infinite loop

    def keys(s: Any) -> set[str]:
        out: set[str] = set()
        if isinstance(s, dict):
            out |= set(s)
            for k, v in s.items():
                if k == "properties":
                    for sub in v.values():
                        out |= keys(sub)
                elif k in ("items",):
                    out |= keys(v)
                elif k == "anyOf":
                    for sub in v:
                        out |= keys(sub)
        return out

    assert keys(cleaned) <= {
        "type", "format", "title", "description", "nullable", "enum", "properties", "required", "items", "anyOf",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("thinking", "effort", "style", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 2000}, None, "level", {"includeThoughts": True, "thinkingLevel": "low"}),
        ({"type": "enabled", "budget_tokens": 20000}, None, "level", {"includeThoughts": True, "thinkingLevel": "high"}),
        ({"type": "adaptive"}, "medium", "level", {"includeThoughts": True, "thinkingLevel": "medium"}),
        ({"type": "adaptive"}, "max", "level", {"includeThoughts": True, "thinkingLevel": "high"}),
        ({"type": "adaptive"}, None, "level", {"includeThoughts": True}),
        ({"type": "adaptive", "display": "omitted"}, "low", "level", {"thinkingLevel": "low"}),
        ({"type": "enabled", "budget_tokens": 3000}, None, "budget", {"includeThoughts": True, "thinkingBudget": 3000}),
        ({"type": "adaptive"}, None, "budget", {"includeThoughts": True, "thinkingBudget": -1}),
        ({"type": "disabled"}, None, "budget", {"thinkingBudget": 0}),
        ({"type": "disabled"}, None, "level", None),
        (None, "high", "level", {"thinkingLevel": "high"}),
        (None, None, "level", None),
    ],
)
def test_thinking_config(thinking: dict | None, effort: str | None, style: str, expected: dict | None) -> None:
    extra: dict[str, Any] = {}
    if thinking is not None:
        extra["thinking"] = thinking
    if effort is not None:
        extra["output_config"] = {"effort": effort}
    body, ctx = anthropic_request_to_gemini(base_request(**extra), thinking_style=style)
    assert body.get("generationConfig", {}).get("thinkingConfig") == expected
    assert ctx.include_thoughts == bool(expected and expected.get("includeThoughts"))


def test_structured_output() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    body, _ = anthropic_request_to_gemini(
        base_request(output_config={"format": {"type": "json_schema", "schema": schema}})
    )
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert body["generationConfig"]["responseJsonSchema"] == schema  # full JSON Schema is accepted here


def test_tool_use_and_results_with_names_ids_errors_and_media() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_current_temperature", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "gmc_abcdef123456_1", "name": "get_current_temperature", "input": {"location": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [
                    {"type": "text", "text": "15C"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                ]},
                {"type": "tool_result", "tool_use_id": "gmc_abcdef123456_1", "content": "station down", "is_error": True},
                {"type": "text", "text": "and then?"},
            ],
        },
    ]
    body, _ = anthropic_request_to_gemini(base_request(messages=messages, tools=[WEATHER]), thinking_style="budget")
    model, user = body["contents"][1], body["contents"][2]
    assert model == {
        "role": "model",
        "parts": [
            {"text": "Calling."},
            {"functionCall": {"name": "get_current_temperature", "args": {"location": "Paris"}, "id": "toolu_01A"}},
            # a synthesized id (Gemini sent none) is not sent back: Gemini never saw it
            {"functionCall": {"name": "get_current_temperature", "args": {"location": "Rome"}}},
        ],
    }
    assert user["parts"] == [
        {"functionResponse": {"name": "get_current_temperature", "response": {"output": "15C"}, "id": "toolu_01A",
                              "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}]}},
        {"functionResponse": {"name": "get_current_temperature", "response": {"error": "station down"}}},
        {"text": "and then?"},
    ]  # fmt: skip


def test_tool_result_for_unknown_tool_use_is_the_clients_mistake() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_missing", "content": "x"}]},
    ]
    with pytest.raises(TranslationError) as err:
        anthropic_request_to_gemini(base_request(messages=messages))
    assert err.value.param == "messages[2].content[0].tool_use_id"


def test_consecutive_roles_merge_and_foreign_thinking_is_dropped() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "claude thoughts", "signature": "EqQBCkYIAxgC"}]},
        {"role": "user", "content": "b"},
    ]
    body, _ = anthropic_request_to_gemini(base_request(messages=messages))
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


# ----------------------------------------------------------------------------- signatures


def test_parallel_calls_signature_returns_on_exactly_the_first_call() -> None:
    resp = fixture("generate_content_parallel_calls.json")
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    types = [b["type"] for b in msg["content"]]
    assert types == ["thinking", "tool_use", "tool_use"]  # the signature rides on the summary block
    thinking = msg["content"][0]
    assert thinking["thinking"].startswith("**Checking two cities**")
    assert signature_origin(thinking["signature"]) == "gemini"
    model, pairs = read_gemini_signature(thinking["signature"])  # type: ignore[misc]
    assert model == MODEL and pairs == [(f"c:{msg['content'][1]['id']}", resp["candidates"][0]["content"]["parts"][1]["thoughtSignature"])]
    replayed = replay(msg["content"])
    original = resp["candidates"][0]["content"]["parts"]
    calls = [p for p in replayed["parts"] if "functionCall" in p]
    assert calls[0]["thoughtSignature"] == original[1]["thoughtSignature"]
    assert "thoughtSignature" not in calls[1]  # never moved or copied onto the second call
    assert [c["functionCall"]["args"] for c in calls] == [{"location": "Paris"}, {"location": "London"}]
    assert not any(p.get("thought") for p in replayed["parts"])  # unsigned thought text is not replayed


def test_sequential_call_without_summary_uses_a_signature_only_block_and_keeps_gemini_ids() -> None:
    resp = fixture("generate_content_sequential_call.json")
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    assert [b["type"] for b in msg["content"]] == ["thinking", "tool_use"]
    assert msg["content"][0]["thinking"] == ""  # Claude's display:"omitted" shape
    assert msg["content"][1]["id"] == "fc-7d1c2a"
    assert msg["stop_reason"] == "tool_use"
    replayed = replay(msg["content"])
    part = replayed["parts"][0]
    assert part["functionCall"]["id"] == "fc-7d1c2a"
    assert part["thoughtSignature"] == resp["candidates"][0]["content"]["parts"][0]["thoughtSignature"]


def test_trailing_text_signature_never_ends_the_message_on_an_empty_block() -> None:
    """Issue #16 finding 2: Claude Code shows the last block; a message that ended on a
    signature-only thinking block after the text printed nothing. Gemini validates only
    function-call signatures, so the final text's signature is dropped, stream and non-stream alike."""
    resp = fixture("generate_content_text.json")
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    assert [b["type"] for b in msg["content"]] == ["text"]
    assert replay(msg["content"])["parts"] == [{"text": "1+1 equals 2."}]

    chunks = sse_chunks("stream_text_thoughts.sse")
    _, ctx = anthropic_request_to_gemini(base_request())
    events = run_stream(chunks, ctx)
    message = assemble_anthropic_events(events)
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == "**Weighing the request**\n\nSimple question; answer briefly."
    assert message["content"][1]["text"] == "Occam's razor favours the simplest explanation."
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    assert "thinking_delta" in deltas and "text_delta" in deltas  # litellm #25561: real deltas, not whole blocks
    assert replay(message["content"])["parts"] == [{"text": "Occam's razor favours the simplest explanation."}]


def test_text_signature_before_a_function_call_rides_on_the_call_signature_block() -> None:
    """A signed text followed by a call: the text's signature is kept, on the block before the call."""
    text_sig, call_sig = "c2lnLXRleHQ=", "c2lnLWNhbGw="
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me look."}]}, "index": 0}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "", "thoughtSignature": text_sig}]},
                         "index": 0}]},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": call_sig}]},
            "finishReason": "STOP", "index": 0}], "responseId": "r1"},
    ]
    _, ctx = anthropic_request_to_gemini(base_request())
    message = assemble_anthropic_events(run_stream(chunks, ctx))
    assert [b["type"] for b in message["content"]] == ["text", "thinking", "tool_use"]
    parts = replay(message["content"])["parts"]
    assert parts[0] == {"text": "Let me look.", "thoughtSignature": text_sig}
    assert parts[-1]["functionCall"]["name"] == "get_weather" and parts[-1]["thoughtSignature"] == call_sig


def test_stream_and_non_stream_give_the_same_ids_and_replay() -> None:
    resp = fixture("generate_content_parallel_calls.json")
    _, ctx = anthropic_request_to_gemini(base_request())
    whole = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    parts = resp["candidates"][0]["content"]["parts"]
    chunks = []
    for k, part in enumerate(parts):
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
                 "responseId": resp["responseId"], "usageMetadata": {"promptTokenCount": 2148}}
        if k == len(parts) - 1:
            chunk["candidates"][0]["finishReason"] = "STOP"
            chunk["usageMetadata"] = resp["usageMetadata"]
        chunks.append(chunk)
    _, ctx2 = anthropic_request_to_gemini(base_request())
    streamed = assemble_anthropic_events(run_stream(chunks, ctx2, message_id="msg_other"))
    assert [b.get("id") for b in streamed["content"]] == [b.get("id") for b in whole["content"]]
    assert streamed["content"] == whole["content"]
    assert replay(streamed["content"]) == replay(whole["content"])
    ids = [b["id"] for b in whole["content"] if b["type"] == "tool_use"]
    assert len(set(ids)) == 2 and all(i.startswith("gmc_") and i.replace("_", "").isalnum() for i in ids)


def test_stream_fixture_parallel_calls() -> None:
    _, ctx = anthropic_request_to_gemini(base_request())
    events = run_stream(sse_chunks("stream_parallel_calls.sse"), ctx)
    message = assemble_anthropic_events(events)
    assert [b["type"] for b in message["content"]] == ["thinking", "tool_use", "tool_use"]
    assert message["stop_reason"] == "tool_use"
    jsons = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert [json.loads(j) for j in jsons] == [{"location": "Paris"}, {"location": "London"}]  # one delta per call
    assert message["usage"]["input_tokens"] == 96 and message["usage"]["output_tokens"] == 30 + 85


def test_sentinel_only_where_gemini_validates() -> None:
    # History from another provider: tool calls without Gemini signatures.
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_old", "name": "get_current_temperature", "input": {"location": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_old", "content": "1C"}]},
        {"role": "assistant", "content": "Oslo is cold."},
        {"role": "user", "content": "now two cities"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "claude reasoning", "signature": "EqQBCkYIAxgC"},
            {"type": "tool_use", "id": "toolu_a", "name": "get_current_temperature", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_current_temperature", "input": {"location": "Rome"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "15C"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "20C"},
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_c", "name": "get_current_temperature", "input": {"location": "Bern"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_c", "content": "5C"}]},
    ]  # fmt: skip
    body, ctx = anthropic_request_to_gemini(base_request(messages=messages, tools=[WEATHER]))
    model_turns = [c for c in body["contents"] if c["role"] == "model"]
    sigs = [[p.get("thoughtSignature") for p in c["parts"]] for c in model_turns]
    assert sigs[0] == [None]  # an earlier turn: Gemini does not validate it
    assert sigs[1] == [None]  # text only
    assert sigs[2] == [SKIP_SIGNATURE, None]  # current turn, step 1: first call only
    assert sigs[3] == [SKIP_SIGNATURE]  # current turn, step 2
    assert ctx.sentinels == 2 and any("sentinel" in w for w in ctx.warnings)
    body, ctx = anthropic_request_to_gemini(base_request(messages=messages, tools=[WEATHER]), thinking_style="budget")
    assert ctx.sentinels == 0  # Gemini 2.5 does not validate


def test_signatures_are_bound_to_the_model() -> None:
    resp = fixture("generate_content_sequential_call.json")
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    messages = [
        {"role": "user", "content": "taxi please"},
        {"role": "assistant", "content": msg["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "fc-7d1c2a", "content": "booked"}]},
    ]
    body, ctx = anthropic_request_to_gemini({"model": "gemini-3.1-pro-preview", "max_tokens": 10, "messages": messages})
    part = body["contents"][1]["parts"][0]
    assert part["thoughtSignature"] == SKIP_SIGNATURE  # another model's signature is never replayed
    assert any("another Gemini model" in w for w in ctx.warnings)
    # ...and Claude never sees Gemini's marked thinking (assertion 6)
    stripped = strip_foreign_thinking({"model": "claude", "messages": messages})
    assert all(b["type"] != "thinking" for b in stripped["messages"][1]["content"])


def test_thought_part_signature_and_empty_part_signature() -> None:
    resp = {
        "responseId": "r1",
        "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "pondering", "thought": True},
            {"text": "", "thought": True, "thoughtSignature": "SIG_THOUGHT"},
            {"functionCall": {"name": "get_current_temperature", "args": {"location": "Paris"}}},
            {"text": "", "thoughtSignature": "SIG_EMPTY"},
        ]}}],
    }  # fmt: skip
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    # The trailing empty part's signature would need a block after the answer: dropped (issue #16).
    assert [b["type"] for b in msg["content"]] == ["thinking", "tool_use"]
    replayed = replay(msg["content"], style="budget")
    assert replayed["parts"] == [
        {"text": "pondering", "thought": True, "thoughtSignature": "SIG_THOUGHT"},
        {"functionCall": {"name": "get_current_temperature", "args": {"location": "Paris"}}},
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_text_signature_carried_on_the_summary_is_not_overwritten_by_a_later_empty_part(stream: bool) -> None:
    # Hypothesis regression: a signed text part right after a thought run (its signature rides
    # on the summary block as x:0), an unsigned text part merged into the same text block, then
    # an empty part with its own signature. That one used to become x:0 too and overwrite TX.
    resp = {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "A", "thought": True},
            {"text": "A", "thoughtSignature": "TX00000"},
            {"text": "A"},
            {"text": "", "thoughtSignature": "EM10000"},
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 0, "candidatesTokenCount": 0, "thoughtsTokenCount": 0},
        "responseId": "0000",
    }  # fmt: skip
    _, ctx = anthropic_request_to_gemini(base_request())
    if stream:
        chunks = [{**resp, "candidates": [{**resp["candidates"][0], "content": {"role": "model", "parts": [part]}}]}
                  for part in resp["candidates"][0]["content"]["parts"]]  # fmt: skip
        for chunk in chunks[:-1]:
            del chunk["candidates"][0]["finishReason"]
        msg = assemble_anthropic_events(run_stream(chunks, ctx))
    else:
        msg = gemini_response_to_anthropic(resp, model=MODEL, ctx=ctx)
    # EM10000 is a trailing text signature: dropped rather than put on a block after the answer.
    assert [b["type"] for b in msg["content"]] == ["thinking", "text"]
    assert msg["content"][1]["text"] == "AA"
    replayed = replay(msg["content"], style="budget")
    assert replayed["parts"] == [{"text": "AA", "thoughtSignature": "TX00000"}]


# ----------------------------------------------------------------------------- responses


def test_usage_mapping() -> None:
    usage = fixture("generate_content_parallel_calls.json")["usageMetadata"]
    assert gemini_usage_to_anthropic(usage) == {
        "input_tokens": 2148 - 2048,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2048,
        "output_tokens": 34 + 119,  # thoughts are billed as output
        "output_tokens_details": {"thinking_tokens": 119},
    }
    assert gemini_usage_to_anthropic({"promptTokenCount": 10, "toolUsePromptTokenCount": 5, "candidatesTokenCount": 3}) == {
        "input_tokens": 15,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 3,
    }
    assert gemini_usage_to_anthropic(None)["input_tokens"] == 0


@pytest.mark.parametrize(
    ("name", "stop"),
    [
        ("generate_content_safety.json", "refusal"),
        ("generate_content_prompt_blocked.json", "refusal"),
        ("generate_content_max_tokens.json", "max_tokens"),
        ("generate_content_text.json", "end_turn"),
    ],
)
def test_finish_reasons_from_fixtures(name: str, stop: str) -> None:
    _, ctx = anthropic_request_to_gemini(base_request())
    msg = gemini_response_to_anthropic(fixture(name), model=MODEL, ctx=ctx)
    assert msg["stop_reason"] == stop
    assert msg["type"] == "message" and msg["role"] == "assistant" and msg["model"] == MODEL


def test_finish_reason_table() -> None:
    for reason in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_OTHER"):
        assert gemini_finish_to_anthropic(reason, False) == "refusal"
    assert gemini_finish_to_anthropic("MAX_TOKENS", False) == "max_tokens"
    assert gemini_finish_to_anthropic("MAX_TOKENS", True) == "tool_use"
    assert gemini_finish_to_anthropic("STOP", True) == "tool_use"
    for reason in ("STOP", "MALFORMED_FUNCTION_CALL", "OTHER", None):
        assert gemini_finish_to_anthropic(reason, False) == "end_turn"


def test_malformed_function_call_is_end_turn_with_a_warning() -> None:
    _, ctx = anthropic_request_to_gemini(base_request())
    stream = GeminiToAnthropicStream(model=MODEL, message_id="m", ctx=ctx)
    events = stream.feed({"candidates": [{"index": 0, "finishReason": "MALFORMED_FUNCTION_CALL"}]}) + stream.finish()
    check_anthropic_events(events)
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert stream.finish_reason == "MALFORMED_FUNCTION_CALL"
    assert any("MALFORMED_FUNCTION_CALL" in w for w in stream.warnings)


def test_unknown_parts_are_dropped_with_a_warning_and_message_start_carries_usage() -> None:
    _, ctx = anthropic_request_to_gemini(base_request())
    stream = GeminiToAnthropicStream(model=MODEL, message_id="m", ctx=ctx, input_tokens_hint=99)
    events = stream.feed({
        "usageMetadata": {"promptTokenCount": 40, "cachedContentTokenCount": 30},
        "candidates": [{"index": 0, "content": {"parts": [
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}}, {"text": "done"}]}}],
    }) + stream.finish()  # fmt: skip
    check_anthropic_events(events)
    start = events[0][1]["message"]["usage"]
    assert start["input_tokens"] == 10 and start["cache_read_input_tokens"] == 30  # litellm #24176/#31069
    assert any("executableCode" in w for w in stream.warnings)
    assert stream.usage_reported


def test_openai_surface_chain_over_gemini_stream() -> None:
    _, ctx = anthropic_request_to_gemini(base_request())
    a2o = AnthropicToOpenAIStream(model=MODEL, completion_id="chatcmpl-x", created=1, include_usage=True, names=ctx.names)
    chunks: list[dict] = []
    for name, data in run_stream(sse_chunks("stream_parallel_calls.sse"), ctx):
        chunks.extend(a2o.feed(name, data))
    chunks.extend(a2o.finish())
    check_openai_chunks(chunks, include_usage=True)
    assert chunks[-1]["usage"]["prompt_tokens"] == 96


def test_gemini_error_kind() -> None:
    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    assert gemini_error_kind(429, body) is Kind.RATE_LIMIT
    assert gemini_error_kind(400, {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}) is Kind.INVALID_REQUEST
    assert gemini_error_kind(503, b'{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}') is Kind.OVERLOADED
    assert gemini_error_kind(504, {"error": {"status": "DEADLINE_EXCEEDED"}}) is Kind.TIMEOUT
    assert gemini_error_kind(403, {"error": {"status": "PERMISSION_DENIED"}}) is Kind.UPSTREAM
    assert gemini_error_kind(400, {"error": {"status": "FAILED_PRECONDITION"}}) is Kind.UPSTREAM
    assert gemini_error_kind(404, {"error": {"status": "NOT_FOUND"}}) is Kind.INVALID_REQUEST
    assert gemini_error_kind(500, {"error": {"status": "INTERNAL"}}) is Kind.UPSTREAM
