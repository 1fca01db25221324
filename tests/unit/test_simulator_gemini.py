"""Simulated Gemini API: wire shapes, auth, directives, thought-signature validation, and the
translator driving it end to end (Anthropic and OpenAI surfaces).

In-process through ``httpx.ASGITransport`` (whole bodies; stream timing is the driver's,
covered by test_simulator_http.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bytespike.errors import Kind
from bytespike.simulator.app import create_simulator_app
from bytespike.simulator.gemini_proto import SKIP_SIGNATURE
from bytespike.translate import (
    AnthropicToOpenAIStream,
    GeminiToAnthropicStream,
    anthropic_request_to_gemini,
    assemble_anthropic_events,
    check_anthropic_events,
    check_openai_chunks,
    gemini_path,
    gemini_response_to_anthropic,
    map_upstream_error,
    openai_request_to_anthropic,
)

pytestmark = pytest.mark.anyio

MODEL = "gemini-3.8-flash"
BASE = "/gemini/v1beta"
HEADERS = {"x-goog-api-key": "sim-key"}
WEATHER_DECL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
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


def parse_sse(raw: bytes) -> list[Any]:
    """Gemini frames: ``data: {json}\\r\\n\\r\\n``."""
    assert b"\r\n\r\n" in raw
    out = []
    for frame in raw.decode().split("\r\n\r\n"):
        if frame.strip():
            assert frame.startswith("data: "), frame
            out.append(json.loads(frame[6:]))
    return out


def body(text: str, **extra: Any) -> dict:
    b: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    b.update(extra)
    return b


async def generate(client: httpx.AsyncClient, payload: dict, *, model: str = MODEL, stream: bool = False) -> httpx.Response:
    return await client.post(BASE + gemini_path(model, stream=stream), json=payload, headers=HEADERS)


# ----------------------------------------------------------------------------- shapes


async def test_generate_content_shape_and_usage(client: httpx.AsyncClient) -> None:
    r = await generate(client, body("hello there", systemInstruction={"parts": [{"text": "be brief"}]}))
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"candidates", "usageMetadata", "modelVersion", "responseId"}
    cand = data["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["index"] == 0
    assert cand["content"]["role"] == "model"
    assert cand["content"]["parts"][0]["text"].startswith(f"Hello from {MODEL}!")
    assert "thoughtSignature" not in cand["content"]["parts"][0]  # thinking off: text unsigned
    u = data["usageMetadata"]
    assert u["totalTokenCount"] == u["promptTokenCount"] + u["candidatesTokenCount"]
    assert "thoughtsTokenCount" not in u and "cachedContentTokenCount" not in u
    assert data["modelVersion"] == MODEL


async def test_thoughts_signature_and_usage_with_thinking(client: httpx.AsyncClient) -> None:
    cfg = {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "low"}}
    data = (await generate(client, body("think about it", generationConfig=cfg))).json()
    parts = data["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[0]["text"]
    assert "thoughtSignature" in parts[-1] and "thought" not in parts[-1]  # last part signed
    u = data["usageMetadata"]
    assert u["thoughtsTokenCount"] > 0
    assert u["totalTokenCount"] == u["promptTokenCount"] + u["candidatesTokenCount"] + u["thoughtsTokenCount"]
    # thinking on but thoughts not requested: billed, not shown
    data = (await generate(client, body("think quietly", generationConfig={"thinkingConfig": {"thinkingLevel": "low"}}))).json()
    parts = data["candidates"][0]["content"]["parts"]
    assert not any(p.get("thought") for p in parts)
    assert data["usageMetadata"]["thoughtsTokenCount"] > 0


async def test_stream_frames_and_json_array(client: httpx.AsyncClient) -> None:
    cfg = {"thinkingConfig": {"includeThoughts": True}}
    r = await generate(client, body("stream it [[sim deltas=3]]", generationConfig=cfg), stream=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    chunks = parse_sse(r.content)
    ids = {c["responseId"] for c in chunks}
    assert len(ids) == 1
    texts = [p["text"] for c in chunks[:-1] for p in c["candidates"][0]["content"]["parts"] if not p.get("thought")]
    assert len(texts) == 3
    last = chunks[-1]["candidates"][0]
    assert last["finishReason"] == "STOP"
    assert last["content"]["parts"] == [{"text": "", "thoughtSignature": last["content"]["parts"][0]["thoughtSignature"]}]
    assert "candidatesTokenCount" not in chunks[0]["usageMetadata"]  # intermediate chunks: prompt side only
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] > 0
    # without alt=sse: one JSON array of the same chunks
    r = await client.post(f"{BASE}/models/{MODEL}:streamGenerateContent", json=body("array"), headers=HEADERS)
    arr = r.json()
    assert isinstance(arr, list) and arr[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_count_tokens(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/models/{MODEL}:countTokens", json=body("count me"), headers=HEADERS)
    assert r.status_code == 200 and r.json()["totalTokens"] > 0


# ----------------------------------------------------------------------------- auth & errors


async def test_auth(client: httpx.AsyncClient) -> None:
    r = await client.post(BASE + gemini_path(MODEL, stream=False), json=body("x"))
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    r = await client.post(BASE + gemini_path(MODEL, stream=False), json=body("x"), headers={"x-goog-api-key": "sk-sim-invalid"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0]["reason"] == "API_KEY_INVALID"
    mapped = map_upstream_error("gemini", r.status_code, r.content)
    assert mapped.kind is Kind.UPSTREAM and mapped.account_fault  # the gateway's key, not the caller's 400
    r = await client.post(f"{BASE}/models/{MODEL}:generateContent?key=k", json=body("x"))
    assert r.status_code == 200


async def test_directive_errors(client: httpx.AsyncClient) -> None:
    r = await generate(client, body("[[sim status=429 retry_after=7]]"))
    err = r.json()["error"]
    assert r.status_code == 429 and err["status"] == "RESOURCE_EXHAUSTED" and "retry-after" not in r.headers
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"} in err["details"]
    mapped = map_upstream_error("gemini", 429, r.content)
    assert mapped.kind is Kind.RATE_LIMIT and mapped.retry_after == "7"
    for status, gstatus in ((500, "INTERNAL"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"), (404, "NOT_FOUND")):
        r = await generate(client, body(f"[[sim status={status}]]"))
        assert r.status_code == status and r.json()["error"] == {**r.json()["error"], "code": status, "status": gstatus}
    r = await generate(client, body("[[sim status=503 fail_times=1 id=g1]]"))
    assert r.status_code == 503
    r = await generate(client, body("[[sim status=503 fail_times=1 id=g1]]"))
    assert r.status_code == 200
    r = await generate(client, body("x [[sim error_after=1]]"))
    assert r.status_code == 500
    r = await client.post(f"{BASE}/models/{MODEL}:embedText", json=body("x"), headers=HEADERS)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


async def test_mid_stream_error(client: httpx.AsyncClient) -> None:
    r = await generate(client, body("break [[sim error_after=2 deltas=4]]"), stream=True)
    chunks = parse_sse(r.content)
    assert len(chunks) == 3 and chunks[-1] == {"error": {"code": 500, "message": chunks[-1]["error"]["message"], "status": "INTERNAL"}}


async def test_stop_directives(client: httpx.AsyncClient) -> None:
    data = (await generate(client, body("bad [[sim stop=SAFETY]]"))).json()
    assert data["candidates"][0] == {"finishReason": "SAFETY", "index": 0}
    data = (await generate(client, body("long [[sim stop=MAX_TOKENS]]"))).json()
    assert data["candidates"][0]["finishReason"] == "MAX_TOKENS"
    data = (await generate(client, body("x", generationConfig={"maxOutputTokens": 2}))).json()
    assert data["candidates"][0]["finishReason"] == "MAX_TOKENS"
    data = (await generate(client, body("x [[sim stop=MALFORMED_FUNCTION_CALL]]"))).json()
    assert data["candidates"][0]["finishReason"] == "MALFORMED_FUNCTION_CALL"


async def test_cached_tokens(client: httpx.AsyncClient) -> None:
    u = (await generate(client, body("x [[sim cached=5]]"))).json()["usageMetadata"]
    assert u["cachedContentTokenCount"] == 5 and u["promptTokenCount"] >= 5
    long = "word " * 1500
    first = {"contents": [{"role": "user", "parts": [{"text": long}]}, {"role": "model", "parts": [{"text": "ok"}]},
                          {"role": "user", "parts": [{"text": "one"}]}]}  # fmt: skip
    await generate(client, first)
    second = {**first, "contents": [*first["contents"][:2], {"role": "user", "parts": [{"text": "two"}]}]}
    u = (await generate(client, second)).json()["usageMetadata"]
    assert u["cachedContentTokenCount"] >= 1024  # implicit caching of the shared prefix


async def test_request_validation(client: httpx.AsyncClient) -> None:
    r = await generate(client, {"contents": []})
    assert r.status_code == 400 and "contents is not specified" in r.json()["error"]["message"]
    r = await generate(client, {"contents": [{"role": "system", "parts": [{"text": "x"}]}]})
    assert r.status_code == 400 and "valid role" in r.json()["error"]["message"]
    bad = {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}}
    r = await generate(client, body("x", tools=[{"functionDeclarations": [bad]}]))
    assert r.status_code == 400 and 'Unknown name "additionalProperties"' in r.json()["error"]["message"]
    empty = {"name": "f", "parameters": {"type": "object", "properties": {}}}
    r = await generate(client, body("x", tools=[{"functionDeclarations": [empty]}]))
    assert r.status_code == 400 and "should be non-empty for OBJECT type" in r.json()["error"]["message"]
    both = {"thinkingConfig": {"thinkingLevel": "low", "thinkingBudget": 100}}
    r = await generate(client, body("x", generationConfig=both))
    assert r.status_code == 400
    r = await client.post(BASE + gemini_path(MODEL, stream=False), content=b"{nope", headers=HEADERS)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


# ----------------------------------------------------------------------------- signatures


async def _tool_turn(client: httpx.AsyncClient, model: str = MODEL, *, think: bool = True, tools: int = 2) -> tuple[dict, list[dict]]:
    payload = body(f"weather please [[sim tools={tools}]]", tools=[{"functionDeclarations": [WEATHER_DECL]}])
    if think:
        payload["generationConfig"] = {"thinkingConfig": {"includeThoughts": True}}
    data = (await generate(client, payload, model=model)).json()
    return payload, data["candidates"][0]["content"]["parts"]


def _continue(payload: dict, model_parts: list[dict], answers: int) -> dict:
    results = [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}} for _ in range(answers)]
    return {**payload, "contents": [*payload["contents"], {"role": "model", "parts": model_parts}, {"role": "user", "parts": results}]}


async def test_parallel_calls_signed_on_first_only(client: httpx.AsyncClient) -> None:
    _, parts = await _tool_turn(client)
    calls = [p for p in parts if "functionCall" in p]
    assert len(calls) == 2 and "id" not in calls[0]["functionCall"]
    assert "thoughtSignature" in calls[0] and "thoughtSignature" not in calls[1]
    # Gemini 3 signs function calls even without a thinking config
    _, parts = await _tool_turn(client, think=False, tools=1)
    assert "thoughtSignature" in parts[0]
    # ...older families only when thinking
    _, parts = await _tool_turn(client, model="gemini-2.5-flash", think=False, tools=1)
    assert "thoughtSignature" not in parts[0]


async def test_signature_validation(client: httpx.AsyncClient) -> None:
    payload, parts = await _tool_turn(client)
    calls = [p for p in parts if "functionCall" in p]
    ok = await generate(client, _continue(payload, parts, 2))
    assert ok.status_code == 200
    # dropped from the first call → Gemini's 400 with its exact text
    stripped = [{k: v for k, v in p.items() if k != "thoughtSignature"} for p in parts]
    r = await generate(client, _continue(payload, stripped, 2))
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert r.json()["error"]["message"].startswith("Function call is missing a thought_signature in functionCall parts.")
    assert "`default_api:get_weather` , position 2." in r.json()["error"]["message"]
    # moved to the second call → corrupted (the HMAC binds it to the first call's args)
    moved = [p for p in parts if "functionCall" not in p]
    sig = calls[0]["thoughtSignature"]
    moved += [{"functionCall": calls[0]["functionCall"]}, {"functionCall": {"name": "get_weather", "args": {"city": "x"}}, "thoughtSignature": sig}]
    r = await generate(client, _continue(payload, moved, 2))
    assert r.status_code == 400
    # the documented sentinel is accepted
    sentinel = [dict(p) for p in stripped]
    next(p for p in sentinel if "functionCall" in p)["thoughtSignature"] = SKIP_SIGNATURE
    assert (await generate(client, _continue(payload, sentinel, 2))).status_code == 200
    # response count must match the call count
    r = await generate(client, _continue(payload, parts, 1))
    assert r.status_code == 400 and "number of function response parts" in r.json()["error"]["message"]


async def test_signatures_are_bytes_in_either_base64_alphabet(client: httpx.AsyncClient) -> None:
    """``thoughtSignature`` is a proto ``bytes`` field: proto3 JSON takes standard or URL-safe base64,
    padded or not. google-genai types it as bytes and sends it back URL-safe (issue 18: its second
    turn on a Gemini model was refused as corrupted by this simulator, never by Gemini). Tampered
    bytes are still refused."""
    import base64

    payload, parts = await _tool_turn(client)
    for encode in (lambda raw: base64.urlsafe_b64encode(raw).decode(),
                   lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="),
                   lambda raw: base64.b64encode(raw).decode().rstrip("=")):
        sent = [{**p, "thoughtSignature": encode(base64.b64decode(p["thoughtSignature"]))}
                if "thoughtSignature" in p else p for p in parts]
        r = await generate(client, _continue(payload, sent, 2))
        assert r.status_code == 200, r.text
    signed = next(p for p in parts if "functionCall" in p and "thoughtSignature" in p)
    raw = bytearray(base64.b64decode(signed["thoughtSignature"]))
    raw[-1] ^= 1
    tampered = [{**p, "thoughtSignature": base64.urlsafe_b64encode(bytes(raw)).decode()} if p is signed else p
                for p in parts]
    r = await generate(client, _continue(payload, tampered, 2))
    assert r.status_code == 400 and r.json()["error"]["message"] == "Corrupted thought signature."


async def test_signatures_checked_in_older_turns_too(client: httpx.AsyncClient) -> None:
    payload, parts = await _tool_turn(client, model="gemini-2.5-flash")
    stripped = [{k: v for k, v in p.items() if k != "thoughtSignature"} for p in parts]
    history = _continue(payload, stripped, 2)
    history["contents"] += [{"role": "model", "parts": [{"text": "done"}]}, {"role": "user", "parts": [{"text": "thanks"}]}]
    r = await generate(client, history, model="gemini-2.5-flash")
    assert r.status_code == 400 and "missing a thought_signature" in r.json()["error"]["message"]


# ----------------------------------------------------------------------------- end to end via the translator


async def _anthropic_turn(client: httpx.AsyncClient, req: dict, *, stream: bool) -> dict:
    gbody, ctx = anthropic_request_to_gemini(req)
    r = await generate(client, gbody, stream=stream)
    assert r.status_code == 200, r.text
    if not stream:
        return gemini_response_to_anthropic(r.json(), model=req["model"], ctx=ctx)
    s = GeminiToAnthropicStream(model=req["model"], message_id="msg_e2e", ctx=ctx, input_tokens_hint=1)
    events: list = []
    for chunk in parse_sse(r.content):
        events.extend(s.feed(chunk))
    events.extend(s.finish())
    check_anthropic_events(events, allow_empty_thinking=True)
    return assemble_anthropic_events(events)


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_round_trip_with_thinking_and_parallel_tools(client: httpx.AsyncClient, stream: bool) -> None:
    req = {
        "model": MODEL,
        "max_tokens": 2048,
        "thinking": {"type": "adaptive"},
        "tools": [WEATHER_TOOL],
        "messages": [{"role": "user", "content": "Weather in two cities? [[sim tools=2]]"}],
    }
    msg = await _anthropic_turn(client, req, stream=stream)
    assert msg["stop_reason"] == "tool_use"
    tool_uses = [b for b in msg["content"] if b["type"] == "tool_use"]
    assert len(tool_uses) == 2 and tool_uses[0]["input"] == {"city": "value-city"}
    req["messages"] += [
        {"role": "assistant", "content": msg["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": b["id"], "content": "sunny"} for b in tool_uses]},
    ]
    final = await _anthropic_turn(client, req, stream=stream)  # the simulator verified the signature
    assert final["stop_reason"] == "end_turn"
    text = "".join(b["text"] for b in final["content"] if b["type"] == "text")
    assert "Tool results received" in text
    # a third turn replays both assistant turns (text signature included)
    req["messages"] += [{"role": "assistant", "content": final["content"]}, {"role": "user", "content": "thanks"}]
    assert (await _anthropic_turn(client, req, stream=stream))["stop_reason"] == "end_turn"


async def test_foreign_history_gets_the_sentinel_and_is_accepted(client: httpx.AsyncClient) -> None:
    req = {
        "model": MODEL,
        "max_tokens": 512,
        "tools": [WEATHER_TOOL],
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "from claude", "signature": "EqQBCkYIAxgC"},
                {"type": "tool_use", "id": "toolu_01XYZ", "name": "get_weather", "input": {"city": "Oslo"}},
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01XYZ", "content": "cold"}]},
        ],
    }  # fmt: skip
    msg = await _anthropic_turn(client, req, stream=False)
    assert msg["stop_reason"] == "end_turn"
    sent = (await client.get("/_sim/requests", params={"path": BASE, "limit": 1})).json()["requests"][-1]["body"]
    assert sent["contents"][1]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE


async def test_openai_surface_chain(client: httpx.AsyncClient) -> None:
    oreq = {
        "model": MODEL,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "two calls please [[sim tools=2]]"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_TOOL["input_schema"]}}],
    }
    areq, names = openai_request_to_anthropic(oreq)
    gbody, ctx = anthropic_request_to_gemini(areq)
    r = await generate(client, gbody, stream=True)
    s = GeminiToAnthropicStream(model=MODEL, message_id="msg_o", ctx=ctx)
    a2o = AnthropicToOpenAIStream(model=MODEL, completion_id="chatcmpl-o", created=1, include_usage=True, names=names)
    chunks: list[dict] = []
    for gchunk in parse_sse(r.content):
        for name, data in s.feed(gchunk):
            chunks.extend(a2o.feed(name, data))
    for name, data in s.finish():
        chunks.extend(a2o.feed(name, data))
    chunks.extend(a2o.finish())
    check_openai_chunks(chunks, include_usage=True)
    calls = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls") or () if tc.get("id")]
    assert len(calls) == 2
