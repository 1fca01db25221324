"""Keys over real HTTP: revocation and rotation within the auth cache TTL, scope, RPM, secrets, validation."""

from __future__ import annotations

import time
from collections.abc import Callable

import anthropic
import httpx
import pytest

from bytespike.store import ledger
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
TTL = 2.0  # AUTH_CACHE_TTL_SECONDS in the test stack
SLACK = 1.5


def _works(stack: Stack, key: str) -> int:
    """Status of the cheapest authenticated call (counts tokens: no hold, no money)."""
    r = httpx.post(f"{stack.base_url}/v1/messages/count_tokens", headers={"x-api-key": key}, timeout=30,
                   json={"model": CLAUDE, "messages": [{"role": "user", "content": "ping"}]})
    return r.status_code


def _stops_within_ttl(stack: Stack, key: str, since: float) -> float:
    """Seconds from ``since`` until ``key`` is refused (401); fails past TTL + slack."""
    while True:
        status = _works(stack, key)
        if status == 401:
            return time.monotonic() - since
        assert status == 200, status
        assert time.monotonic() - since < TTL + SLACK, "key still accepted after the auth cache TTL"
        time.sleep(0.1)


def _master_id(stack: Stack, master_key: str) -> str:
    [master] = [k for k in stack.admin("GET", "/v1/keys", master_key).json()["data"] if k["kind"] == "master"]
    return str(master["key_id"])


def _message(stack: Stack, key: str) -> anthropic.types.Message:
    return stack.anthropic(key).messages.create(model=CLAUDE, max_tokens=40,
                                                messages=[{"role": "user", "content": "hi"}])


