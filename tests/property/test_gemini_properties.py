"""Property tests for the Gemini translator (hypothesis; modest example counts).

* any Gemini response, split into chunks anywhere, streams to a valid Anthropic event
  sequence, and the same response whole gives the same message (ids included);
* every thoughtSignature comes back, on replay, on exactly the part it came on — and no
  signature appears anywhere else;
* the OpenAI surface chain (Gemini → Anthropic → OpenAI chunks) satisfies
  ``check_openai_chunks``, and OpenAI → Anthropic → Gemini requests never fail other than
  with a TranslationError;
* cleaned tool schemas only use keys Gemini's Schema object accepts.
"""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.translate import (
    SKIP_SIGNATURE,
    AnthropicToOpenAIStream,
    GeminiToAnthropicStream,
    TranslationError,
    anthropic_request_to_gemini,
    assemble_anthropic_events,
    check_anthropic_events,
    check_openai_chunks,
    clean_schema_for_gemini,
    gemini_response_to_anthropic,
    openai_request_to_anthropic,
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
MODEL = "gemini-3.8-flash"
words = st.text(alphabet=string.ascii_letters + " .,é€", min_size=1, max_size=12)
sigs = st.text(alphabet=string.ascii_letters + string.digits + "+/=", min_size=4, max_size=16)
json_args = st.dictionaries(
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6),
    st.one_of(st.integers(-5, 5), words, st.booleans(), st.none(), st.lists(st.integers(0, 3), max_size=2)),
    max_size=3,
)

# --- a Gemini response that follows Gemini's own rules ------------------------------------


@st.composite
def gemini_parts(draw: st.DrawFn) -> list[dict]:
    """Thought run? → text runs and/or a function-call group → maybe a trailing empty signed part.

    At most one signature per thought run and per text run (Gemini signs one part of each),
    the first call of a group signed or not, ids sometimes present.
    """
    counter = iter(range(10_000))
    parts: list[dict] = []
    if draw(st.booleans()):
        run = [{"text": draw(words), "thought": True} for _ in range(draw(st.integers(1, 3)))]
        if draw(st.booleans()):
            run[draw(st.integers(0, len(run) - 1))]["thoughtSignature"] = f"TH{next(counter)}{draw(sigs)}"
        parts.extend(run)
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            run = [{"text": draw(words)} for _ in range(draw(st.integers(1, 3)))]
            if draw(st.booleans()):
                run[-1]["thoughtSignature"] = f"TX{next(counter)}{draw(sigs)}"
            parts.extend(run)
        else:
            for k in range(draw(st.integers(1, 3))):
                fc: dict[str, Any] = {"name": draw(st.sampled_from(["get_weather", "lookup", "a.b:c"])), "args": draw(json_args)}
                if draw(st.integers(0, 4)) == 0:
                    fc["id"] = f"call-{next(counter)}"
                part: dict[str, Any] = {"functionCall": fc}
                if k == 0 and draw(st.booleans()):
                    part["thoughtSignature"] = f"FC{next(counter)}{draw(sigs)}"
                parts.append(part)
    signed_text_last = bool(parts) and "text" in parts[-1] and "thoughtSignature" in parts[-1]
    if draw(st.integers(0, 3)) == 0 and not signed_text_last:
        parts.append({"text": "", "thoughtSignature": f"EM{next(counter)}{draw(sigs)}"})
    return parts


@st.composite
def responses(draw: st.DrawFn) -> tuple[dict, list[dict]]:
    """(whole response, the same response as stream chunks split at random points)."""
    parts = draw(gemini_parts())
    finish = draw(st.sampled_from(["STOP", "STOP", "MAX_TOKENS", "SAFETY", "MALFORMED_FUNCTION_CALL"]))
    usage = {
        "promptTokenCount": draw(st.integers(0, 5000)),
        "candidatesTokenCount": draw(st.integers(0, 500)),
        "thoughtsTokenCount": draw(st.integers(0, 500)),
    }
    rid = draw(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=4, max_size=24))
    whole = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": usage,
        "responseId": rid,
    }
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(parts))), max_size=4)))
    bounds = [0, *[c for c in cuts if c < len(parts)], len(parts)]
    chunks = []
    for a, b in itertools.pairwise(bounds):
        # a stream may also split one text part into two deltas
        chunk_parts = [dict(p) for p in parts[a:b]]
        chunks.append({"candidates": [{"content": {"role": "model", "parts": chunk_parts}, "index": 0}],
                       "usageMetadata": {"promptTokenCount": usage["promptTokenCount"]}, "responseId": rid})  # fmt: skip
    if not chunks:
        chunks.append({"candidates": [{"index": 0}], "responseId": rid})
    chunks[-1]["candidates"][0]["finishReason"] = finish
    chunks[-1]["usageMetadata"] = usage
    return whole, chunks


