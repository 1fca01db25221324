"""Property tests for the translators (hypothesis; modest example counts, < 30 s)."""

from __future__ import annotations

import contextlib
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    ToolNameMap,
    TranslationError,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    assemble_anthropic_events,
    assemble_openai_chunks,
    check_anthropic_events,
    check_openai_chunks,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)

SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --- building blocks -------------------------------------------------------------------

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
id_chars = string.ascii_letters + string.digits + "_-"
tool_ids = st.text(alphabet=id_chars, min_size=1, max_size=60)
tool_names = st.one_of(
    st.text(alphabet=id_chars, min_size=1, max_size=20),
    st.text(alphabet=id_chars + ".:/ ", min_size=1, max_size=90),  # names OpenAI would reject
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=4)


def text_block(t: str) -> dict:
    return {"type": "text", "text": t}


@st.composite
def anthropic_requests(draw: st.DrawFn) -> dict:
    """A valid Anthropic request: alternating turns, tool loops answered in the next user turn."""
    n_rounds = draw(st.integers(1, 4))
    messages: list[dict] = []
    pending: list[str] = []
    used_ids: set[str] = set()
    names_used: set[str] = set()
    for _ in range(n_rounds):
        content: list[dict] = []
        for tid in pending:
            if draw(st.booleans()):
                result: Any = draw(texts)
            else:
                result = [text_block(t) for t in draw(st.lists(texts, min_size=1, max_size=3))]
            content.append({"type": "tool_result", "tool_use_id": tid, "content": result})
        extra = draw(st.lists(texts, max_size=2))
        content.extend(text_block(t) for t in extra)
        if not content:
            messages.append({"role": "user", "content": draw(texts)})
        else:
            messages.append({"role": "user", "content": content})
        # assistant turn
        a_texts = draw(st.lists(texts, max_size=2))
        n_tools = draw(st.integers(0 if a_texts else 1, 3))
        blocks = [text_block(t) for t in a_texts]
        pending = []
        for _ in range(n_tools):
            tid = draw(tool_ids.filter(lambda x: x not in used_ids))
            used_ids.add(tid)
            name = draw(tool_names)
            names_used.add(name)
            blocks.append({"type": "tool_use", "id": tid, "name": name, "input": draw(json_objects)})
            pending.append(tid)
        messages.append({"role": "assistant", "content": blocks})
    # close with a user turn answering any pending calls
    final: list[dict] = [
        {"type": "tool_result", "tool_use_id": tid, "content": draw(texts)} for tid in pending
    ]
    final.append(text_block(draw(texts)))
    messages.append({"role": "user", "content": final})
    req: dict = {"model": "m", "max_tokens": draw(st.integers(1, 100000)), "messages": messages}
    system = draw(st.one_of(st.none(), texts, st.lists(texts, min_size=1, max_size=3)))
    if isinstance(system, list):
        req["system"] = [text_block(t) for t in system]
    elif system is not None:
        req["system"] = system
    if names_used:
        req["tools"] = [
            {"name": n, "input_schema": {"type": "object", "properties": {}}} for n in sorted(names_used)
        ]
    return req


def _normalise(req: dict, names: ToolNameMap | None) -> list[tuple]:
    """What must survive a round trip: per turn, texts, tool calls (id, name, input), tool results."""
    cid = names.client_id if names else (lambda x: x)
    cname = names.client_name if names else (lambda x: x)
    out: list[tuple] = []
    for m in req["messages"]:
        content = m["content"]
        if isinstance(content, str):
            content = [text_block(content)]
        if m["role"] == "assistant":
            text = "".join(b["text"] for b in content if b["type"] == "text")
            calls = [(cid(b["id"]), cname(b["name"]), b["input"]) for b in content if b["type"] == "tool_use"]
            out.append(("assistant", text, calls))
        else:
            results = []
            for b in content:
                if b["type"] == "tool_result":
                    c = b.get("content")
                    results.append((cid(b["tool_use_id"]), [text_block(c)] if isinstance(c, str) else c))
            user_texts = [b["text"] for b in content if b["type"] == "text"]
            out.append(("user", results, user_texts))
    return out


