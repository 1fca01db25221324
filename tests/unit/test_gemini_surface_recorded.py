"""Real Gemini traffic through the hub and back out of the Gemini surface.

Each recording in ``tests/fixtures/recorded/upstream/gemini`` (the real API's answers, see the
README one level up) goes through the Gemini → hub translator (:mod:`.gemini`), then the hub →
Gemini surface translator, streamed and whole. What comes out must be the recording: the same
text, thoughts, calls and arguments, every function-call and thought signature on its part,
the finish reason and the token counts. The only differences allowed are the documented ones
(docs/MAPPING.md, "Gemini surface"): calls gain ids (Gemini's are optional, ours always set),
and the signature of the answer's final text may be dropped by the Gemini → hub side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bytespike.translate import (
    AnthropicToGeminiStream,
    GeminiContext,
    GeminiSurfaceContext,
    GeminiToAnthropicStream,
    HubTarget,
    anthropic_response_to_gemini,
    assemble_gemini_chunks,
    check_gemini_chunks,
    gemini_response_to_anthropic,
)
from bytespike.translate.responses import anthropic_message_id

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "upstream" / "gemini"
# Gemini 3's streamed function-call arguments (``partialArgs``, ``willContinue``): only sent when
# a request asks for ``streamFunctionCallArguments``, which the hub never does; the Gemini → hub
# translator does not assemble them (test_partial_args_are_not_assembled_yet).
PARTIAL_ARGS = {
    "google-stream-no-args-tool-call",
    "google-stream-tool-call-arguments",
    "google-stream-tool-call-array-arguments-missing-terminal-function-call",
    "google-vertex-stream-tool-call-arguments-nested.1",
}
COUNTS = (
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "totalTokenCount",
)


def _chunks(name: str) -> list[dict]:
    return [
        json.loads(line)
        for line in (RECORDED / f"{name}.chunks.txt").read_text().splitlines()
        if line.strip()
    ]


def _streams() -> list[str]:
    return sorted(p.name.removesuffix(".chunks.txt") for p in RECORDED.glob("*.chunks.txt"))


def _bodies() -> list[str]:
    return sorted(p.stem for p in RECORDED.glob("*.json") if "candidates" in json.loads(p.read_text()))


def _surface(recorded: list[dict]) -> GeminiSurfaceContext:
    """The context a Gemini client's request would have made for this answer."""
    version = next((c["modelVersion"] for c in recorded if c.get("modelVersion")), "gemini")
    thoughts = any(
        p.get("thought")
        for c in recorded
        for cand in c.get("candidates") or ()
        for p in (cand.get("content") or {}).get("parts") or ()
    )
    return GeminiSurfaceContext(
        model=version, target=HubTarget(provider="gemini", thinking="effort"), include_thoughts=thoughts
    )


def _hub_events(recorded: list[dict], model: str) -> list[tuple[str, dict]]:
    rid = next((c["responseId"] for c in recorded if c.get("responseId")), "r")
    up = GeminiToAnthropicStream(
        model=model, message_id=anthropic_message_id(rid), ctx=GeminiContext(model=model)
    )
    return [e for chunk in recorded for e in up.feed(chunk)] + up.finish()


def _comparable(response: dict, *, keep_call_ids: bool) -> dict[str, Any]:
    cand = response["candidates"][0]
    parts = []
    for part in cand["content"]["parts"]:
        part = json.loads(json.dumps(part))
        if "functionCall" in part and not keep_call_ids:
            part["functionCall"].pop("id", None)
        parts.append(part)
    usage = {k: v for k, v in (response.get("usageMetadata") or {}).items() if k in COUNTS}
    return {
        "parts": parts,
        "finishReason": cand.get("finishReason"),
        "usage": usage,
        "responseId": str(response.get("responseId")).removeprefix("msg_"),  # the hub's id is msg_<Gemini's>
    }


def _without_final_text_signature(parts: list[dict]) -> list[dict]:
    """The documented loss: the answer's last text run may come back without its signature."""
    out = [dict(p) for p in parts]
    texts = [p for p in out if isinstance(p.get("text"), str) and not p.get("thought")]
    if texts and out and out[-1] is texts[-1]:
        texts[-1].pop("thoughtSignature", None)
    return out


