"""Real OpenAI Responses traffic, and Codex's real request, through the Responses translators.

``tests/fixtures/recorded/upstream/openai-responses`` holds streams and bodies recorded from the
real API (Vercel AI SDK test recordings, Apache-2.0). Each stream goes through the wire adapter
(``ResponsesToAnthropicStream``) and on to every client surface (Anthropic, Chat Completions,
Responses); the hub stream must satisfy the stream invariants, the surfaces theirs, stream and
non-stream must give the same blocks, and OpenAI's reasoning must come back out as the exact
items it came in as. A server tool (web search, shell, apply_patch …) has no hub block: that
loss is the documented one (MAPPING.md), never an exception. The recorded Codex request is
translated for every upstream protocol.

Upstream deviations these recordings carry, and what the translator does with them (each is
asserted below, none is skipped): GitHub Copilot's proxy rotating the response id mid-stream
(the first id is kept); hand-trimmed recordings whose ``.done`` text extends the deltas (the
rest is sent at ``.done``) or contradicts them (``openai-shell-container``: what was streamed is
kept, with a warning); ``parallel-tool-call-wrapper`` has two truncated JSON lines (the SSE
reader's business: the parsable events still make a valid stream) and a ``parallel`` wrapper
call (unwrapped into the declared calls).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai.types.responses import Response

from bytespike.errors import Kind
from bytespike.translate import (
    AnthropicToOpenAIStream,
    AnthropicToResponsesStream,
    ResponsesToAnthropicStream,
    ResponsesWireContext,
    ToolNameMap,
    anthropic_request_to_gemini,
    anthropic_request_to_openai,
    anthropic_request_to_responses,
    assemble_anthropic_events,
    check_anthropic_events,
    check_openai_chunks,
    check_responses_events,
    map_upstream_error,
    responses_request_to_anthropic,
    responses_to_anthropic,
    strip_foreign_thinking,
)
from bytespike.translate.responses_common import read_openai_reasoning_signature

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
FOLDER = RECORDED / "upstream" / "openai-responses"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
KEPT_STREAMED_TEXT = {"openai-shell-container.1"}  # .done text contradicts the deltas


@dataclass(frozen=True)
class Part:
    name: str
    index: int
    events: tuple[dict, ...]
    unparsable: int

    @property
    def label(self) -> str:
        return f"{self.name}#{self.index}"

    @property
    def terminal(self) -> dict | None:
        return next((e for e in reversed(self.events) if e.get("type") in TERMINAL), None)


def _parts() -> list[Part]:
    """Every recorded stream, split into responses (a file may hold a multi-step exchange)."""
    parts: list[Part] = []
    for path in sorted(FOLDER.glob("*.chunks.txt")):
        name = path.name.removesuffix(".chunks.txt")
        events: list[dict] = []
        bad = 0
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    bad += 1
        runs: list[list[dict]] = [[]]
        for event in events:
            if event.get("type") == "response.created" and any(e.get("type") in TERMINAL for e in runs[-1]):
                runs.append([])
            runs[-1].append(event)
        parts += [Part(name, k, tuple(run), bad) for k, run in enumerate(runs)]
    return parts


PARTS = _parts()


def _wire(part: Part, *, thinking: bool = True) -> tuple[list, ResponsesToAnthropicStream]:
    machine = ResponsesToAnthropicStream(
        model="gpt-6.2-sol", message_id="msg_rec", ctx=ResponsesWireContext(model="gpt-6.2-sol", thinking=thinking)
    )
    out: list = []
    for event in part.events:
        out += machine.feed(event)
    if machine.error is None:
        out += machine.finish()
    return out, machine


def test_all_recordings_are_here() -> None:
    assert len({p.name for p in PARTS}) == 31 and len(PARTS) == 35  # 31 streams; one holds 4 responses, one 2


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.label)
@pytest.mark.parametrize("thinking", [True, False], ids=["thinking", "plain"])
def test_wire_stream_satisfies_the_hub_invariants(part: Part, thinking: bool) -> None:
    events, machine = _wire(part, thinking=thinking)
    if machine.error is not None:
        assert part.name == "openai-error.1"
        return
    check_anthropic_events(events, allow_empty_thinking=thinking)
    message = assemble_anthropic_events(events)
    blocks = [b["type"] for b in message["content"]]
    if not thinking:
        assert "thinking" not in blocks
    terminal = part.terminal
    if terminal is not None and isinstance(terminal["response"].get("usage"), dict):
        usage = terminal["response"]["usage"]
        assert message["usage"]["output_tokens"] == usage["output_tokens"]
        total_in = sum(message["usage"][k] for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
        assert total_in == usage["input_tokens"]


@pytest.mark.parametrize("part", [p for p in PARTS if p.terminal is not None and p.terminal["response"].get("output")],
                         ids=lambda p: p.label)  # fmt: skip
def test_stream_and_whole_response_give_the_same_blocks(part: Part) -> None:
    events, machine = _wire(part)
    streamed = assemble_anthropic_events(events)["content"]
    whole = responses_to_anthropic(part.terminal["response"], ctx=ResponsesWireContext(model="m", thinking=True))  # type: ignore[index]
    if part.name in KEPT_STREAMED_TEXT:
        assert "a .done event disagrees with its deltas; kept what was streamed" in machine.warnings
        assert [b["type"] for b in streamed] == [b["type"] for b in whole["content"]]
        return
    for got, want in zip(streamed, whole["content"], strict=True):
        if got["type"] == "thinking":  # OpenAI re-encrypts sealed fields for the terminal event
            got, want = {**got, "signature": None}, {**want, "signature": None}
        assert got == want


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_bodies(path: Path) -> None:
    body = json.loads(path.read_text())
    if body.get("error"):  # a recorded error body: classified as the gateway's vocabulary says
        status = 429 if body["error"].get("code") == "insufficient_quota" else 400
        err = map_upstream_error("openai", status, body)
        assert (err.kind, err.account_fault) == (
            (Kind.UPSTREAM, True) if status == 429 else (Kind.INVALID_REQUEST, False)
        )
        return
    message = responses_to_anthropic(body, ctx=ResponsesWireContext(model="m", thinking=True))
    tool_calls = [o for o in body["output"] if o.get("type") in ("function_call", "custom_tool_call")]
    assert (message["stop_reason"] == "tool_use") == bool(tool_calls)
    assert message["usage"]["output_tokens"] == body["usage"]["output_tokens"]


@pytest.mark.parametrize("part", [p for p in PARTS if any(
    e.get("type") == "response.output_item.done" and e["item"].get("type") == "reasoning" and e["item"].get("encrypted_content")
    for e in p.events)], ids=lambda p: p.label)  # fmt: skip
def test_reasoning_goes_back_as_the_exact_items(part: Part) -> None:
    """The next turn sends OpenAI's reasoning back: same ids, same encrypted content, same summary."""
    events, _ = _wire(part)
    message = assemble_anthropic_events(events)
    recorded = [e["item"] for e in part.events if e.get("type") == "response.output_item.done"
                and e["item"].get("type") == "reasoning"]  # fmt: skip
    for block in message["content"]:
        if block["type"] == "thinking":
            assert read_openai_reasoning_signature(block["signature"]) is not None
    request = {
        "model": "x",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "q"}, message, {"role": "user", "content": "next"}],
    }
    if message["stop_reason"] == "tool_use":
        results = [{"type": "tool_result", "tool_use_id": b["id"], "content": "ok"}
                   for b in message["content"] if b["type"] == "tool_use"]  # fmt: skip
        request["messages"][2] = {"role": "user", "content": results}
    body, _ = anthropic_request_to_responses(request, "gpt-6.2-sol")
    sent = [i for i in body["input"] if i["type"] == "reasoning"]
    followed = [r for r in recorded if any(b["type"] != "thinking" for b in message["content"])]
    assert [(i["id"], i["encrypted_content"]) for i in sent] == [(r["id"], r["encrypted_content"]) for r in followed]
    assert [i["summary"] for i in sent] == [[{"type": "summary_text", "text": s["text"]} for s in r["summary"]] for r in followed]
    # and never to Claude
    assert not any(b["type"] == "thinking" for m in strip_foreign_thinking(request)["messages"]
                   for b in (m["content"] if isinstance(m["content"], list) else ()))  # fmt: skip