def test_revoking_a_master_stops_its_sub_keys_within_the_ttl(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    subs = [stack.mint(org.master_key, member_id=m)["secret"] for m in ("alice", "bob")]
    _message(stack, subs[0])
    assert all(_works(stack, k) == 200 for k in subs)
    master_id = _master_id(stack, org.master_key)
    r = stack.admin("POST", f"/v1/keys/{master_id}/revoke", stack.operator_key, params={"org_id": org.org_id})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    revoked_at = time.monotonic()
    for key in subs:
        _stops_within_ttl(stack, key, revoked_at)
    with pytest.raises(anthropic.AuthenticationError, match="master key was revoked"):
        _message(stack, subs[1])
    assert _works(stack, org.master_key) == 401
    # Revocation is idempotent and reported, never an error.
    again = stack.admin("POST", f"/v1/keys/{master_id}/revoke", stack.operator_key, params={"org_id": org.org_id})
    assert again.status_code == 200 and again.json()["status"] == "revoked"


def test_revoking_a_sub_key_stops_only_it(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    alice, bob = (stack.mint(org.master_key, member_id=m) for m in ("alice", "bob"))
    r = stack.admin("POST", f"/v1/keys/{alice['key_id']}/revoke", org.master_key)
    assert r.status_code == 200 and r.json()["revoked_at"]
    _stops_within_ttl(stack, alice["secret"], time.monotonic())
    assert _works(stack, bob["secret"]) == 200 and _works(stack, org.master_key) == 200
    with pytest.raises(anthropic.AuthenticationError, match="revoked"):
        _message(stack, alice["secret"])
    # A revoked key cannot be brought back by rotating it.
    assert stack.admin("POST", f"/v1/keys/{alice['key_id']}/rotate", org.master_key).status_code == 409


def test_rotating_a_sub_key_keeps_its_id_and_settings(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    old = stack.mint(org.master_key, member_id="carol", label="ci", quota=50_000, quota_period="day", rpm=1000,
                     models=[CLAUDE])
    spent = _message(stack, old["secret"]).usage.model_extra["credits"]
    r = stack.admin("POST", f"/v1/keys/{old['key_id']}/rotate", org.master_key)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["secret"] != old["secret"] and new["digest_prefix"] != old["digest_prefix"]
    same = ("key_id", "member_id", "label", "quota", "quota_period", "rpm", "models", "parent_key_id", "created_at")
    assert {k: new[k] for k in same} == {k: old[k] for k in same}
    assert _works(stack, new["secret"]) == 200  # the new secret works at once
    _stops_within_ttl(stack, old["secret"], time.monotonic())
    stack.wait_all_released(org.org_id)
    # Same key_id, same member: the quota spent before rotation still counts after it.
    assert stack.admin("GET", f"/v1/keys/{old['key_id']}", org.master_key).json()["quota_used"] == spent


def test_rotating_a_master_keeps_its_sub_keys_and_revoking_it_still_stops_them(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    sub = stack.mint(org.master_key, member_id="dave")["secret"]
    master_id = _master_id(stack, org.master_key)
    secrets_ = [org.master_key]
    for _ in range(2):  # twice: the second rotation repoints the first digest's tombstone
        r = stack.admin("POST", f"/v1/keys/{master_id}/rotate", secrets_[-1])
        assert r.status_code == 200, r.text
        secrets_.append(r.json()["secret"])
    rotated_at = time.monotonic()
    for old in secrets_[:-1]:
        _stops_within_ttl(stack, old, rotated_at)
    assert stack.admin("GET", "/v1/keys", secrets_[0]).json()["error"]["message"] == (
        "This API key was rotated; use its new secret.")
    time.sleep(TTL)
    assert _works(stack, sub) == 200 and _works(stack, secrets_[-1]) == 200
    listed = stack.admin("GET", "/v1/keys", secrets_[-1]).json()["data"]
    assert [k["key_id"] for k in listed if k["kind"] == "master"] == [master_id]  # tombstones are not listed
    later = stack.mint(secrets_[-1], member_id="erin")["secret"]
    r = stack.admin("POST", f"/v1/keys/{master_id}/revoke", stack.operator_key, params={"org_id": org.org_id})
    assert r.status_code == 200
    revoked_at = time.monotonic()
    for key in (sub, later, secrets_[-1]):
        _stops_within_ttl(stack, key, revoked_at)


def test_sub_keys_cannot_mint_or_widen_scope(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    narrow_master = stack.mint(stack.operator_key, org_id=org.org_id, kind="master", models=[CLAUDE],
                               modalities=["chat"], expires_at=int(time.time()) + 3600)
    sub = stack.mint(narrow_master["secret"], member_id="frank")
    assert sub["models"] == [CLAUDE] and sub["modalities"] == ["chat"]  # inherited, not widened
    assert sub["expires_at"] == narrow_master["expires_at"]  # never outlives its master
    for body in ({"member_id": "g", "models": [CLAUDE, "claude-haiku-4-5"]}, {"member_id": "g",
                                                                           "modalities": ["chat", "images"]}):
        r = stack.admin("POST", "/v1/keys", narrow_master["secret"], json=body)
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error", r.text
    # A sub-key asking for anything admin: 403, whatever it asks.
    for method, path, body in (("POST", "/v1/keys", {"member_id": "x"}), ("POST", "/v1/keys", {"kind": "master"}),
                               ("GET", "/v1/keys", None), ("GET", f"/v1/orgs/{org.org_id}", None),
                               ("POST", f"/v1/keys/{sub['key_id']}/rotate", None)):
        assert stack.admin(method, path, sub["secret"], json=body).status_code == 403
    # A master cannot mint masters, or act on another master.
    assert stack.admin("POST", "/v1/keys", org.master_key, json={"kind": "master"}).status_code == 403
    assert stack.admin("POST", f"/v1/keys/{narrow_master['key_id']}/revoke", org.master_key).status_code == 403
    # The scope is enforced on the paid path.
    with pytest.raises(anthropic.PermissionDeniedError):
        stack.anthropic(sub["secret"]).messages.create(model="claude-haiku-4-5", max_tokens=10,
                                                       messages=[{"role": "user", "content": "x"}])


def test_secrets_appear_only_at_creation_and_rotation(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    minted = stack.mint(org.master_key, member_id="gina")
    rotated = stack.admin("POST", f"/v1/keys/{minted['key_id']}/rotate", org.master_key).json()
    for path, params in (("/v1/keys", {}), (f"/v1/keys/{minted['key_id']}", {}), ("/v1/keys", {"status": "all"})):
        text = stack.admin("GET", path, org.master_key, params=params).text
        for secret in (org.master_key, minted["secret"], rotated["secret"]):
            assert secret not in text and secret[6:] not in text
        assert "secret" not in text
    text = stack.admin("GET", "/v1/keys", stack.operator_key, params={"org_id": org.org_id}).text
    assert org.master_key not in text and "secret" not in text
    # What is stored is a digest: no item in the Keys table holds a secret.
    items = stack.ddb.scan(TableName=stack.tables["KEYS_TABLE"], FilterExpression="org_id = :o",
                           ExpressionAttributeValues={":o": {"S": org.org_id}})["Items"]
    assert items and all(minted["secret"] not in str(i) and rotated["secret"] not in str(i) for i in items)


@pytest.mark.parametrize("shape", ["anthropic", "openai"])
def test_client_mistakes_are_400_naming_the_field(stack: Stack, shape: str) -> None:
    org = stack.create_org(1_000)
    op, master = stack.operator_key, org.master_key
    cases: list[tuple[Callable[[], httpx.Response], str]] = [
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"member_id": "a", "quota": "5"}), "quota"),
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"member_id": "a", "quota_perod": "day"}),
         "quota_perod"),
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"quota": 5}), "member_id"),
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"member_id": "a", "models": ["nope"]}),
         "models"),
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"member_id": "a", "expires_at": 1}),
         "expires_at"),
        (lambda: stack.admin("POST", "/v1/keys", master, shape=shape, json={"member_id": "a", "quota_period": "day"}),
         "quota_period"),
        (lambda: stack.admin("POST", f"/v1/orgs/{org.org_id}/topups", op, shape=shape, json={"amount": -5,
                                                                                           "topup_id": "x"}), "amount"),
        (lambda: stack.admin("POST", "/v1/orgs", op, shape=shape, json={"org_id": "UPPER CASE"}), "org_id"),
        (lambda: stack.admin("GET", "/v1/usage", master, shape=shape, params={"start": "2026-13-01"}), "start"),
        (lambda: stack.admin("GET", "/v1/usage", master, shape=shape, params={"limit": "0"}), "limit"),
        (lambda: stack.admin("GET", "/v1/usage", master, shape=shape, params={"from": "2026-01-01"}), "from"),
        (lambda: stack.admin("GET", "/v1/usage/summary", master, shape=shape, params={"group_by": "colour"}),
         "group_by"),
        (lambda: stack.admin("GET", "/v1/keys", op, shape=shape), "org_id"),
    ]
    for call, field in cases:
        r = call()
        assert r.status_code == 400, (field, r.text)
        err = r.json()["error"]
        assert err["message"].startswith(field), err
        if shape == "openai":
            assert err["param"] == field
    raw = httpx.post(f"{stack.base_url}/v1/keys", content=b"{not json", timeout=10,
                     headers={"x-api-key": master, "content-type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    dup = stack.admin("POST", "/v1/orgs", op, json={"org_id": org.org_id})
    assert dup.status_code == 409 and dup.json()["error"]["type"] == "conflict_error"


def test_topups_are_idempotent_by_id(stack: Stack) -> None:
    org = stack.create_org(1_000)
    path, op = f"/v1/orgs/{org.org_id}/topups", stack.operator_key
    first = stack.admin("POST", path, op, json={"amount": 500, "topup_id": "inv-1"})
    replay = stack.admin("POST", path, op, json={"amount": 500, "topup_id": "inv-1"})
    clash = stack.admin("POST", path, op, json={"amount": 501, "topup_id": "inv-1"})
    assert (first.status_code, replay.status_code, clash.status_code) == (201, 200, 409)
    assert first.json()["topup"]["applied"] and not replay.json()["topup"]["applied"]
    assert stack.wallet(org.org_id)["balance"] == stack.wallet(org.org_id)["topped_up"] == 1_500
    missing = stack.admin("POST", "/v1/orgs/no-such-org/topups", op, json={"amount": 5, "topup_id": "x"})
    assert missing.status_code == 404


def test_rpm_limit_is_a_shared_per_minute_counter(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    key = stack.mint(org.master_key, member_id="hank", rpm=3)
    if time.time() % 60 > 50:  # keep the burst inside one minute window
        time.sleep(61 - time.time() % 60)
    statuses = [_works(stack, key["secret"]) for _ in range(3)]
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": key["secret"]}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]})
    assert statuses == [200, 200, 200]
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error", r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60 and r.headers["x-should-retry"] == "true"
    assert _works(stack, org.master_key) == 200  # the limit is the key's, not the org's
    counter = stack.ddb.get_item(TableName=stack.tables["ACCOUNTS_TABLE"], ConsistentRead=True, Key={
        "pk": {"S": f"RPM#{key['key_id']}"}, "sk": {"S": time.strftime("%Y-%m-%dT%H:%M", time.gmtime())}})["Item"]
    assert counter["n"] == {"N": "3"} and int(counter["ttl"]["N"]) > time.time()
    assert stack.reservations(org.org_id) == []  # the refused request held nothing


def test_dynamodb_calls_per_member_request(stack: Stack) -> None:
    """Counted, not timed: a member key with a quota and an RPM limit, auth cache warm."""
    org = stack.create_org(1_000_000)
    key = stack.mint(org.master_key, member_id="ivy", quota=100_000, quota_period="month", rpm=1000)["secret"]
    _message(stack, key)  # warms the auth cache (key + master)
    stack.wait_all_released(org.org_id)
    before = stack.stats()
    _message(stack, key)
    stack.wait_all_released(org.org_id)
    delta = {op: stack.stats().get(op, 0) - before.get(op, 0) for op in ("transact_write_items", "update_item",
                                                                          "get_item", "put_item")}
    # hold (1 transaction: wallet, member quota, reservation) + release (1 transaction: reservation,
    # wallet, member, usage row); settle (1 update) + RPM counter (1 update); key lookups only on a cold cache.
    assert delta["transact_write_items"] == 2 and delta["update_item"] == 2 and delta["put_item"] == 0, delta
    assert delta["get_item"] <= 2, delta
    used = stack.member_used(org.org_id, "ivy", ledger.period_label("month"))
    assert used == sum(r["cost"] for r in stack.reservations(org.org_id))
