"""Property tests for the Gemini client surface (hypothesis; modest example counts).

* any hub message, its deltas split anywhere, streams to chunks that hold the chunk
  invariants, and the stream assembled is the non-streamed response;
* Claude's (and DeepSeek's) thinking survives a Gemini client: what Gemini CLI keeps of the
  answer (thought parts dropped, text parts merged) restores the exact blocks, in place;
* any Gemini answer from a Gemini upstream, through the hub and back out of the surface, is
  itself again, every signature on its part;
* a Gemini request through the hub to a Gemini upstream request (``.gemini``) is itself again,
  modulo the documented normalisations; any request either translates or is refused cleanly.
"""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hub_events import message_events

from bytespike.translate import (
    SKIP_SIGNATURE,
    AnthropicToGeminiStream,
    GeminiContext,
    GeminiToAnthropicStream,
    TranslationError,
    anthropic_request_to_gemini,
    anthropic_response_to_gemini,
    assemble_gemini_chunks,
    check_gemini_chunks,
    gemini_request_to_anthropic,
    origin_signature,
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
CLAUDE = "claude-sonnet-5-5"
DEEPSEEK = "deepseek-flash"
GEMINI = "gemini-3.8-flash"
words = st.text(alphabet=string.ascii_letters + " .,é€\n", min_size=1, max_size=14)
sigs = st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=4, max_size=16)
json_args = st.dictionaries(
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6),
    st.one_of(st.integers(-5, 5), words, st.booleans(), st.none(), st.lists(st.integers(0, 3), max_size=2)),
    max_size=3,
)
tool_names = st.sampled_from(["get_weather", "read_file", "mcp.server:tool", "run_shell_command"])
hub_tool_names = st.sampled_from(["get_weather", "read_file", "run_shell_command"])  # what a model calls


# --- hub messages, as Claude or DeepSeek would answer ----------------------------------------


@st.composite
def hub_messages(draw: st.DrawFn, provider: str = "anthropic") -> dict:
    """Thinking group? → text? → tool calls*, the shape of an answer to a client-tool request."""
    counter = itertools.count()
    content: list[dict] = []
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            if provider == "anthropic" and draw(st.integers(0, 4)) == 0:
                content.append({"type": "redacted_thinking", "data": f"RD{next(counter)}{draw(sigs)}"})
            else:
                sig = (
                    f"CL{next(counter)}{draw(sigs)}"
                    if provider == "anthropic"
                    else origin_signature(provider)
                )
                content.append({"type": "thinking", "thinking": draw(st.text(max_size=20)), "signature": sig})
    if draw(st.booleans()):
        content.append({"type": "text", "text": draw(words)})
    for _ in range(draw(st.integers(0, 3))):
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_{next(counter)}",
                "name": draw(hub_tool_names),
                "input": draw(json_args),
            }
        )
    has_tool = any(b["type"] == "tool_use" for b in content)
    stop = (
        "tool_use"
        if has_tool
        else draw(st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "refusal"]))
    )
    usage: dict[str, Any] = {
        "input_tokens": draw(st.integers(0, 5000)),
        "cache_read_input_tokens": draw(st.integers(0, 5000)),
        "cache_creation_input_tokens": draw(st.integers(0, 50)),
        "output_tokens": draw(st.integers(1, 900)),
    }
    if provider != "anthropic" and draw(st.booleans()):
        usage["output_tokens_details"] = {"thinking_tokens": draw(st.integers(0, usage["output_tokens"]))}
    return {
        "id": f"msg_{draw(sigs)}",
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop,
        "usage": usage,
    }


@st.composite
def splitters(draw: st.DrawFn) -> Any:
    """Where the stream cuts each text, thinking and tool-input string (the same cut points)."""
    cuts = draw(st.lists(st.integers(0, 20), max_size=3))

    def split(text: str) -> list[str]:
        bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
        return [text[a:b] for a, b in itertools.pairwise(bounds)] or [""]

    return split


def _ctx(model: str, include_thoughts: bool) -> Any:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "q"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": include_thoughts}},
    }
    return gemini_request_to_anthropic(body, model)[1]


def _stream(message: dict, ctx: Any, split: Any) -> list[dict]:
    s = AnthropicToGeminiStream(ctx)
    chunks = [c for e, d in message_events(message, split) for c in s.feed(e, d)]
    return chunks + s.finish(credits=5)


