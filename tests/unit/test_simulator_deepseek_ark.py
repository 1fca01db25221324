"""Simulated DeepSeek and Volcengine Ark (OpenAI-format dialects) and the translator round trips.

Recorded-format fixtures: tests/fixtures/deepseek/, tests/fixtures/ark/.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bytespike.errors import Kind
from bytespike.simulator.app import create_simulator_app
from bytespike.translate import (
    OpenAIToAnthropicStream,
    anthropic_request_to_openai,
    check_anthropic_events,
    map_upstream_error,
    openai_response_to_anthropic,
    openai_usage_to_anthropic,
)

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AUTH = {"authorization": "Bearer sim-key"}
DS = "/deepseek/chat/completions"
ARK = "/ark/api/v3/chat/completions"
TOOL = {
    "type": "function",
    "function": {
        "name": "get_date",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as c:
        yield c


def sse(raw: str) -> list[Any]:
    out: list[Any] = []
    for frame in raw.split("\n\n"):
        data = [line[6:] for line in frame.split("\n") if line.startswith("data: ")]
        if data:
            payload = "\n".join(data)
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def chat(model: str, text: str, **extra: Any) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


# ----------------------------------------------------------------------------- DeepSeek


async def test_deepseek_thinking_on_by_default(client: httpx.AsyncClient) -> None:
    data = (await client.post(DS, json=chat("deepseek-flash", "9.11 or 9.8?"), headers=AUTH)).json()
    msg = data["choices"][0]["message"]
    assert msg["reasoning_content"] and msg["content"]
    u = data["usage"]
    assert u["completion_tokens_details"]["reasoning_tokens"] > 0
    assert u["prompt_cache_hit_tokens"] + u["prompt_cache_miss_tokens"] == u["prompt_tokens"]
    assert u["prompt_tokens_details"]["cached_tokens"] == u["prompt_cache_hit_tokens"]
    assert "service_tier" not in data and data["system_fingerprint"]
    off = chat("deepseek-flash", "no thinking", thinking={"type": "disabled"})
    data = (await client.post(DS, json=off, headers=AUTH)).json()
    assert "reasoning_content" not in data["choices"][0]["message"]
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert (await client.post("/deepseek/v1/chat/completions", json=off, headers=AUTH)).status_code == 200


async def test_deepseek_requires_reasoning_content_on_tool_call_turns(client: httpx.AsyncClient) -> None:
    call = {"id": "call_00_abc", "type": "function", "function": {"name": "get_date", "arguments": "{\"tz\":\"UTC\"}"}}
    messages = [
        {"role": "user", "content": "date?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_00_abc", "content": "2026-11-26"},
    ]
    r = await client.post(DS, json={"model": "deepseek-flash", "messages": messages, "tools": [TOOL]}, headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(
        "Missing `reasoning_content` field in the assistant message at message index 1."
    )
    mapped = map_upstream_error("deepseek", 400, r.content)
    assert mapped.kind is Kind.INVALID_REQUEST and mapped.status == 400
    messages[1]["reasoning_content"] = ""  # present (even empty) is enough
    r = await client.post(DS, json={"model": "deepseek-flash", "messages": messages, "tools": [TOOL]}, headers=AUTH)
    assert r.status_code == 200
    del messages[1]["reasoning_content"]
    body = {"model": "deepseek-flash", "messages": messages, "tools": [TOOL], "thinking": {"type": "disabled"}}
    assert (await client.post(DS, json=body, headers=AUTH)).status_code == 200  # only checked while thinking


async def test_deepseek_422_plain_text_and_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(DS, json={"messages": [{"role": "user", "content": "hi"}]}, headers=AUTH)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("Failed to deserialize the JSON body into the target type: missing field `model`")
    assert map_upstream_error("deepseek", 422, r.content).kind is Kind.INVALID_REQUEST
    r = await client.post(DS, json=chat("deepseek-flash", "hi"))
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = await client.post(DS, json=chat("deepseek-flash", "[[sim status=402]]"), headers=AUTH)
    assert r.status_code == 402 and r.json()["error"]["message"] == "Insufficient Balance"
    mapped = map_upstream_error("deepseek", 402, r.content)
    assert mapped.kind is Kind.UPSTREAM and mapped.account_fault  # the gateway's account, never the caller's billing
    r = await client.post(DS, json=chat("deepseek-flash", "[[sim status=429 retry_after=3]]"), headers=AUTH)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    r = await client.post(DS, json=chat("deepseek-flash", "[[sim status=503]]"), headers=AUTH)
    assert r.json()["error"]["message"] == "Server Overloaded"


async def test_deepseek_stream(client: httpx.AsyncClient) -> None:
    body = chat("deepseek-flash", "stream [[sim deltas=2]]", stream=True, stream_options={"include_usage": True})
    r = await client.post(DS, json=body, headers=AUTH)
    assert r.text.startswith(": keep-alive\n\n")
    frames = sse(r.text)
    assert frames[-1] == "[DONE]"
    deltas = [f["choices"][0]["delta"] for f in frames[:-2]]
    assert any("reasoning_content" in d for d in deltas) and any(d.get("content") for d in deltas)
    assert frames[-2]["choices"] == [] and "prompt_cache_hit_tokens" in frames[-2]["usage"]
    r = await client.post(DS, json=chat("deepseek-flash", "x [[sim error_after=1]]", stream=True), headers=AUTH)
    assert sse(r.text)[-1]["error"]["type"] == "server_error"


async def test_deepseek_translator_round_trip(client: httpx.AsyncClient) -> None:
    areq = {
        "model": "deepseek-flash",
        "max_tokens": 1000,
        "tools": [{"name": "get_date", "input_schema": TOOL["function"]["parameters"]}],
        "messages": [{"role": "user", "content": "date please [[sim tools=1]]"}],
    }
    oreq, names = anthropic_request_to_openai(areq, target="deepseek")
    data = (await client.post(DS, json=oreq, headers=AUTH)).json()
    msg = openai_response_to_anthropic(data, model="deepseek-flash", names=names, provider="deepseek")
    assert [b["type"] for b in msg["content"]] == ["thinking", "tool_use"]
    tool = msg["content"][1]
    areq["messages"] += [
        {"role": "assistant", "content": msg["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"], "content": "2026-11-26"}]},
    ]
    oreq, names = anthropic_request_to_openai(areq, target="deepseek")
    assert oreq["messages"][1]["reasoning_content"] == msg["content"][0]["thinking"]  # echoed back
    r = await client.post(DS, json=oreq, headers=AUTH)
    assert r.status_code == 200, r.text


def test_deepseek_fixtures_translate() -> None:
    from bytespike.translate import ToolNameMap

    resp = json.loads((FIXTURES / "deepseek" / "chat_completion_thinking_tool_call.json").read_text())
    msg = openai_response_to_anthropic(resp, model="deepseek-flash", names=ToolNameMap(), provider="deepseek")
    assert [b["type"] for b in msg["content"]] == ["thinking", "tool_use"] and msg["stop_reason"] == "tool_use"
    assert msg["usage"]["cache_read_input_tokens"] == 1536 and msg["usage"]["input_tokens"] == 76
    stream = OpenAIToAnthropicStream(model="deepseek-flash", message_id="msg_ds", names=ToolNameMap(), provider="deepseek")
    events: list = []
    for frame in sse((FIXTURES / "deepseek" / "stream_thinking.sse").read_text()):
        if frame != "[DONE]":
            events.extend(stream.feed(frame))
    events.extend(stream.finish())
    check_anthropic_events(events)
    assert stream.usage["output_tokens_details"] == {"thinking_tokens": 12}


# ----------------------------------------------------------------------------- Ark


async def test_ark_thinking_switch(client: httpx.AsyncClient) -> None:
    data = (await client.post(ARK, json=chat("doubao-seed-2-1-pro-260915", "hi"), headers=AUTH)).json()
    assert data["choices"][0]["message"]["reasoning_content"]  # enabled by default
    assert data["id"].startswith("0217") and data["service_tier"] == "default" and "system_fingerprint" not in data
    u = data["usage"]
    assert set(u) == {"completion_tokens", "prompt_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
    off = (await client.post(ARK, json=chat("d", "hi", thinking={"type": "disabled"}), headers=AUTH)).json()
    assert "reasoning_content" not in off["choices"][0]["message"]
    short = (await client.post(ARK, json=chat("d", "hi", thinking={"type": "auto"}), headers=AUTH)).json()
    assert "reasoning_content" not in short["choices"][0]["message"]
    words = "please explain carefully why the sky looks blue during the day and red at sunset"
    long = (await client.post(ARK, json=chat("d", words, thinking={"type": "auto"}), headers=AUTH)).json()
    assert long["choices"][0]["message"]["reasoning_content"]


async def test_ark_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(ARK, json=chat("d", "hi", thinking={"type": "on"}), headers=AUTH)
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "InvalidParameter" and err["type"] == "BadRequest"
    assert err["param"] == "thinking.type" and " Request id: " in err["message"]
    r = await client.post(ARK, json={"messages": [{"role": "user", "content": "hi"}]}, headers=AUTH)
    assert r.json()["error"]["code"] == "MissingParameter" and r.json()["error"]["param"] == "model"
    r = await client.post(ARK, json={"model": "d", "messages": []}, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter"
    r = await client.post(ARK, json=chat("d", "hi"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationError"
    for status, code in ((403, "AccountOverdueError"), (404, "InvalidEndpointOrModel.NotFound"),
                         (429, "RateLimitExceeded.EndpointRPMExceeded"), (500, "InternalServiceError")):  # fmt: skip
        r = await client.post(ARK, json=chat("d", f"[[sim status={status}]]"), headers=AUTH)
        assert r.status_code == status and r.json()["error"]["code"] == code
        assert map_upstream_error("ark", status, r.content).kind is {
            403: Kind.UPSTREAM, 404: Kind.INVALID_REQUEST, 429: Kind.RATE_LIMIT, 500: Kind.UPSTREAM
        }[status]  # fmt: skip


async def test_ark_stream_and_translator_round_trip(client: httpx.AsyncClient) -> None:
    areq = {
        "model": "doubao-seed-2-1-pro-260915",
        "max_tokens": 1000,
        "thinking": {"type": "adaptive"},
        "stream": True,
        "tools": [{"name": "get_date", "input_schema": TOOL["function"]["parameters"]}],
        "messages": [{"role": "user", "content": "date please [[sim tools=2]]"}],
    }
    oreq, names = anthropic_request_to_openai(areq, target="ark")
    assert oreq["thinking"] == {"type": "auto"}
    r = await client.post(ARK, json=oreq, headers=AUTH)
    frames = [f for f in sse(r.text) if f != "[DONE]"]
    stream = OpenAIToAnthropicStream(model=areq["model"], message_id="msg_ark", names=names, provider="ark")
    events: list = []
    for frame in frames:
        events.extend(stream.feed(frame))
    events.extend(stream.finish())
    check_anthropic_events(events)
    assert stream.usage_reported and stream.usage["input_tokens"] > 0
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_ark_fixtures_translate() -> None:
    from bytespike.translate import ToolNameMap

    resp = json.loads((FIXTURES / "ark" / "chat_completion_thinking.json").read_text())
    msg = openai_response_to_anthropic(resp, model="doubao", names=ToolNameMap(), provider="ark")
    assert [b["type"] for b in msg["content"]] == ["thinking", "text"]
    assert openai_usage_to_anthropic(resp["usage"]) == {
        "input_tokens": 96,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": 58,
        "output_tokens_details": {"thinking_tokens": 21},
    }
    stream = OpenAIToAnthropicStream(model="doubao", message_id="msg_a", names=ToolNameMap(), provider="ark")
    events: list = []
    for frame in sse((FIXTURES / "ark" / "stream_tool_call.sse").read_text()):
        if frame != "[DONE]":
            events.extend(stream.feed(frame))
    events.extend(stream.finish())
    check_anthropic_events(events)
    tool = next(d["content_block"] for n, d in events if n == "content_block_start" and d["content_block"]["type"] == "tool_use")
    assert tool["name"] == "get_weather" and stream.usage["output_tokens"] == 40


@pytest.mark.parametrize(("base", "model"), [("/deepseek", "deepseek-flash"), ("/ark/api/v3", "doubao-seed-2-1-pro-260915")])
async def test_official_openai_sdk_parses_both_dialects(base: str, model: str) -> None:
    import openai

    app = create_simulator_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http:
        sdk = openai.AsyncOpenAI(api_key="sim-key", base_url=f"http://sim{base}", http_client=http, max_retries=0)
        done = await sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert done.choices[0].message.content and done.usage and done.usage.total_tokens > 0
        assert getattr(done.choices[0].message, "reasoning_content", None)  # extra field kept by the SDK
        stream = await sdk.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
        text, usage = [], None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text.append(chunk.choices[0].delta.content)
            usage = chunk.usage or usage
        assert "".join(text) == done.choices[0].message.content and usage is not None
        with pytest.raises(openai.APIStatusError) as err:
            await sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "[[sim status=429]]"}])
        assert err.value.status_code == 429
