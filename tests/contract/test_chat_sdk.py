"""The official openai SDK on every lane, and the anthropic SDK on OpenAI-format models.

Lanes: OpenAI client -> Claude (translated), OpenAI client -> OpenAI (pass-through),
Anthropic client -> OpenAI-format model (translated). Every translated stream is checked
with the reusable invariant checkers.
"""

from __future__ import annotations

import base64
import json
import secrets

import anthropic
import httpx
import openai
import pytest
from pydantic import BaseModel

from bytespike.translate import check_anthropic_events, check_openai_chunks
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
CHAT_MODELS = [CLAUDE, GPT]

OA_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Time",
                                      "parameters": {"type": "object", "properties": {"tz": {"type": "string"}},
                                                     "required": ["tz"]}}},
]
AN_TOOLS = [{"name": t["function"]["name"], "description": t["function"]["description"],
             "input_schema": t["function"]["parameters"]} for t in OA_TOOLS]

# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")).decode()


def _sse_json(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


def _sse_events(text: str) -> list[tuple[str, dict]]:
    out, name = [], None
    for line in text.splitlines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name:
            out.append((name, json.loads(line[6:])))
    return out


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_create(stack: Stack, model: str) -> None:
    raw = stack.openai().chat.completions.with_raw_response.create(
        model=model, max_tokens=100, messages=[{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": "Hello chat"}])
    completion = raw.parse()
    assert completion.object == "chat.completion" and completion.model == model
    assert "Hello chat" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    credits = completion.usage.model_extra["credits"]
    assert 0 < credits <= int(raw.headers["estimated_credits"])
    assert raw.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_include_usage(stack: Stack, model: str) -> None:
    stream = stack.openai().chat.completions.create(
        model=model, max_tokens=200, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream it [[sim deltas=10]]"}])
    chunks = list(stream)
    check_openai_chunks([c.model_dump(exclude_none=True) for c in chunks], include_usage=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Hello from")
    assert chunks[-1].choices == [] and chunks[-1].usage.model_extra["credits"] > 0


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_without_include_usage_has_no_usage_chunk(stack: Stack, model: str) -> None:
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", timeout=30,
                   headers={"authorization": f"Bearer {stack.master_key}"},
                   json={"model": model, "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    chunks = _sse_json(r.text)
    assert all(c.get("usage") is None for c in chunks)
    assert r.text.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_helper_parallel_tool_calls_round_trip(stack: Stack, model: str) -> None:
    client = stack.openai()
    messages: list[dict] = [{"role": "user", "content": "weather and time [[sim tools=2]]"}]
    with client.chat.completions.stream(model=model, max_tokens=300, messages=messages, tools=OA_TOOLS) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2
    assert json.loads(calls[0].function.arguments)["city"] and json.loads(calls[1].function.arguments)["tz"]
    messages.append(choice.message.model_dump(exclude_none=True, exclude={"parsed"}))
    messages += [{"role": "tool", "tool_call_id": calls[0].id, "content": "rainy"},
                 {"role": "tool", "tool_call_id": calls[1].id, "content": "UTC+1"}]
    answer = client.chat.completions.create(model=model, max_tokens=300, messages=messages, tools=OA_TOOLS)
    text = answer.choices[0].message.content
    assert f"{calls[0].id}=rainy" in text and f"{calls[1].id}=UTC+1" in text


class Weather(BaseModel):
    city: str
    celsius: int
    sunny: bool


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_parse_structured_output(stack: Stack, model: str) -> None:
    completion = stack.openai().chat.completions.parse(
        model=model, max_tokens=200, response_format=Weather,
        messages=[{"role": "user", "content": "weather in Oslo as JSON"}])
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Weather)


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_image_input(stack: Stack, model: str) -> None:
    nonce = secrets.token_hex(5)
    completion = stack.openai().chat.completions.create(
        model=model, max_tokens=100,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": f"what is this {nonce}"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert "1 image" in completion.choices[0].message.content
    [seen] = stack.sim_requests(nonce)
    if model == CLAUDE:
        block = seen["body"]["messages"][0]["content"][1]
        assert block["type"] == "image" and block["source"] == {"type": "base64", "media_type": "image/png", "data": PNG}
    else:
        assert seen["body"]["messages"][0]["content"][1]["image_url"]["url"].endswith(PNG)


def test_claude_translated_stream_invariants_with_tools_and_thinking(stack: Stack) -> None:
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", timeout=30,
                   headers={"authorization": f"Bearer {stack.master_key}"},
                   json={"model": CLAUDE, "max_tokens": 4000, "stream": True, "reasoning_effort": "low",
                         "stream_options": {"include_usage": True}, "tools": OA_TOOLS,
                         "messages": [{"role": "user", "content": "think and call [[sim tools=2]]"}]})
    assert r.status_code == 200, r.text
    chunks = _sse_json(r.text)
    check_openai_chunks(chunks, include_usage=True)
    assert any(c["choices"] and c["choices"][0]["delta"].get("reasoning_content") for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]] == ["tool_calls"]


# ---------------------------------------------------------------- anthropic SDK on an OpenAI-format model
def test_anthropic_sdk_text_on_openai_model(stack: Stack) -> None:
    msg = stack.anthropic().messages.create(model=GPT, max_tokens=100, messages=[{"role": "user", "content": "hi gpt"}])
    assert msg.model == GPT and msg.stop_reason == "end_turn"
    assert "hi gpt" in msg.content[0].text
    assert msg.usage.input_tokens > 0 and msg.usage.model_extra["credits"] > 0


def test_anthropic_sdk_stream_and_tools_on_openai_model(stack: Stack) -> None:
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "tools please [[sim tools=2]]"}]
    with client.messages.stream(model=GPT, max_tokens=500, tools=AN_TOOLS, messages=messages) as s:
        first = s.get_final_message()
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2 and all(u.input for u in uses)
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": uses[0].id, "content": "cloudy"},
        {"type": "tool_result", "tool_use_id": uses[1].id, "content": "CET"}]})
    with client.messages.stream(model=GPT, max_tokens=500, tools=AN_TOOLS, messages=messages) as s:
        second = s.get_final_message()
    assert f"{uses[0].id}=cloudy" in second.content[0].text and f"{uses[1].id}=CET" in second.content[0].text


