"""Gemini, DeepSeek and Doubao/Ark models through both official SDKs, against each provider's
own wire protocol in the simulator: text, streams, parallel tool calls, reasoning round trips,
images, and usage priced from the catalog."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest

from bytespike.billing import Usage, usage_credits
from bytespike.catalog import catalog
from bytespike.translate import check_anthropic_events, check_openai_chunks
from tests.contract.test_chat_sdk import AN_TOOLS, OA_TOOLS, PNG, _sse_events, _sse_json
from tests.support.stack import Stack

MODELS = ["gemini-3.8-flash", "deepseek-flash", "doubao-seed-2-1-lite"]


@pytest.mark.parametrize("model", MODELS)
def test_text_both_surfaces_priced_from_catalog(stack: Stack, model: str) -> None:
    started = time.time()
    msg = stack.anthropic().messages.create(model=model, max_tokens=200, messages=[{"role": "user", "content": "hi there"}])
    assert msg.model == model and any(b.type == "text" and "hi there" in b.text for b in msg.content)
    usage = Usage.from_anthropic(msg.usage.model_dump())
    # Priced by the catalog's rules at the moment the request started (DeepSeek: peak or off-peak).
    expected = {usage_credits(catalog().model(model), usage, at=moment) for moment in (started, time.time())}
    assert msg.usage.model_extra["credits"] in expected
    oa = stack.openai().chat.completions.create(model=model, max_tokens=200, messages=[{"role": "user", "content": "hi there"}])
    assert "hi there" in oa.choices[0].message.content and oa.usage.model_extra["credits"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_streams_satisfy_invariants(stack: Stack, model: str) -> None:
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": stack.master_key}, timeout=30,
                   json={"model": model, "max_tokens": 500, "stream": True, "tools": AN_TOOLS,
                         "messages": [{"role": "user", "content": "go [[sim tools=2]]"}]})
    events = _sse_events(r.text)
    check_anthropic_events(events, allow_empty_thinking=True)
    assert [d["delta"]["stop_reason"] for n, d in events if n == "message_delta"] == ["tool_use"]
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", headers={"authorization": f"Bearer {stack.master_key}"},
                   timeout=30, json={"model": model, "max_tokens": 500, "stream": True, "tools": OA_TOOLS,
                                     "stream_options": {"include_usage": True},
                                     "messages": [{"role": "user", "content": "go [[sim tools=2]]"}]})
    chunks = _sse_json(r.text)
    check_openai_chunks(chunks, include_usage=True)
    assert chunks[-1]["usage"]["credits"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_parallel_tool_round_trip_anthropic_sdk(stack: Stack, model: str) -> None:
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "two tools [[sim tools=2]]"}]
    with client.messages.stream(model=model, max_tokens=800, tools=AN_TOOLS, messages=messages) as s:
        first = s.get_final_message()
    uses = [b for b in first.content if b.type == "tool_use"]
    assert first.stop_reason == "tool_use" and len(uses) == 2 and len({u.id for u in uses}) == 2
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": f"r{i}"}
                                                 for i, u in enumerate(uses)]})
    second = client.messages.create(model=model, max_tokens=800, tools=AN_TOOLS, messages=messages)
    text = "".join(b.text for b in second.content if b.type == "text")
    assert "Tool results received" in text and "r0" in text and "r1" in text


@pytest.mark.parametrize("model", MODELS)
def test_parallel_tool_round_trip_openai_sdk(stack: Stack, model: str) -> None:
    client = stack.openai()
    messages: list[dict] = [{"role": "user", "content": "two tools [[sim tools=2]]"}]
    with client.chat.completions.stream(model=model, max_tokens=800, messages=messages, tools=OA_TOOLS) as s:
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls" and len(calls) == 2
    messages.append(final.choices[0].message.model_dump(exclude_none=True, exclude={"parsed"}))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": f"v{i}"} for i, c in enumerate(calls)]
    answer = client.chat.completions.create(model=model, max_tokens=800, messages=messages, tools=OA_TOOLS)
    assert "Tool results received" in answer.choices[0].message.content


def test_gemini_thought_signatures_return_on_their_parts(stack: Stack) -> None:
    model = "gemini-3.8-flash"
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "think and call [[sim tools=2 think]]"}]
    first = client.messages.create(model=model, max_tokens=2000, tools=AN_TOOLS, messages=messages,
                                   thinking={"type": "enabled", "budget_tokens": 1024})
    assert any(b.type == "thinking" and b.signature.startswith("bsx:") for b in first.content)
    uses = [b for b in first.content if b.type == "tool_use"]
    nonce = secrets.token_hex(5)
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": f"{nonce}-{i}"}
                                                 for i, u in enumerate(uses)]})
    second = client.messages.create(model=model, max_tokens=2000, tools=AN_TOOLS, messages=messages,
                                    thinking={"type": "enabled", "budget_tokens": 1024})
    assert any(b.type == "text" for b in second.content)  # the simulator rejects a missing/misplaced signature
    [seen] = stack.sim_requests(nonce)
    model_parts = [p for c in seen["body"]["contents"] if c["role"] == "model" for p in c["parts"]]
    calls = [p for p in model_parts if "functionCall" in p]
    assert calls[0].get("thoughtSignature") and calls[0]["thoughtSignature"] != "skip_thought_signature_validator"
    assert "thoughtSignature" not in calls[1]  # parallel calls: only the first one carries it


def test_deepseek_reasoning_content_echoed_on_tool_turns(stack: Stack) -> None:
    client = stack.anthropic()
    messages: list[dict] = [{"role": "user", "content": "reason then call [[sim tools=1]]"}]
    first = client.messages.create(model="deepseek-flash", max_tokens=2000, tools=AN_TOOLS, messages=messages,
                                   thinking={"type": "enabled", "budget_tokens": 1024})
    thinking = next(b for b in first.content if b.type == "thinking")
    tool = next(b for b in first.content if b.type == "tool_use")
    nonce = secrets.token_hex(5)
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": nonce}]})
    second = client.messages.create(model="deepseek-flash", max_tokens=2000, tools=AN_TOOLS, messages=messages,
                                    thinking={"type": "enabled", "budget_tokens": 1024})
    assert any(b.type == "text" for b in second.content)  # DeepSeek 400s without reasoning_content
    [seen] = stack.sim_requests(nonce)
    assistant = next(m for m in seen["body"]["messages"] if m["role"] == "assistant")
    assert assistant["reasoning_content"] == thinking.thinking


def test_deepseek_thinking_off_unless_asked(stack: Stack) -> None:
    nonce = secrets.token_hex(5)
    msg = stack.anthropic().messages.create(model="deepseek-flash", max_tokens=200,
                                            messages=[{"role": "user", "content": f"plain {nonce}"}])
    assert [b.type for b in msg.content] == ["text"]
    assert stack.sim_requests(nonce)[0]["body"]["thinking"] == {"type": "disabled"}


@pytest.mark.parametrize("model", ["gemini-3.8-flash", "doubao-seed-2-1-lite"])
def test_image_input(stack: Stack, model: str) -> None:
    msg = stack.anthropic().messages.create(model=model, max_tokens=200, messages=[{"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}])
    assert "1 image" in "".join(b.text for b in msg.content if b.type == "text")


@pytest.mark.parametrize(("model", "status", "kind_status"), [
    ("gemini-3.8-flash", 429, 429), ("gemini-3.8-flash", 503, 529), ("deepseek-flash", 429, 429),
    ("doubao-seed-2-1-lite", 500, 502), ("deepseek-flash", 400, 400),
])
def test_provider_errors_in_caller_protocol(stack: Stack, model: str, status: int, kind_status: int) -> None:
    text = f"x [[sim status={status}]]"
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": stack.master_key}, timeout=30,
                   json={"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
    assert r.status_code == kind_status, r.text
    assert r.json()["type"] == "error"
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", headers={"authorization": f"Bearer {stack.master_key}"},
                   timeout=30, json={"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
    body = r.json()
    assert "error" in body and body["error"]["message"] and r.status_code in (kind_status, 503 if kind_status == 529 else kind_status)
    assert json.dumps(body).count("sk-") == 0
