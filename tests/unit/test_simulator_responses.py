"""The simulated OpenAI Responses API (``/openai/v1/responses``), judged by the official SDK.

In-process through ``httpx.ASGITransport`` for content and validation (the SDK's own parsers,
``client.responses.create/stream``), and over a real socket for timing and drops. The error
wordings are OpenAI's: the temperature refusal is the recorded body, the others are quoted in
public threads (``No tool call found for function call output with call_id …``: vercel/ai #8216,
continuedev/continue #10092; ``The encrypted content … could not be verified``: openai/codex
#8145, sub2api #2863; ``Hosted tool … is not supported``: new-api #1586).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from bytespike.simulator.app import create_simulator_app
from bytespike.translate import (
    ResponsesToAnthropicStream,
    anthropic_request_to_responses,
    assemble_anthropic_events,
    check_anthropic_events,
    check_responses_events,
)

pytestmark = pytest.mark.anyio

MODEL = "gpt-6.2-sol"
PATH = "/openai/v1/responses"
HEADERS = {"authorization": "Bearer sk-test"}
CLIENTS = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
RECORDED = CLIENTS / "upstream" / "openai-responses"
CALC = {"type": "function", "name": "calc", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}},
                                                           "required": ["a"]}}  # fmt: skip
PATCH = {"type": "custom", "name": "apply_patch", "description": "Patch files"}
CODEX_TOOLS = {"type": "additional_tools", "role": "developer", "tools": [
    {"type": "namespace", "name": "clock", "description": "time", "tools": [{"type": "function", "name": "sleep"}]}]}  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def http() -> Any:
    app = create_simulator_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        yield client


@pytest.fixture
async def sdk(http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url="http://sim/openai/v1", http_client=http, max_retries=0)


def _events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


async def _post(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post(PATH, json={"model": MODEL, **body}, headers=HEADERS)


async def test_sdk_create_reasoning_tools_and_usage(sdk: openai.AsyncOpenAI) -> None:
    response = await sdk.responses.create(
        model=MODEL,
        input=[CODEX_TOOLS, {"role": "user", "content": "compute [[sim tools=3]]"}],  # type: ignore[list-item]
        tools=[CALC, PATCH],  # type: ignore[list-item]
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    kinds = [o.type for o in response.output]
    assert kinds == ["reasoning", "function_call", "custom_tool_call", "function_call"]
    reasoning, calc, patch, sleep = response.output
    assert reasoning.encrypted_content and reasoning.summary[0].text.startswith("The user wrote")  # type: ignore[union-attr]
    assert json.loads(calc.arguments) == {"a": 1}  # type: ignore[union-attr]
    assert patch.input and patch.call_id.startswith("call_sim_")  # type: ignore[union-attr]
    assert sleep.name == "sleep" and sleep.namespace == "clock"  # type: ignore[union-attr]
    usage = response.usage
    assert usage is not None and usage.output_tokens_details.reasoning_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


async def test_reasoning_content_only_when_asked(sdk: openai.AsyncOpenAI) -> None:
    response = await sdk.responses.create(model=MODEL, input="hi")
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content is None and reasoning.summary == []
    assert response.output_text.startswith(f"Hello from {MODEL}")


async def test_sdk_stream_helper_and_invariants(sdk: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    async with sdk.responses.stream(model=MODEL, input="stream please [[sim deltas=5]]",
                                    reasoning={"effort": "low", "summary": "auto"}) as stream:  # fmt: skip
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == 5
    assert final.output_text and final.output[0].type == "reasoning"
    raw = await _post(http, input="again [[sim tools=2]]", tools=[CALC, PATCH], stream=True,
                      reasoning={"summary": "detailed"}, include=["reasoning.encrypted_content"])  # fmt: skip
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.startswith("event: response.created\ndata: ")
    check_responses_events(_events(raw.text))


async def test_replay_of_items_is_checked_like_the_real_api(http: httpx.AsyncClient) -> None:
    first = (await _post(http, input="go [[sim tools=2]]", tools=[CALC, PATCH], store=False,
                         include=["reasoning.encrypted_content"])).json()  # fmt: skip
    output = first["output"]
    outputs = [{"type": "function_call_output" if o["type"] == "function_call" else "custom_tool_call_output",
                "call_id": o["call_id"], "output": "42"} for o in output if o["type"] != "reasoning"]  # fmt: skip
    history = [{"role": "user", "content": "go"}, *output, *outputs]
    ok = await _post(http, input=history, tools=[CALC, PATCH], store=False)
    assert ok.status_code == 200, ok.text
    assert "Tool results received" in ok.json()["output"][-1]["content"][0]["text"]

    async def refused(items: list[Any], **extra: Any) -> dict:
        response = await _post(http, input=items, tools=[CALC, PATCH], store=False, **extra)
        assert response.status_code == 400, response.text
        return response.json()["error"]

    tampered = [history[0], {**output[0], "encrypted_content": output[0]["encrypted_content"][:-8] + "AAAAAAAA"}, *history[2:]]
    error = await refused(tampered)
    assert error["code"] == "invalid_encrypted_content" and error["type"] == "invalid_request_error"
    assert error["message"] == (
        f"The encrypted content for item {output[0]['id']} could not be verified. "
        "Reason: Encrypted content could not be decrypted or parsed."
    )
    error = await refused(history[:-1])
    assert error["message"] == f"No tool output found for custom tool call {output[2]['call_id']}."
    error = await refused([history[0], outputs[0]])
    assert error == {"message": f"No tool call found for function call output with call_id {outputs[0]['call_id']}.",
                     "type": "invalid_request_error", "param": "input", "code": None}  # fmt: skip
    error = await refused([history[0], output[0], {"role": "user", "content": "x"}])
    assert error["message"] == f"Item '{output[0]['id']}' of type 'reasoning' was provided without its required following item."


async def test_recorded_refusal_is_reproduced(http: httpx.AsyncClient) -> None:
    recorded = json.loads((RECORDED / "reasoning-model-temperature-error.json").read_text())
    response = await _post(http, input="hi", temperature=0.5)
    assert response.status_code == 400 and response.json() == recorded


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": None, "input": "x"}, "model", "missing_required_parameter"),
        ({"input": {"role": "user"}}, "input", "invalid_type"),
        ({"input": "x", "max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
        ({"input": "x", "reasoning": {"effort": "ultra"}}, "reasoning.effort", "invalid_value"),
        ({"input": "x", "tools": [{"type": "function", "name": "has space"}]}, "tools[0].name", "invalid_value"),
        ({"input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name", "missing_required_parameter"),
        ({"input": "x", "previous_response_id": "resp_nope"}, "previous_response_id", "previous_response_not_found"),
        ({"input": "x", "stream": "yes"}, "stream", "invalid_type"),
        ({"input": "x", "max_output_tokens": 10**7}, "max_output_tokens", "invalid_value"),
        ({"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]}, "input[0].content[0].type",
         "invalid_value"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,@@"}]}]},
         "input[0].content[0].image_url", "invalid_value"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}},
                    {"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0].arguments", "invalid_type"),
    ],
)
async def test_validation(http: httpx.AsyncClient, body: dict, param: str, code: str) -> None:
    response = await _post(http, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


async def test_auth_and_forced_failures(http: httpx.AsyncClient) -> None:
    response = await http.post(PATH, json={"model": MODEL, "input": "x"})
    assert response.status_code == 401
    response = await _post(http, input="x [[sim status=429 retry_after=3]]")
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    response = await _post(http, input="x [[sim error_after=1]]")
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"


async def test_mid_stream_failure_as_openai_sends_it(http: httpx.AsyncClient) -> None:
    response = await _post(http, input="x [[sim error_after=2 deltas=6]]", stream=True)
    events = _events(response.text)
    check_responses_events(events)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["error"]["code"] == "server_error"
    assert sum(e["type"].endswith(".delta") for e in events) == 2


async def test_usage_cache_and_stops(http: httpx.AsyncClient) -> None:
    usage = (await _post(http, input="x [[sim cached=7]]")).json()["usage"]
    assert usage["input_tokens_details"]["cached_tokens"] == 7
    long = "word " * 1500
    await _post(http, input=[{"role": "user", "content": long}, {"role": "user", "content": "q1"}])
    again = (await _post(http, input=[{"role": "user", "content": long}, {"role": "user", "content": "q2"}])).json()
    assert again["usage"]["input_tokens_details"]["cached_tokens"] > 1000  # implicit prefix caching
    cut = (await _post(http, input="x [[sim stop=max_tokens]]")).json()
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}


async def test_store_previous_response_retrieve_delete(http: httpx.AsyncClient) -> None:
    first = (await _post(http, input="remember 42")).json()
    second = (await _post(http, input="what did I say?", previous_response_id=first["id"])).json()
    assert second["previous_response_id"] == first["id"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]  # the history was read
    got = await http.get(f"{PATH}/{first['id']}", headers=HEADERS)
    assert got.status_code == 200 and got.json()["id"] == first["id"]
    message_id = first["output"][-1]["id"]
    ref = await _post(http, input=[{"type": "item_reference", "id": message_id}, {"role": "user", "content": "ok"}])
    assert ref.status_code == 200
    deleted = await http.delete(f"{PATH}/{first['id']}", headers=HEADERS)
    assert deleted.json() == {"id": first["id"], "object": "response", "deleted": True}
    assert (await http.get(f"{PATH}/{first['id']}", headers=HEADERS)).status_code == 404
    unstored = (await _post(http, input="x", store=False)).json()
    assert (await http.get(f"{PATH}/{unstored['id']}", headers=HEADERS)).status_code == 404


async def test_input_tokens_and_compact(http: httpx.AsyncClient, sdk: openai.AsyncOpenAI) -> None:
    items = [{"role": "user", "content": "a question"}, {"role": "assistant", "content": [{"type": "output_text", "text": "an answer"}]},
             {"role": "user", "content": "another"}]  # fmt: skip
    counted = await sdk.responses.input_tokens.count(model=MODEL, input=items, instructions="be nice")  # type: ignore[arg-type]
    created = (await _post(http, input=items, instructions="be nice", store=False)).json()
    assert counted.input_tokens == created["usage"]["input_tokens"]
    compacted = await sdk.responses.compact(model=MODEL, input=items)  # type: ignore[arg-type]
    assert [o.type for o in compacted.output] == ["message", "message", "compaction"]
    raw = (await http.post(f"{PATH}/compact", json={"model": MODEL, "input": items}, headers=HEADERS)).json()
    follow = [*raw["output"], {"role": "user", "content": "go on"}]
    assert (await _post(http, input=follow, store=False)).status_code == 200
    follow[2]["encrypted_content"] = "gAAAAABforged"
    assert (await _post(http, input=follow, store=False)).json()["error"]["code"] == "invalid_encrypted_content"


async def test_reasoning_survives_through_the_wire_translator(http: httpx.AsyncClient) -> None:
    """Hub request → Responses body → simulator → hub thinking block → next turn: the simulator
    verifies the encrypted content it sealed, so the reasoning item came back exactly."""
    hub = {"model": "x", "max_tokens": 2000, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 1024},
           "tools": [{"name": "calc", "input_schema": CALC["parameters"]}],
           "messages": [{"role": "user", "content": "add [[sim tools=1]]"}]}  # fmt: skip
    body, ctx = anthropic_request_to_responses(hub, MODEL)
    response = await http.post(PATH, json=body, headers=HEADERS)
    machine = ResponsesToAnthropicStream(model=MODEL, message_id="msg_w", ctx=ctx)
    events = [e for raw in _events(response.text) for e in machine.feed(raw)] + machine.finish()
    check_anthropic_events(events, allow_empty_thinking=True)
    message = assemble_anthropic_events(events)
    assert [b["type"] for b in message["content"]] == ["thinking", "tool_use"]
    assert message["content"][0]["thinking"].startswith("The user wrote")
    tool = message["content"][1]
    hub["messages"] += [message, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"], "content": "3"}]}]
    body, ctx = anthropic_request_to_responses(hub, MODEL)
    assert body["input"][1]["type"] == "reasoning"
    response = await http.post(PATH, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    tampered = json.loads(json.dumps(body))
    tampered["input"][1]["encrypted_content"] += "x"
    assert (await http.post(PATH, json=tampered, headers=HEADERS)).status_code == 400


async def test_real_clients_requests_are_accepted(http: httpx.AsyncClient) -> None:
    """Never stricter than the real API: Codex's recorded request as sent, and Claude Code's recorded
    request through the wire translator, are served."""
    codex = json.loads((CLIENTS / "codex-0.171.0-responses-request.json").read_text())
    response = await http.post(PATH, json={**codex, "model": MODEL}, headers=HEADERS)
    assert response.status_code == 200, response.text
    check_responses_events(_events(response.text))
    claude_code = json.loads((CLIENTS / "claude-code-2.1.197-messages-request.json").read_text())
    body, _ = anthropic_request_to_responses(claude_code, MODEL)
    response = await http.post(PATH, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    check_responses_events(_events(response.text))


# ---------------------------------------------------------------------------------- real socket


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    sock = _free_socket()
    config = uvicorn.Config(create_simulator_app(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "simulator did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def test_timing_and_drop_over_http(base_url: str) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=f"{base_url}/openai/v1", max_retries=0)
    started = time.monotonic()
    stream = client.responses.create(model=MODEL, input="wait [[sim first_token_ms=400 deltas=3]]", stream=True)
    first_kind = next(iter(stream)).type
    head = time.monotonic() - started
    kinds = [first_kind, *(e.type for e in stream)]
    assert kinds[-1] == "response.completed" and head < 0.35  # headers and response.created at once
    assert time.monotonic() - started >= 0.4  # the first delta waited
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        for _ in client.responses.create(model=MODEL, input="x [[sim drop_after=2]]", stream=True):
            pass
