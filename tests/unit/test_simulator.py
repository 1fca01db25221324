"""Upstream simulator: wire fidelity, directives, validation, caching and the control API.

Runs the app in-process through ``httpx.ASGITransport`` (which buffers whole bodies, so
stream *content* is checked here and stream *timing/drops* in test_simulator_http.py).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytespike.simulator.app import create_simulator_app
from bytespike.simulator.directives import parse_directives, strip_directives
from bytespike.simulator.reply import SimRequest, ToolSpec, example_from_schema, plan_reply, sign_thinking
from bytespike.simulator.tokens import tokens

pytestmark = pytest.mark.anyio

A_HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
O_HEADERS = {"authorization": "Bearer sk-test"}
A_PATH = "/anthropic/v1/messages"
O_PATH = "/openai/v1/chat/completions"
MODEL = "claude-sonnet-5-5"

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "detail": {
                "type": "object",
                "properties": {"hourly": {"type": "boolean"}, "ratio": {"type": "number"}},
            },
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city", "extra"],
    },
}
CLOCK = {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as c:
        yield c


def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) per frame; ``[DONE]`` stays a string."""
    frames: list[tuple[str | None, Any]] = []
    for raw in text.split("\n\n"):
        if not raw.strip():
            continue
        event, data = None, []
        for line in raw.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        payload = "\n".join(data)
        frames.append((event, payload if payload == "[DONE]" else json.loads(payload)))
    return frames


