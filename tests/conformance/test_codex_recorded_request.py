"""Codex CLI's recorded first request, served on one model per provider (issue 17).

``tests/fixtures/recorded/codex-0.171.0-responses-request.json`` is the body Codex CLI 0.171.0
really sends to ``POST /v1/responses`` to start a session (``codex exec``, custom provider,
``wire_api = "responses"``): ``additional_tools`` with a ``namespace`` of custom and function
tools, developer messages, ``reasoning.context``, ``include: ["reasoning.encrypted_content"]``,
``text.verbosity``, ``client_metadata``, ``store: false``. It is sent as recorded (only the model
and a simulator marker change) over real HTTP to the local stack. Each provider must answer a
Responses stream that satisfies the Responses invariants and that the openai SDK's own accumulator
turns into a completed response, and the credits the client is told are the ledger's.
"""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent

from bytespike.translate import check_responses_events
from tests.support.stack import Stack

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "codex-0.171.0-responses-request.json"
# One model per provider: OpenAI (pass-through), Claude, Gemini, DeepSeek, Ark (through the hub).
MODELS = ["gpt-6.2-sol", "claude-sonnet-5-5", "gemini-3.8-flash", "deepseek-flash", "doubao-seed-2-1-lite"]


def codex_body(model: str, marker: str) -> dict[str, Any]:
    body = copy.deepcopy(json.loads(RECORDED.read_text()))
    body["model"] = model
    last = body["input"][-1]
    assert last["role"] == "user", last
    last["content"][-1]["text"] += f" [[sim id={marker}]]"
    return body


def _events(text: str) -> list[dict[str, Any]]:
    out = []
    for frame in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "data" in lines:
            event = json.loads(lines["data"])
            assert lines.get("event") == event["type"], frame  # Codex dispatches on the data's type
            out.append(event)
    return out


def test_the_recording_is_codexs_request_as_sent() -> None:
    """The fixture still holds what makes it Codex's (so the test below cannot pass on a plain body)."""
    body = json.loads(RECORDED.read_text())
    assert body["stream"] is True and body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"] and body["reasoning"]["context"] == "all_turns"
    assert body["input"][0]["type"] == "additional_tools" and body["input"][0]["tools"][0]["type"] == "namespace"
    assert {item["role"] for item in body["input"][1:]} == {"developer", "user"}


@pytest.mark.parametrize("model", MODELS)
def test_codexs_recorded_request_is_served_on_every_provider(stack: Stack, model: str) -> None:
    org = stack.new_org(200_000_000)
    marker = secrets.token_hex(4)
    r = httpx.post(stack.base_url + "/v1/responses", json=codex_body(model, marker), timeout=120,
                   headers={"authorization": f"Bearer {org.master_key}", "originator": "codex_exec",
                            "session_id": marker})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    check_responses_events(events)
    final = events[-1]
    assert final["type"] == "response.completed", final
    assert final["response"]["model"] == model and final["response"]["status"] == "completed"
    assert final["response"]["output"], final

    # The openai SDK's own stream accumulator (what Codex's parser mirrors) rebuilds the response.
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for raw in events:
        state.handle_event(construct_type(type_=ResponseStreamEvent, value=raw))
    done = state._completed_response
    assert done is not None and done.status == "completed"
    assert [item.type for item in done.output] == [item["type"] for item in final["response"]["output"]]

    # The request reached the upstream once, with Codex's tools: OpenAI's as sent (pass-through),
    # the others' in the provider's own terms.
    [seen] = stack.sim_requests(marker)
    sent = seen["body"]
    if model.startswith("gpt"):
        assert sent["input"][0] == json.loads(RECORDED.read_text())["input"][0]
    else:
        assert sent.get("tools"), sorted(sent)

    # Billing: what the client is told = the ledger's settled cost, within the hold.
    credits = final["response"]["usage"]["credits"]
    [res] = [x for x in stack.wait_all_released(org.org_id) if x["id"] == r.headers["request-id"]]
    assert int(res["cost"]) == credits > 0
    assert credits <= int(r.headers["estimated_credits"])
    stack.assert_conservation(org.org_id)
