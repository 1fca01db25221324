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
every folder reaches every surface. Where the default catalog gives a surface no lane to a folder's
wire, the case runs on a gateway whose catalog does (``OTHER_CATALOG``, with the reason).

Three client surfaces: Anthropic Messages, OpenAI Chat Completions and OpenAI Responses (issue
17: the 61 OpenAI Responses recordings through the Responses wire to Anthropic clients and through
the byte pass-through to Responses clients and through the Responses wire to Chat Completions
clients on a Responses-only OpenAI provider; every other folder's through the hub to Responses
clients, checked with ``check_responses_events`` and the openai SDK's ``ResponseStreamState``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
import time
from collections.abc import Iterator
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
from openai import omit
from openai._models import construct_type as openai_construct
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent

from bytespike.billing import Usage, usage_credits
from bytespike.catalog import CATALOG_PATH, catalog
from bytespike.simulator.replay import accumulate, load, recordings_dir
from bytespike.translate import (
    assemble_anthropic_events,
    assemble_gemini_chunks,
    assemble_openai_chunks,
    assemble_responses_events,
    check_anthropic_events,
    check_gemini_chunks,
    check_openai_chunks,
    check_responses_events,
    gemini_usage_to_anthropic,
    openai_usage_to_anthropic,
    responses_usage_to_anthropic,
)
from bytespike.translate.gemini_surface import merge_gemini_parts
from tests.support.stack import Stack, gateway_on

# The anthropic SDK's models predate some of Claude's block kinds (advisor, MCP, compaction ...):
# serialising its snapshot warns about them; the comparison below handles them explicitly.
pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")

# Recording folder -> the catalog model whose wire adapter speaks it (None: no adapter yet), or one
# per client surface where the lane to a provider depends on the surface.
LANES: dict[str, str | dict[str, str]] = {
    "anthropic": "claude-sonnet-5-5",
    # OpenAI's own models reach Anthropic clients through Responses now and Responses clients by
    # pass-through (their Chat clients pass through to Chat Completions); Chat Completions traffic
    # reaches Anthropic and Responses clients on the other OpenAI-format providers' chat wire (Ark).
    "openai-chat": {"anthropic": "doubao-seed-2-1-lite", "openai": "gpt-6.2-sol", "responses": "doubao-seed-2-1-lite"},
    "deepseek": "deepseek-flash",
    "gemini": "gemini-3.8-flash",
    # The Responses wire (Anthropic clients on GPT; Chat clients where OpenAI speaks only Responses)
    # and the Responses pass-through (Responses clients).
    "openai-responses": "gpt-6.2-sol",
}
SURFACES = ("anthropic", "openai", "responses", "gemini")
# (folder, surface) pairs the default catalog has no lane for, run on a gateway whose catalog has
# one: the catalog edit (old, new) and why.
OTHER_CATALOG = {
    ("openai-responses", "openai"): (
        'wires = ["openai-responses", "openai"]', 'wires = ["openai-responses"]',
        "Chat Completions clients on OpenAI models get a byte pass-through to Chat Completions by default; an "
        "operator whose OpenAI provider speaks only Responses (OpenAI's Responses-only models) sends them "
        "through the hub to the Responses wire, the lane these recordings judge"),
}
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


def _bodies() -> list[Recorded]:
    """Every non-streamed body: alone (answers, error bodies) or beside a stream of the same name
    (another call, recorded non-streamed: served as the upstream's answer to a non-streamed request)."""
    return sorted(Recorded(p.parent.name, p.name.removesuffix(".json")) for p in recordings_dir().glob("*/*.json"))


def _lane_model(folder: str, surface: str) -> str | None:
    model = LANES[folder]
    # The Gemini surface reaches OpenAI-format traffic the way Anthropic clients do (Ark's Chat wire).
    return model if isinstance(model, str) else model.get("anthropic" if surface == "gemini" else surface)


CASES = [pytest.param(rec, surface, id=f"{surface}:{rec.label}")
         for rec in _streams() for surface in SURFACES if _lane_model(rec.folder, surface)]
BODY_CASES = [pytest.param(rec, surface, id=f"{surface}:{rec.label}")
              for rec in _bodies() for surface in SURFACES if _lane_model(rec.folder, surface)]


def _model_for(rec: Recorded, surface: str) -> str:
    model = _lane_model(rec.folder, surface)
    assert model is not None
    return model


def test_every_recording_reaches_every_surface() -> None:
    """Every recording folder is in LANES, and every (folder, surface) pair has a model."""
    folders = {p.name for p in recordings_dir().iterdir() if p.is_dir()}
    assert folders == set(LANES), folders ^ set(LANES)
    assert all(_lane_model(folder, surface) for folder in folders for surface in SURFACES)
    assert len(list((recordings_dir() / "openai-responses").glob("*.*"))) == 61
    for old, _, _ in OTHER_CATALOG.values():
        assert CATALOG_PATH.read_text().count(old) == 1, old


@pytest.fixture(scope="module")
def other_catalog(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's stack seen through a second gateway (same DynamoDB, its own simulator) whose
    catalog carries every ``OTHER_CATALOG`` edit."""
    workdir = tmp_path_factory.mktemp("other-catalog")
    text = CATALOG_PATH.read_text()
    for old, new, _ in OTHER_CATALOG.values():
        text = text.replace(old, new)
    (workdir / "models.toml").write_text(text)
    with gateway_on(stack, workdir, {"BYTESPIKE_CATALOG": str(workdir / "models.toml")}) as (info, _, _):
        yield dataclasses.replace(stack, base_url=info["base_url"])


def _stack_for(request: pytest.FixtureRequest, stack: Stack, rec: Recorded, surface: str) -> Stack:
    if (rec.folder, surface) in OTHER_CATALOG:
        return request.getfixturevalue("other_catalog")  # type: ignore[no-any-return]
    return stack


def _prompt(rec: Recorded, extra: str = "") -> str:
    return f"Replay. [[sim replay={rec.ref} replay_part={rec.part} {extra} id={secrets.token_hex(4)}]]"


# Recordings the gateway must refuse to relay as an answer, and why (asserted, not skipped).
UPSTREAM_FAILURES: dict[str, str | tuple[str, ...]] = {
    # A second message_start with another id after a tool call was cut off mid-arguments: the
    # client cannot un-receive the first message, so the stream ends as the upstream's failure.
    "anthropic/spliced-message-start": "restarted mid-stream",
    # OpenAI's mid-stream quota error (error + response.failed): the upstream's failure, billed 0
    # (Responses clients get OpenAI's own events; Anthropic clients the account fault it means).
    "openai-responses/openai-error.1": ("exceeded your current quota", "rejected the gateway's account"),
    # A hand-trimmed recording whose response.created and response.completed lines are cut short
    # (unbalanced JSON): no client could read its end; the gateway ends it as malformed, billed 0.
    "openai-responses/parallel-tool-call-wrapper.1": "malformed",
}
def _names_failure(rec: Recorded, text: str) -> bool:
    expected = UPSTREAM_FAILURES[rec.ref]
    return any(e in text for e in ((expected,) if isinstance(expected, str) else expected))


# Recordings whose terminal response contradicts what they streamed (hand-trimmed: the deltas say
# more than the final text): what was streamed reaches the client (MAPPING.md); asserted as such.
SELF_CONTRADICTING = {"openai-responses/openai-shell-container.1"}
# Lanes whose upstream legitimately sends thinking blocks with no thinking text: Claude's own
# (display: omitted, redacted summaries) and Gemini's signature blocks (docs/MAPPING.md).
EMPTY_THINKING_OK = {"anthropic", "gemini", "openai-responses"}  # (OpenAI: reasoning without a summary)
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


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def recorded_usage(rec: Recorded) -> Usage:
    """The recording's own final usage, through the documented mapping (docs/MAPPING.md)."""
    parts = load(rec.ref).parts()
    chunks = [c for c in (_json_or_none(line) for line in parts[rec.part - 1]) if c is not None] if parts else []
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
    if rec.folder == "openai-responses":
        usages = [(c.get("response") or {}).get("usage") for c in chunks if isinstance(c, dict)
                  and c.get("type") in ("response.completed", "response.incomplete")]
        return Usage.from_anthropic(responses_usage_to_anthropic(usages[-1] or {})) if usages else Usage()
    last = [c["usage"] for c in chunks if isinstance(c, dict) and c.get("usage")]
    return Usage.from_anthropic(openai_usage_to_anthropic(last[-1])) if last else Usage()


def recorded_body_text(rec: Recorded) -> str:
    """The answer text of a recorded non-streamed body (what any lane must relay, whatever else it drops)."""
    body = load(rec.ref).body
    assert isinstance(body, dict)
    if rec.folder == "anthropic":
        return "".join(b.get("text", "") for b in body.get("content") or () if b.get("type") == "text")
    if rec.folder == "gemini":
        parts = ((body.get("candidates") or [{}])[0].get("content") or {}).get("parts") or ()
        return "".join(p.get("text", "") for p in parts if not p.get("thought"))
    if rec.folder == "openai-responses":
        return "".join(c.get("text", "") for item in body.get("output") or () if item.get("type") == "message"
                       for c in item.get("content") or () if c.get("type") == "output_text")
    return ((body.get("choices") or [{}])[0].get("message") or {}).get("content") or ""


def _answer_text(surface: str, parsed: Any) -> str:
    if surface == "anthropic":
        return "".join(b.text for b in parsed.content if b.type == "text")
    if surface == "responses":
        return str(parsed.output_text)
    return parsed.choices[0].message.content or ""


def recorded_body_usage(rec: Recorded) -> Usage:
    """A recorded non-streamed body's usage, through the same documented mapping."""
    body = load(rec.ref).body
    assert isinstance(body, dict)
    if rec.folder == "anthropic":
        return Usage.from_anthropic(body.get("usage") or {})
    if rec.folder == "gemini":
        return Usage.from_anthropic(gemini_usage_to_anthropic(body.get("usageMetadata") or {}))
    if rec.folder == "openai-responses":
        return Usage.from_anthropic(responses_usage_to_anthropic(body.get("usage") or {}))
    return Usage.from_anthropic(openai_usage_to_anthropic(body.get("usage") or {}))


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
        assert errors and _names_failure(rec, errors[0]["error"]["message"]), events[-1]
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
    if rec.ref in SELF_CONTRADICTING:  # the recording's whole answer is not what it streamed
        assert _anthropic_blocks(message["content"]) != _anthropic_blocks(ours["content"])
    else:
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
        assert _names_failure(rec, error["error"]["message"]), frames[-1]
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
    if rec.ref in SELF_CONTRADICTING:  # the recording's whole answer is not what it streamed
        assert (completion["message"].get("content") or "") != (sdk.message.content or "")
    else:
        assert (completion["message"].get("content") or "") == (sdk.message.content or ""), "stream != non-stream"
    assert [(t["function"]["name"], json.loads(t["function"]["arguments"] or "{}"))
            for t in completion["message"].get("tool_calls") or []] == sdk_calls
    assert completion["finish_reason"] == sdk.finish_reason

    request_id = r.headers["request-id"]
    billed = chunks[-1]["usage"]["credits"]
    assert billed == _cost(stack, request_id) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert whole.json()["usage"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed


# ------------------------------------------------------------------ the Responses surface
def _without_ids(value: Any) -> Any:
    """Items compared across two calls: ids differ per request, and function arguments are compared
    as the JSON they are (Claude streams them indented, a whole message carries them compact)."""
    if isinstance(value, dict):
        out = {k: _without_ids(v) for k, v in value.items() if k not in ("id", "item_id")}
        if value.get("type") == "function_call" and isinstance(value.get("arguments"), str):
            out["arguments"] = _json_or_none(value["arguments"]) or value["arguments"]
        return out
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    if isinstance(value, str) and value.startswith("gAAAA"):  # sealed by OpenAI (encrypted content,
        return "<sealed by OpenAI>"  # fingerprints): re-encrypted in every answer and terminal event
    return value


# Pass-through recordings the openai SDK's own accumulator refuses as recorded (the client gets the
# upstream's bytes; no lane of ours may rewrite OpenAI's stream): asserted, not skipped.
SDK_REFUSES_AS_RECORDED = {
    # GitHub Copilot's proxy rotates the response id mid-stream.
    "openai-responses/github-copilot-id-rotation.1": "Lifecycle response identity changed",
    # The terminal event's output item differs from the item the stream finished.
    "openai-responses/openai-client-tool-search.1": "Completed output item identity changed",
}


def _sdk_response(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The openai SDK's own accumulator (what client.responses.stream runs), fed every event as the
    SDK parses it (``construct_type``: lenient, as for real traffic)."""
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    snapshot = None
    for raw in events:
        snapshot = state.handle_event(openai_construct(type_=ResponseStreamEvent, value=raw))
    assert snapshot is not None
    return state._completed_response.model_dump(mode="json", exclude_none=True) \
        if getattr(state, "_completed_response", None) is not None else {}


def _responses_lane(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": model, "max_output_tokens": _max_tokens(model), "stream": True, "input": _prompt(rec)}
    r = httpx.post(stack.base_url + "/v1/responses", json=body, headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    frames = _sse(r.text)
    events = [ev for ev in (_json_or_none(data) for _, data in frames) if isinstance(ev, dict)]
    assert all(name == ev.get("type") for (name, _), ev in zip(frames, events, strict=False) if name), frames[:3]
    passthrough = rec.folder == "openai-responses"
    failed = [e for e in events if e.get("type") in ("error", "response.failed")]
    if rec.ref in UPSTREAM_FAILURES:
        assert failed and _names_failure(rec, json.dumps(failed[0])), events[-2:]
        assert _cost(stack, r.headers["request-id"], "FAILED") == 0
        return
    assert not failed, f"{rec.ref}: the stream ended in a failure: {failed}"
    if passthrough:
        # The byte pass-through: the client gets OpenAI's events as recorded; only the terminal
        # event's usage gains its credits.
        recorded = [json.loads(line) for line in load(rec.ref).parts()[rec.part - 1]]
        terminal = events[-1]["response"]
        credits = terminal["usage"].pop("credits")
        assert events == recorded
        terminal["usage"]["credits"] = credits
    else:
        check_responses_events(events)
    ours = assemble_responses_events(events)
    if rec.ref in SDK_REFUSES_AS_RECORDED:  # the upstream's own stream, which the SDK cannot take either
        with pytest.raises(RuntimeError, match=SDK_REFUSES_AS_RECORDED[rec.ref]):
            _sdk_response(events)
        sdk = {}
    else:
        sdk = _sdk_response(events)
    if sdk:  # the SDK rebuilds the same items from the deltas (it keeps its own when they differ)
        assert [i["type"] for i in sdk.get("output", [])] == [i["type"] for i in ours["output"]]
    final = openai_construct(type_=SDKResponse, value=events[-1]["response"])
    assert final.status in ("completed", "incomplete")

    whole = httpx.post(stack.base_url + "/v1/responses", headers=headers, timeout=60, json={
        **body, "stream": False, "input": _prompt(rec, "replay_source=chunks")})
    assert whole.status_code == 200, whole.text
    document = whole.json()
    assert openai_construct(type_=SDKResponse, value=document).status == ours["status"]
    assert _without_ids(document["output"]) == _without_ids(ours["output"]), "stream != non-stream"
    assert document["status"] == ours["status"]

    billed = ours["usage"]["credits"]
    assert billed == _cost(stack, r.headers["request-id"]) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert document["usage"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed


@pytest.mark.parametrize(("rec", "surface"), CASES)
def test_recorded_stream_through_every_lane(request: pytest.FixtureRequest, stack: Stack, key: str, rec: Recorded,
                                           surface: str) -> None:
    model = _model_for(rec, surface)
    stack = _stack_for(request, stack, rec, surface)
    lane = {"anthropic": _anthropic_lane, "openai": _openai_lane, "responses": _responses_lane,
            "gemini": _gemini_lane}[surface]
    lane(stack, key, rec, model)


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
        assert list(chunks[-1]) == ["error"] and _names_failure(rec, chunks[-1]["error"]["message"]), chunks[-1]
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
    if rec.ref in SELF_CONTRADICTING:  # what was streamed reaches the client; the final text says less
        assert _gemini_view(response) != _gemini_view(ours)
    else:
        assert _gemini_view(response) == _gemini_view(ours), "stream != non-stream"

    request_id = r.headers["request-id"]
    billed = chunks[-1]["usageMetadata"]["credits"]
    assert billed == _cost(stack, request_id) == _expected_credits(model, rec, int(r.headers["estimated_credits"]))
    assert array[-1]["usageMetadata"]["credits"] == _cost(stack, arr.headers["request-id"]) == billed
    assert response["usageMetadata"]["credits"] == _cost(stack, whole.headers["request-id"]) == billed
    assert int(whole.headers["estimated_credits"]) >= billed


def _gemini_body_case(stack: Stack, key: str, rec: Recorded, model: str) -> None:
    """A recorded body on the Gemini surface: the answer with its credits, or the upstream's error
    in Google's shape with nothing billed."""
    r = httpx.post(_gemini_url(stack, model, "generateContent"), json=_gemini_body(rec, model),
                   headers={"x-goog-api-key": key}, timeout=60)
    assert "estimated_credits" in r.headers
    if load(rec.ref).body_is_error:
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
def test_recorded_body_through_every_lane(request: pytest.FixtureRequest, stack: Stack, key: str, rec: Recorded,
                                         surface: str) -> None:
    """Recordings with only a non-streamed body (answers and error bodies): a clean answer in
    the caller's protocol, or the upstream's error in the caller's shape with nothing billed."""
    model = _model_for(rec, surface)
    stack = _stack_for(request, stack, rec, surface)
    if surface == "gemini":
        return _gemini_body_case(stack, key, rec, model)
    recorded = load(rec.ref)
    if surface == "anthropic":
        client: Any = stack.anthropic(key)
        call = lambda: client.messages.with_raw_response.create(  # noqa: E731
            model=model, max_tokens=_max_tokens(model), messages=[{"role": "user", "content": _prompt(rec)}], timeout=60)
        api_error: type[Exception] = anthropic.APIStatusError
    elif surface == "responses":
        client = stack.openai(key)
        call = lambda: client.responses.with_raw_response.create(  # noqa: E731
            model=model, max_output_tokens=_max_tokens(model), input=_prompt(rec))
        api_error = openai.APIStatusError
    else:
        client = stack.openai(key)
        call = lambda: client.chat.completions.with_raw_response.create(  # noqa: E731
            model=model, max_completion_tokens=_max_tokens(model), messages=[{"role": "user", "content": _prompt(rec)}])
        api_error = openai.APIStatusError
    if recorded.body_is_error:
        with pytest.raises(api_error) as caught:
            call()
        err = caught.value
        assert err.status_code < 500 or err.status_code in (502, 503, 529), err  # type: ignore[attr-defined]
        # the upstream's own refusal, not some other error on the way (a lane that never reached it)
        # (or, for a failure listed in UPSTREAM_FAILURES, the gateway's words for it)
        recorded_message = str(recorded.body["error"].get("message") or "")
        assert recorded_message[:60] in str(err) or (rec.ref in UPSTREAM_FAILURES and _names_failure(rec, str(err))), \
            (err, recorded_message)
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
    expected = min(usage_credits(catalog().model(model), recorded_body_usage(rec), at=time.time()),  # type: ignore[arg-type]
                   int(raw.headers["estimated_credits"]))
    assert credits == _cost(stack, raw.headers["request-id"]) == expected
    assert _answer_text(surface, parsed) == recorded_body_text(rec)