@SETTINGS
@given(anthropic_requests())
def test_anthropic_openai_anthropic_roundtrip(req: dict) -> None:
    oai, names1 = anthropic_request_to_openai(req, target="openai")
    back, names2 = openai_request_to_anthropic(oai)
    assert names2.is_identity  # everything we send upstream is already valid on both sides
    assert _normalise(back, names1) == _normalise(req, None)
    # system text survives
    sys_in = req.get("system")
    sys_out = back.get("system")
    flat = (lambda s: s if isinstance(s, str) else "".join(b["text"] for b in s)) if sys_in else None
    if flat:
        assert flat(sys_out) == flat(sys_in)
    # every tool message directly follows the assistant message that called it
    for i, m in enumerate(oai["messages"]):
        if m["role"] == "tool":
            j = i - 1
            while oai["messages"][j]["role"] == "tool":
                j -= 1
            ids = {tc["id"] for tc in oai["messages"][j].get("tool_calls") or ()}
            assert m["tool_call_id"] in ids


@SETTINGS
@given(anthropic_requests(), st.sampled_from(["deepseek", "ark"]))
def test_anthropic_to_other_dialects_never_crash(req: dict, target: str) -> None:
    out, _ = anthropic_request_to_openai(req, target=target)
    assert out["model"] == "m"
    if target == "deepseek":
        for m in out["messages"]:
            assert m["content"] is None or isinstance(m["content"], str)
            if m["role"] == "assistant" and m.get("tool_calls"):
                assert "reasoning_content" in m


# --- OpenAI-format upstream chunk sequences ------------------------------------------------


def _split(data: st.DrawFn, s: str) -> list[str]:
    if not s:
        return [s]
    cuts = sorted(set(data(st.lists(st.integers(1, max(1, len(s) - 1)), max_size=5))))
    pieces, last = [], 0
    for c in cuts:
        pieces.append(s[last:c])
        last = c
    pieces.append(s[last:])
    return [p for p in pieces if p] or [s]


@st.composite
def openai_streams(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    """(chunks, expected tool calls) in the shapes real upstreams send."""
    chunks: list[dict] = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": draw(st.sampled_from(["", None]))},
                    "finish_reason": None,
                }
            ]
        }
    ]

    def delta(d: dict) -> dict:
        return {"choices": [{"index": 0, "delta": d, "finish_reason": None}], "usage": None}

    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["reasoning", "content", "empty", "empty_tools"]))
        if kind == "reasoning":
            chunks.extend(delta({"reasoning_content": p, "content": None}) for p in _split(draw, draw(texts)))
        elif kind == "content":
            chunks.extend(delta({"content": p}) for p in _split(draw, draw(texts)))
        elif kind == "empty":
            chunks.append(delta({"content": ""}))
        else:
            chunks.append(delta({"content": draw(texts), "tool_calls": []}))
    style = draw(st.sampled_from(["openai", "ollama", "whole_in_one_chunk"]))
    expected: list[dict] = []
    n_calls = draw(st.integers(0, 3))
    calls_for_one_chunk: list[dict] = []
    for k in range(n_calls):
        tid = f"call_{k}_{draw(st.text(alphabet=id_chars, min_size=1, max_size=8))}"
        name = draw(st.text(alphabet=id_chars, min_size=1, max_size=12))
        args_obj = draw(json_objects)
        args = json.dumps(args_obj, ensure_ascii=draw(st.booleans()))
        expected.append({"id": tid, "name": name, "input": args_obj})
        index = 0 if style == "ollama" else k
        if style == "openai":
            chunks.append(
                delta(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": tid,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for frag in _split(draw, args):
                chunks.append(delta({"tool_calls": [{"index": index, "function": {"arguments": frag}}]}))
        elif style == "ollama":
            chunks.append(
                delta(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": tid,
                                "type": "function",
                                "function": {"name": name, "arguments": args},
                            }
                        ]
                    }
                )
            )
        else:
            calls_for_one_chunk.append(
                {"index": index, "id": tid, "type": "function", "function": {"name": name, "arguments": args}}
            )
    if calls_for_one_chunk:
        chunks.append(delta({"tool_calls": calls_for_one_chunk}))
    finish = "tool_calls" if expected else draw(st.sampled_from(["stop", "length", "content_filter"]))
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": None})
    if draw(st.booleans()):
        chunks.append(
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": draw(st.integers(0, 5000)),
                    "completion_tokens": draw(st.integers(0, 5000)),
                    "prompt_tokens_details": {"cached_tokens": draw(st.integers(0, 5000))},
                },
            }
        )
    return chunks, expected


