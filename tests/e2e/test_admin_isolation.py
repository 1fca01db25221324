"""The isolation matrix over real HTTP: every admin endpoint x every kind of caller -> the exact status.

Roles are checked before targets (403 whatever the target), another org's target is 404
whether or not it exists, and nothing a refused call touches changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
CALLERS = ("operator", "a_master", "a_member", "b_master", "no_key", "revoked")


@dataclass
class World:
    a: str
    b: str
    keys: dict[str, str | None]  # caller -> secret
    a_member_request: str
    a_master_request: str
    b_master_request: str
    a_member_key_id: str


def _message(stack: Stack, key: str, text: str) -> str:
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": key}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.headers["request-id"]


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    a, b = stack.create_org(1_000_000), stack.create_org(1_000_000)
    member = stack.mint(a.master_key, member_id="alice", quota=100_000, quota_period="month")
    # A second master of org A, revoked: the strongest "revoked key" (it had admin rights on A).
    spare = stack.mint(stack.operator_key, kind="master", org_id=a.org_id, label="spare")
    r = stack.admin("POST", f"/v1/keys/{spare['key_id']}/revoke", stack.operator_key, params={"org_id": a.org_id})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    requests = (_message(stack, member["secret"], "member"), _message(stack, a.master_key, "master"),
                _message(stack, b.master_key, "b"))
    stack.wait_all_released(a.org_id)
    stack.wait_all_released(b.org_id)
    time.sleep(2.2)  # AUTH_CACHE_TTL_SECONDS=2 in the test stack: the revocation is now visible everywhere
    return World(a.org_id, b.org_id, {"operator": stack.operator_key, "a_master": a.master_key,
                                      "a_member": member["secret"], "b_master": b.master_key, "no_key": None,
                                      "revoked": spare["secret"]}, *requests, member["key_id"])


@dataclass
class Case:
    name: str
    call: Callable[[Stack, World, str | None, str], httpx.Response]
    expect: dict[str, int]


def _expect(op: int, a_master: int, a_member: int, b_master: int) -> dict[str, int]:
    return {"operator": op, "a_master": a_master, "a_member": a_member, "b_master": b_master, "no_key": 401,
            "revoked": 401}


def _target_key(stack: Stack, w: World) -> str:
    """A fresh sub-key of org A for destructive calls (so each caller acts on an untouched key)."""
    return stack.mint(str(w.keys["a_master"]), member_id="target")["key_id"]


def _org(w: World) -> dict[str, Any]:
    return {"org_id": w.a}


CASES = [
    Case("POST /v1/orgs", lambda st, w, k, sh: st.admin("POST", "/v1/orgs", k, shape=sh,
                                                        json={"org_id": f"new-{time.time_ns()}"}),
         _expect(201, 403, 403, 403)),
    Case("GET /v1/orgs/A", lambda st, w, k, sh: st.admin("GET", f"/v1/orgs/{w.a}", k, shape=sh),
         _expect(200, 200, 403, 404)),
    Case("GET /v1/orgs/<missing>", lambda st, w, k, sh: st.admin("GET", "/v1/orgs/no-such-org", k, shape=sh),
         _expect(404, 404, 403, 404)),
    Case("POST /v1/orgs/A/topups", lambda st, w, k, sh: st.admin(
        "POST", f"/v1/orgs/{w.a}/topups", k, shape=sh, json={"amount": 1, "topup_id": f"t-{time.time_ns()}"}),
         _expect(201, 403, 403, 403)),
    Case("POST /v1/keys", lambda st, w, k, sh: st.admin(
        "POST", "/v1/keys", k, shape=sh,
        json={"org_id": w.a, "member_id": "m"} if k != st.operator_key else {"org_id": w.a, "kind": "master"}),
         _expect(201, 201, 403, 404)),
    Case("GET /v1/keys", lambda st, w, k, sh: st.admin("GET", "/v1/keys", k, shape=sh, params=_org(w)),
         _expect(200, 200, 403, 404)),
    Case("GET /v1/keys/{id}", lambda st, w, k, sh: st.admin("GET", f"/v1/keys/{w.a_member_key_id}", k, shape=sh,
                                                            params=_org(w)),
         _expect(200, 200, 403, 404)),
    Case("POST /v1/keys/{id}/rotate", lambda st, w, k, sh: st.admin(
        "POST", f"/v1/keys/{_target_key(st, w)}/rotate", k, shape=sh, params=_org(w)), _expect(200, 200, 403, 404)),
    Case("POST /v1/keys/{id}/revoke", lambda st, w, k, sh: st.admin(
        "POST", f"/v1/keys/{_target_key(st, w)}/revoke", k, shape=sh, params=_org(w)), _expect(200, 200, 403, 404)),
    Case("GET /v1/usage", lambda st, w, k, sh: st.admin("GET", "/v1/usage", k, shape=sh, params=_org(w)),
         _expect(200, 200, 200, 404)),
    Case("GET /v1/usage?format=csv", lambda st, w, k, sh: st.admin("GET", "/v1/usage", k, shape=sh,
                                                                    params={**_org(w), "format": "csv"}),
         _expect(200, 200, 200, 404)),
    Case("GET /v1/usage/summary", lambda st, w, k, sh: st.admin("GET", "/v1/usage/summary", k, shape=sh,
                                                                params=_org(w)),
         _expect(200, 200, 200, 404)),
    Case("GET /v1/usage/{member's request}", lambda st, w, k, sh: st.admin(
        "GET", f"/v1/usage/{w.a_member_request}", k, shape=sh), _expect(200, 200, 200, 404)),
    Case("GET /v1/usage/{master's request}", lambda st, w, k, sh: st.admin(
        "GET", f"/v1/usage/{w.a_master_request}", k, shape=sh), _expect(200, 200, 404, 404)),
]

ERROR_TYPES = {
    "anthropic": {401: "authentication_error", 403: "permission_error", 404: "not_found_error"},
    "openai": {401: "invalid_api_key", 403: "permission_denied", 404: "not_found"},
}


@pytest.mark.parametrize("shape", ["anthropic", "openai"])
def test_isolation_matrix(stack: Stack, world: World, shape: str) -> None:
    wallet_before = stack.wallet(world.a)["topped_up"]
    wrong: list[str] = []
    # The full matrix on the Anthropic shape; on the OpenAI shape, the callers that are refused somewhere.
    callers = CALLERS if shape == "anthropic" else ("a_member", "b_master", "no_key", "revoked")
    pairs = [(case, caller) for case in CASES for caller in callers]
    with ThreadPoolExecutor(4) as pool:  # independent calls (destructive ones act on fresh keys)
        responses = list(pool.map(lambda pc: pc[0].call(stack, world, world.keys[pc[1]], shape), pairs))
    for (case, caller), r in zip(pairs, responses, strict=True):
        want = case.expect[caller]
        if r.status_code != want:
            wrong.append(f"{case.name} as {caller}: {r.status_code} (want {want}) {r.text[:160]}")
            continue
        if want >= 400:
            body = r.json()
            got = body["error"]["type"] if shape == "anthropic" else body["error"]["code"]
            if got != ERROR_TYPES[shape][want] or (shape == "anthropic" and body.get("type") != "error"):
                wrong.append(f"{case.name} as {caller}: {shape} error shape {body}")
            if r.headers.get("x-should-retry") != "false":
                wrong.append(f"{case.name} as {caller}: x-should-retry {r.headers.get('x-should-retry')}")
        assert r.headers["request-id"] == r.headers["x-request-id"]
    assert not wrong, "\n".join(wrong)
    # Only the operator's top-up (1 credit) reached org A's wallet.
    assert stack.wallet(world.a)["topped_up"] == wallet_before + (1 if "operator" in callers else 0)


def test_refused_calls_change_nothing(stack: Stack, world: World) -> None:
    target = _target_key(stack, world)
    for caller in ("a_member", "b_master", "no_key", "revoked"):
        for action in ("revoke", "rotate"):
            r = stack.admin("POST", f"/v1/keys/{target}/{action}", world.keys[caller], params={"org_id": world.a})
            assert r.status_code in (401, 403, 404)
    view = stack.admin("GET", f"/v1/keys/{target}", stack.operator_key, params={"org_id": world.a}).json()
    listed = stack.admin("GET", "/v1/keys", stack.operator_key, params={"org_id": world.a}).json()["data"]
    assert view["status"] == "active"
    assert [k["digest_prefix"] for k in listed if k["key_id"] == target] == [view["digest_prefix"]]  # not rotated
    r = stack.admin("POST", "/v1/keys", world.keys["b_master"], json={"org_id": world.a, "member_id": "x"})
    assert r.status_code == 404
    assert not [k for k in stack.admin("GET", "/v1/keys", stack.operator_key, params={"org_id": world.a}).json()["data"]
                if k["member_id"] == "x"]


def test_each_caller_reads_only_its_own(stack: Stack, world: World) -> None:
    b_keys = stack.admin("GET", "/v1/keys", world.keys["b_master"]).json()["data"]
    assert b_keys and {k["org_id"] for k in b_keys} == {world.b}
    b_rows = stack.admin("GET", "/v1/usage", world.keys["b_master"]).json()["data"]
    assert [r["request_id"] for r in b_rows] == [world.b_master_request]
    member_rows = stack.admin("GET", "/v1/usage", world.keys["a_member"]).json()["data"]
    assert [r["request_id"] for r in member_rows] == [world.a_member_request]
    # A member cannot widen its view by naming another key, member or the org's master.
    for params in ({"member_id": "owner"}, {"key_id": "key_0123456789abcdef"}):
        r = stack.admin("GET", "/v1/usage", world.keys["a_member"], params=params)
        assert r.status_code in (200, 404)
        assert r.status_code == 404 or r.json()["data"] == []
    master_rows = stack.admin("GET", "/v1/usage", world.keys["a_master"]).json()["data"]
    assert {r["request_id"] for r in master_rows} == {world.a_member_request, world.a_master_request}
    summary = stack.admin("GET", "/v1/usage/summary", world.keys["a_member"]).json()
    assert summary["totals"]["requests"] == 1 and {d["member_id"] for d in summary["data"]} == {"alice"}
    # The operator sees any org's request by id, with its org.
    r = stack.admin("GET", f"/v1/usage/{world.b_master_request}", stack.operator_key)
    assert r.status_code == 200 and r.json()["org_id"] == world.b
    # A cursor from org A's pages is refused for org B.
    page = stack.admin("GET", "/v1/usage", world.keys["a_master"], params={"limit": 1}).json()
    assert page["has_more"]
    r = stack.admin("GET", "/v1/usage", world.keys["b_master"], params={"cursor": page["next_cursor"]})
    assert r.status_code == 400 and "cursor" in r.json()["error"]["message"]
    nxt = stack.admin("GET", "/v1/usage", world.keys["a_master"], params={"limit": 1, "cursor": page["next_cursor"]})
    assert len(nxt.json()["data"]) == 1 and nxt.json()["data"][0]["request_id"] != page["data"][0]["request_id"]
