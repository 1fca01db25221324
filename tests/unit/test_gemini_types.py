"""``check_gemini_request_types``: refuses what Google's proto3 JSON parser refuses, and no more."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.translate import TranslationError
from bytespike.translate.gemini_types import check_gemini_request_types

BASE: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.mark.parametrize("body", [
    {**BASE, "generationConfig": {"maxOutputTokens": "100", "temperature": "0.5", "topK": 40.0, "seed": 7.0}},
    {**BASE, "generation_config": {"max_output_tokens": 100, "thinking_config": {"thinking_budget": -1}}},
    {**BASE, "toolConfig": {"functionCallingConfig": {"mode": 1}}, "safetySettings": [{"category": 7, "threshold": "OFF"}]},
    {**BASE, "systemInstruction": None, "tools": None, "generationConfig": {"temperature": None}},
    {**BASE, "generationConfig": {"temperature": "NaN", "topP": "1e-1"}},
    {**BASE, "someFieldGoogleAddsLater": {"anything": [1, "x"]}, "generationConfig": {"newKnob": "x"}},
    {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": [1, None, {}]}}}]}],
     "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": True}]}]},
])
def test_what_proto3_json_takes_passes(body: dict[str, Any]) -> None:
    check_gemini_request_types(body)


@pytest.mark.parametrize(("body", "path", "param"), [
    ({**BASE, "generationConfig": {"maxOutputTokens": "abc"}}, "'generation_config.max_output_tokens' (TYPE_INT32)",
     "generationConfig.maxOutputTokens"),
    ({**BASE, "generationConfig": {"maxOutputTokens": 2**31}}, "generation_config.max_output_tokens", None),
    ({**BASE, "generationConfig": {"candidateCount": 1.5}}, "generation_config.candidate_count", None),
    ({**BASE, "generationConfig": {"temperature": True}}, "'generation_config.temperature' (TYPE_FLOAT)", None),
    ({"contents": [{"role": "user", "parts": [{"text": 5}]}]}, "'contents[0].parts[0].text' (TYPE_STRING)", "contents"),
    ({"contents": [{"role": "user", "parts": [{"text": "x", "thought": "yes"}]}]}, "thought' (TYPE_BOOL)", None),
    ({"contents": {"role": "user"}}, "'contents' (a list)", "contents"),
    ({**BASE, "safetySettings": [{"category": True}]}, "'safety_settings[0].category' (TYPE_ENUM)", None),
    ({**BASE, "tools": [{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]}, "parameters' (TYPE_MESSAGE)", None),
    ({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]}, "args", None),
    ({**BASE, "toolConfig": "auto"}, "'tool_config' (TYPE_MESSAGE)", "toolConfig"),
])
def test_what_proto3_json_refuses_is_named(body: dict[str, Any], path: str, param: str | None) -> None:
    with pytest.raises(TranslationError) as caught:
        check_gemini_request_types(body)
    message = caught.value.message
    assert message.startswith("Invalid value at '") and path in message, message
    if param:
        assert caught.value.param == param