@SETTINGS
@given(st.data(), st.sampled_from([("anthropic", CLAUDE), ("deepseek", DEEPSEEK)]), st.booleans())
def test_stream_holds_invariants_and_equals_non_stream(
    data: st.DataObject, target: tuple[str, str], thoughts: bool
) -> None:
    provider, model = target
    message = data.draw(hub_messages(provider))
    split = data.draw(splitters())
    chunks = _stream(message, _ctx(model, thoughts), split)
    check_gemini_chunks(chunks)
    whole = anthropic_response_to_gemini(message, _ctx(model, thoughts), credits=5)
    assert assemble_gemini_chunks(chunks) == whole
    calls = [p["functionCall"] for p in whole["candidates"][0]["content"]["parts"] if "functionCall" in p]
    assert [(c["id"], c["args"]) for c in calls] == [
        (b["id"], b["input"]) for b in message["content"] if b["type"] == "tool_use"
    ]
    text = "".join(
        p["text"] for p in whole["candidates"][0]["content"]["parts"] if "text" in p and not p.get("thought")
    )
    assert text == "".join(b["text"] for b in message["content"] if b["type"] == "text")


def gemini_cli_keeps(parts: list[dict]) -> list[dict]:
    """What Gemini CLI records of an answer: thought parts dropped, adjacent text parts merged into
    the first (whose other keys stay: a later part's signature is lost), as geminiChat.ts does."""
    out: list[dict] = []
    for part in parts:
        if part.get("thought"):
            continue
        last = out[-1] if out else None
        if last is not None and "text" in last and "text" in part and "functionCall" not in part:
            last["text"] += part["text"]
            continue
        out.append(dict(part))
    return out


@SETTINGS
@given(
    st.data(), st.sampled_from([("anthropic", CLAUDE), ("deepseek", DEEPSEEK)]), st.booleans(), st.booleans()
)
def test_thinking_survives_a_gemini_client(
    data: st.DataObject, target: tuple[str, str], thoughts: bool, cli: bool
) -> None:
    provider, model = target
    message = data.draw(hub_messages(provider))
    parts = anthropic_response_to_gemini(message, _ctx(model, thoughts))["candidates"][0]["content"]["parts"]
    kept = gemini_cli_keeps(parts) if cli else [p for p in parts if not p.get("thought")]
    contents = [{"role": "user", "parts": [{"text": "q"}]}]
    if kept:
        contents.append({"role": "model", "parts": kept})
    calls = [p["functionCall"] for p in kept if "functionCall" in p]
    if calls:
        contents.append(
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": c["id"], "name": c["name"], "response": {"output": "ok"}}}
                    for c in calls
                ],
            }
        )
    else:
        contents.append({"role": "user", "parts": [{"text": "next"}]})
    hub, _ = gemini_request_to_anthropic({"contents": contents}, model)
    assistant = [m["content"] for m in hub["messages"] if m["role"] == "assistant"]
    visible = [b for b in message["content"] if b["type"] in ("text", "tool_use")]
    replayable = [b for b in message["content"] if b["type"] in ("thinking", "redacted_thinking")]
    if not visible and not replayable:
        assert not assistant
        return
    (restored,) = assistant
    assert restored == replayable + visible  # the exact blocks, thinking first, as Claude sent them
    for other in ("claude-opus-5" if provider == "anthropic" else CLAUDE,):
        hub_other, _ = gemini_request_to_anthropic({"contents": contents}, other)
        blocks = [b for m in hub_other["messages"] if m["role"] == "assistant" for b in m["content"]]
        assert not [
            b for b in blocks if b["type"] in ("thinking", "redacted_thinking")
        ]  # never to another model


# --- a Gemini upstream's answer through the hub and back out ---------------------------------


