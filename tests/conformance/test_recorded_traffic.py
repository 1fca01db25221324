"""Real provider traffic through every lane that can carry it (issue #16).

Each recording in ``tests/fixtures/recorded/upstream`` (the real Anthropic, Gemini, OpenAI and
DeepSeek APIs) is replayed by the simulator as the upstream's answer, through the wire adapter
that speaks it, to every client surface. For each one:

- the stream the client gets satisfies the stream invariants (``translate/invariants.py``);
- the official SDK's own accumulator (anthropic's ``accumulate_event``, openai's
  ``ChatCompletionStreamState``) accepts it, and its final message equals our assembly of it;
- the non-streamed answer to the same content (``replay_source=chunks``) has the same blocks;
- the credits the client is told, the reservation's cost and the price of the *recorded* usage
  (through the documented usage mapping) are one number.

Whatever breaks is a translator bug to fix, not a recording to skip. Lanes come from ``LANES``:
a wire without an adapter yet (OpenAI Responses, issue #17) is listed with no model, and its
recordings are reported as waiting for it, not silently left out.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic._models import construct_type as anthropic_construct
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from google.genai import types as genai_types
from openai._models import construct_type as openai_construct
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from bytespike.billing import Usage, usage_credits
from bytespike.catalog import catalog
from bytespike.simulator.replay import accumulate, load, recordings_dir
from bytespike.translate import (
    assemble_anthropic_events,
    assemble_gemini_chunks,
    assemble_openai_chunks,
    check_anthropic_events,
    check_gemini_chunks,
    check_openai_chunks,
    gemini_usage_to_anthropic,
    openai_usage_to_anthropic,
)
from bytespike.translate.gemini_surface import merge_gemini_parts
from tests.support.stack import Stack

# The anthropic SDK's models predate some of Claude's block kinds (advisor, MCP, compaction ...):
# serialising its snapshot warns about them; the comparison below handles them explicitly.
pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")

# Recording folder -> the catalog model whose wire adapter speaks it (None: no adapter yet), or one
# per client surface where the lane to a provider depends on the surface.
LANES: dict[str, str | dict[str, str] | None] = {
    "anthropic": "claude-sonnet-5-5",
    # OpenAI's own models reach Anthropic clients through Responses now (their Chat clients pass
    # through); Anthropic clients reach Chat Completions traffic on the other OpenAI-format
    # providers' chat wire (Ark here).
    "openai-chat": {"anthropic": "doubao-seed-2-1-lite", "openai": "gpt-6.2-sol"},
    "deepseek": "deepseek-flash",
    "gemini": "gemini-3.8-flash",
    "openai-responses": None,  # issue #17 builds the Responses wire adapter; add its model here then
}
SURFACES = ("anthropic", "openai", "gemini")


def _max_tokens(model: str) -> int:
    """The model's largest output: a hold above any recorded usage, so billing is uncapped."""
    return catalog().model(model).max_output_tokens  # type: ignore[union-attr]


@dataclass(frozen=True, order=True)
class Recorded:
    folder: str
    name: str
    part: int = 1  # a file holding a multi-step exchange is several responses (replay_part)

    @property
    def ref(self) -> str:
        return f"{self.folder}/{self.name}"

    @property
    def label(self) -> str:
        return self.ref if self.part == 1 else f"{self.ref}#{self.part}"


def _streams() -> list[Recorded]:
    out = []
    for p in recordings_dir().glob("*/*.chunks.txt"):
        rec = Recorded(p.parent.name, p.name.removesuffix(".chunks.txt"))
        out += [Recorded(rec.folder, rec.name, k) for k in range(1, len(load(rec.ref).parts()) + 1)]
    return sorted(out)


def _bodies_only() -> list[Recorded]:
    streamed = {r.ref for r in _streams()}
    out = []
    for p in recordings_dir().glob("*/*.json"):
        rec = Recorded(p.parent.name, p.name.removesuffix(".json"))
        if rec.ref not in streamed:
            out.append(rec)
    return sorted(out)


CASES = [pytest.param(rec, surface, id=f"{surface}:{rec.label}")
         for rec in _streams() if LANES[rec.folder] for surface in SURFACES]
BODY_CASES = [pytest.param(rec, surface, id=f"{surface}:{rec.label}")
              for rec in _bodies_only() if LANES[rec.folder] for surface in SURFACES]


