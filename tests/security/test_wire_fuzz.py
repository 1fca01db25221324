"""Every field of both request models, given a value of the wrong JSON type: 4xx, never 5xx, nothing held.

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

Budget: ~950 requests per run (~5 s with the local stack's listeners free of Nagle's delay).
"""

from __future__ import annotations

import base64
import copy
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
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
Path = tuple[str | int, ...]

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

SURFACES = {"anthropic": (MessagesRequest, ANTHROPIC_SINK, "/v1/messages"),
            "openai": (ChatRequest, OPENAI_SINK, "/v1/chat/completions")}
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


def replaced(body: dict[str, Any], path: Path, new: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out


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
        precheck.chat(req, catalog().model(GPT), catalog().provider_of(catalog().model(GPT)))
    fields = {path[-1] for path, _ in cases(surface) if isinstance(path[-1], str)}
    declared = set(model.model_fields)
    assert declared <= fields, sorted(declared - fields)  # every top-level field of the model is reached
    assert len(cases(surface)) > 150


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_field_with_a_value_of_the_wrong_type_is_a_4xx_and_holds_nothing(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    _, sink, path = SURFACES[surface]
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=_headers(surface, org.master_key)) as http:
        for where, junk in cases(surface):
            r = http.post(path, content=json.dumps(replaced(sink, where, junk)).encode())
            _assert_refused(surface, r, f"{'.'.join(map(str, where))} = {junk!r}")
    assert stack.reservations(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


_WRONG = {
    "string": st.text(min_size=1, max_size=8).filter(lambda t: t not in ("auto", "none")),
    "integer": st.integers(min_value=-(10**40), max_value=10**40),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(), "null": st.none(),
    "array": st.lists(st.integers(), max_size=3), "object": st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
}


@st.composite
def random_junk(draw: st.DrawFn, surface: str) -> tuple[Path, Any]:
    model, sink, _ = SURFACES[surface]
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
    _, sink, path = SURFACES[surface]
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=_headers(surface, org.master_key)) as http:

        @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(case=random_junk(surface))
        def run(case: tuple[Path, Any]) -> None:
            where, junk = case
            r = http.post(path, content=json.dumps(replaced(sink, where, junk)).encode())
            _assert_refused(surface, r, f"{'.'.join(map(str, where))} = {junk!r}")

        run()
    assert stack.reservations(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
