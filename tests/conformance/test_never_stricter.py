"""The gateway is never stricter than the upstream it forwards to (issue #16, finding 1).

Claude Code 2.1.197's real first request (recorded on the wire) carries a mid-conversation
``role: "system"`` turn with the ``mid-conversation-system-2026-04-07`` beta. Anthropic accepts
it; the gateway answered 400 before any upstream saw it. Now: Claude gets it unchanged, other
providers get it translated, and where Claude itself refuses it (older models), the refusal is
Anthropic's own wording, which Claude Code's fallback recognises.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from bytespike.translate import check_anthropic_events
from tests.support.stack import Stack

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "claude-code-2.1.197-messages-request.json"
BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-system-2026-04-07"
# One model per provider: Claude (pass-through), OpenAI, Gemini, DeepSeek, Ark.
MODELS = ["claude-sonnet-5-5", "gpt-6.2-sol", "gemini-3.8-flash", "deepseek-flash", "doubao-seed-2-1-lite"]


def claude_code_body(model: str, marker: str) -> dict[str, Any]:
    body = json.loads(RECORDED.read_text())
    body["model"] = model
    body["max_tokens"] = 4096
    body["messages"][0]["content"][-1]["text"] += f" [[sim id={marker}]]"
    return body


def claude_code_fallback_matches(message: str) -> bool:
    """Claude Code 2.1.197's test (MBn in its bundle) for "resend without the system turn"."""
    return ("mid-conversation-system-2026-04-07" in message and "anthropic-beta" in message) \
        or ("Unexpected role" in message and "input message role" in message) \
        or ("not supported" in message and re.search(r"role .{0,2}system", message, re.I) is not None)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines and lines["event"] != "ping":
            events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.parametrize("model", MODELS)
def test_claude_codes_recorded_request_is_served_on_every_provider(stack: Stack, model: str) -> None:
    marker = secrets.token_hex(4)
    r = httpx.post(stack.base_url + "/v1/messages?beta=true", json=claude_code_body(model, marker), timeout=60,
                   headers={"x-api-key": stack.master_key, "anthropic-version": "2023-06-01", "anthropic-beta": BETAS})
    assert r.status_code == 200, r.text
    events = sse_events(r.text)
    check_anthropic_events(events)
    seen = stack.sim_requests(marker)
    assert len(seen) == 1
    sent = seen[0]["body"]
    if model.startswith("claude"):  # pass-through: the turn reaches Claude as the client sent it
        assert sent["messages"][1]["role"] == "system"
        assert sent["messages"][1]["content"] == json.loads(RECORDED.read_text())["messages"][1]["content"]
    elif model.startswith("gemini"):  # no system turn in Gemini: user context, as Claude Code's own fallback
        texts = [p.get("text", "") for c in sent["contents"] for p in c["parts"]]
        assert any(t.startswith("<system-reminder>\nAvailable agent types") for t in texts)
    elif "input" in sent:  # OpenAI models through Responses: a developer message in place
        turn = sent["input"][-1]
        assert turn["role"] == "developer", turn
        assert turn["content"][0]["text"].startswith("Available agent types")
    else:  # Chat Completions takes a system message anywhere
        assert sent["messages"][-1]["role"] == "system"
        assert sent["messages"][-1]["content"].startswith("Available agent types")


def test_an_older_claude_refuses_in_anthropics_words_so_claude_codes_fallback_triggers(stack: Stack) -> None:
    r = httpx.post(stack.base_url + "/v1/messages", json={**claude_code_body("claude-haiku-4-5", "old"), "stream": False},
                   headers={"x-api-key": stack.master_key, "anthropic-version": "2023-06-01", "anthropic-beta": BETAS},
                   timeout=60)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert claude_code_fallback_matches(f"400 {r.text}"), message


def test_unknown_roles_are_still_refused_in_anthropics_shape(stack: Stack) -> None:
    r = httpx.post(stack.base_url + "/v1/messages", timeout=30,
                   headers={"x-api-key": stack.master_key, "anthropic-version": "2023-06-01"},
                   json={"model": "gpt-6.2-sol", "max_tokens": 32, "messages": [{"role": "tool", "content": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert "messages.0.role" in r.json()["error"]["message"]
