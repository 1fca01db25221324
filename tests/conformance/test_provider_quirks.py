"""Findings 3 and 5 of issue #16, as real SDK calls against the local stack."""

from __future__ import annotations

import secrets

import pytest

from tests.support.stack import Stack

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.mark.parametrize("stream", [False, True])
def test_deepseek_tool_turn_two_without_reasoning_content_on_the_openai_surface(stack: Stack, stream: bool) -> None:
    """Finding 3: the OpenAI SDK's usual loop echoes the assistant turn without reasoning_content;
    DeepSeek (thinking on by default) 400s on that, so the gateway restores the field."""
    client = stack.openai()
    messages: list[dict] = [{"role": "user", "content": f"Weather in Paris? [[sim tools=1 id={secrets.token_hex(3)}]]"}]
    first = client.chat.completions.create(model="deepseek-flash", messages=messages, tools=[WEATHER])  # type: ignore[arg-type]
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages.append({"role": "assistant", "content": first.choices[0].message.content,
                     "tool_calls": [{"id": call.id, "type": "function",
                                     "function": {"name": call.function.name, "arguments": call.function.arguments}}]})
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"})
    if stream:
        chunks = list(client.chat.completions.create(model="deepseek-flash", messages=messages, tools=[WEATHER],  # type: ignore[arg-type]
                                                     stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        second = client.chat.completions.create(model="deepseek-flash", messages=messages, tools=[WEATHER])  # type: ignore[arg-type]
        text = second.choices[0].message.content or ""
    assert "18C and sunny" in text


def test_a_reasoning_content_the_client_echoed_is_kept(stack: Stack) -> None:
    marker = secrets.token_hex(4)
    client = stack.openai()
    client.chat.completions.create(model="deepseek-flash", tools=[WEATHER], messages=[  # type: ignore[arg-type,list-item]
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "reasoning_content": "Paris, so call it.",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"sunny {marker}"}])
    sent = stack.sim_requests(marker)[0]["body"]
    assert sent["messages"][1]["reasoning_content"] == "Paris, so call it."


MODELS = ["claude-sonnet-5-5", "gpt-6.2-sol", "gemini-3.8-flash", "deepseek-flash", "doubao-seed-2-1-lite"]


def test_count_tokens_of_the_same_prompt_agrees_across_providers(stack: Stack) -> None:
    """Finding 5: "hello" counted 5 on Claude (its count_tokens) and 26 on every other model
    (the hold's deliberately high estimate). Claude and Gemini answer with their own counting
    endpoints; OpenAI-format providers (no such endpoint) with the typical local count."""
    client = stack.anthropic()
    counts = {m: client.messages.count_tokens(model=m, messages=[{"role": "user", "content": "hello"}]).input_tokens
              for m in MODELS}
    assert set(counts.values()) == {5}, counts
    long = "The quick brown fox jumps over the lazy dog. " * 40
    counts = {m: client.messages.count_tokens(model=m, system="Be brief.",
                                              messages=[{"role": "user", "content": long}]).input_tokens for m in MODELS}
    assert max(counts.values()) - min(counts.values()) <= 0.1 * max(counts.values()), counts