def _ctx(style: str = "budget"):
    return anthropic_request_to_gemini(
        {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, thinking_style=style
    )[1]


def _stream(chunks: list[dict], style: str = "budget") -> tuple[list, Any]:
    ctx = _ctx(style)
    s = GeminiToAnthropicStream(model=MODEL, message_id="msg_prop", ctx=ctx, input_tokens_hint=3)
    events: list = []
    for c in chunks:
        events.extend(s.feed(c))
    events.extend(s.finish())
    return events, ctx


def _replay(content: list[dict], style: str = "budget") -> list[dict]:
    results = [{"type": "tool_result", "tool_use_id": b["id"], "content": "ok"} for b in content if b["type"] == "tool_use"]
    messages: list[dict] = [{"role": "user", "content": "q"}]
    if content:
        messages.append({"role": "assistant", "content": content})
    if results:
        messages.append({"role": "user", "content": results})
    else:
        messages.append({"role": "user", "content": "next"})
    body, _ = anthropic_request_to_gemini({"model": MODEL, "max_tokens": 10, "messages": messages}, thinking_style=style)
    model = [c for c in body["contents"] if c["role"] == "model"]
    return model[0]["parts"] if model else []


@SETTINGS
@given(responses())
def test_stream_is_valid_and_equals_non_stream(data: tuple[dict, list[dict]]) -> None:
    whole, chunks = data
    events, _ = _stream(chunks)
    check_anthropic_events(events, allow_empty_thinking=True)
    streamed = assemble_anthropic_events(events)
    message = gemini_response_to_anthropic(whole, model=MODEL, ctx=_ctx())
    assert [b.get("id") for b in streamed["content"]] == [b.get("id") for b in message["content"]]
    assert [b["type"] for b in streamed["content"] if b["type"] != "thinking"] == [
        b["type"] for b in message["content"] if b["type"] != "thinking"
    ]
    assert _replay(streamed["content"]) == _replay(message["content"])  # same parts back either way
    has_calls = any("functionCall" in p for p in whole["candidates"][0]["content"]["parts"])
    assert (streamed["stop_reason"] == "tool_use") is has_calls
    tool_inputs = [b["input"] for b in streamed["content"] if b["type"] == "tool_use"]
    assert tool_inputs == [p["functionCall"]["args"] for p in whole["candidates"][0]["content"]["parts"] if "functionCall" in p]


def _normalise(parts: list[dict]) -> list[tuple[str, Any, str | None]]:
    """(kind, payload, signature) per part, with runs of text merged the way the translator
    merges them into one text block. A merged run holds at most one signature: a second
    signed part (adjacent runs can both be signed) starts a new entry, so no signature is
    ever absorbed — a lost one shows."""
    out: list[list[Any]] = []
    for p in parts:
        sig = p.get("thoughtSignature")
        if p.get("thought"):
            if out and out[-1][0] == "thought":
                out[-1][1] += p["text"]
                out[-1][2] = out[-1][2] or sig
            else:
                out.append(["thought", p["text"], sig])
        elif "functionCall" in p:
            out.append(["call", json.dumps(p["functionCall"]["args"], sort_keys=True), sig])
        elif p.get("text"):
            if out and out[-1][0] == "text" and (sig is None or out[-1][2] is None):
                out[-1][1] += p["text"]
                out[-1][2] = out[-1][2] or sig
            else:
                out.append(["text", p["text"], sig])
        elif sig:
            if out and out[-1][0] == "text" and out[-1][2] is None:
                out[-1][2] = sig  # streaming: an unsigned run's signature on a final empty part
            else:
                out.append(["empty", "", sig])
    return [tuple(x) for x in out]  # type: ignore[misc]


@SETTINGS
@given(responses(), st.booleans())
def test_every_signature_returns_on_exactly_its_part(data: tuple[dict, list[dict]], stream: bool) -> None:
    whole, chunks = data
    if whole["candidates"][0]["finishReason"] != "STOP":
        return
    if stream:
        events, _ = _stream(chunks)
        content = assemble_anthropic_events(events)["content"]
    else:
        content = gemini_response_to_anthropic(whole, model=MODEL, ctx=_ctx())["content"]
    original = _normalise(whole["candidates"][0]["content"]["parts"])
    replayed = _normalise(_replay(content))
    # Unsigned thought text is not replayed (Gemini reads nothing from it); everything else is,
    # except signatures of text after the last function call: they would need a block after the
    # answer (issue #16), and Gemini validates only function-call signatures.
    expected = [p for p in original if not (p[0] == "thought" and p[2] is None)]
    assert _without_tail_text_signatures(replayed) == _without_tail_text_signatures(expected)
    last_call = max((i for i, p in enumerate(expected) if p[0] == "call"), default=-1)
    assert replayed[: last_call + 1] == expected[: last_call + 1]  # up to the last call: exact
    if content and any(b["type"] == "text" for b in content):  # never a signature block after the answer
        assert not (content[-1]["type"] == "thinking" and not content[-1]["thinking"])


def _without_tail_text_signatures(entries: list[tuple[str, Any, str | None]]) -> list[tuple[str, Any, str | None]]:
    last_call = max((i for i, p in enumerate(entries) if p[0] == "call"), default=-1)
    tail = [(k, v, None) if k == "text" else (k, v, s) for k, v, s in entries[last_call + 1:] if k != "empty"]
    merged: list[tuple[str, Any, str | None]] = []
    for k, v, s in tail:  # text runs that a dropped signature kept apart are one run
        if merged and k == "text" and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + v, None)
        else:
            merged.append((k, v, s))
    return entries[: last_call + 1] + merged


