"""Every field of the request models, given a value of the wrong JSON type: 4xx, never 5xx, nothing held.

Issue #15: ``"max_tokens": "100"`` and a lone surrogate were 500s. Here the fields come from the
wire models themselves (their JSON schema), so a field added to ``bytespike.wire`` is fuzzed
without touching this file: a "kitchen-sink" request sets every modelled field, and for every
node of it (scalars, objects, lists, list items) each JSON type the schema does not allow is
sent in its place - strings for integers, floats for integers, booleans, nulls where null is
not allowed, arrays, objects - plus out-of-range numbers for bounded fields, huge integers where
the gateway bounds them, lone surrogates in every string and in object keys. Exhaustive over the
fields (deterministic), then hypothesis draws random wrong-typed values at random fields.
Every answer must be a 4xx in the caller's protocol; afterwards the org has no reservation and
its full balance (nothing was held, nothing reached an upstream).

The three surfaces: Anthropic Messages, OpenAI Chat Completions and OpenAI Responses (issue 17:
the Responses request model, on a Claude model through the hub and on an OpenAI model by
pass-through; its ``previous_response_id`` names a response the org really stored, so the sink is
served and every refusal is the junk's).

Budget: ~1,300 requests per run (~5 s with the local stack's listeners free of Nagle's delay).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.catalog import catalog
from bytespike.gateway import precheck
from bytespike.wire.anthropic import MessagesRequest
from bytespike.wire.openai import ChatRequest
from bytespike.wire.responses import ResponsesRequest
from tests.support.fuzz import Path, replaced
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()

ANTHROPIC_SINK: dict[str, Any] = {
    "model": CLAUDE, "max_tokens": 64, "stream": False, "service_tier": "auto",
    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "what is in these?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a doc"},
             "title": "t", "context": "c"},
        ]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "found", "is_error": False}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "thanks"},
    ],
    "tools": [{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
    "thinking": {"type": "enabled", "budget_tokens": 1024, "display": "summarized"},
    "metadata": {"user_id": "u-1"}, "stop_sequences": ["END"], "temperature": 1, "top_p": 0.9, "top_k": 5,
    "cache_control": {"type": "ephemeral"},
}

OPENAI_SINK: dict[str, Any] = {
    "model": GPT,
    "messages": [
        {"role": "developer", "content": "be brief"},
        {"role": "system", "content": [{"type": "text", "text": "really"}], "name": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": None, "reasoning_content": "hm",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
    ],
    "stream": True, "stream_options": {"include_usage": True, "include_obfuscation": False},
    "max_tokens": 64, "max_completion_tokens": 64, "n": 1, "temperature": 1, "top_p": 1, "top_k": 5,
    "presence_penalty": 0, "frequency_penalty": 0, "seed": 7, "logprobs": False, "top_logprobs": 0,
    "parallel_tool_calls": True, "user": "u-1", "safety_identifier": "s", "prompt_cache_key": "k",
    "reasoning_effort": "low", "metadata": {"a": "b"}, "response_format": {"type": "text"}, "stop": ["END"],
    "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
    "tool_choice": "auto",
}

STORED = "resp_stored_by_the_test"  # replaced by a response the org stored (_live_sink)


def _responses_sink(model: str) -> dict[str, Any]:
    return {
        "model": model, "stream": False, "store": False, "max_output_tokens": 64, "background": False,
        "previous_response_id": STORED, "instructions": "be brief", "parallel_tool_calls": True,
        "metadata": {"a": "b"}, "include": ["reasoning.encrypted_content"],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "really"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "what is this?"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"}]},
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "found"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
        "tool_choice": "auto", "reasoning": {"effort": "low"}, "text": {"verbosity": "low"},
    }


SURFACES = {"anthropic": (MessagesRequest, ANTHROPIC_SINK, "/v1/messages"),
            "openai": (ChatRequest, OPENAI_SINK, "/v1/chat/completions"),
            # Responses on Claude (the hub's translator) and on GPT (the pass-through)
            "responses": (ResponsesRequest, _responses_sink(CLAUDE), "/v1/responses"),
            "responses-openai": (ResponsesRequest, _responses_sink(GPT), "/v1/responses")}
# Integer fields the gateway bounds itself (the model's maximum output), beyond their schema.
HANDLER_BOUNDED = {"max_tokens", "max_completion_tokens"}


# ---------------------------------------------------------------- the schema, walked along a request
def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class Schema:
    def __init__(self, model: type) -> None:
        self.root = model.model_json_schema()  # type: ignore[attr-defined]

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.root["$defs"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def branches(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        node = self.deref(node)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return [b for sub in node[key] for b in self.branches(sub)]
        return [node]

    @staticmethod
    def types(node: dict[str, Any]) -> set[str]:
        kind = node.get("type")
        if kind is None and "enum" in node:
            return {_json_type(v) for v in node["enum"]}
        if kind is None:
            return {"any"}
        return set(kind) if isinstance(kind, list) else {kind}

    def pick(self, node: dict[str, Any], value: Any) -> dict[str, Any] | None:
        """The branch of a union that ``value`` (a valid base value) took, or None for "anything"."""
        kind = _json_type(value)
        fits = [b for b in self.branches(node) if kind in self.types(b) or (kind == "integer" and "number" in
                                                                            self.types(b)) or "any" in self.types(b)]
        if kind == "object" and len(fits) > 1:  # a tagged union: the branch whose `type` is the value's
            tagged = [b for b in fits if b.get("properties", {}).get("type", {}).get("const") == value.get("type")]
            fits = tagged or [b for b in fits if "const" not in b.get("properties", {}).get("type", {})]
        return fits[0] if fits else None

    def allowed(self, node: dict[str, Any]) -> tuple[set[str], list[dict[str, Any]]]:
        branches = self.branches(node)
        out: set[str] = set()
        for b in branches:
            out |= self.types(b)
        if "number" in out:
            out.add("integer")
        return out, branches

    def child(self, node: dict[str, Any], value: Any, step: str | int) -> dict[str, Any] | None:
        branch = self.pick(node, value)
        if branch is None:
            return None
        if isinstance(step, int):
            return branch.get("items")
        props = branch.get("properties", {})
        if step in props:
            return props[step]
        extra = branch.get("additionalProperties")
        return extra if isinstance(extra, dict) else {}  # unknown or untyped: anything goes (no type junk)


def nodes(schema: Schema, body: Any) -> Iterator[tuple[Path, dict[str, Any], Any]]:
    """(path, schema node, base value) of every node of ``body`` the schema types."""
    stack: list[tuple[Path, dict[str, Any], Any]] = [((), schema.root, body)]
    while stack:
        path, node, value = stack.pop()
        if path:
            yield path, node, value
        steps = range(len(value)) if isinstance(value, list) else value.keys() if isinstance(value, dict) else ()
        for step in steps:
            sub = schema.child(node, value, step)
            if sub is not None:
                stack.append(((*path, step), sub, value[step]))


SAMPLES: dict[str, Any] = {  # one value per JSON type; hypothesis varies them below
    "string": "100", "integer": 100, "number": 0.5, "boolean": True, "null": None, "array": [1], "object": {"a": 1},
}
SURROGATES = ["\ud800x", "x\udfff", "\udc00"]


def junk_for(schema: Schema, path: Path, node: dict[str, Any], value: Any) -> list[Any]:
    """Values that must be refused at ``path``: the wrong JSON types, out-of-range numbers, surrogates."""
    allowed, branches = schema.allowed(node)
    out: list[Any] = []
    if "any" not in allowed:  # an untyped value (a tool's input, an unknown field) passes through as it is
        out += [v for kind, v in SAMPLES.items() if kind not in allowed]
    if "integer" in allowed and "number" not in allowed:
        out.append(100.0)  # a float is not an integer, even a whole one
    for b in branches:
        if b.get("type") in ("integer", "number"):
            if "maximum" in b:
                out += [b["maximum"] + 1, 10**30]
            if "minimum" in b:
                out.append(b["minimum"] - 1)
    if path[-1] in HANDLER_BOUNDED:
        out.append(10**30)
    if isinstance(value, str):
        out.append(value + SURROGATES[0])
    if isinstance(value, dict):
        out.append({**value, "\udfffkey": 1})
    return out


def _live_sink(stack: Stack, surface: str, key: str) -> dict[str, Any]:
    """The surface's sink, served: a Responses sink's previous_response_id is a response this key
    stored (a made-up id is a 404 that would pass any junk). Waits until its hold is released."""
    _, sink, path = SURFACES[surface]
    if not surface.startswith("responses"):
        return sink
    first = httpx.post(stack.base_url + path, headers=_headers(surface, key), timeout=60,
                       json={"model": sink["model"], "input": "remember this", "store": True, "max_output_tokens": 32})
    assert first.status_code == 200, first.text
    live = {**sink, "previous_response_id": first.json()["id"]}
    served = httpx.post(stack.base_url + path, headers=_headers(surface, key), json=live, timeout=60)
    assert served.status_code == 200, served.text  # every refusal below is the junk's
    return live


def cases(surface: str) -> list[tuple[Path, Any]]:
    model, sink, _ = SURFACES[surface]
    schema = Schema(model)
    return [(path, j) for path, node, value in nodes(schema, sink) for j in junk_for(schema, path, node, value)]


# ---------------------------------------------------------------- the tests
def _headers(surface: str, key: str) -> dict[str, str]:
    base = {"content-type": "application/json"}
    if surface == "anthropic":
        return {**base, "x-api-key": key, "anthropic-version": "2023-06-01"}
    return {**base, "authorization": f"Bearer {key}"}


def _assert_refused(surface: str, r: httpx.Response, what: str) -> None:
    assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:300])
    body = r.json()
    if surface == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"], (what, body)
    else:
        assert body["error"]["type"] and body["error"]["message"], (what, body)
    assert "estimated_credits" in r.headers


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_the_kitchen_sink_requests_are_valid_and_every_field_is_fuzzed(surface: str) -> None:
    """The sinks pass the gateway's own checks (wire model and lane rules), so every refusal in the
    fuzz below is the junk's."""
    model, sink, _ = SURFACES[surface]
    req = model.model_validate(sink)
    if surface == "openai":
        precheck.chat(req, catalog().model(GPT), catalog().provider_of(catalog().model(GPT)))  # type: ignore[arg-type]
    fields = {path[-1] for path, _ in cases(surface) if isinstance(path[-1], str)}
    declared = set(model.model_fields)
    assert declared <= fields, sorted(declared - fields)  # every top-level field of the model is reached
    assert len(cases(surface)) > (60 if surface.startswith("responses") else 150)


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_field_with_a_value_of_the_wrong_type_is_a_4xx_and_holds_nothing(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    _, _, path = SURFACES[surface]
    sink = _live_sink(stack, surface, org.master_key)
    before = _settled(stack, org.org_id)
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=_headers(surface, org.master_key)) as http:
        for where, junk in cases(surface):
            r = http.post(path, content=json.dumps(replaced(sink, where, junk)).encode())
            _assert_refused(surface, r, f"{'.'.join(map(str, where))} = {junk!r}")
    assert _settled(stack, org.org_id) == before  # nothing held, nothing billed


