"""POST /v1/responses through the official openai SDK, on one model per provider (issue 17).

OpenAI models answer by pass-through; Claude, Gemini, DeepSeek and Ark through the hub. Each
case: a text answer, a stream whose events satisfy the Responses invariants and that the SDK
accumulates, a function-tool round trip, and the credits the client is told equal to the ledger.
"""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from bytespike.translate import check_responses_events
from tests.support.stack import Stack

MODELS = ["claude-haiku-5-5", "gpt-6-luna", "gemini-3.5-flash-lite", "deepseek-flash", "doubao-seed-2-1-lite"]
TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def _cost(stack: Stack, org_id: str, request_id: str) -> int:
    [res] = [r for r in stack.wait_all_released(org_id) if r["id"] == request_id]
    return int(res["cost"])


@pytest.mark.parametrize("model", MODELS)
def test_text_answer_and_billing(stack: Stack, model: str) -> None:
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    raw = client.responses.with_raw_response.create(model=model, input="Say hello", max_output_tokens=300)
    response = raw.parse()
    assert response.status == "completed" and "hello" in response.output_text.lower(), response
    credits = response.usage.model_extra["credits"]  # type: ignore[union-attr]
    assert credits > 0 and credits <= int(raw.headers["estimated_credits"])
    assert _cost(stack, org.org_id, raw.headers["request-id"]) == credits
    assert response.model == model


@pytest.mark.parametrize("model", MODELS)
def test_stream_is_well_formed_and_billed(stack: Stack, model: str) -> None:
    org = stack.new_org(50_000_000)
    r = httpx.post(f"{stack.base_url}/v1/responses", headers={"authorization": f"Bearer {org.master_key}"},
                   timeout=60, json={"model": model, "input": "Tell me about rivers [[sim words=30 deltas=5]]",
                                     "max_output_tokens": 400, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text[:300]
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    check_responses_events(events)
    final = events[-1]
    assert final["type"] == "response.completed", final
    usage = final["response"]["usage"]
    assert usage["credits"] == _cost(stack, org.org_id, r.headers["request-id"]) > 0
    # The SDK's own stream helper rebuilds the same answer.
    client = stack.openai(org.master_key)
    with client.responses.stream(model=model, input="Tell me about rivers [[sim words=30 deltas=5]]",
                                 max_output_tokens=400) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        done = stream.get_final_response()
    assert len(text.split()) == 30 and done.output_text == text


@pytest.mark.parametrize("model", MODELS)
def test_function_tool_round_trip(stack: Stack, model: str) -> None:
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    tag = secrets.token_hex(3)
    first = client.responses.create(model=model, input=f"Weather in Paris? [[sim tools=1 id={tag}]]", tools=TOOLS,
                                    max_output_tokens=500)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and json.loads(calls[0].arguments), first.output
    history = [{"role": "user", "content": f"Weather in Paris? [[sim tools=1 id={tag}]]"},
               *[item.model_dump(exclude_none=True) for item in first.output],
               {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21C"}]
    second = client.responses.create(model=model, input=history, tools=TOOLS, max_output_tokens=500)
    assert second.status == "completed" and second.output_text, second.output
    stack.wait_all_released(org.org_id)
    assert stack.assert_conservation(org.org_id)["billed"] > 0


def test_errors_are_in_openais_shape_and_hold_nothing(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for body in ({"model": "claude-haiku-5-5", "input": "x", "max_output_tokens": "100"},
                 {"model": "nope", "input": "x"},
                 {"model": "claude-haiku-5-5", "input": "x", "tools": [{"type": "web_search"}]}):
        r = httpx.post(f"{stack.base_url}/v1/responses", headers={"authorization": f"Bearer {org.master_key}"},
                       json=body, timeout=30)
        assert r.status_code in (400, 404), r.text
        assert isinstance(r.json()["error"]["message"], str) and "estimated_credits" in r.headers
    assert stack.reservations(org.org_id) == []


def test_input_tokens(stack: Stack) -> None:
    r = httpx.post(f"{stack.base_url}/v1/responses/input_tokens", headers={"authorization": f"Bearer {stack.master_key}"},
                   json={"model": "claude-haiku-5-5", "input": "hello"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "response.input_tokens", "input_tokens": r.json()["input_tokens"]}
    assert 0 < r.json()["input_tokens"] < 20 and int(r.headers["estimated_credits"]) > 0