def _model_for(rec: Recorded, surface: str) -> str:
    model = LANES[rec.folder]
    assert model is not None
    # The Gemini surface reaches OpenAI-format traffic the way Anthropic clients do (Ark's Chat wire).
    return model if isinstance(model, str) else model["anthropic" if surface == "gemini" else surface]


def test_recordings_without_a_lane_are_named_not_dropped() -> None:
    """Every recording folder is in LANES; the ones with no wire adapter yet are reported here once."""
    folders = {p.name for p in recordings_dir().iterdir() if p.is_dir()}
    assert folders == set(LANES), folders ^ set(LANES)
    waiting = {f: len(list((recordings_dir() / f).glob("*.*"))) for f, model in LANES.items() if model is None}
    if waiting:
        pytest.skip(f"recordings waiting for a wire adapter (issue #17: OpenAI Responses): {waiting}")


def _prompt(rec: Recorded, extra: str = "") -> str:
    return f"Replay. [[sim replay={rec.ref} replay_part={rec.part} {extra} id={secrets.token_hex(4)}]]"


# Recordings the gateway must refuse to relay as an answer, and why (asserted, not skipped).
UPSTREAM_FAILURES = {
    # A second message_start with another id after a tool call was cut off mid-arguments: the
    # client cannot un-receive the first message, so the stream ends as the upstream's failure.
    "anthropic/spliced-message-start": "restarted mid-stream",
}
# Lanes whose upstream legitimately sends thinking blocks with no thinking text: Claude's own
# (display: omitted, redacted summaries) and Gemini's signature blocks (docs/MAPPING.md).
EMPTY_THINKING_OK = {"anthropic", "gemini"}
# Block kinds the anthropic SDK's stream accumulator builds from deltas (the rest stay as started).
SDK_ACCUMULATES = {"text", "thinking", "redacted_thinking", "tool_use", "server_tool_use"}


def _sse(text: str) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in frame.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            out.append((name, "\n".join(data)))
    return out


def recorded_usage(rec: Recorded) -> Usage:
    """The recording's own final usage, through the documented mapping (docs/MAPPING.md)."""
    parts = load(rec.ref).parts()
    chunks = [json.loads(line) for line in parts[rec.part - 1]] if parts else []
    if rec.folder == "anthropic":
        usage: dict[str, Any] = {}
        for c in chunks:
            if c.get("type") == "message_start":
                usage.update(c["message"].get("usage") or {})
            elif c.get("type") == "message_delta":
                usage.update({k: v for k, v in (c.get("usage") or {}).items() if v is not None})
        return Usage.from_anthropic(usage)
    if rec.folder == "gemini":
        last = [c["usageMetadata"] for c in chunks if c.get("usageMetadata")]
        return Usage.from_anthropic(gemini_usage_to_anthropic(last[-1])) if last else Usage()
    last = [c["usage"] for c in chunks if isinstance(c, dict) and c.get("usage")]
    return Usage.from_anthropic(openai_usage_to_anthropic(last[-1])) if last else Usage()


def _expected_credits(model_id: str, rec: Recorded, hold: int) -> int:
    """The recorded usage at the catalog's prices for now (long-context and off-peak rules included)."""
    return min(usage_credits(catalog().model(model_id), recorded_usage(rec), at=time.time()), hold)  # type: ignore[arg-type]


def _cost(stack: Stack, request_id: str, state: str = "SETTLED") -> int:
    item = stack.ddb.get_item(TableName=stack.tables["RESERVATIONS_TABLE"], Key={"id": {"S": request_id}},
                              ConsistentRead=True)["Item"]
    assert item["state"]["S"] == state, item
    return int(item["cost"]["N"])


def _clean(value: Any) -> Any:
    """Without null fields at any depth (the SDK's models fill in ``None`` for absent ones)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and k != "parsed_output"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _sdk_view(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks compared with the SDK's snapshot. anthropic 2.14's accumulator appends every citation
    twice (the start block's ``citations`` list is shared with the snapshot), so citations are
    compared as the set of cited texts."""
    out = []
    for b in _clean(content):
        if "citations" in b:
            b = {**b, "citations": sorted({c.get("cited_text", "") for c in b["citations"] or ()})}
        out.append(b)
    return out