def amsg(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": text}], **extra}


def omsg(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


async def a_post(client: httpx.AsyncClient, body: dict[str, Any], path: str = A_PATH) -> httpx.Response:
    return await client.post(path, headers=A_HEADERS, json=body)


async def o_post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(O_PATH, headers=O_HEADERS, json=body)


def check_anthropic_stream(frames: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Assert the real API's event grammar and rebuild the message from the events."""
    names = [e for e, _ in frames]
    assert all(e is not None for e in names), "every Anthropic frame needs an event: line"
    assert all(d["type"] == e for e, d in frames)
    assert names[0] == "message_start" and names[1] == "ping"
    assert names[-2:] == ["message_delta", "message_stop"]
    start = frames[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1
    assert set(start["usage"]["cache_creation"]) == {"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}
    blocks: list[dict[str, Any]] = []
    open_index: int | None = None
    partial: dict[int, str] = {}
    for name, data in frames[2:-2]:
        if name == "content_block_start":
            assert open_index is None and data["index"] == len(blocks)
            open_index = data["index"]
            blocks.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            assert data["index"] == open_index
            delta, block = data["delta"], blocks[open_index]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial[open_index] = partial.get(open_index, "") + delta["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        else:
            assert name == "ping"
    assert open_index is None
    for index, raw in partial.items():
        blocks[index]["input"] = json.loads(raw)
        blocks[index]["_raw"] = raw
    final = frames[-2][1]
    return {"start": start, "content": blocks, "delta": final["delta"], "usage": final["usage"]}


# ---------------------------------------------------------------- Anthropic basics


async def test_anthropic_json_default_reply(client: httpx.AsyncClient) -> None:
    r = await a_post(client, amsg("please tell me about the weather in Paris today"))
    assert r.status_code == 200
    assert r.headers["request-id"].startswith("req_sim_")
    body = r.json()
    assert body["id"].startswith("msg_sim_") and body["type"] == "message" and body["role"] == "assistant"
    assert body["model"] == MODEL and body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    text = body["content"][0]["text"]
    assert text.startswith(f"Hello from {MODEL}! You said: please tell me about the weather.")
    usage = body["usage"]
    prompt = "please tell me about the weather in Paris today"
    assert usage["input_tokens"] == tokens(prompt) + 3
    assert usage["output_tokens"] == tokens(text)
    assert usage["cache_read_input_tokens"] == 0 and usage["cache_creation_input_tokens"] == 0
    again = await a_post(client, amsg("please tell me about the weather in Paris today"))
    assert again.json()["content"] == body["content"], "replies are deterministic"


async def test_anthropic_stream_matches_json(client: httpx.AsyncClient) -> None:
    body = amsg("stream me something [[sim words=12]]")
    plain = (await a_post(client, body)).json()
    r = await a_post(client, {**body, "stream": True})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["request-id"].startswith("req_sim_")
    msg = check_anthropic_stream(parse_sse(r.text))
    assert [b["type"] for b in msg["content"]] == ["text"]
    assert msg["content"][0]["text"] == plain["content"][0]["text"]
    assert len(msg["content"][0]["text"].split()) == 12
    assert msg["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert msg["usage"]["output_tokens"] == plain["usage"]["output_tokens"]
    assert msg["usage"]["input_tokens"] == plain["usage"]["input_tokens"]
    deltas = [d for e, d in parse_sse(r.text) if e == "content_block_delta"]
    assert len(deltas) == 12, "default: one delta per word"


async def test_text_shaping_directives(client: httpx.AsyncClient) -> None:
    r = await a_post(client, {**amsg("x [[sim text=ping words=5 deltas=3]]"), "stream": True})
    frames = parse_sse(r.text)
    deltas = [d["delta"]["text"] for e, d in frames if e == "content_block_delta"]
    assert len(deltas) == 3 and "".join(deltas) == "ping ping ping ping ping"
    r = await a_post(client, {**amsg("x [[sim oversize=5000]]"), "max_tokens": 2000})
    text = r.json()["content"][0]["text"]
    assert len(text.encode()) == 5000 and r.json()["usage"]["output_tokens"] == 1250
    r = await o_post(client, {**omsg("x [[sim deltas=40 words=2]]"), "stream": True})
    pieces = [d["choices"][0]["delta"].get("content") for _, d in parse_sse(r.text)[:-1] if d["choices"]]
    assert len([p for p in pieces if p]) == 40


async def test_max_tokens_and_stop_directives(client: httpx.AsyncClient) -> None:
    r = await a_post(client, {**amsg("hello [[sim words=200]]"), "max_tokens": 5})
    body = r.json()
    assert body["stop_reason"] == "max_tokens" and body["usage"]["output_tokens"] <= 5
    r = await a_post(client, {**amsg("hello [[sim stop=stop_sequence]]"), "stop_sequences": ["END", "STOP"]})
    assert (r.json()["stop_reason"], r.json()["stop_sequence"]) == ("stop_sequence", "END")
    r = await a_post(client, {**amsg("hello world"), "stop_sequences": ["You said"]})
    assert r.json()["stop_reason"] == "stop_sequence" and r.json()["content"][0]["text"].endswith("! ")
    r = await a_post(client, amsg("hello [[sim stop=refusal]]"))
    assert r.json()["stop_reason"] == "refusal"
    r = await a_post(client, {**amsg("warm the cache"), "max_tokens": 0})
    assert r.status_code == 200 and r.json()["content"] == [] and r.json()["stop_reason"] == "max_tokens"
    for directive, finish in [
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("refusal", "content_filter"),
    ]:
        r = await o_post(client, omsg(f"x [[sim stop={directive}]]"))
        assert r.json()["choices"][0]["finish_reason"] == finish
    r = await o_post(client, {**omsg("hello [[sim words=100]]"), "max_completion_tokens": 4})
    assert r.json()["choices"][0]["finish_reason"] == "length"
    assert r.json()["usage"]["completion_tokens"] <= 4


# ---------------------------------------------------------------- tools


async def test_anthropic_parallel_tool_calls(client: httpx.AsyncClient) -> None:
    body = amsg("weather and time [[sim tools=3]]", tools=[WEATHER, CLOCK])
    r = await a_post(client, body)
    msg = r.json()
    assert msg["stop_reason"] == "tool_use"
    uses = msg["content"]
    assert [b["type"] for b in uses] == ["tool_use"] * 3
    assert [b["name"] for b in uses] == ["get_weather", "get_time", "get_weather"]
    assert len({b["id"] for b in uses}) == 3 and all(b["id"].startswith("toolu_sim_") for b in uses)
    assert uses[0]["input"] == {
        "city": "value-city",
        "days": 1,
        "unit": "c",
        "detail": {"hourly": True, "ratio": 1.5},
        "tags": [],
        "extra": "value-extra",
    }
    streamed = check_anthropic_stream(parse_sse((await a_post(client, {**body, "stream": True})).text))
    assert streamed["delta"]["stop_reason"] == "tool_use"
    for block, plain in zip(streamed["content"], uses, strict=True):
        assert block["input"] == plain["input"] and block["id"] == plain["id"]
        assert block["_raw"] == json.dumps(plain["input"], separators=(",", ":"))
    fragments = [
        d
        for e, d in parse_sse((await a_post(client, {**body, "stream": True})).text)
        if e == "content_block_delta"
    ]
    per_block: dict[int, int] = {}
    for d in fragments:
        assert d["delta"]["type"] == "input_json_delta"
        per_block[d["index"]] = per_block.get(d["index"], 0) + 1
    assert all(n >= 2 for n in per_block.values()) and len(per_block) == 3


async def test_tool_choice_and_parallel_flags(client: httpx.AsyncClient) -> None:
    r = await a_post(
        client, amsg("go", tools=[WEATHER, CLOCK], tool_choice={"type": "tool", "name": "get_time"})
    )
    assert [(b["type"], b["name"]) for b in r.json()["content"]] == [("tool_use", "get_time")]
    r = await a_post(
        client,
        amsg(
            "[[sim tools=3]]",
            tools=[WEATHER],
            tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        ),
    )
    assert len(r.json()["content"]) == 1
    r = await a_post(client, amsg("[[sim tools=2]]", tools=[WEATHER], tool_choice={"type": "none"}))
    assert r.json()["content"][0]["type"] == "text" and r.json()["stop_reason"] == "end_turn"
    r = await a_post(client, amsg("[[sim tools=2]] no tools defined"))
    assert r.json()["stop_reason"] == "end_turn"


async def test_tool_result_round_trip_and_pairing(client: httpx.AsyncClient) -> None:
    first = (await a_post(client, amsg("weather? [[sim tools=2]]", tools=[WEATHER]))).json()
    ids = [b["id"] for b in first["content"]]
    history = [
        {"role": "user", "content": "weather? [[sim tools=2]]"},
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": ids[0], "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": ids[1],
                    "content": [{"type": "text", "text": "rainy"}],
                },
            ],
        },
    ]
    r = await a_post(client, {"model": MODEL, "max_tokens": 100, "tools": [WEATHER], "messages": history})
    assert r.status_code == 200, r.text
    assert r.json()["content"][0]["text"] == f"Tool results received: {ids[0]}=sunny; {ids[1]}=rainy"
    bad = [
        *history[:2],
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nope", "content": "x"}]},
    ]
    r = await a_post(client, {"model": MODEL, "max_tokens": 100, "tools": [WEATHER], "messages": bad})
    assert r.status_code == 400 and "unexpected `tool_use_id`" in r.json()["error"]["message"]
    unanswered = [*history[:2], {"role": "user", "content": "never mind"}]
    r = await a_post(client, {"model": MODEL, "max_tokens": 100, "tools": [WEATHER], "messages": unanswered})
    assert r.status_code == 400 and "without `tool_result`" in r.json()["error"]["message"]
    # A directive inside a tool_result steers the follow-up reply.
    steer = [*history[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": ids[0], "content": "ok [[sim status=429]]"},
        {"type": "tool_result", "tool_use_id": ids[1], "content": "ok"},
    ]}]  # fmt: skip
    r = await a_post(client, {"model": MODEL, "max_tokens": 100, "tools": [WEATHER], "messages": steer})
    assert r.status_code == 429


async def test_openai_tool_calls_json_and_stream(client: httpx.AsyncClient) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["input_schema"]}}]
    body = omsg("weather [[sim tools=2]]", tools=tools)
    r = await o_post(client, body)
    assert r.headers["x-request-id"].startswith("req_sim_")
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert len(calls) == 2 and all(c["id"].startswith("call_sim_") and c["type"] == "function" for c in calls)
    assert json.loads(calls[0]["function"]["arguments"])["city"] == "value-city"
    frames = parse_sse((await o_post(client, {**body, "stream": True})).text)
    assert frames[-1] == (None, "[DONE]")
    assembled: dict[int, dict[str, Any]] = {}
    for _, chunk in frames[:-1]:
        assert "usage" not in chunk, "no usage key without include_usage"
        for tc in chunk["choices"][0]["delta"].get("tool_calls", []):
            assert isinstance(tc["index"], int)
            if "id" in tc:
                assert tc["type"] == "function" and tc["function"]["arguments"] == ""
                assembled[tc["index"]] = {"id": tc["id"], "name": tc["function"]["name"], "args": "", "n": 0}
            else:
                assert set(tc) == {"index", "function"}
                assembled[tc["index"]]["args"] += tc["function"]["arguments"]
                assembled[tc["index"]]["n"] += 1
    assert [a["args"] for a in assembled.values()] == [c["function"]["arguments"] for c in calls]
    assert all(a["n"] >= 2 for a in assembled.values())
    assert frames[-2][1]["choices"][0]["finish_reason"] == "tool_calls"
    # tool results round trip
    history = [
        {"role": "user", "content": "weather [[sim tools=2]]"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": [{"type": "text", "text": "rainy"}]},
    ]
    r = await o_post(client, {"model": "gpt-4o", "tools": tools, "messages": history})
    assert r.json()["choices"][0]["message"]["content"] == (
        f"Tool results received: {calls[0]['id']}=sunny; {calls[1]['id']}=rainy"
    )
    orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_x", "content": "x"}]
    r = await o_post(client, {"model": "gpt-4o", "messages": orphan})
    assert r.status_code == 400 and "role 'tool'" in r.json()["error"]["message"]
    r = await o_post(client, {"model": "gpt-4o", "messages": history[:3]})
    assert r.status_code == 400 and calls[1]["id"] in r.json()["error"]["message"]


def test_schema_examples() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/Inner"},
            "b": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "c": {"type": ["null", "string"]},
            "d": {"const": 7},
        },
        "$defs": {"Inner": {"type": "object", "properties": {"x": {"type": "number"}}}},
    }
    assert example_from_schema(schema) == {"a": {"x": 1.5}, "b": 1, "c": "value-c", "d": 7}


