"""The free playground refuses ``cache_control`` anywhere in the request (issue #15, finding 7).

Before the fix only a top-level ``cache_control`` was refused: one on a system block, a message
block or a tool ran free, priced at the cache-write rate on the house wallet and writing the
house key's prompt cache. Each refusal costs no run.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Stack, next_client_ip

FREE = "deepseek-flash"
CC = {"type": "ephemeral"}


def _req(**kw: Any) -> dict[str, Any]:
    return {"model": FREE, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], **kw}


ANTHROPIC_CASES = {
    "system block": _req(system=[{"type": "text", "text": "be brief", "cache_control": CC}]),
    "message block": _req(messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": CC}]}]),
    "tool": _req(tools=[{"name": "t", "input_schema": {"type": "object"}, "cache_control": CC}]),
    "nested tool result": _req(messages=[
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": [{"type": "text", "text": "r", "cache_control": CC}]}]}],
        tools=[{"name": "t", "input_schema": {"type": "object"}}]),
}
OPENAI_CASES = {
    "content part": _req(messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": CC}]}]),
    "message": _req(messages=[{"role": "user", "content": "hi", "cache_control": CC}]),
}


@pytest.mark.parametrize(("surface", "case"), [("anthropic", c) for c in ANTHROPIC_CASES]
                         + [("openai", c) for c in OPENAI_CASES])
def test_cache_control_anywhere_is_refused_before_a_run_is_counted(stack: Stack, surface: str, case: str) -> None:
    request = (ANTHROPIC_CASES if surface == "anthropic" else OPENAI_CASES)[case]
    with stack.http_from(next_client_ip(), timeout=30) as client:
        for path in ("/playground/estimate", "/playground/run"):
            r = client.post(path, json={"surface": surface, "request": request})
            assert r.status_code == 400, (path, r.status_code, r.text)
            assert "cache_control" in r.json()["error"]["message"]
        assert int(client.get("/playground/config").json()["free"]["runs_left"]) == 3


def test_the_words_cache_control_in_a_prompt_are_fine(stack: Stack) -> None:
    with stack.http_from(next_client_ip(), timeout=30) as client:
        r = client.post("/playground/estimate", json={"surface": "anthropic",
                                                      "request": _req(messages=[{"role": "user",
                                                                                 "content": "what is cache_control?"}])})
        assert r.status_code == 200, r.text