@SETTINGS
@given(openai_streams(), st.integers(0, 10000))
def test_openai_stream_to_anthropic_invariants(stream: tuple[list[dict], list[dict]], hint: int) -> None:
    chunks, expected = stream
    s = OpenAIToAnthropicStream(
        model="m", message_id="msg_p", names=ToolNameMap(), input_tokens_hint=hint, provider="deepseek"
    )
    events: list = []
    for c in chunks:
        events.extend(s.feed(c))
    events.extend(s.finish())
    check_anthropic_events(events)
    msg = assemble_anthropic_events(events)
    got = [
        {"id": b["id"], "name": b["name"], "input": b["input"]}
        for b in msg["content"]
        if b["type"] == "tool_use"
    ]
    assert got == expected
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "".join(b["text"] for b in msg["content"] if b["type"] == "text") == text
    assert not s.warnings


# --- Claude event sequences ----------------------------------------------------------------


@st.composite
def anthropic_streams(draw: st.DrawFn) -> tuple[list[tuple[str, dict]], list[dict], str]:
    events: list[tuple[str, dict]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": draw(st.integers(0, 9999)),
                        "cache_creation_input_tokens": draw(st.integers(0, 9999)),
                        "cache_read_input_tokens": draw(st.integers(0, 9999)),
                        "output_tokens": 1,
                    },
                },
            },
        )
    ]

    def maybe_ping() -> None:
        if draw(st.integers(0, 4)) == 0:
            events.append(("ping", {"type": "ping"}))

    tools: list[dict] = []
    kinds = draw(st.lists(st.sampled_from(["text", "thinking", "tool_use"]), max_size=5))
    for index, kind in enumerate(kinds):
        maybe_ping()
        if kind == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            for p in _split(draw, draw(texts)):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": p},
                        },
                    )
                )
        elif kind == "thinking":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                )
            )
            for p in _split(draw, draw(texts)):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "thinking_delta", "thinking": p},
                        },
                    )
                )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "signature_delta", "signature": "EqQBsig"},
                    },
                )
            )
        else:
            tid = f"toolu_{index}_{draw(st.text(alphabet=id_chars, min_size=1, max_size=10))}"
            name = draw(st.text(alphabet=id_chars, min_size=1, max_size=12))
            inp = draw(json_objects)
            tools.append({"id": tid, "name": name, "input": inp})
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "tool_use", "id": tid, "name": name, "input": {}},
                    },
                )
            )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": ""},
                    },
                )
            )
            for p in _split(draw, json.dumps(inp)):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": p},
                        },
                    )
                )
        maybe_ping()
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    stop = (
        "tool_use"
        if tools
        else draw(st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "refusal", "pause_turn"]))
    )
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": draw(st.integers(1, 9999))},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events, tools, stop