# ---------------------------------------------------------------- thinking


async def test_thinking_signature_round_trip(client: httpx.AsyncClient) -> None:
    thinking = {"type": "enabled", "budget_tokens": 2000}
    body = {**amsg("think about it [[sim words=4]]"), "max_tokens": 4000, "thinking": thinking}
    streamed = check_anthropic_stream(parse_sse((await a_post(client, {**body, "stream": True})).text))
    assert [b["type"] for b in streamed["content"]] == ["thinking", "text"]
    frames = parse_sse((await a_post(client, {**body, "stream": True})).text)
    stop_at = next(i for i, (e, d) in enumerate(frames) if e == "content_block_stop")
    assert frames[stop_at - 1][1]["delta"]["type"] == "signature_delta"
    plain = (await a_post(client, body)).json()
    block = plain["content"][0]
    assert block["type"] == "thinking" and block["signature"] == streamed["content"][0]["signature"]
    assert block["signature"] == sign_thinking(MODEL, block["thinking"])
    history = [
        {"role": "user", "content": "think about it"},
        {"role": "assistant", "content": plain["content"]},
        {"role": "user", "content": "and now?"},
    ]
    ok = await a_post(client, {"model": MODEL, "max_tokens": 4000, "thinking": thinking, "messages": history})
    assert ok.status_code == 200
    dated = await a_post(client, {"model": MODEL + "-20250929", "max_tokens": 4000, "messages": history})
    assert dated.status_code == 200, "same family (date suffix) verifies"
    tampered = json.loads(json.dumps(history))
    tampered[1]["content"][0]["thinking"] += " (edited)"
    r = await a_post(client, {"model": MODEL, "max_tokens": 4000, "messages": tampered})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error",
        "message": "messages.1.content.0: Invalid `signature` in `thinking` block",
    }
    r = await a_post(client, {"model": "claude-opus-5-5", "max_tokens": 4000, "messages": history})
    assert r.status_code == 400 and "Invalid `signature`" in r.json()["error"]["message"]