def _assert_equivalent(ours: dict, recording: dict) -> None:
    got, want = _comparable(ours, keep_call_ids=False), _comparable(recording, keep_call_ids=False)
    assert got["finishReason"] == want["finishReason"]
    assert got["usage"] == want["usage"]
    assert got["responseId"] == want["responseId"]
    if got["parts"] != want["parts"]:
        assert _without_final_text_signature(got["parts"]) == _without_final_text_signature(want["parts"])
    calls = [p for p in ours["candidates"][0]["content"]["parts"] if "functionCall" in p]
    assert all(p["functionCall"].get("id") for p in calls), "every call carries an id"


@pytest.mark.parametrize("name", [n for n in _streams() if n not in PARTIAL_ARGS])
def test_recorded_stream_comes_back_as_recorded(name: str) -> None:
    recorded = _chunks(name)
    ctx = _surface(recorded)
    events = _hub_events(recorded, ctx.model)
    stream = AnthropicToGeminiStream(ctx)
    chunks = [c for event, data in events for c in stream.feed(event, data)] + stream.finish()
    check_gemini_chunks(chunks)
    ours = assemble_gemini_chunks(chunks)
    _assert_equivalent(ours, assemble_gemini_chunks(recorded))
    # the same answer whole: Gemini → hub message → Gemini response, equal to the stream's
    whole = assemble_gemini_chunks(recorded)
    message = gemini_response_to_anthropic(whole, model=ctx.model, ctx=GeminiContext(model=ctx.model))
    assert anthropic_response_to_gemini(message, _surface(recorded)) == ours


@pytest.mark.parametrize("name", _bodies())
def test_recorded_body_comes_back_as_recorded(name: str) -> None:
    body = json.loads((RECORDED / f"{name}.json").read_text())
    ctx = _surface([body])
    message = gemini_response_to_anthropic(body, model=ctx.model, ctx=GeminiContext(model=ctx.model))
    ours = anthropic_response_to_gemini(message, ctx)
    _assert_equivalent(ours, body)
    signatures = [p.get("thoughtSignature") for p in body["candidates"][0]["content"]["parts"]]
    calls = [p for p in ours["candidates"][0]["content"]["parts"] if "functionCall" in p]
    for call, original in zip(
        calls, (p for p in body["candidates"][0]["content"]["parts"] if "functionCall" in p), strict=True
    ):
        assert call.get("thoughtSignature") == original.get("thoughtSignature")  # byte-exact
    assert signatures  # the recordings do carry signatures


def test_every_recording_is_used() -> None:
    used = {n for n in _streams()} | set(_bodies())
    errors = {p.stem for p in RECORDED.glob("*.json")} - set(_bodies())
    assert errors == {"google-429-retry-info"}  # an error body, read by the error-mapping tests
    assert used | errors == {p.name.split(".chunks")[0].removesuffix(".json") for p in RECORDED.iterdir()}


@pytest.mark.xfail(
    strict=True, reason="GeminiToAnthropicStream does not assemble Gemini 3 partialArgs call streams"
)
def test_partial_args_are_not_assembled_yet() -> None:
    """Reported, not fixed here: a stream with ``partialArgs`` becomes several tool_use blocks
    (``unknown_tool`` with empty input) instead of one call with its arguments. The hub lane
    never asks Gemini for streamed arguments, so it does not reach clients today."""
    recorded = _chunks("google-stream-tool-call-arguments")
    ctx = _surface(recorded)
    stream = AnthropicToGeminiStream(ctx)
    chunks = [c for e, d in _hub_events(recorded, ctx.model) for c in stream.feed(e, d)] + stream.finish()
    calls = [
        p["functionCall"]
        for c in chunks
        for p in c["candidates"][0]["content"]["parts"]
        if "functionCall" in p
    ]
    assert [(c["name"], c["args"]) for c in calls] == [
        ("getWeather", {"location": "Boston"}),
        ("getWeather", {"location": "San Francisco"}),
    ]
