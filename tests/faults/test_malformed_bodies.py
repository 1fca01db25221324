"""Hypothesis-generated malformed request bodies and bad headers on both protocols: always a 4xx in
the caller's protocol (never a 5xx or a hang), no hold for the org, and the server stays healthy."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults._support import CLAUDE, GPT, SURFACES, request
from tests.support.stack import Stack

HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
not_str = json_values.filter(lambda v: not isinstance(v, str))
# null means "not given" for an optional field (OpenAI's max_tokens, stream...): valid, so never a breaker.
not_int = json_values.filter(lambda v: v is not None and not isinstance(v, int)
                             and not (isinstance(v, float) and v.is_integer()))
not_list = json_values.filter(lambda v: not isinstance(v, list))
_BOOLISH = {"0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"}
not_bool = json_values.filter(lambda v: v is not None and not isinstance(v, bool) and v not in (0, 1, 0.0, 1.0)
                              and not (isinstance(v, str) and v.strip().lower() in _BOOLISH))
weird_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=200) | st.just("\u202e\U0001f600" * 5000)

# (field, invalid values): each makes an otherwise valid request invalid.
_FIELD_BREAKERS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("model", not_str),
    ("model", weird_text.map(lambda t: "nope-" + t)),
    ("max_tokens", not_int),
    ("max_tokens", st.integers(max_value=0) | st.integers(min_value=10**9)),
    ("messages", not_list),
    ("messages", st.just([])),
    ("messages", st.lists(not_str.filter(lambda v: not isinstance(v, dict)), min_size=1, max_size=3)),
    ("messages", st.builds(lambda r: [{"role": r, "content": "x"}], weird_text.filter(
        lambda r: r not in ("user", "assistant", "system", "developer", "tool")))),
    ("messages", st.builds(lambda c: [{"role": "user", "content": c}],
                           json_values.filter(lambda v: not isinstance(v, (str, list))))),
    ("stream", not_bool),
    ("temperature", st.floats(min_value=2.5, max_value=1e6) | st.text(min_size=1, max_size=5).filter(
        lambda t: not t.strip().lstrip("-").replace(".", "", 1).isdigit())),
]


def _valid(surface: str) -> dict[str, Any]:
    return {"model": CLAUDE if surface == "anthropic" else GPT, "max_tokens": 20,
            "messages": [{"role": "user", "content": "hi"}]}


@st.composite
def malformed(draw: st.DrawFn, surface: str) -> bytes:
    kind = draw(st.sampled_from(["value", "field", "missing", "nested", "raw"]))
    if kind == "value":  # any JSON at all, but never a valid request
        value = draw(json_values)
        return json.dumps(value).encode()
    body = _valid(surface)
    if kind == "field":
        name, strategy = draw(st.sampled_from(_FIELD_BREAKERS))
        body[name] = draw(strategy)
    elif kind == "missing":
        required = ["model", "messages", "max_tokens"] if surface == "anthropic" else ["model", "messages"]
        for name in draw(st.lists(st.sampled_from(required), min_size=1, unique=True)):
            del body[name]
    elif kind == "nested":
        depth = draw(st.integers(min_value=50, max_value=50_000))
        where = draw(st.sampled_from(["messages", "content", "max_tokens"]))
        nested = "[" * depth + "]" * depth if where != "max_tokens" else '{"a":' * depth + "1" + "}" * depth
        if where == "content":
            return (json.dumps({**body, "messages": "@@"}).replace('"@@"', f'[{{"role": "user", "content": {nested}}}]')
                    ).encode()
        return json.dumps({**body, where: "@@"}).replace('"@@"', nested).encode()
    else:  # broken bytes
        good = json.dumps(body).encode()
        cut = draw(st.integers(min_value=0, max_value=len(good) - 1))
        junk = draw(st.binary(min_size=1, max_size=40))
        return good[:cut] + junk
    return json.dumps(body).encode()


def _check(surface: str, r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()
    if surface == "anthropic":
        assert body["type"] == "error" and isinstance(body["error"]["type"], str) and body["error"]["message"], body
    else:
        assert isinstance(body["error"], dict) and body["error"]["message"] and "type" in body["error"], body


@pytest.mark.parametrize("surface", SURFACES)
def test_malformed_bodies(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    path, headers, _ = request(surface, org.master_key, "x", stream=False)
    seen: list[int] = []
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:

        @HYP
        @given(raw=malformed(surface))
        def run(raw: bytes) -> None:
            r = http.post(path, content=raw, headers={**headers, "content-type": "application/json"})
            _check(surface, r)
            seen.append(r.status_code)

        run()
    assert seen
    assert stack.reservations(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    assert httpx.get(stack.base_url + "/healthz", timeout=5).status_code == 200


# ---------------------------------------------------------------- headers
def _send(stack: Stack, surface: str, headers: list[tuple[str, str | bytes]], query: str = "") -> httpx.Response:
    path, _, body = request(surface, "unused", "hi", stream=False)
    return httpx.post(stack.base_url + path + query, content=json.dumps(body).encode(), timeout=15,
                      headers=[("content-type", "application/json"), *headers])


def _auth(surface: str, key: str | bytes) -> tuple[str, str | bytes]:
    if surface == "anthropic":
        return ("x-api-key", key)
    return ("authorization", (b"Bearer " + key) if isinstance(key, bytes) else f"Bearer {key}")


@pytest.mark.parametrize("surface", SURFACES)
def test_bad_headers(stack: Stack, surface: str) -> None:
    org = stack.new_org(1_000_000)
    cases: dict[str, httpx.Response] = {
        "huge key": _send(stack, surface, [_auth(surface, "sk-" + "a" * 8000)]),
        "non-ascii key": _send(stack, surface, [_auth(surface, "sk-ключ-🔑".encode())]),
        "latin-1 key": _send(stack, surface, [_auth(surface, "sk-\xe9\xff".encode("latin-1"))]),
        "duplicated key": _send(stack, surface, [_auth(surface, "sk-bs-wrong"), _auth(surface, org.master_key)]),
        "duplicated key reversed": _send(stack, surface, [_auth(surface, org.master_key), _auth(surface, "sk-bs-wrong")]),
        "key in query": _send(stack, surface, [], f"?api_key={org.master_key}"),
        "key in query and header": _send(stack, surface, [_auth(surface, org.master_key)], f"?key={org.master_key}"),
    }
    for name, r in cases.items():
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
        _check(surface, r)
        if name.startswith("key in query") or ("key" in name and "duplicated" not in name):
            assert r.status_code == 401, (name, r.status_code)
    # A huge unrelated header: refused by the HTTP layer or ignored, never a 5xx or a hang.
    big = _send(stack, surface, [_auth(surface, org.master_key), ("x-padding", "p" * 200_000)])
    assert big.status_code < 500 or big.status_code == 431, big.status_code
    assert stack.reservations(org.org_id) == [] or big.status_code == 200
    assert httpx.get(stack.base_url + "/healthz", timeout=5).status_code == 200