async def test_thinking_flags_and_openai_reasoning(client: httpx.AsyncClient) -> None:
    r = await a_post(client, amsg("hello [[sim think]]"))
    assert r.json()["content"][0]["type"] == "thinking"
    r = await a_post(client, {**amsg("hi"), "thinking": {"type": "adaptive"}})
    assert r.json()["content"][0]["type"] == "thinking"
    r = await a_post(
        client,
        {
            **amsg("hi"),
            "thinking": {"type": "enabled", "budget_tokens": 2000, "display": "omitted"},
            "max_tokens": 3000,
        },
    )
    assert r.json()["content"][0] == {
        "type": "thinking",
        "thinking": "",
        "signature": sign_thinking(MODEL, ""),
    }
    body = omsg("reason please", reasoning_effort="high")
    plain = (await o_post(client, body)).json()
    message, usage = plain["choices"][0]["message"], plain["usage"]
    assert message["reasoning_content"] and message["content"].startswith("Hello from gpt-4o!")
    assert usage["completion_tokens_details"]["reasoning_tokens"] == tokens(message["reasoning_content"])
    assert usage["completion_tokens"] == tokens(message["reasoning_content"]) + tokens(message["content"])
    frames = parse_sse((await o_post(client, {**body, "stream": True})).text)
    kinds = [next(iter(d["choices"][0]["delta"]), None) for _, d in frames[1:-2]]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning_content"), "reasoning comes before content"
    assert (
        "".join(d["choices"][0]["delta"].get("reasoning_content", "") for _, d in frames[:-1])
        == message["reasoning_content"]
    )


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"model": None}, "model: Field required"),
        ({"messages": None}, "messages: Field required"),
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, "must be non-empty"),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 2048},
            "`max_tokens` must be greater",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 500}, "max_tokens": 2048},
            "greater than or equal to 1024",
        ),
        ({"messages": [{"role": "tool", "content": "x"}]}, "Input should be 'user', 'assistant' or 'system'"),
        ({"messages": [{"role": "system", "content": "x"}]}, "cannot be the first message"),
        ({"messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "y"},
                       {"role": "user", "content": "z"}]}, "followed by an assistant message"),
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "so "}]},
            "trailing whitespace",
        ),
    ],
)
async def test_anthropic_validation(client: httpx.AsyncClient, patch: dict[str, Any], fragment: str) -> None:
    body = {**amsg("hello"), **patch}
    body = {k: v for k, v in body.items() if v is not None}
    r = await a_post(client, body)
    assert r.status_code == 400
    err = r.json()
    assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
    assert fragment in err["error"]["message"] and err["request_id"] == r.headers["request-id"]


