"""The simulator's real-world timing, its replay of recorded provider traffic, and the tool directives.

Over real HTTP (the same background server as test_simulator_http), because timing is about
what arrives on a socket and when.
"""

from __future__ import annotations

import base64
import itertools
import json
import time

import anthropic
import httpx
import openai
import pytest
from tests.unit.test_simulator_http import WEATHER, base_url, claude, gpt  # noqa: F401  (fixtures)

from bytespike.simulator.directives import parse_directives
from bytespike.simulator.replay import accumulate, load, recordings_dir
from bytespike.simulator.timing import REALISTIC_THINK_MS, timing_of

MODEL = "claude-sonnet-5-5"


def _arrivals(resp: httpx.Response) -> list[tuple[float, bytes]]:
    start, out = time.monotonic(), []
    for chunk in resp.iter_raw():
        out.append((time.monotonic() - start, chunk))
    return out


def test_realistic_timing_has_production_length_silences() -> None:
    t = timing_of(parse_directives("[[sim timing=realistic]]"))
    assert t.think_ms == REALISTIC_THINK_MS >= 60_000 and t.tool_arg_ms > 0 and t.ping_ms > 0
    shortened = timing_of(parse_directives("[[sim timing=realistic think_ms=50]]"))
    assert shortened.think_ms == 50 and shortened.tool_arg_ms == t.tool_arg_ms


def test_anthropic_thinks_silently_with_pings_then_streams_slow_tool_arguments(base_url: str) -> None:  # noqa: F811
    body = {"model": MODEL, "max_tokens": 512, "stream": True, "tools": [WEATHER],
            "messages": [{"role": "user", "content": "go [[sim tools=1 think_ms=900 ping_ms=250 tool_arg_ms=120]]"}]}
    with httpx.stream("POST", f"{base_url}/anthropic/v1/messages", json=body, timeout=30,
                      headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}) as resp:
        arrivals = _arrivals(resp)
    text = b"".join(c for _, c in arrivals)
    assert arrivals[0][0] < 0.3 and b"message_start" in arrivals[0][1]  # headers and head at once
    first_content = next(t for t, c in arrivals if b"content_block_start" in c)
    assert first_content >= 0.85
    assert text.count(b"event: ping") >= 1 + 3  # the head's ping + the thinking silence's
    arg_times = [t for t, c in arrivals if b"input_json_delta" in c]
    assert len(arg_times) >= 2 and all(b - a >= 0.1 for a, b in itertools.pairwise(arg_times))


def test_openai_thinks_in_silence_and_deepseek_keeps_alive(base_url: str) -> None:  # noqa: F811
    for prefix, model, keepalive in (("/openai/v1", "gpt-6.2-sol", False), ("/deepseek", "deepseek-flash", True)):
        body = {"model": model, "stream": True,
                "messages": [{"role": "user", "content": "hi [[sim think_ms=600 ping_ms=150]]"}]}
        with httpx.stream("POST", f"{base_url}{prefix}/chat/completions", json=body, timeout=30,
                          headers={"authorization": "Bearer k"}) as resp:
            assert resp.status_code == 200, resp.read()
            arrivals = _arrivals(resp)
        text = b"".join(c for _, c in arrivals)
        first_content = next(t for t, c in arrivals if b'"content":"' in c and b'"content":""' not in c)
        assert first_content >= 0.55
        assert (b": keep-alive" in text) is keepalive


def test_non_streaming_waits_out_the_same_silence(claude: anthropic.Anthropic) -> None:  # noqa: F811
    start = time.monotonic()
    claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x [[sim think_ms=400]]"}])
    assert time.monotonic() - start >= 0.4


def test_tool_and_tool_input_directives_pick_a_real_clients_tool(claude: anthropic.Anthropic) -> None:  # noqa: F811
    args = base64.urlsafe_b64encode(json.dumps({"file_path": "/tmp/notes.txt"}).encode()).decode().rstrip("=")
    read = {"name": "Read", "description": "Read a file",
            "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}
    msg = claude.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER, read], messages=[
        {"role": "user", "content": f"read it [[sim tools=1 tool=Read tool_input={args}]]"}])
    assert [(b.name, b.input) for b in msg.content if b.type == "tool_use"] == [("Read", {"file_path": "/tmp/notes.txt"})]


def test_every_recording_loads_and_the_folders_are_the_published_ones() -> None:
    names = {p.name.split(".")[0] for p in recordings_dir().rglob("*.*") if p.suffix in (".txt", ".json")}
    assert len(list(recordings_dir().rglob("*.chunks.txt"))) + len(list(recordings_dir().rglob("*.json"))) == 149
    for path in recordings_dir().rglob("*.chunks.txt"):
        rec = load(f"{path.parent.name}/{path.name.removesuffix('.chunks.txt')}")
        assert rec.chunks
    assert names


def test_replay_streams_the_recording_in_the_providers_framing(claude: anthropic.Anthropic, gpt: openai.OpenAI) -> None:  # noqa: F811
    with claude.messages.stream(model=MODEL, max_tokens=256, messages=[
            {"role": "user", "content": "x [[sim replay=anthropic/anthropic-text]]"}]) as stream:
        final = stream.get_final_message()
    recorded = accumulate("anthropic", load("anthropic/anthropic-text").chunks or ())
    assert final.content[0].text == recorded["content"][0]["text"] and final.id == recorded["id"]
    whole = claude.messages.create(model=MODEL, max_tokens=256, messages=[
        {"role": "user", "content": "x [[sim replay=anthropic/anthropic-text]]"}])
    assert whole.id == load("anthropic/anthropic-text").body["id"]  # the recorded .json
    chunks = list(gpt.chat.completions.create(model="gpt-6.2-sol", stream=True, messages=[
        {"role": "user", "content": "x [[sim replay=openai-chat/openai-text]]"}]))
    assert chunks[0].id == load("openai-chat/openai-text").chunks[0]["id"]  # type: ignore[index]


def test_replay_refuses_another_wires_recording_and_sends_error_recordings_with_their_status(
        claude: anthropic.Anthropic, gpt: openai.OpenAI) -> None:  # noqa: F811
    with pytest.raises(anthropic.BadRequestError, match="gemini traffic"):
        claude.messages.create(model=MODEL, max_tokens=16, messages=[
            {"role": "user", "content": "x [[sim replay=gemini/google-text]]"}])
    with pytest.raises(openai.BadRequestError, match="max_completion_tokens"):
        gpt.chat.completions.create(model="gpt-6.2-sol", messages=[
            {"role": "user", "content": "x [[sim replay=openai-chat/reasoning-model-legacy-parameter-error]]"}])
