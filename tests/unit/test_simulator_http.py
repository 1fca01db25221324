"""Upstream simulator over real HTTP: official SDKs parse it, timing and drops behave.

A uvicorn server runs in a background thread on a free loopback port, so these tests see
what the gateway will see: chunked SSE on a socket, headers before the first delta, and
an abruptly closed connection for ``drop_after``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import uvicorn

from bytespike.simulator.app import create_simulator_app

MODEL = "claude-sonnet-5-5"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_simulator_app(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "simulator did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture(scope="module")
def claude(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-test", base_url=f"{base_url}/anthropic", max_retries=0)


@pytest.fixture(scope="module")
def gpt(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=f"{base_url}/openai/v1", max_retries=0)


def test_anthropic_sdk_stream_and_create(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=MODEL,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        tools=[WEATHER],
        messages=[{"role": "user", "content": "weather in Oslo? [[sim tools=2 words=5]]"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert final.content[1].text == text and len(text.split()) == 5
    assert final.content[2].input == {"city": "value-city", "days": 1}
    assert final.stop_reason == "tool_use" and final.usage.output_tokens > 1
    assert final.content[0].signature
    # Replay the turn (thinking + tool_use) with tool results: the SDK objects round-trip.
    follow = claude.messages.create(
        model=MODEL,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather in Oslo? [[sim tools=2 words=5]]"},
            {"role": "assistant", "content": final.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": final.content[2].id, "content": "cold"},
                    {"type": "tool_result", "tool_use_id": final.content[3].id, "content": "colder"},
                ],
            },
        ],
    )
    assert (
        follow.content[-1].text
        == f"Tool results received: {final.content[2].id}=cold; {final.content[3].id}=colder"
    )
    assert follow._request_id and follow._request_id.startswith("req_sim_")
    counted = claude.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "abcd" * 10}])
    assert counted.input_tokens == 13


def test_anthropic_sdk_errors_and_retries(base_url: str, claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as rate:
        claude.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "[[sim status=429]]"}]
        )
    assert rate.value.body["error"]["type"] == "rate_limit_error"
    with (
        pytest.raises(anthropic.APIStatusError) as mid,
        claude.messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "x [[sim error_after=2]]"}]
        ) as stream,
    ):
        stream.get_final_message()
    assert "overloaded_error" in str(mid.value)
    retrying = anthropic.Anthropic(api_key="sk-test", base_url=f"{base_url}/anthropic", max_retries=2)
    msg = retrying.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=[{"role": "user", "content": "x [[sim status=529 fail_times=2 retry_after=0.01 id=sdk]]"}],
    )
    assert msg.stop_reason == "end_turn"
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            api_key="sk-sim-invalid", base_url=f"{base_url}/anthropic", max_retries=0
        ).messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])


def test_openai_sdk_stream_with_usage(gpt: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["input_schema"]}}]
    stream = gpt.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather? [[sim tools=2 words=3]]"}],
        tools=tools,
        reasoning_effort="low",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    with gpt.chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather? [[sim tools=2 words=3]]"}],
        tools=tools,
        stream_options={"include_usage": True},
    ) as helper:
        final = helper.get_final_completion()
    message = final.choices[0].message
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        {"city": "value-city", "days": 1}
    ] * 2
    assert (
        len({c.id for c in message.tool_calls}) == 2 and message.content and len(message.content.split()) == 3
    )
    assert (
        final.usage and final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
    )
    plain = gpt.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi there"}])
    assert plain.choices[0].message.content.startswith("Hello from gpt-4o! You said: hi there.")
    assert plain._request_id and plain._request_id.startswith("req_sim_")


def test_openai_sdk_errors(gpt: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        gpt.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "[[sim status=429]]"}]
        )
    with pytest.raises(openai.APIError, match="simulated mid-stream"):
        for _ in gpt.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x [[sim error_after=1]]"}], stream=True
        ):
            pass
    with pytest.raises(openai.BadRequestError):
        gpt.chat.completions.create(model="gpt-4o", messages=[])


def test_first_token_and_delay_timing(base_url: str) -> None:
    headers = {"x-api-key": "k"}
    body = {
        "model": MODEL,
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "x [[sim first_token_ms=400 interval_ms=40 deltas=4]]"}],
    }
    with httpx.Client(timeout=10) as http:
        started = time.perf_counter()
        with http.stream("POST", f"{base_url}/anthropic/v1/messages", headers=headers, json=body) as r:
            head_at = time.perf_counter() - started
            first_delta_at = last_at = None
            for line in r.iter_lines():
                if line == "event: content_block_delta" and first_delta_at is None:
                    first_delta_at = time.perf_counter() - started
                if line == "event: message_stop":
                    last_at = time.perf_counter() - started
        assert first_delta_at is not None and first_delta_at >= 0.4
        assert first_delta_at - head_at >= 0.35, "headers + message_start go out before the first-token wait"
        assert last_at is not None and last_at - first_delta_at >= 0.1  # 3 intervals of 40 ms
        body["messages"] = [{"role": "user", "content": "x [[sim delay_ms=250]]"}]
        started = time.perf_counter()
        with http.stream("POST", f"{base_url}/anthropic/v1/messages", headers=headers, json=body) as r:
            assert time.perf_counter() - started >= 0.25
            r.read()


def test_drop_after_closes_connection(base_url: str) -> None:
    with httpx.Client(timeout=10) as http:
        for path, headers, body in [
            ("/anthropic/v1/messages", {"x-api-key": "k"}, {"model": MODEL, "max_tokens": 100}),
            ("/openai/v1/chat/completions", {"authorization": "Bearer k"}, {"model": "gpt-4o"}),
        ]:
            payload = {
                **body,
                "stream": True,
                "messages": [{"role": "user", "content": "x [[sim drop_after=2]]"}],
            }
            received: list[str] = []
            with (
                pytest.raises(httpx.RemoteProtocolError),
                http.stream("POST", base_url + path, headers=headers, json=payload) as r,
            ):
                assert r.status_code == 200
                received.extend(r.iter_lines())
            text = "\n".join(received)
            assert "message_stop" not in text and "[DONE]" not in text
        # the server is still healthy afterwards
        assert http.get(f"{base_url}/_sim/health").status_code == 200


def test_module_entry_point() -> None:
    sock = _free_socket()
    port = sock.getsockname()[1]
    sock.close()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytespike.simulator", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
                assert time.monotonic() < deadline, "python -m bytespike.simulator did not come up"
                time.sleep(0.05)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