async def test_openai_validation(client: httpx.AsyncClient) -> None:
    r = await o_post(client, {"model": "gpt-4o", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = await o_post(client, {"model": "gpt-4o"})
    assert r.status_code == 400
    r = await o_post(client, {**omsg("hi"), "max_tokens": 10})
    assert r.status_code == 200
    r = await o_post(client, {**omsg("hi"), "stream_options": {"include_usage": True}})
    assert r.status_code == 400


# ---------------------------------------------------------------- caching + tokens


async def test_anthropic_prompt_caching(client: httpx.AsyncClient) -> None:
    system = [
        {"type": "text", "text": "You are a careful assistant. " * 50, "cache_control": {"type": "ephemeral"}}
    ]
    body = {**amsg("first question"), "system": system}
    first = (await a_post(client, body)).json()["usage"]
    total = tokens(system[0]["text"]) + 3 + tokens("first question")
    assert first["cache_creation_input_tokens"] == tokens(system[0]["text"])
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": tokens(system[0]["text"]),
        "ephemeral_1h_input_tokens": 0,
    }
    assert first["cache_read_input_tokens"] == 0
    assert first["input_tokens"] + first["cache_creation_input_tokens"] == total
    second = (await a_post(client, {**body, "messages": [{"role": "user", "content": "second one"}]})).json()[
        "usage"
    ]
    assert (
        second["cache_read_input_tokens"] == tokens(system[0]["text"])
        and second["cache_creation_input_tokens"] == 0
    )
    assert second["input_tokens"] == 3 + tokens("second one")
    other_model = (await a_post(client, {**body, "model": "claude-haiku-5-5"})).json()["usage"]
    assert other_model["cache_read_input_tokens"] == 0, "cache is per model"
    counted = (
        await a_post(client, {k: v for k, v in body.items() if k != "max_tokens"}, A_PATH + "/count_tokens")
    ).json()
    assert counted == {"input_tokens": total}
    # 1h TTL + stream: message_start carries the cache usage
    long_system = [
        {"type": "text", "text": "Rules. " * 100, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    r = await a_post(client, {**amsg("q"), "system": long_system, "stream": True})
    usage = parse_sse(r.text)[0][1]["message"]["usage"]
    assert usage["cache_creation"]["ephemeral_1h_input_tokens"] == tokens(long_system[0]["text"])
    r = await a_post(client, {**amsg("q2"), "system": long_system, "stream": True})
    frames = parse_sse(r.text)
    assert frames[0][1]["message"]["usage"]["cache_read_input_tokens"] == tokens(long_system[0]["text"])
    assert frames[-2][1]["usage"]["cache_read_input_tokens"] == tokens(long_system[0]["text"])
    # reset forgets the cache
    await client.post("/_sim/reset")
    again = (await a_post(client, body)).json()["usage"]
    assert again["cache_creation_input_tokens"] == tokens(system[0]["text"])
    too_many = [{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]
    r = await a_post(client, {**amsg("q"), "system": too_many})
    assert r.status_code == 400 and "maximum of 4" in r.json()["error"]["message"]


async def test_openai_caching_and_usage_chunk(client: httpx.AsyncClient) -> None:
    system = {"role": "system", "content": "Policy text. " * 400}
    body = {"model": "gpt-4o", "messages": [system, {"role": "user", "content": "one"}]}
    first = (await o_post(client, body)).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert first["prompt_tokens"] == tokens(system["content"]) + 3 + tokens("one") + 3
    body2 = {"model": "gpt-4o", "messages": [system, {"role": "user", "content": "two"}], "stream": True,
             "stream_options": {"include_usage": True}}  # fmt: skip
    frames = parse_sse((await o_post(client, body2)).text)
    assert frames[-1] == (None, "[DONE]")
    usage_chunk = frames[-2][1]
    assert usage_chunk["choices"] == [] and usage_chunk["object"] == "chat.completion.chunk"
    assert all(d["usage"] is None for _, d in frames[:-2])
    usage = usage_chunk["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == tokens(system["content"]) + 3
    assert usage["prompt_tokens"] == tokens(system["content"]) + 3 + tokens("two") + 3, (
        "prompt includes cached"
    )
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    forced = (await o_post(client, omsg("tiny [[sim cached=5]]"))).json()["usage"]
    assert forced["prompt_tokens_details"]["cached_tokens"] == 5


async def test_images_are_accepted_and_counted(client: httpx.AsyncClient) -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "text", "text": "what is this"},
    ]
    r = await a_post(
        client, {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": content}]}
    )
    assert "I see 2 image(s)" in r.json()["content"][0]["text"]
    assert r.json()["usage"]["input_tokens"] == 2 * 1600 + tokens("what is this") + 3
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    r = await o_post(client, {"model": "gpt-4o", "messages": [{"role": "user", "content": parts}]})
    assert "I see 1 image(s)" in r.json()["choices"][0]["message"]["content"]
    logged = (await client.get("/_sim/requests", params={"contains": PNG[:20]})).json()["requests"]
    assert len(logged) == 2


# ---------------------------------------------------------------- errors + faults


ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 503: "api_error",
                   529: "overloaded_error"}  # fmt: skip
OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error", 503: "server_error",
                529: "server_error"}  # fmt: skip


@pytest.mark.parametrize("status", sorted(ANTHROPIC_TYPES))
@pytest.mark.parametrize("stream", [False, True])
async def test_status_directives(client: httpx.AsyncClient, status: int, stream: bool) -> None:
    r = await a_post(client, {**amsg(f"x [[sim status={status} retry_after=7]]"), "stream": stream})
    assert r.status_code == status and r.headers["retry-after"] == "7"
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == ANTHROPIC_TYPES[status]
    assert body["error"]["message"] and body["request_id"] == r.headers["request-id"]
    r = await o_post(client, {**omsg(f"x [[sim status={status}]]"), "stream": stream})
    assert r.status_code == status and "retry-after" not in r.headers
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["type"] == OPENAI_TYPES[status]
    assert r.headers["x-request-id"].startswith("req_sim_")
    if status == 429:
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        assert err["code"] == "rate_limit_exceeded"


async def test_html_error_body(client: httpx.AsyncClient) -> None:
    r = await a_post(client, amsg("x [[sim status=502 error_body=html]]"))
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert r.text == "<html>502 Bad Gateway</html>"
    r = await o_post(client, omsg("x [[sim error_body=html]]"))
    assert r.status_code == 502 and r.text.startswith("<html>")


async def test_fail_times_counts_per_directive(client: httpx.AsyncClient) -> None:
    body = amsg("retry me [[sim status=529 fail_times=2 id=a]]")
    assert [(await a_post(client, body)).status_code for _ in range(4)] == [529, 529, 200, 200]
    other = omsg("retry me [[sim status=503 fail_times=1 id=b]]")
    assert [(await o_post(client, other)).status_code for _ in range(2)] == [503, 200]
    await client.post("/_sim/reset")
    assert (await a_post(client, body)).status_code == 529


async def test_mid_stream_errors(client: httpx.AsyncClient) -> None:
    r = await a_post(client, {**amsg("x [[sim error_after=3]]"), "stream": True})
    assert r.status_code == 200
    frames = parse_sse(r.text)
    assert [e for e, _ in frames].count("content_block_delta") == 3
    assert frames[-1][0] == "error" and frames[-1][1]["error"]["type"] == "overloaded_error"
    assert "message_stop" not in [e for e, _ in frames]
    r = await o_post(client, {**omsg("x [[sim error_after=2]]"), "stream": True})
    frames = parse_sse(r.text)
    assert frames[-1][1]["error"]["type"] == "server_error" and (None, "[DONE]") not in frames
    assert sum(1 for _, d in frames if "choices" in d and d["choices"][0]["delta"].get("content")) == 2
    r = await a_post(client, {**amsg("x [[sim error_after=100]]"), "stream": True})
    assert parse_sse(r.text)[-1][0] == "error", "fires at end of content when the reply is shorter"
    assert (await a_post(client, amsg("x [[sim error_after=1]]"))).status_code == 529
    assert (await o_post(client, omsg("x [[sim error_after=1]]"))).status_code == 500


async def test_delay_directives_non_streaming(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    r = await a_post(client, amsg("x [[sim delay_ms=150]]"))
    assert r.status_code == 200 and time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    r = await o_post(client, omsg("x [[sim first_token_ms=50 interval_ms=10 deltas=6]]"))
    assert r.status_code == 200 and time.perf_counter() - started >= 0.1


# ---------------------------------------------------------------- auth + control


async def test_auth(client: httpx.AsyncClient) -> None:
    r = await client.post(A_PATH, json=amsg("hi"))
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = await client.post(A_PATH, headers={"x-api-key": "sk-sim-invalid"}, json=amsg("hi"))
    assert r.status_code == 401
    r = await client.post(A_PATH, headers={"authorization": "Bearer tok"}, json=amsg("hi"))
    assert r.status_code == 200
    r = await client.post(O_PATH, headers={"x-api-key": "k"}, json=omsg("hi"))
    assert r.status_code == 401 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = await client.post(O_PATH, headers={"authorization": "Bearer sk-sim-invalid"}, json=omsg("hi"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = await client.post("/anthropic/v1/nope", headers=A_HEADERS, json={})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


async def test_request_log(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sim/health")).status_code == 200
    await client.post(A_PATH, headers={**A_HEADERS, "X-Custom-Thing": "v1"}, json=amsg("needle-123 here"))
    await o_post(client, omsg("another needle-123"))
    await o_post(client, omsg("unrelated"))
    found = (await client.get("/_sim/requests", params={"contains": "needle-123"})).json()["requests"]
    assert [f["path"] for f in found] == [A_PATH, O_PATH]
    assert found[0]["headers"]["x-custom-thing"] == "v1" and found[0]["headers"]["x-api-key"] == "sk-test"
    assert found[0]["body"]["messages"][0]["content"] == "needle-123 here"
    assert isinstance(found[0]["received_at"], float)
    assert len((await client.get("/_sim/requests")).json()["requests"]) == 3
    await client.post("/_sim/reset")
    assert (await client.get("/_sim/requests")).json()["requests"] == []


# ---------------------------------------------------------------- pure helpers


def test_directive_parsing() -> None:
    d = parse_directives("a [[sim status=429 retry_after=2]] b [[sim status=500 think delay_ms=5 id=x]]")
    assert (d.status, d.retry_after, d.think, d.delay_ms) == (500, "2", True, 5.0)
    assert d.raw == "[[sim status=429 retry_after=2]] [[sim status=500 think delay_ms=5 id=x]]"
    assert parse_directives("no directives").raw == ""
    assert strip_directives("hi [[sim words=3]] there") == "hi there"


@settings(max_examples=60, deadline=None)
@given(
    words=st.integers(min_value=0, max_value=60),
    deltas=st.one_of(st.none(), st.integers(min_value=1, max_value=80)),
    tools=st.integers(min_value=0, max_value=4),
    think=st.booleans(),
    max_tokens=st.integers(min_value=0, max_value=400),
)
def test_plan_invariants(words: int, deltas: int | None, tools: int, think: bool, max_tokens: int) -> None:
    directive = f"[[sim words={words} tools={tools}" + (f" deltas={deltas}" if deltas else "") + "]]"
    req = SimRequest(
        model="m",
        user_text=f"question {directive}",
        tools=[ToolSpec("t", WEATHER["input_schema"])],
        thinking=think,
        max_tokens=max_tokens,
        directives=parse_directives(directive),
    )
    plan = plan_reply(req)
    assert "".join(plan.text_deltas) == plan.text and all(plan.text_deltas)
    assert "".join(plan.thinking_deltas) == plan.thinking
    if deltas and plan.text and len(plan.text) >= deltas:
        assert len(plan.text_deltas) == deltas
    assert plan.output_tokens <= max_tokens
    assert plan.output_tokens == plan.thinking_tokens + tokens(plan.text) + sum(
        tokens(c.arguments) for c in plan.tool_calls
    )
    if plan.tool_calls and plan.stop_reason != "max_tokens":
        assert plan.stop_reason == "tool_use"
    assert plan_reply(req).text == plan.text, "deterministic"
