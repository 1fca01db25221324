"""A hub request's client mistakes are worded once, whichever upstream the lane translates to.

The Chat Completions, Responses and Gemini translators read the hub request through
``translate/hub_request.py``; a client whose model moves from one provider to another must get
the same 400 (message and ``param``) for the same mistake.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytespike.translate import TranslationError, anthropic_request_to_gemini, anthropic_request_to_openai
from bytespike.translate.responses_wire import anthropic_request_to_responses

USER = [{"role": "user", "content": "hi"}]
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}

TRANSLATORS = {
    "openai": lambda req: anthropic_request_to_openai(req, target="openai"),
    "deepseek": lambda req: anthropic_request_to_openai(req, target="deepseek"),
    "ark": lambda req: anthropic_request_to_openai(req, target="ark"),
    "responses": lambda req: anthropic_request_to_responses(req, "gpt-6.2-sol"),
    "gemini": lambda req: anthropic_request_to_gemini(req),
}

MISTAKES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "no messages": ({"messages": []}, "messages must be a non-empty array", "messages"),
    "mcp servers": ({"messages": USER, "mcp_servers": [{"url": "x"}]}, "mcp_servers is only available on Claude models", "mcp_servers"),
    "system number": ({"messages": USER, "system": 3}, "system must be a string or an array of text blocks", "system"),
    "message not object": ({"messages": ["hi"]}, "each message must be an object", "messages[0]"),
    "unknown role": ({"messages": [{"role": "tool", "content": "x"}]}, "message role 'tool' is not supported", "messages[0].role"),
    "max_tokens string": ({"messages": USER, "max_tokens": "100"}, "max_tokens must be a non-negative integer", "max_tokens"),
    "max_tokens bool": ({"messages": USER, "max_tokens": True}, "max_tokens must be a non-negative integer", "max_tokens"),
    "max_tokens zero": ({"messages": USER, "max_tokens": 0}, "max_tokens: 0 (cache pre-warming) is only supported by Claude models", "max_tokens"),
    "tools object": ({"messages": USER, "tools": {}}, "tools must be an array", "tools"),
    "tool not object": ({"messages": USER, "tools": [1]}, "tools entries must be objects", "tools[0]"),
    "server tool": ({"messages": USER, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
                    "server tool 'web_search_20250305' is only available on Claude models", "tools[0].type"),
    "nameless tool": ({"messages": USER, "tools": [{"input_schema": {}}]}, "tools need a name", "tools[0].name"),
    "choice without tools": ({"messages": USER, "tool_choice": {"type": "any"}}, "tool_choice requires tools", "tool_choice"),
    "choice string": ({"messages": USER, "tools": [TOOL], "tool_choice": "auto"}, "tool_choice must be an object", "tool_choice"),
    "choice unknown": ({"messages": USER, "tools": [TOOL], "tool_choice": {"type": "maybe"}},
                       "unsupported tool_choice type 'maybe'", "tool_choice"),
    "choice tool without name": ({"messages": USER, "tools": [TOOL], "tool_choice": {"type": "tool"}},
                                 "unsupported tool_choice type 'tool'", "tool_choice"),
    "schema not object": ({"messages": USER, "output_config": {"format": {"type": "json_schema", "schema": []}}},
                          "output_config.format.schema must be an object", "output_config.format"),
}  # fmt: skip


@pytest.mark.parametrize("lane", TRANSLATORS)
@pytest.mark.parametrize("case", MISTAKES)
def test_the_same_mistake_is_the_same_error_on_every_lane(lane: str, case: str) -> None:
    req, message, param = MISTAKES[case]
    with pytest.raises(TranslationError) as caught:
        TRANSLATORS[lane]({"model": "m", **req})
    assert (caught.value.message, caught.value.param) == (message, param)


@pytest.mark.parametrize("lane", TRANSLATORS)
def test_a_valid_choice_names_the_tool_as_the_upstream_knows_it(lane: str) -> None:
    req = {"model": "m", "messages": USER, "tools": [TOOL], "tool_choice": {"type": "tool", "name": "get_weather"}}
    body, _ = TRANSLATORS[lane](req)
    assert "get_weather" in str(body.get("tool_choice") or body.get("toolConfig"))


@settings(max_examples=150, deadline=None)
@given(
    value=st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
        st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    field=st.sampled_from(["system", "max_tokens", "tools", "tool_choice", "output_config", "stop_sequences"]),
)  # fmt: skip
def test_junk_in_a_shared_field_is_refused_alike_or_carried_on_every_lane(value: Any, field: str) -> None:
    """Every lane either carries the value or refuses it with the same words: never one lane's crash."""
    outcomes = set()
    for translate in TRANSLATORS.values():
        try:
            translate({"model": "m", "messages": USER, "tools": [TOOL], field: value})
            outcomes.add(None)
        except TranslationError as exc:
            outcomes.add((exc.message, exc.param))
    assert len(outcomes) == 1, outcomes
