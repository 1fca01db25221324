"""The official openai SDK is the judge of our Responses events and objects.

Every event ``AnthropicToResponsesStream`` emits validates (strictly, pydantic) against the SDK's
own ``ResponseStreamEvent`` union, feeds the SDK's stream accumulator (``ResponseStreamState``,
what ``client.responses.stream`` runs), and ``client.responses.create/stream`` parse our SSE
and our JSON over HTTP (an in-process transport: the translators, not the gateway, are under test).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from bytespike.translate import (
    AnthropicToResponsesStream,
    ResponsesContext,
    anthropic_response_to_responses,
    check_responses_events,
    responses_request_to_anthropic,
)
from bytespike.translate.responses_surface import _message_events

EVENTS = TypeAdapter(ResponseStreamEvent)
CLAUDE_SIG = "EqQBCkYIBxgCKkD" + "x" * 40
TOOLS = [
    {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
    {"type": "custom", "name": "apply_patch", "description": "Apply a patch",
     "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/s"}},
    {"type": "namespace", "name": "clock", "description": "Time tools",
     "tools": [{"type": "function", "name": "sleep", "parameters": {"type": "object"}}]},
]  # fmt: skip
REQUEST = {
    "model": "claude-sonnet-5-5",
    "input": "weather in Paris, then patch",
    "tools": TOOLS,
    "reasoning": {"effort": "low", "summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "metadata": {"trace": "t1"},
}


def _message(*content: dict, stop: str = "end_turn") -> dict:
    return {
        "id": "msg_01sdk",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "cache_read_input_tokens": 8, "output_tokens": 50},
    }


SCENARIOS = {
    "text": _message({"type": "text", "text": "Hello, world."}),
    "thinking_and_tools": _message(
        {"type": "thinking", "thinking": "Weather first.", "signature": CLAUDE_SIG},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_p", "name": "apply_patch", "input": {"input": "*** Begin Patch\n*** End Patch\n"}},
        {"type": "tool_use", "id": "toolu_s", "name": "clock__sleep", "input": {"ms": 10}},
        stop="tool_use",
    ),
    "incomplete": _message({"type": "text", "text": "This answer was cut"}, stop="max_tokens"),
    "redacted": _message({"type": "redacted_thinking", "data": "EmwKAhgB"}, {"type": "text", "text": "ok"}),
}


def _ctx() -> ResponsesContext:
    return responses_request_to_anthropic(REQUEST)[1]


def _events(message: dict, credits: int = 3) -> list[dict]:
    machine = AnthropicToResponsesStream(_ctx(), response_id="resp_01sdk", created_at=1_700_000_000)
    events: list[dict] = []
    for name, data in _message_events(message):
        events += machine.feed(name, data)
    return events + machine.finish(credits=credits)


def _sse(events: list[dict]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _client(handler: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test", base_url="http://gateway.test/v1", max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_event_validates_and_the_sdk_accumulator_agrees(name: str) -> None:
    events = _events(SCENARIOS[name])
    check_responses_events(events)
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for raw in events:
        event = EVENTS.validate_python(raw)  # strict: a field the SDK does not know of a wrong type fails
        state.handle_event(event)
    final = Response.model_validate(events[-1]["response"])
    assert final.status == ("incomplete" if name == "incomplete" else "completed")
    assert final.usage is not None and final.usage.input_tokens == 28
    assert final.usage.input_tokens_details.cached_tokens == 8
    assert final.model_extra.get("usage") is None and final.usage.model_extra["credits"] == 3  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_non_streamed_object_validates(name: str) -> None:
    document = anthropic_response_to_responses(SCENARIOS[name], _ctx(), credits=3)
    Response.model_validate(document)


def test_sdk_create_parses_our_json() -> None:
    document = anthropic_response_to_responses(SCENARIOS["thinking_and_tools"], _ctx(), credits=3)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        return httpx.Response(200, json=document)

    response = _client(handler).responses.create(model="claude-sonnet-5-5", input="hi")
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "message", "function_call", "custom_tool_call", "function_call"]
    assert response.output_text == "Checking."
    custom = response.output[3]
    assert custom.type == "custom_tool_call" and custom.input == "*** Begin Patch\n*** End Patch\n"
    sleep = response.output[4]
    assert sleep.type == "function_call" and sleep.namespace == "clock" and json.loads(sleep.arguments) == {"ms": 10}


def test_sdk_stream_helper_accumulates_our_sse() -> None:
    events = _events(SCENARIOS["thinking_and_tools"])

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, content=_sse(events), headers={"content-type": "text/event-stream"})

    seen: list[str] = []
    with _client(handler).responses.stream(model="claude-sonnet-5-5", input="hi") as stream:
        for event in stream:
            seen.append(event.type)
        final = stream.get_final_response()
    assert seen == [e["type"] for e in events]
    assert final.output_text == "Checking."
    assert [o.type for o in final.output] == ["reasoning", "message", "function_call", "custom_tool_call", "function_call"]
    assert final.output[0].summary[0].text == "Weather first."  # type: ignore[union-attr]


def test_sdk_sees_a_failure_mid_stream() -> None:
    machine = AnthropicToResponsesStream(_ctx(), response_id="resp_fail")
    events = machine.feed("message_start", {"type": "message_start", "message": {"usage": {}}})
    events += machine.fail("The upstream provider is overloaded.", code="server_error")
    for raw in events:
        EVENTS.validate_python(raw)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_sse(events), headers={"content-type": "text/event-stream"})

    client = _client(handler)
    # the raw event stream: the SDK raises on the `error` event (as it does for OpenAI's own)
    with pytest.raises(openai.APIError, match="overloaded"):
        for _ in client.responses.create(model="claude-sonnet-5-5", input="hi", stream=True):
            pass