def test_anthropic_sdk_thinking_on_openai_model_and_stream_invariants(stack: Stack) -> None:
    body = {"model": GPT, "max_tokens": 4000, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 2048},
            "tools": AN_TOOLS, "messages": [{"role": "user", "content": "reason then call [[sim tools=1]]"}]}
    r = httpx.post(f"{stack.base_url}/v1/messages", json=body, timeout=30, headers={"x-api-key": stack.master_key})
    events = _sse_events(r.text)
    check_anthropic_events(events)
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts[0] == "thinking" and "tool_use" in starts
    assert events[0][1]["message"]["usage"]["input_tokens"] > 0  # litellm #24176: usage in message_start
    # The thinking block goes back on the next turn; it must not break the conversation.
    client = stack.anthropic()
    with client.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as s:
        first = s.get_final_message()
    assert first.content[0].type == "thinking" and first.content[0].signature.startswith("bsx:")
    tool = next(b for b in first.content if b.type == "tool_use")
    follow = client.messages.create(model=GPT, max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2048},
                                    tools=AN_TOOLS, messages=[
                                        body["messages"][0],
                                        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                                        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "ok"}]}])
    assert any(b.type == "text" for b in follow.content)


def test_foreign_thinking_is_stripped_before_claude(stack: Stack) -> None:
    nonce = secrets.token_hex(5)
    foreign = {"type": "thinking", "thinking": "gpt thoughts", "signature": "bsx:eyJwIjoib3BlbmFpIn0"}
    msg = stack.anthropic().messages.create(model=CLAUDE, max_tokens=100, messages=[
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [foreign, {"type": "text", "text": "earlier answer"}]},
        {"role": "user", "content": f"continue {nonce}"}])
    assert msg.content[0].type == "text"
    [seen] = stack.sim_requests(nonce)
    assert all(b.get("type") != "thinking" for b in seen["body"]["messages"][1]["content"])


# ---------------------------------------------------------------- errors in the caller's protocol
def test_openai_surface_error_mid_stream_bills_zero(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    client = stack.openai(org.master_key)
    for model in CHAT_MODELS:
        with pytest.raises(openai.APIError):
            for _ in client.chat.completions.create(model=model, max_tokens=200, stream=True,
                                                    messages=[{"role": "user", "content": "x [[sim error_after=3]]"}]):
                pass
    res = stack.wait_all_released(org.org_id)
    assert len(res) == 2 and all(r["state"] == "FAILED" and r["cost"] == 0 for r in res)
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


def test_openai_surface_errors_have_openai_shape(stack: Stack) -> None:
    client = stack.openai()
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert nf.value.body["code"] == "not_found" and nf.value.body["param"] == "model"
    with pytest.raises(openai.AuthenticationError):
        stack.openai("sk-bs-wrong").chat.completions.create(model=GPT, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=CLAUDE, n=2, messages=[{"role": "user", "content": "x"}])
    assert bad.value.body["param"] == "n"
    with pytest.raises(openai.RateLimitError) as rl:
        client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "x [[sim status=429 retry_after=3]]"}])
    assert rl.value.response.headers["retry-after"] == "3"


def test_anthropic_surface_on_openai_model_upstream_error(stack: Stack) -> None:
    with pytest.raises(anthropic.InternalServerError):
        stack.anthropic().messages.create(model=GPT, max_tokens=50,
                                          messages=[{"role": "user", "content": "x [[sim status=500]]"}])