@st.composite
def model_parts(
    draw: st.DrawFn, *, max_calls: int, signed_first_call: Any, ids: Any, counter: Any = None
) -> list[dict]:
    """A Gemini model turn: a signed thought? → text (signed or not)? → function calls, the
    first one signed or not (Gemini signs the first call of a step), ids or not. ``counter`` keeps
    signatures and ids unique across the turns of one example."""
    _signatures = counter if counter is not None else itertools.count()
    parts: list[dict] = []
    if draw(st.booleans()):
        parts.append(
            {"text": draw(words), "thought": True, "thoughtSignature": f"TH{next(_signatures)}{draw(sigs)}"}
        )
    if draw(st.booleans()):
        part: dict[str, Any] = {"text": draw(words)}
        if draw(st.booleans()):
            part["thoughtSignature"] = f"TX{next(_signatures)}{draw(sigs)}"
        parts.append(part)
    for k in range(draw(st.integers(0, max_calls))):
        fc: dict[str, Any] = {"name": draw(tool_names), "args": draw(json_args)}
        if draw(ids):
            fc["id"] = f"call-{next(_signatures)}"
        call: dict[str, Any] = {"functionCall": fc}
        if k == 0 and draw(signed_first_call):
            call["thoughtSignature"] = f"FC{next(_signatures)}{draw(sigs)}"
        parts.append(call)
    return parts


@st.composite
def gemini_answers(draw: st.DrawFn) -> tuple[dict, list[dict]]:
    """A Gemini answer following Gemini's signature rules, whole and as chunks."""
    parts = draw(model_parts(max_calls=3, signed_first_call=st.booleans(), ids=st.just(False)))
    usage = {
        "promptTokenCount": draw(st.integers(0, 900)),
        "candidatesTokenCount": draw(st.integers(0, 90)),
        "thoughtsTokenCount": draw(st.integers(1, 90)),
    }
    usage["totalTokenCount"] = sum(usage.values())
    whole = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage,
        "responseId": draw(sigs),
    }
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(parts))), max_size=3)))
    bounds = [0, *[c for c in cuts if c < len(parts)], len(parts)]
    chunks = [
        {
            "candidates": [
                {"content": {"role": "model", "parts": [dict(p) for p in parts[a:b]]}, "index": 0}
            ],
            "responseId": whole["responseId"],
        }
        for a, b in itertools.pairwise(bounds)
    ]
    chunks = chunks or [{"candidates": [{"index": 0, "content": {"role": "model", "parts": []}}]}]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = usage
    return whole, chunks


@SETTINGS
@given(gemini_answers())
def test_gemini_answer_through_the_hub_is_itself_again(data: tuple[dict, list[dict]]) -> None:
    whole, chunks = data
    up = GeminiToAnthropicStream(model=GEMINI, message_id="msg_x", ctx=GeminiContext(model=GEMINI))
    events = [e for c in chunks for e in up.feed(c)] + up.finish()
    ctx = _ctx(GEMINI, True)
    s = AnthropicToGeminiStream(ctx)
    out = [c for e, d in events for c in s.feed(e, d)] + s.finish()
    check_gemini_chunks(out)
    got = assemble_gemini_chunks(out)
    parts = got["candidates"][0]["content"]["parts"]
    for part in parts:
        part.get("functionCall", {}).pop("id", None)  # ours always carry one; Gemini's may not
    want = whole["candidates"][0]["content"]["parts"]
    signed_text_last = want and "text" in want[-1] and not want[-1].get("thought")
    if parts != want and signed_text_last:  # documented: the final text's signature may be dropped
        want = [*want[:-1], {"text": want[-1]["text"]}]
    assert parts == want
    assert got["usageMetadata"] == whole["usageMetadata"]


# --- Gemini requests → hub → Gemini upstream requests ----------------------------------------


@st.composite
def gemini_requests(draw: st.DrawFn) -> dict:
    """A valid Gemini conversation: user turns, model turns (signed per Gemini's rules), paired
    function responses; tools; a generationConfig subset the hub carries."""
    counter = itertools.count()
    contents: list[dict] = [{"role": "user", "parts": [{"text": draw(words)}]}]
    for _ in range(draw(st.integers(0, 3))):
        parts = draw(
            model_parts(max_calls=2, signed_first_call=st.just(True), ids=st.booleans(), counter=counter)
        )
        calls = [p["functionCall"] for p in parts if "functionCall" in p]
        if not parts:
            continue
        contents.append({"role": "model", "parts": parts})
        if calls:
            responses = [
                {
                    "functionResponse": {
                        **({"id": c["id"]} if "id" in c else {}),
                        "name": c["name"],
                        "response": {"output": draw(words)},
                    }
                }
                for c in calls
            ]
            contents.append({"role": "user", "parts": responses})
        else:
            contents.append({"role": "user", "parts": [{"text": draw(words)}]})
    body: dict[str, Any] = {
        "contents": contents,
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": n,
                        "description": "d",
                        "parameters": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
                    }
                    for n in ["get_weather", "read_file", "mcp.server:tool", "run_shell_command"]
                ]
            }
        ],
        "generationConfig": {
            "maxOutputTokens": draw(st.integers(1, 65536)),
            "temperature": draw(st.sampled_from([0, 0.5, 1, 1.5])),
            "topP": draw(st.sampled_from([0.5, 0.95])),
            "topK": draw(st.integers(1, 64)),
            "stopSequences": draw(st.lists(words, max_size=3)),
            "thinkingConfig": {
                "thinkingLevel": draw(st.sampled_from(["LOW", "MEDIUM", "HIGH"])),
                "includeThoughts": draw(st.booleans()),
            },
        },
    }
    if draw(st.booleans()):
        body["systemInstruction"] = {"parts": [{"text": draw(words)}]}
    return body


