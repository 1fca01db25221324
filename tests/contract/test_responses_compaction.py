"""Compaction on every model (issue 17): ``POST /v1/responses/compact`` and Codex's ``compaction_trigger``.

Codex compacts a long session by asking the provider (its remote compaction: the ``/responses/compact``
endpoint, or, since 0.16x, a ``/v1/responses`` stream whose input ends in a ``compaction_trigger`` item
and whose answer must be exactly one ``compaction`` item); it then keeps the user messages and that
item as its whole history (codex-rs/core/src/compact_remote*.rs). OpenAI models compact it
themselves (pass-through, OpenAI's opaque item). Every other model gets a real compaction: a billed
summary call on the same model, whose summary travels in our ``bsxc:`` envelope and comes back as user
context in any later request, to any model (OpenAI's included, as a user message).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import openai
import pytest

from bytespike.translate import check_responses_events
from bytespike.translate.responses_common import COMPACTION_PREFIX, SUMMARY_PREFIX, decode_compaction
from tests.support.stack import Stack

MODELS = ["claude-haiku-5-5", "gpt-6-luna", "gemini-3.5-flash-lite", "deepseek-flash", "doubao-seed-2-1-lite"]


def _conversation(tag: str) -> list[dict[str, Any]]:
    """A short agent session: a request, a tool call and its output, an answer, a follow-up."""
    return [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Fix the build {tag}"}]},
        {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": json.dumps({"cmd": "make"})},
        {"type": "function_call_output", "call_id": "call_1", "output": f"error: missing header {tag}.h"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Adding the header."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Thanks {tag}"}]},
    ]


def _cost(stack: Stack, org_id: str, request_id: str) -> int:
    [res] = [r for r in stack.wait_all_released(org_id) if r["id"] == request_id]
    assert res["state"] == "SETTLED"
    return int(res["cost"])


@pytest.mark.parametrize("model", MODELS)
def test_compact_endpoint_on_every_model(stack: Stack, model: str) -> None:
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    tag = secrets.token_hex(4)
    raw = client.responses.with_raw_response.compact(model=model, input=_conversation(tag))  # type: ignore[arg-type]
    compacted = raw.parse()
    assert compacted.object == "response.compaction"
    types = [item.type for item in compacted.output]
    assert types[-1] == "compaction" and set(types[:-1]) == {"message"}, types
    users = [item for item in compacted.output if item.type == "message"]
    assert [u.content[0].text for u in users] == [f"Fix the build {tag}", f"Thanks {tag}"]  # type: ignore[union-attr]
    credits = compacted.usage.model_extra["credits"]  # type: ignore[union-attr]
    assert credits == _cost(stack, org.org_id, raw.headers["request-id"]) > 0
    encrypted = compacted.output[-1].encrypted_content  # type: ignore[union-attr]

    if model.startswith("gpt"):  # OpenAI's own opaque item, from OpenAI's /responses/compact
        assert not encrypted.startswith(COMPACTION_PREFIX)
    else:  # a real summary call on the same model: the whole session as a transcript
        summary = decode_compaction(encrypted)
        assert summary, encrypted
        [upstream] = [r["body"] for r in stack.sim_requests(f"missing header {tag}.h")]
        text = json.dumps(upstream)
        assert "handoff summary" in text and f"Fix the build {tag}" in text and "make" in text

    # The compacted history continues the conversation, on the same model and on an OpenAI one.
    history = [item.model_dump(exclude_none=True) for item in compacted.output]
    for follow_model in dict.fromkeys((model, "gpt-6-luna")):
        nxt = client.responses.create(model=follow_model, input=[*history, {"role": "user", "content": f"next {tag}"}],
                                      max_output_tokens=200)
        assert nxt.status == "completed"
    if not model.startswith("gpt"):  # our summary reached each upstream as user context, never as an item
        bodies = [json.dumps(r["body"]) for r in stack.sim_requests(f"next {tag}")]
        assert len(bodies) == 2 and all(SUMMARY_PREFIX[:40] in b and COMPACTION_PREFIX not in b for b in bodies)


@pytest.mark.parametrize("model", ["claude-haiku-5-5", "gemini-3.5-flash-lite", "deepseek-flash"])
def test_compaction_trigger_streams_exactly_one_compaction_item(stack: Stack, model: str) -> None:
    """Codex's remote compaction v2: the stream's only output item is the compaction (Codex fails the
    compaction otherwise: 'expected exactly one compaction output item')."""
    org = stack.new_org(50_000_000)
    tag = secrets.token_hex(4)
    r = httpx.post(f"{stack.base_url}/v1/responses", headers={"authorization": f"Bearer {org.master_key}"}, timeout=60,
                   json={"model": model, "stream": True, "store": False,
                         "input": [*_conversation(tag), {"type": "compaction_trigger"}]})
    assert r.status_code == 200, r.text
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    check_responses_events(events)
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [i["type"] for i in done] == ["compaction"], done
    assert decode_compaction(done[0]["encrypted_content"])
    final = events[-1]
    assert final["type"] == "response.completed" and final["response"]["output"] == done
    assert final["response"]["usage"]["credits"] == _cost(stack, org.org_id, r.headers["request-id"]) > 0


def test_openais_own_compaction_item_is_refused_elsewhere_in_its_words(stack: Stack) -> None:
    org = stack.new_org(50_000_000)
    with pytest.raises(openai.BadRequestError) as refused:
        stack.openai(org.master_key).responses.create(model="claude-haiku-5-5", input=[
            {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAAABopaque"},
            {"role": "user", "content": "go on"}])
    assert "compaction" in refused.value.message and refused.value.body["param"] == "input[0]"  # type: ignore[index]
    assert stack.assert_conservation(org.org_id)["billed"] == 0
