"""The Gemini surface's request, every field given a value of the wrong JSON type: a 4xx in Google's
shape, never a 5xx, and nothing held (issue 18; issue 15's fuzz for messages and chat is
tests/security/test_wire_fuzz.py).

Google's request is proto3 JSON, which is looser than JSON Schema: numbers may come as decimal
strings, enums as their integer values, ``null`` means "not set" for any field. Those are valid
and not sent as junk; what proto3 JSON refuses is: a non-string where a string goes, a bool /
array / object / non-numeric string where a number goes (and a fraction where an integer goes),
anything but true/false for a bool, a non-object for a message, a non-array for a repeated field;
plus lone surrogates in strings and keys. Opaque values (``functionCall.args``,
``functionResponse.response``, schemas) are ``Struct``s: only their own type is fuzzed.

The target is a Claude model (the hub lane), where the translator reads every field before
anything is held: each answer must be a 4xx ``{"error": {code, message, status}}``, and afterwards
the org has no reservation, its full balance and no upstream request. Exhaustive over the
fields (deterministic), then hypothesis draws random wrong values at random fields.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzz import Path, replaced
from tests.support.stack import Org, Stack

CLAUDE = "claude-haiku-5-5"
PATH = f"/v1beta/models/{CLAUDE}:generateContent"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
SIGNATURE = base64.b64encode(b"sig-bytes").decode()

SINK: dict[str, Any] = {
    "contents": [
        {"role": "user", "parts": [{"text": "what is in this?"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]},
        {"role": "model", "parts": [{"text": "let me look", "thought": True, "thoughtSignature": SIGNATURE},
                                    {"functionCall": {"id": "call_1", "name": "lookup", "args": {"q": "x"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "call_1", "name": "lookup",
                                                         "response": {"result": "found"}}}]},
    ],
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "tools": [{"functionDeclarations": [{"name": "lookup", "description": "d",
                                         "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}}]}],
    "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    "generationConfig": {
        "maxOutputTokens": 64, "temperature": 0.5, "topP": 0.9, "topK": 5, "stopSequences": ["END"],
        "candidateCount": 1, "responseMimeType": "text/plain",
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
    },
}

OPAQUE = {"args", "response", "parameters", "parametersJsonSchema", "responseSchema", "responseJsonSchema"}
ENUMS = {"mode", "category", "threshold"}  # proto3 JSON takes an enum's name or its number
INT32 = {"maxOutputTokens", "candidateCount", "thinkingBudget"}  # topK is a float in Vertex AI's proto


def nodes(body: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every node of the request, not descending into opaque values."""
    if path:
        yield path, body
    if path and path[-1] in OPAQUE:
        return
    if isinstance(body, dict):
        for k, v in body.items():
            yield from nodes(v, (*path, k))
    elif isinstance(body, list):
        for i, v in enumerate(body):
            yield from nodes(v, (*path, i))


def junk_for(path: Path, value: Any) -> list[Any]:
    """What proto3 JSON refuses in ``value``'s place (see the module docstring)."""
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    if isinstance(value, bool):
        return ["yes", 100, [1], {"a": 1}]
    if isinstance(value, int | float):
        out: list[Any] = [True, [1], {"a": 1}, "abc"]
        if name in INT32:
            out += [0.5, 10**30]
        return out
    if isinstance(value, str):
        out = [[1], {"a": 1}, True, value + "\ud800"]
        return out if name in ENUMS else [100, *out]
    if isinstance(value, list):
        return ["100", 100, True, {"a": 1}]
    return ["100", 100, True, [1], {**value, "\udfffkey": 1}]


CASES = [(path, junk) for path, value in nodes(SINK) for junk in junk_for(path, value)]


def _refusal(r: httpx.Response, what: str) -> str | None:
    """None when ``r`` is a 4xx in Google's shape with the estimate header, else what is wrong."""
    if not 400 <= r.status_code < 500:
        return f"{what}: {r.status_code} {r.text[:200]}"
    body = r.json()
    err = body.get("error") if isinstance(body, dict) else None
    if list(body) != ["error"] or err.get("code") != r.status_code or not err.get("message") \
            or not isinstance(err.get("status"), str) or "estimated_credits" not in r.headers:
        return f"{what}: not Google's error shape: {body}"
    return None


def _held_nothing(stack: Stack, org: Org) -> None:
    assert stack.reservations(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    assert stack.sim_requests(org.org_id) == []


def _client(stack: Stack, org: Org) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, timeout=30,
                        headers={"x-goog-api-key": org.master_key, "content-type": "application/json"})


def _sink(org: Org) -> dict[str, Any]:
    """The sink, marked with the org's id (how the simulator's request log is searched)."""
    return replaced(SINK, ("contents", 0, "parts", 0, "text"), f"{org.org_id}: what is in this?")


def test_the_kitchen_sink_is_answered_and_every_field_is_fuzzed(stack: Stack) -> None:
    """The sink itself is valid (so every refusal below is the junk's), and every node is reached."""
    org = stack.new_org(1_000_000)
    with _client(stack, org) as http:
        r = http.post(PATH, content=json.dumps(_sink(org)).encode())
    assert r.status_code == 200, r.text
    reached = {path[-1] for path, _ in CASES if isinstance(path[-1], str)}
    assert set(SINK) | set(SINK["generationConfig"]) <= reached
    assert len(CASES) > 150


def test_every_field_with_a_value_of_the_wrong_type_is_a_4xx_and_holds_nothing(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    sink = _sink(org)
    failures = []
    with _client(stack, org) as http:
        for where, junk in CASES:
            r = http.post(PATH, content=json.dumps(replaced(sink, where, junk)).encode())
            wrong = _refusal(r, f"{'.'.join(map(str, where))} = {junk!r}")
            if wrong:
                failures.append(wrong)
    assert not failures, "\n".join(failures)
    _held_nothing(stack, org)


_WRONG = {
    "string": st.text(min_size=1, max_size=8).filter(lambda t: not t.strip().lstrip("-").replace(".", "").isdigit()),
    "integer": st.integers(min_value=-(10**40), max_value=10**40),
    "fraction": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(),
    "array": st.lists(st.integers(), max_size=3),
    "object": st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
}


def _wrong_kinds(path: Path, value: Any) -> list[str]:
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    if isinstance(value, bool):
        return ["string", "integer", "array", "object"]
    if isinstance(value, int | float):
        return ["string", "boolean", "array", "object"] + (["fraction"] if name in INT32 else [])
    if isinstance(value, str):
        return ["boolean", "array", "object"] + ([] if name in ENUMS else ["integer", "fraction"])
    if isinstance(value, list):
        return ["string", "integer", "fraction", "boolean", "object"]
    return ["string", "integer", "fraction", "boolean", "array"]


@st.composite
def random_junk(draw: st.DrawFn) -> tuple[Path, Any]:
    path, value = draw(st.sampled_from(sorted(nodes(SINK), key=lambda n: str(n[0]))))
    return path, draw(_WRONG[draw(st.sampled_from(_wrong_kinds(path, value)))])


def test_random_wrong_typed_values_at_random_fields_are_4xx(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    sink = _sink(org)
    with _client(stack, org) as http:

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(case=random_junk())
        def run(case: tuple[Path, Any]) -> None:
            where, junk = case
            r = http.post(PATH, content=json.dumps(replaced(sink, where, junk)).encode())
            wrong = _refusal(r, f"{'.'.join(map(str, where))} = {junk!r}")
            assert wrong is None, wrong

        run()
    _held_nothing(stack, org)