@SETTINGS
@given(responses())
def test_sentinel_only_on_unsigned_first_calls_of_the_current_turn(data: tuple[dict, list[dict]]) -> None:
    whole, _ = data
    content = gemini_response_to_anthropic(whole, model=MODEL, ctx=_ctx("level"))["content"]
    replayed = _replay(content, style="level")
    original_calls = [p for p in whole["candidates"][0]["content"]["parts"] if "functionCall" in p]
    calls = [p for p in replayed if "functionCall" in p]
    assert len(calls) == len(original_calls)
    for k, (orig, new) in enumerate(zip(original_calls, calls, strict=True)):
        if orig.get("thoughtSignature"):
            assert new["thoughtSignature"] == orig["thoughtSignature"]
        elif k == 0:
            assert new["thoughtSignature"] == SKIP_SIGNATURE
        else:
            assert "thoughtSignature" not in new


@SETTINGS
@given(responses(), st.booleans())
def test_openai_surface_chain_satisfies_check_openai_chunks(data: tuple[dict, list[dict]], include_usage: bool) -> None:
    _, chunks = data
    events, ctx = _stream(chunks)
    a2o = AnthropicToOpenAIStream(model=MODEL, completion_id="chatcmpl-p", created=1, include_usage=include_usage, names=ctx.names)
    out: list[dict] = []
    for name, event in events:
        out.extend(a2o.feed(name, event))
    out.extend(a2o.finish())
    check_openai_chunks(out, include_usage=include_usage)


openai_messages = st.lists(
    st.one_of(
        st.builds(lambda t: {"role": "user", "content": t}, words),
        st.builds(lambda t: {"role": "system", "content": t}, words),
        st.builds(lambda t: {"role": "assistant", "content": t}, words),
        st.builds(
            lambda i, a: {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(a)}}]},
            st.integers(0, 3), json_args,
        ),
        st.builds(lambda i, t: {"role": "tool", "tool_call_id": f"call_{i}", "content": t}, st.integers(0, 3), words),
        st.builds(lambda u: {"role": "user", "content": [{"type": "image_url", "image_url": {"url": u}}]},
                  st.sampled_from(["https://x.test/a.png", "http://x.test/a.png", "data:image/png;base64,iVBORw0KGgo="])),
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip


@SETTINGS
@given(openai_messages, st.sampled_from(["level", "budget"]))
def test_openai_to_anthropic_to_gemini_requests_only_fail_cleanly(messages: list[dict], style: str) -> None:
    oreq = {
        "model": MODEL,
        "messages": messages,
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    }
    try:
        areq, _ = openai_request_to_anthropic(oreq)
        body, _ctx_unused = anthropic_request_to_gemini(areq, thinking_style=style)
    except TranslationError:
        return
    roles = [c["role"] for c in body["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # same-role contents merged
    assert all(c["parts"] for c in body["contents"])
    json.dumps(body)  # plain JSON, ready to send


schemas = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", ["string", "null"]])},
        optional={
            "format": st.sampled_from(["email", "uri", "date-time", "int64", "double", "uuid"]),
            "default": st.integers(),
            "description": words,
            "enum": st.lists(st.one_of(words, st.integers()), min_size=1, max_size=3),
            "const": words,
            "examples": st.lists(words, max_size=2),
        },
    ),
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(st.sampled_from("abcde"), inner, max_size=3)},
            optional={"additionalProperties": st.booleans(), "required": st.lists(st.sampled_from("abcxyz"), max_size=3),
                      "$schema": st.just("http://json-schema.org/draft-07/schema#")},
        ),
        st.fixed_dictionaries({"type": st.just("array"), "items": inner}, optional={"minItems": st.integers(0, 3)}),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(inner, min_size=1, max_size=2)}),
    ),
    max_leaves=10,
)  # fmt: skip
ALLOWED = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
    "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
    "items", "minimum", "maximum",
}  # fmt: skip


def _check_clean(schema: Any) -> None:
    assert isinstance(schema, dict)
    assert set(schema) <= ALLOWED, set(schema) - ALLOWED
    props = schema.get("properties")
    if props is not None:
        assert props, "empty properties must be dropped"
        assert set(schema.get("required", [])) <= set(props)
        for sub in props.values():
            _check_clean(sub)
    if "items" in schema:
        _check_clean(schema["items"])
    for sub in schema.get("anyOf", ()):
        _check_clean(sub)
    if "enum" in schema:
        assert all(isinstance(v, str) for v in schema["enum"])


@SETTINGS
@given(schemas)
def test_cleaned_schemas_only_use_gemini_schema_keys(schema: dict) -> None:
    _check_clean(clean_schema_for_gemini(schema))