@SETTINGS
@given(anthropic_streams(), st.booleans())
def test_anthropic_stream_to_openai_invariants(
    stream: tuple[list, list[dict], str], include_usage: bool
) -> None:
    events, tools, _stop = stream
    check_anthropic_events(events)  # the generator itself produces valid Claude streams
    s = AnthropicToOpenAIStream(
        model="m", completion_id="chatcmpl-p", created=7, include_usage=include_usage, names=ToolNameMap()
    )
    chunks: list = []
    for name, data in events:
        chunks.extend(s.feed(name, data))
    chunks.extend(s.finish())
    check_openai_chunks(chunks, include_usage=include_usage)
    msg = assemble_openai_chunks(chunks)
    assert [
        {"id": t["id"], "name": t["name"], "input": json.loads(t["arguments"])} for t in msg["tool_calls"]
    ] == tools
    start_usage = events[0][1]["message"]["usage"]
    if include_usage:
        prompt = (
            start_usage["input_tokens"]
            + start_usage["cache_creation_input_tokens"]
            + start_usage["cache_read_input_tokens"]
        )
        assert msg["usage"]["prompt_tokens"] == prompt


@SETTINGS
@given(anthropic_streams())
def test_claude_stream_to_openai_and_back(stream: tuple[list, list[dict], str]) -> None:
    """Claude → OpenAI chunks → Anthropic events still satisfies every Anthropic invariant."""
    events, tools, _ = stream
    a2o = AnthropicToOpenAIStream(
        model="m", completion_id="c", created=1, include_usage=True, names=ToolNameMap()
    )
    o2a = OpenAIToAnthropicStream(model="m", message_id="msg", names=ToolNameMap(), provider="openai")
    out: list = []
    for name, data in events:
        for c in a2o.feed(name, data):
            out.extend(o2a.feed(c))
    for c in a2o.finish():
        out.extend(o2a.feed(c))
    out.extend(o2a.finish())
    check_anthropic_events(out)
    got = [
        {"id": b["id"], "name": b["name"], "input": b["input"]}
        for b in assemble_anthropic_events(out)["content"]
        if b["type"] == "tool_use"
    ]
    assert got == tools


# --- robustness: only TranslationError escapes -------------------------------------------

loose = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.text(max_size=8),
        st.sampled_from(
            [
                "text",
                "image_url",
                "function",
                "tool",
                "user",
                "assistant",
                "auto",
                "none",
                "required",
                "any",
                "json_schema",
                "high",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "text",
                    "name",
                    "function",
                    "arguments",
                    "id",
                    "content",
                    "role",
                    "image_url",
                    "url",
                    "file",
                    "file_data",
                    "tool_calls",
                    "tool_call_id",
                    "schema",
                    "json_schema",
                    "effort",
                    "source",
                    "input",
                    "tool_use_id",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=10,
)
OPENAI_KEYS = [
    "model",
    "messages",
    "tools",
    "tool_choice",
    "stop",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "response_format",
    "reasoning_effort",
    "reasoning",
    "n",
    "user",
    "functions",
    "function_call",
    "parallel_tool_calls",
    "thinking",
    "stream",
]
ANTHROPIC_KEYS = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "stop_sequences",
    "temperature",
    "max_tokens",
    "thinking",
    "output_config",
    "metadata",
    "stream",
]
message_like = st.dictionaries(
    st.sampled_from(
        [
            "role",
            "content",
            "tool_calls",
            "tool_call_id",
            "name",
            "refusal",
            "reasoning_content",
            "thinking_blocks",
            "function_call",
            "cache_control",
        ]
    ),
    loose,
    max_size=4,
).map(lambda d: d)
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])