def _settled(stack: Stack, org_id: str) -> tuple[list[str], int]:
    """The org's reservations (all released) and its balance: what no refused request may change."""
    reservations = stack.wait_all_released(org_id)
    return sorted(r["id"] for r in reservations), stack.wallet(org_id)["balance"]


_WRONG = {
    "string": st.text(min_size=1, max_size=8).filter(lambda t: t not in ("auto", "none")),
    "integer": st.integers(min_value=-(10**40), max_value=10**40),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(), "null": st.none(),
    "array": st.lists(st.integers(), max_size=3), "object": st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
}


@st.composite
def random_junk(draw: st.DrawFn, surface: str, sink: dict[str, Any]) -> tuple[Path, Any]:
    model, _, _ = SURFACES[surface]
    schema = Schema(model)
    path, node, value = draw(st.sampled_from(sorted(nodes(schema, sink), key=lambda n: str(n[0]))))
    allowed, _ = schema.allowed(node)
    wrong = [] if "any" in allowed else [k for k in _WRONG if k not in allowed
                                         and not (k == "integer" and "number" in allowed)]
    if (isinstance(value, str) and draw(st.booleans())) or not wrong:
        cut = draw(st.integers(min_value=0, max_value=len(value) if isinstance(value, str) else 0))
        text = value if isinstance(value, str) else "x"
        return path, text[:cut] + draw(st.sampled_from(SURROGATES)) + text[cut:]
    return path, draw(_WRONG[draw(st.sampled_from(wrong))])


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_random_wrong_typed_values_at_random_fields_are_4xx(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    _, _, path = SURFACES[surface]
    sink = _live_sink(stack, surface, org.master_key)
    before = _settled(stack, org.org_id)
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=_headers(surface, org.master_key)) as http:

        @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(case=random_junk(surface, sink))
        def run(case: tuple[Path, Any]) -> None:
            where, junk = case
            r = http.post(path, content=json.dumps(replaced(sink, where, junk)).encode())
            _assert_refused(surface, r, f"{'.'.join(map(str, where))} = {junk!r}")

        run()
    assert _settled(stack, org.org_id) == before