@pytest.mark.parametrize("part", [p for p in PARTS if p.name != "openai-error.1"], ids=lambda p: p.label)
def test_every_surface_carries_the_recording(part: Part) -> None:
    """Wire → hub → the Chat Completions and Responses surfaces: their own invariants hold."""
    events, _ = _wire(part)
    chat = AnthropicToOpenAIStream(model="gpt-6.2-sol", completion_id="chatcmpl-x", created=1, include_usage=True,
                                   names=ToolNameMap())  # fmt: skip
    chunks = [c for name, data in events for c in chat.feed(name, data)] + chat.finish()
    check_openai_chunks(chunks, include_usage=True)
    _, ctx = responses_request_to_anthropic({"model": "gpt-6.2-sol", "input": "hi", "reasoning": {"summary": "auto"}})
    surface = AnthropicToResponsesStream(ctx, response_id="resp_rec")
    out = [e for name, data in events for e in surface.feed(name, data)] + surface.finish(credits=1)
    check_responses_events(out)
    Response.model_validate(out[-1]["response"])


def test_error_stream_is_the_gateways_error() -> None:
    part = next(p for p in PARTS if p.name == "openai-error.1")
    events, machine = _wire(part)
    assert machine.error is not None and machine.error.account_fault and machine.error.kind is Kind.UPSTREAM
    assert [name for name, _ in events] == ["message_start"]  # nothing else reached the client


