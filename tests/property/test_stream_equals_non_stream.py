"""Stream and non-stream give the same blocks, on every translating lane (issue #16).

For random upstream answers, the streamed answer a client assembles (through the lane's stream
state machine) equals the non-streamed answer (through the lane's response converter) for the
same content: the blocks, their text, tool ids, names and inputs, and the stop reason. The
pass-through lanes (Claude → Anthropic clients, OpenAI-format → OpenAI clients) relay the
upstream's own bytes and are checked against real recordings (tests/conformance).

| surface ← wire | stream | non-stream |
|---|---|---|
| OpenAI ← Claude | ``AnthropicToOpenAIStream`` | ``anthropic_response_to_openai`` |
| Anthropic ← OpenAI-format | ``OpenAIToAnthropicStream`` | ``openai_response_to_anthropic`` |
| Anthropic ← Gemini | ``GeminiToAnthropicStream`` | ``gemini_response_to_anthropic`` |
| OpenAI ← Gemini | both machines in a row | both converters in a row |
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from tests.property.test_gemini_properties import MODEL, _ctx, _stream, responses
from tests.property.test_translate_properties import SETTINGS, anthropic_streams, openai_streams

from bytespike.simulator.replay import accumulate
from bytespike.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    ToolNameMap,
    anthropic_response_to_openai,
    assemble_anthropic_events,
    assemble_openai_chunks,
    gemini_response_to_anthropic,
    openai_response_to_anthropic,
)


def _openai_view(message: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI answer as a client reads it: text, reasoning, tool calls (inputs parsed), finish."""
    calls = message.get("tool_calls") or []
    return {
        "content": message.get("content") or "",
        "reasoning_content": message.get("reasoning_content") or "",
        "tool_calls": [(c.get("id"), c.get("name") or c.get("function", {}).get("name"),
                        json.loads(c.get("arguments") or c.get("function", {}).get("arguments") or "{}"))
                       for c in calls],
        "finish_reason": message.get("finish_reason"),
    }


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(b) for b in message["content"]]


@SETTINGS
@given(anthropic_streams())
def test_openai_clients_on_claude(stream: tuple[list, list[dict], str]) -> None:
    events, _, _ = stream
    machine = AnthropicToOpenAIStream(model="m", completion_id="c", created=1, include_usage=True, names=ToolNameMap())
    chunks = [c for name, data in events for c in machine.feed(name, data)] + machine.finish()
    streamed = _openai_view(assemble_openai_chunks(chunks))
    whole = anthropic_response_to_openai(assemble_anthropic_events(events), model="m", names=ToolNameMap(), created=1)
    choice = whole["choices"][0]
    assert streamed == _openai_view({**choice["message"], "finish_reason": choice["finish_reason"]})


@SETTINGS
@given(openai_streams(), st.sampled_from(["openai", "deepseek", "ark"]))
def test_anthropic_clients_on_openai_format_models(stream: tuple[list[dict], list[dict]], provider: str) -> None:
    chunks, _ = stream
    # Reasoning comes before the answer in every real upstream; a non-streamed completion has one
    # reasoning field and cannot order it after content anyway.
    kinds = [k for c in chunks for ch in c.get("choices") or () for k in ("reasoning_content", "content")
             if (ch.get("delta") or {}).get(k)]
    assume("reasoning_content" not in kinds[kinds.index("content"):] if "content" in kinds else True)
    machine = OpenAIToAnthropicStream(model="m", message_id="msg_1", names=ToolNameMap(), provider=provider)
    events = [e for c in chunks for e in machine.feed(c)] + machine.finish()
    streamed = assemble_anthropic_events(events)
    completion = accumulate("openai", [{"id": "c1", "created": 1, "model": "m", **c} for c in chunks])
    whole = openai_response_to_anthropic(completion, model="m", names=ToolNameMap(), provider=provider)
    assert _blocks(streamed) == _blocks(whole)
    assert streamed["stop_reason"] == whole["stop_reason"]


@SETTINGS
@given(responses())
def test_anthropic_clients_on_gemini(data: tuple[dict, list[dict]]) -> None:
    whole, chunks = data
    events, _ = _stream(chunks)
    streamed = assemble_anthropic_events(events)
    message = gemini_response_to_anthropic(whole, model=MODEL, ctx=_ctx())
    assert _blocks(streamed) == _blocks(message)
    assert streamed["stop_reason"] == message["stop_reason"]


@SETTINGS
@given(responses())
def test_openai_clients_on_gemini(data: tuple[dict, list[dict]]) -> None:
    whole, chunks = data
    events, _ = _stream(chunks)
    machine = AnthropicToOpenAIStream(model="m", completion_id="c", created=1, include_usage=True, names=ToolNameMap())
    streamed = _openai_view(assemble_openai_chunks([c for n, d in events for c in machine.feed(n, d)] + machine.finish()))
    message = gemini_response_to_anthropic(whole, model=MODEL, ctx=_ctx())
    choice = anthropic_response_to_openai(message, model="m", names=ToolNameMap(), created=1)["choices"][0]
    assert streamed == _openai_view({**choice["message"], "finish_reason": choice["finish_reason"]})
