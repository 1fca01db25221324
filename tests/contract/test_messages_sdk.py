"""The official anthropic SDK, sync and async, over HTTP against the local stack."""

from __future__ import annotations

import asyncio
import secrets

import anthropic
import httpx
import pytest

from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"  # adaptive thinking, cheap
CLAUDE_BUDGET = "claude-haiku-4-5"  # budget_tokens thinking

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {
    "name": "get_time",
    "description": "Local time in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "utc": {"type": "boolean"}},
                     "required": ["city"]},
}


def test_create_sync(stack: Stack) -> None:
    client = stack.anthropic()
    raw = client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=200, messages=[{"role": "user", "content": "Hello gateway"}]
    )
    msg = raw.parse()
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.stop_reason == "end_turn"
    assert msg.content[0].type == "text" and "Hello gateway" in msg.content[0].text
    assert msg.model == CLAUDE
    credits = msg.usage.model_extra["credits"]
    assert isinstance(credits, int) and 0 < credits <= int(raw.headers["estimated_credits"])
    assert raw.headers["request-id"].startswith("req_") and msg._request_id == raw.headers["request-id"]


async def test_create_async_and_usage_api(stack: Stack) -> None:
    client = stack.async_anthropic()
    raw = await client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "async hello"}]
    )
    msg = await raw.parse()
    credits = msg.usage.model_extra["credits"]
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{stack.base_url}/v1/usage/{raw.headers['request-id']}",
                           headers={"x-api-key": stack.master_key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["credits"] == credits and body["state"] == "SETTLED" and body["model"] == CLAUDE
    assert body["usage"]["output_tokens"] == msg.usage.output_tokens


def test_stream_helper_final_message(stack: Stack) -> None:
    client = stack.anthropic()
    with client.messages.stream(model=CLAUDE, max_tokens=300,
                                messages=[{"role": "user", "content": "stream please [[sim deltas=12]]"}]) as s:
        events = list(s)
        final = s.get_final_message()
    texts = [e.text for e in events if e.type == "text"]
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(texts) == 12
    assert final.content[0].text == "".join(texts)
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    # usage.credits rides in the last usage object (message_delta); the SDK keeps it on the event.
    assert len(deltas) == 1 and deltas[0].usage.model_extra["credits"] > 0


async def test_stream_async(stack: Stack) -> None:
    client = stack.async_anthropic()
    async with client.messages.stream(model=CLAUDE, max_tokens=100,
                                      messages=[{"role": "user", "content": "async stream"}]) as s:
        final = await s.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text


def test_parallel_tool_use_round_trip(stack: Stack) -> None:
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "Weather and time in Paris? [[sim tools=2]]"}]
    with client.messages.stream(model=CLAUDE, max_tokens=500, tools=[WEATHER, TIME], messages=messages) as s:
        first = s.get_final_message()
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert all(u.input.get("city") for u in uses)
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"},
        {"type": "tool_result", "tool_use_id": uses[1].id, "content": [{"type": "text", "text": "noon"}]},
    ]})
    second = client.messages.create(model=CLAUDE, max_tokens=500, tools=[WEATHER, TIME], messages=messages)
    assert second.stop_reason == "end_turn"
    assert f"{uses[0].id}=sunny" in second.content[0].text and f"{uses[1].id}=noon" in second.content[0].text


@pytest.mark.parametrize(("model", "thinking"), [
    (CLAUDE, {"type": "adaptive"}),
    (CLAUDE_BUDGET, {"type": "enabled", "budget_tokens": 1024}),
])
def test_thinking_signature_round_trip(stack: Stack, model: str, thinking: dict) -> None:
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "Think, then call a tool. [[sim tools=1]]"}]
    with client.messages.stream(model=model, max_tokens=4000, thinking=thinking, tools=[WEATHER],
                                messages=messages) as s:
        first = s.get_final_message()
    kinds = [b.type for b in first.content]
    assert kinds[0] == "thinking" and "tool_use" in kinds
    thinking_block = first.content[0]
    assert thinking_block.signature
    # The next turn returns the thinking block unchanged; the upstream verifies its signature.
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    tool_id = next(b.id for b in first.content if b.type == "tool_use")
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "ok"}]})
    second = client.messages.create(model=model, max_tokens=4000, thinking=thinking, tools=[WEATHER], messages=messages)
    assert any(b.type == "text" for b in second.content)
    sent = stack.sim_requests(tool_id)[-1]["body"]["messages"][1]["content"][0]
    assert sent["signature"] == thinking_block.signature and sent["thinking"] == thinking_block.thinking
    # A tampered signature is the upstream's 400, kept as a 400 with its message.
    messages[1]["content"][0] = {**messages[1]["content"][0], "signature": "AAAA" + thinking_block.signature[4:]}
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=model, max_tokens=4000, thinking=thinking, tools=[WEATHER], messages=messages)
    assert "signature" in str(err.value)


def test_cache_control_and_beta_reach_upstream(stack: Stack) -> None:
    nonce = secrets.token_hex(6)
    client = stack.anthropic(default_headers={"anthropic-beta": "context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14"})
    system = [{"type": "text", "text": f"You are terse. {nonce} " + "policy " * 400,
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = client.messages.create(model=CLAUDE, max_tokens=50, system=system,
                                   messages=[{"role": "user", "content": "hi"}])
    second = client.messages.create(model=CLAUDE, max_tokens=50, system=system,
                                    messages=[{"role": "user", "content": "hi again"}])
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    # cache reads are billed at the cache-read price: the second call is cheaper
    assert second.usage.model_extra["credits"] < first.usage.model_extra["credits"]
    seen = stack.sim_requests(nonce)
    assert len(seen) == 2
    assert seen[0]["body"]["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert seen[0]["headers"]["anthropic-beta"] == "context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14"
    assert seen[0]["headers"]["x-api-key"] != stack.master_key  # the provider key, never the caller's


def test_count_tokens(stack: Stack) -> None:
    client = stack.anthropic()
    counted = client.messages.count_tokens(model=CLAUDE, messages=[{"role": "user", "content": "count me " * 50}],
                                           extra_body={"max_tokens": 100})
    assert counted.input_tokens > 0
    estimated = counted.model_extra["estimated_credits"]
    # The estimate equals the hold /v1/messages places for the same body.
    real = client.messages.with_raw_response.create(model=CLAUDE, max_tokens=100,
                                                    messages=[{"role": "user", "content": "count me " * 50}])
    assert int(real.headers["estimated_credits"]) == estimated


def test_models_both_shapes(stack: Stack) -> None:
    page = stack.anthropic().models.list(limit=3)
    assert len(page.data) == 3 and page.has_more
    assert all(m.type == "model" for m in page.data)
    everything = list(stack.anthropic().models.list(limit=5))  # auto-pagination via after_id
    oa = stack.openai().models.list()
    ids = [m.id for m in oa.data]
    assert sorted(ids) == sorted(m.id for m in everything)
    assert CLAUDE in ids and all(m.object == "model" for m in oa.data)
    one = stack.anthropic().models.retrieve(CLAUDE)
    assert one.id == CLAUDE and one.display_name


def test_concurrent_async_requests(stack: Stack) -> None:
    async def run() -> list[str]:
        client = stack.async_anthropic()
        msgs = await asyncio.gather(*[
            client.messages.create(model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": f"n{i}"}])
            for i in range(20)
        ])
        return [m.content[0].text for m in msgs]

    texts = asyncio.run(run())
    assert len(texts) == 20 and all(texts)