def test_upstream_deviations_are_absorbed() -> None:
    rotated = next(p for p in PARTS if p.name == "github-copilot-id-rotation.1")
    _, machine = _wire(rotated)
    assert machine.response_id == "capture-id-1"
    wrapper = next(p for p in PARTS if p.name == "parallel-tool-call-wrapper.1")
    assert wrapper.unparsable == 2
    events, machine = _wire(wrapper)
    calls = [b for b in assemble_anthropic_events(events)["content"] if b["type"] == "tool_use"]
    assert [(c["name"], c["input"]) for c in calls] == [("weather", {"location": "San Francisco"}),
                                                         ("cityAttractions", {"city": "Rome"})]  # fmt: skip


# ---------------------------------------------------------------------------------- Codex's request

CODEX = json.loads((RECORDED / "codex-0.171.0-responses-request.json").read_text())


@pytest.mark.parametrize("wire", ["anthropic", "responses", "chat-openai", "deepseek", "ark", "gemini"])
def test_codex_request_reaches_every_wire(wire: str) -> None:
    """The first request Codex sends, on every provider's protocol: no refusal, tools intact."""
    hub, _ctx = responses_request_to_anthropic(CODEX, default_max_tokens=32000)
    names = {t["name"] for t in hub["tools"]}
    if wire == "anthropic":
        assert strip_foreign_thinking(hub)["tools"] == hub["tools"]
        body_tools = names
    elif wire == "responses":
        body, _ = anthropic_request_to_responses(hub, "gpt-6.2-sol")
        body_tools = {t["name"] for t in body["tools"]}
        assert body["reasoning"]["effort"] == "low" and body["store"] is False
    elif wire == "gemini":
        body, _ = anthropic_request_to_gemini(hub)
        body_tools = {d["name"] for d in body["tools"][0]["functionDeclarations"]}
    else:
        target = "openai" if wire == "chat-openai" else wire
        body, _ = anthropic_request_to_openai(hub, target=target)
        body_tools = {t["function"]["name"] for t in body["tools"]}
    assert body_tools == names and len(names) == 12