def _anthropic_blocks(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks as a client reads them."""
    return _clean(content)


# ------------------------------------------------------------------ the Anthropic surface
@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    """An org of its own: every case holds up to the model's whole output budget, and recorded
    usage is real-sized (hundreds of thousands of tokens), which would drain a shared wallet."""
    return stack.create_org(10_000_000_000).master_key


def _anthropic_lane(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    body = {"model": model, "max_tokens": _max_tokens(model), "stream": True,
            "messages": [{"role": "user", "content": _prompt(rec)}]}
    r = httpx.post(stack.base_url + "/v1/messages", json=body, headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    events = [(name or "", json.loads(data)) for name, data in _sse(r.text) if name != "ping"]
    errors = [d for n, d in events if n == "error"]
    if rec.ref in UPSTREAM_FAILURES:
        assert errors and UPSTREAM_FAILURES[rec.ref] in errors[0]["error"]["message"], events[-1]
        assert _cost(stack, r.headers["request-id"], "FAILED") == 0
        return
    assert not errors, f"{rec.ref}: the gateway ended the stream with an error: {errors}"
    check_anthropic_events(events, allow_empty_thinking=rec.folder in EMPTY_THINKING_OK)
    ours = assemble_anthropic_events(events)

    snapshot, bufs = None, {}
    for _, data in events:  # the official SDK's accumulator, fed the same events
        snapshot = accumulate_event(event=anthropic_construct(type_=RawMessageStreamEvent, value=data),
                                    current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    sdk = snapshot.model_dump(mode="json")
    # The SDK accumulates the block kinds it models; Claude's newer kinds (compaction, MCP ...) it
    # keeps as started. Those are compared with the recording instead (below, pass-through lanes).
    assert [b["type"] for b in sdk["content"]] == [b["type"] for b in ours["content"]]
    assert _sdk_view([b for b in sdk["content"] if b["type"] in SDK_ACCUMULATES]) == \
        _sdk_view([b for b in ours["content"] if b["type"] in SDK_ACCUMULATES])
    assert sdk["stop_reason"] == ours["stop_reason"]
    if rec.folder == "anthropic":  # a pass-through lane: the client gets Claude's content unchanged
        parts = load(rec.ref).parts()
        recorded = accumulate("anthropic", tuple(json.loads(line) for line in parts[rec.part - 1]))
        assert _anthropic_blocks(ours["content"]) == _anthropic_blocks(recorded["content"])

    whole = httpx.post(stack.base_url + "/v1/messages", headers=headers, timeout=60, json={
        **body, "stream": False, "messages": [{"role": "user", "content": _prompt(rec, "replay_source=chunks")}]})
    assert whole.status_code == 200, whole.text
    message = whole.json()
    assert _anthropic_blocks(message["content"]) == _anthropic_blocks(ours["content"]), "stream != non-stream"
    assert message["stop_reason"] == ours["stop_reason"]

    request_id = r.headers["request-id"]
    billed = ours["usage"]["credits"]
    assert billed == _cost(stack, request_id) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert message["usage"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed


# ------------------------------------------------------------------ the OpenAI surface
def _openai_lane(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": model, "max_completion_tokens": _max_tokens(model), "stream": True,
            "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": _prompt(rec)}]}
    r = httpx.post(stack.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    frames = [data for _, data in _sse(r.text)]
    if rec.ref in UPSTREAM_FAILURES:
        error = json.loads(frames[-1])
        assert UPSTREAM_FAILURES[rec.ref] in error["error"]["message"], frames[-1]
        assert _cost(stack, r.headers["request-id"], "FAILED") == 0
        return
    assert frames[-1] == "[DONE]", frames[-1]
    chunks = [json.loads(d) for d in frames[:-1]]
    assert not [c for c in chunks if "error" in c and not c.get("choices")], f"{rec.ref}: stream ended in an error"
    check_openai_chunks(chunks, include_usage=True)
    ours = assemble_openai_chunks(chunks)

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for c in chunks:  # the official SDK's accumulator
        list(state.handle_chunk(openai_construct(type_=ChatCompletionChunk, value=c)))
    sdk = state.current_completion_snapshot.choices[0]  # get_final_completion() raises on content_filter
    assert (sdk.message.content or "") == ours["content"]
    sdk_calls = [(t.function.name, json.loads(t.function.arguments or "{}")) for t in sdk.message.tool_calls or []]
    assert sdk_calls == [(t["name"], json.loads(t["arguments"] or "{}")) for t in ours["tool_calls"]]
    assert sdk.finish_reason == ours["finish_reason"]

    whole = httpx.post(stack.base_url + "/v1/chat/completions", headers=headers, timeout=60, json={
        **{k: v for k, v in body.items() if k not in ("stream", "stream_options")},
        "messages": [{"role": "user", "content": _prompt(rec, "replay_source=chunks")}]})
    assert whole.status_code == 200, whole.text
    completion = whole.json()["choices"][0]
    assert (completion["message"].get("content") or "") == (sdk.message.content or ""), "stream != non-stream"
    assert [(t["function"]["name"], json.loads(t["function"]["arguments"] or "{}"))
            for t in completion["message"].get("tool_calls") or []] == sdk_calls
    assert completion["finish_reason"] == sdk.finish_reason

    request_id = r.headers["request-id"]
    billed = chunks[-1]["usage"]["credits"]
    assert billed == _cost(stack, request_id) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert whole.json()["usage"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed


# ------------------------------------------------------------------ the Gemini surface
def _gemini_url(stack: Stack, model: str, method: str) -> str:
    return f"{stack.base_url}/v1beta/models/{model}:{method}"


def _gemini_body(rec: Recorded, model: str, extra: str = "") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": _prompt(rec, extra)}]}],
            "generationConfig": {"maxOutputTokens": _max_tokens(model)}}


def _without_credits(chunk: dict[str, Any]) -> dict[str, Any]:
    usage = chunk.get("usageMetadata")
    if not isinstance(usage, dict) or "credits" not in usage:
        return chunk
    return {**chunk, "usageMetadata": {k: v for k, v in usage.items() if k != "credits"}}


def _gemini_view(response: dict[str, Any]) -> dict[str, Any]:
    """What a client reads of an assembled answer: candidate 0's parts (adjacent text parts as one,
    as a client joins them: Gemini's own whole answer may split them otherwise) and finish reason."""
    cand = response["candidates"][0]
    return {"parts": _clean(merge_gemini_parts(list(cand["content"]["parts"]))), "finishReason": cand.get("finishReason")}


def _gemini_lane(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    headers = {"x-goog-api-key": key}
    body = _gemini_body(rec, model)
    r = httpx.post(_gemini_url(stack, model, "streamGenerateContent"), params={"alt": "sse"}, json=body,
                   headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    chunks = [json.loads(data) for _, data in _sse(r.text)]
    if rec.ref in UPSTREAM_FAILURES:
        assert list(chunks[-1]) == ["error"] and UPSTREAM_FAILURES[rec.ref] in chunks[-1]["error"]["message"], chunks[-1]
        assert _cost(stack, r.headers["request-id"], "FAILED") == 0
        return
    assert not [c for c in chunks if "error" in c], f"{rec.ref}: the gateway ended the stream with an error"
    passthrough = rec.folder == "gemini"
    if passthrough:  # Gemini's own chunks, only the credits added (Gemini puts usage on every chunk)
        parts = load(rec.ref).parts()
        assert [_without_credits(c) for c in chunks] == [json.loads(line) for line in parts[rec.part - 1]]
    else:
        check_gemini_chunks(chunks)
    ours = assemble_gemini_chunks(chunks)

    # google-genai's own types read every chunk as the SDK does (unknown fields such as credits
    # dropped: it strips them from the dict it is given, hence the copies); its text and calls are
    # the assembled answer's.
    sdk = [genai_types.GenerateContentResponse._from_response(response=copy.deepcopy(c), kwargs={}) for c in chunks]
    sdk_text = "".join(p.text for s in sdk for p in (s.candidates[0].content.parts or ())  # type: ignore[index, union-attr]
                       if p.text is not None and not p.thought)
    assert sdk_text == "".join(p.get("text", "") for p in ours["candidates"][0]["content"]["parts"]
                               if not p.get("thought"))
    sdk_calls = [(p.function_call.name, p.function_call.args or {}) for s in sdk
                 for p in (s.candidates[0].content.parts or ()) if p.function_call]  # type: ignore[index, union-attr]
    assert sdk_calls == [(p["functionCall"].get("name"), p["functionCall"].get("args") or {})
                         for p in ours["candidates"][0]["content"]["parts"] if "functionCall" in p]

    # The JSON-array framing (no alt): one array of the same chunks.
    arr = httpx.post(_gemini_url(stack, model, "streamGenerateContent"), json=body, headers=headers, timeout=60)
    assert arr.status_code == 200, arr.text
    assert arr.headers["content-type"].startswith("application/json")
    array = json.loads(arr.content)
    assert isinstance(array, list)
    if passthrough:
        assert array == chunks, "array != sse"
    else:
        check_gemini_chunks(array)
        assert _gemini_view(assemble_gemini_chunks(array)) == _gemini_view(ours), "array != sse"

    whole = httpx.post(_gemini_url(stack, model, "generateContent"), headers=headers, timeout=60,
                       json=_gemini_body(rec, model, "replay_source=chunks"))
    assert whole.status_code == 200, whole.text
    response = whole.json()
    assert _gemini_view(response) == _gemini_view(ours), "stream != non-stream"

    request_id = r.headers["request-id"]
    billed = chunks[-1]["usageMetadata"]["credits"]
    assert billed == _cost(stack, request_id) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert array[-1]["usageMetadata"]["credits"] == _cost(stack, arr.headers["request-id"]) == billed
    assert response["usageMetadata"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed
    assert int(whole.headers["estimated_credits"]) >= billed


LANE_RUNNERS = {"anthropic": _anthropic_lane, "openai": _openai_lane, "gemini": _gemini_lane}


@pytest.mark.parametrize(("rec", "surface"), CASES)
def test_recorded_stream_through_every_lane(stack: Stack, key: str, rec: Recorded, surface: str) -> None:
    LANE_RUNNERS[surface](stack, key, rec, _model_for(rec, surface))


def _gemini_body_case(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    """A recorded body on the Gemini surface: the answer with its credits, or the upstream's error
    in Google's shape with nothing billed."""
    r = httpx.post(_gemini_url(stack, model, "generateContent"), json=_gemini_body(rec, model),
                   headers={"x-goog-api-key": key}, timeout=60)
    assert "estimated_credits" in r.headers
    if load(rec.ref).is_error:
        assert r.status_code < 500 or r.status_code in (502, 503, 529), r.text
        err = r.json()
        assert list(err) == ["error"] and err["error"]["code"] == r.status_code, err
        assert isinstance(err["error"]["message"], str) and isinstance(err["error"]["status"], str), err
        item = stack.ddb.get_item(TableName=stack.tables["RESERVATIONS_TABLE"], Key={"id": {"S": r.headers["request-id"]}},
                                  ConsistentRead=True).get("Item")
        assert item is None or int(item.get("cost", {}).get("N", "0")) == 0
        return
    assert r.status_code == 200, r.text
    assert r.json()["usageMetadata"]["credits"] == _cost(stack, r.headers["request-id"])


@pytest.mark.parametrize(("rec", "surface"), BODY_CASES)
def test_recorded_body_through_every_lane(stack: Stack, key: str, rec: Recorded, surface: str) -> None:
    """Recordings with only a non-streamed body (answers and error bodies): a clean answer in
    the caller's protocol, or the upstream's error in the caller's shape with nothing billed."""
    model = _model_for(rec, surface)
    if surface == "gemini":
        return _gemini_body_case(stack, key, rec, model)
    recorded = load(rec.ref)
    if surface == "anthropic":
        client: Any = stack.anthropic(key)
        call = lambda: client.messages.with_raw_response.create(  # noqa: E731
            model=model, max_tokens=_max_tokens(model), messages=[{"role": "user", "content": _prompt(rec)}], timeout=60)
        api_error: type[Exception] = anthropic.APIStatusError
    else:
        client = stack.openai(key)
        call = lambda: client.chat.completions.with_raw_response.create(  # noqa: E731
            model=model, max_completion_tokens=_max_tokens(model), messages=[{"role": "user", "content": _prompt(rec)}])
        api_error = openai.APIStatusError
    if recorded.is_error:
        with pytest.raises(api_error) as caught:
            call()
        err = caught.value
        assert err.status_code < 500 or err.status_code in (502, 503, 529), err  # type: ignore[attr-defined]
        # the request is not billed:
        request_id = err.response.headers["request-id"]  # type: ignore[attr-defined]
        item = stack.ddb.get_item(TableName=stack.tables["RESERVATIONS_TABLE"], Key={"id": {"S": request_id}},
                                  ConsistentRead=True).get("Item")
        assert item is None or int(item.get("cost", {}).get("N", "0")) == 0
        return
    raw = call()
    parsed = raw.parse()
    assert raw.status_code == 200
    credits = parsed.usage.model_extra["credits"]
    assert credits == _cost(stack, raw.headers["request-id"])