@st.composite
def loose_requests(draw: st.DrawFn, keys: list[str]) -> dict:
    """Requests with loosely typed fields; messages are often valid so that later
    fields (tools, thinking, formats) are reached too."""
    req = draw(st.dictionaries(st.sampled_from(keys), loose, max_size=6))
    msgs: list[dict] = [{"role": "user", "content": "hi"}] if draw(st.booleans()) else []
    for m in draw(st.lists(message_like, min_size=0 if msgs else 1, max_size=4)):
        if draw(st.booleans()):
            m["role"] = draw(roles)
        msgs.append(m)
    req["messages"] = msgs
    return req


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    loose_requests(OPENAI_KEYS),
    loose_requests(ANTHROPIC_KEYS),
    st.sampled_from(["openai", "deepseek", "ark"]),
)
def test_request_translators_raise_only_translation_error(oreq: dict, areq: dict, target: str) -> None:
    for fn in (
        lambda: openai_request_to_anthropic(oreq),
        lambda: anthropic_request_to_openai(areq, target=target),
    ):
        with contextlib.suppress(TranslationError):
            fn()


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, loose)


fn_like = _maybe(
    st.fixed_dictionaries(
        {}, optional={"name": _maybe(st.text(max_size=5)), "arguments": _maybe(st.text(max_size=8))}
    )
)
tc_like = _maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "index": _maybe(st.integers(0, 3)),
            "id": _maybe(st.text(max_size=6)),
            "type": loose,
            "function": fn_like,
        },
    )
)
delta_like = _maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "role": loose,
            "content": _maybe(st.text(max_size=5)),
            "reasoning_content": _maybe(st.text(max_size=5)),
            "refusal": loose,
            "tool_calls": _maybe(st.lists(tc_like, max_size=3)),
            "function_call": fn_like,
        },
    )
)
choice_like = _maybe(
    st.fixed_dictionaries(
        {}, optional={"index": _maybe(st.just(0)), "delta": delta_like, "finish_reason": loose}
    )
)
chunk_like = st.fixed_dictionaries(
    {}, optional={"choices": _maybe(st.lists(choice_like, max_size=2)), "usage": loose, "id": loose}
)
block_like = _maybe(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "thinking", "tool_use", "redacted_thinking", "server_tool_use"])},
        optional={
            "text": loose,
            "thinking": loose,
            "id": loose,
            "name": loose,
            "input": loose,
            "data": loose,
        },
    )
)
event_like = st.one_of(
    st.tuples(
        st.just("content_block_start"),
        st.fixed_dictionaries({"index": _maybe(st.integers(0, 3)), "content_block": block_like}),
    ),
    st.tuples(
        st.just("content_block_delta"),
        st.fixed_dictionaries(
            {
                "index": _maybe(st.integers(0, 3)),
                "delta": _maybe(
                    st.fixed_dictionaries(
                        {
                            "type": st.sampled_from(
                                [
                                    "text_delta",
                                    "thinking_delta",
                                    "signature_delta",
                                    "input_json_delta",
                                    "citations_delta",
                                ]
                            )
                        },
                        optional={
                            "text": loose,
                            "thinking": loose,
                            "signature": loose,
                            "partial_json": loose,
                        },
                    )
                ),
            }
        ),
    ),
    st.tuples(
        st.sampled_from(
            ["content_block_stop", "message_start", "message_delta", "message_stop", "ping", "error"]
        ),
        st.dictionaries(st.sampled_from(["index", "delta", "message", "usage", "type"]), loose, max_size=3),
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.lists(chunk_like, max_size=6), st.lists(event_like, max_size=8), loose)
def test_stream_and_response_translators_never_crash(chunks: list[dict], events: list, resp: Any) -> None:
    """Malformed upstream data must not take the relay down (errors are the gateway's call)."""
    s = OpenAIToAnthropicStream(model="m", message_id="msg", names=ToolNameMap())
    for c in chunks:
        s.feed(c)
    s.finish()
    a = AnthropicToOpenAIStream(
        model="m", completion_id="c", created=1, include_usage=True, names=ToolNameMap()
    )
    for name, data in events:
        a.feed(name, data)
    a.finish()
    if isinstance(resp, dict):
        openai_response_to_anthropic(resp, model="m", names=ToolNameMap())
        anthropic_response_to_openai(resp, model="m", names=ToolNameMap())