# ---------------------------------------------------------------- Responses: what the hub translator reads
# The Responses model types only what the handler routes on; input items, tools, reasoning, text and
# tool_choice are checked by the translator (translate/responses_surface.py) on every model it
# serves through the hub. Wrong JSON types there are refused as OpenAI refuses them, before a hold.
HUB_JUNK: list[tuple[Path, Any]] = [
    (("input", 0), 5), (("input", 0, "type"), 5), (("input", 0, "role"), 5), (("input", 5, "role"), None),
    (("input", 0, "content"), 5), (("input", 5, "content"), {"a": 1}), (("input", 0, "content", 0), 5),
    (("input", 0, "content", 0, "type"), 5), (("input", 0, "content", 0, "text"), 5),
    (("input", 4, "content", 0, "text"), [1]), (("input", 1, "content", 1, "image_url"), 5),
    (("input", 2, "call_id"), 5), (("input", 2, "name"), 5), (("input", 2, "arguments"), 5),
    (("input", 2, "arguments"), "[1]"), (("input", 3, "call_id"), None),
    (("tools",), [5]), (("tools", 0, "type"), 5), (("tools", 0, "name"), 5), (("tools", 0, "parameters"), "x"),
    (("tool_choice",), 5), (("tool_choice",), {"type": 5}), (("reasoning",), "low"), (("reasoning", "effort"), 5),
    (("text",), 5), (("text", "format"), "json"), (("text", "format"), {"type": 5}),
    (("text", "format"), {"type": "json_schema", "schema": "x"}), (("temperature",), "1"), (("top_p",), "x"),
]
# Lenient on purpose (docs/MAPPING.md), so not junk: a function_call's arguments already decoded
# to an object, a function_call_output whose output is the JSON value itself, and a bare string as a
# content part (clients send all three; each is read as the only thing it can mean).


def test_what_the_responses_translator_reads_is_typed_too(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    sink = _live_sink(stack, "responses", org.master_key)
    before = _settled(stack, org.org_id)
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=_headers("responses", org.master_key)) as http:
        for where, junk in HUB_JUNK:
            r = http.post("/v1/responses", content=json.dumps(replaced(sink, where, junk)).encode())
            _assert_refused("responses", r, f"{'.'.join(map(str, where))} = {junk!r}")
            assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["param"], r.text
    assert _settled(stack, org.org_id) == before