def _expected_contents(contents: list[dict]) -> list[dict]:
    """The original contents as the Gemini translator sends them: function responses as
    {"output": text}, and the sentinel on unsigned first calls of the current turn (none here:
    every first call is signed)."""
    return json.loads(json.dumps(contents))


@SETTINGS
@given(gemini_requests())
def test_gemini_request_through_the_hub_is_itself_again(body: dict) -> None:
    hub, ctx = gemini_request_to_anthropic(body, GEMINI)
    upstream, _ = anthropic_request_to_gemini(hub)
    for content in upstream["contents"]:  # names the hub had to make safe (dots, colons) map back
        for part in content["parts"]:
            for key in ("functionCall", "functionResponse"):
                if key in part:
                    part[key]["name"] = ctx.names.client_name(part[key]["name"])
    assert upstream["contents"] == _expected_contents(body["contents"])
    assert upstream.get("systemInstruction") == body.get("systemInstruction")
    gen, want = upstream["generationConfig"], body["generationConfig"]
    for key in ("maxOutputTokens", "temperature", "topP", "topK"):
        assert gen[key] == want[key]
    assert gen.get("stopSequences", []) == [s for s in want["stopSequences"] if s]
    thinking = want["thinkingConfig"]
    assert gen["thinkingConfig"] == {
        "thinkingLevel": thinking["thinkingLevel"].lower(),
        **({"includeThoughts": True} if thinking["includeThoughts"] else {}),
    }
    decls = upstream["tools"][0]["functionDeclarations"]
    assert [ctx.names.client_name(d["name"]) for d in decls] == [
        d["name"] for d in body["tools"][0]["functionDeclarations"]
    ]
    assert all(d["parameters"] == {"type": "object", "properties": {"a": {"type": "string"}}} for d in decls)
    assert SKIP_SIGNATURE not in json.dumps(upstream)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
part_shapes = st.one_of(
    st.fixed_dictionaries(
        {"text": st.text(max_size=5)}, optional={"thought": st.booleans(), "thoughtSignature": sigs}
    ),
    st.fixed_dictionaries(
        {
            "functionCall": st.fixed_dictionaries(
                {"name": tool_names}, optional={"args": json_values, "id": sigs}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "functionResponse": st.fixed_dictionaries(
                {"name": tool_names}, optional={"response": json_values, "id": sigs}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "inlineData": st.fixed_dictionaries(
                {
                    "mimeType": st.sampled_from(["image/png", "audio/wav", "text/plain", ""]),
                    "data": st.text(max_size=8),
                }
            )
        }
    ),
    json_values,
)


@SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "model", "function", "system", ""]),
                "parts": st.lists(part_shapes, max_size=4),
            }
        ),
        max_size=5,
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "temperature",
                "topP",
                "candidateCount",
                "maxOutputTokens",
                "thinkingConfig",
                "responseMimeType",
                "responseSchema",
                "stopSequences",
            ]
        ),
        json_values,
        max_size=4,
    ),
    st.sampled_from([CLAUDE, "claude-haiku-4-5", "gpt-6.1-terra", DEEPSEEK, GEMINI]),
)
def test_any_request_translates_or_is_refused_cleanly(contents: list, gen: dict, model: str) -> None:
    try:
        hub, _ = gemini_request_to_anthropic({"contents": contents, "generationConfig": gen}, model)
    except TranslationError:
        return
    assert hub["messages"] and hub["model"] == model and isinstance(hub["max_tokens"], int)
    json.dumps(hub)
