"""Member quotas over real HTTP: no overspend under 50 concurrent requests, others unaffected, periods roll over."""

from __future__ import annotations

import asyncio
import time

import httpx

from bytespike.store import ledger
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
SLOW = {"model": CLAUDE, "max_tokens": 200, "stream": True,
        "messages": [{"role": "user", "content": "slow [[sim delay_ms=1500]]"}]}


def _hold_of(stack: Stack, body: dict) -> int:
    """The hold /v1/messages places for ``body`` (count_tokens reports the same estimate, holding nothing)."""
    r = httpx.post(f"{stack.base_url}/v1/messages/count_tokens", headers={"x-api-key": stack.master_key}, timeout=30,
                   json={k: v for k, v in body.items() if k != "stream"})
    assert r.status_code == 200, r.text
    return int(r.json()["estimated_credits"])


def test_member_quota_is_never_overspent_under_50_concurrent_requests(stack: Stack) -> None:
    hold = _hold_of(stack, SLOW)
    quota = hold * 5 + hold // 2  # room for exactly five holds at once
    org = stack.create_org(100 * hold * 10)  # the wallet is never the limit here
    alice = stack.mint(org.master_key, member_id="alice", quota=quota, quota_period="month")
    bob = stack.mint(org.master_key, member_id="bob", quota=quota, quota_period="month")
    period = ledger.period_label("month")
    peak = 0
    stop = False

    async def watch() -> None:
        nonlocal peak
        while not stop:
            peak = max(peak, await asyncio.to_thread(lambda: stack.member_used(org.org_id, "alice", period) or 0))
            await asyncio.sleep(0.25)

    async def run() -> tuple[list[httpx.Response], list[httpx.Response]]:
        nonlocal stop
        watcher = asyncio.create_task(watch())
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            def post(key: str) -> asyncio.Future[httpx.Response]:
                return asyncio.ensure_future(http.post(f"{stack.base_url}/v1/messages", json=SLOW,
                                                       headers={"x-api-key": key}))

            alices = [post(alice["secret"]) for _ in range(50)]
            bobs = [post(bob["secret"]) for _ in range(3)]  # another member, at the same time
            out = await asyncio.gather(asyncio.gather(*alices), asyncio.gather(*bobs))
        stop = True
        await watcher
        return out

    alice_rs, bob_rs = asyncio.run(run())
    statuses = [r.status_code for r in alice_rs]
    assert statuses.count(200) == 5 and statuses.count(402) == 45, statuses
    for r in alice_rs:
        if r.status_code == 402:
            err = r.json()["error"]
            assert err["type"] == "billing_error" and "quota" in err["message"], err
            assert r.headers["x-should-retry"] == "false"
    assert [r.status_code for r in bob_rs] == [200, 200, 200]  # unaffected by alice's quota
    assert peak <= quota
    stack.wait_all_released(org.org_id)
    res = stack.reservations(org.org_id)
    spent = {m: sum(r["cost"] for r in res if r["member_id"] == m) for m in ("alice", "bob")}
    assert len([r for r in res if r["member_id"] == "alice"]) == 5  # a refused request holds nothing
    assert 0 < spent["alice"] <= quota
    # After release the member's counter is exactly what was billed: the holds came back.
    assert stack.member_used(org.org_id, "alice", period) == spent["alice"]
    assert stack.member_used(org.org_id, "bob", period) == spent["bob"]
    stack.assert_conservation(org.org_id)
    summary = stack.admin("GET", "/v1/usage/summary", org.master_key, params={"group_by": "member"}).json()
    assert {d["member_id"]: d["credits"] for d in summary["data"]} == spent
    view = stack.admin("GET", f"/v1/keys/{alice['key_id']}", org.master_key).json()
    assert view["quota_used"] == spent["alice"] and view["quota_period_label"] == period


def test_next_period_starts_fresh(stack: Stack) -> None:
    """A used-up previous period does not limit the current one; a used-up current period does."""
    body = {**SLOW, "stream": False, "messages": [{"role": "user", "content": "fresh"}]}
    hold = _hold_of(stack, body)
    org = stack.create_org(1_000_000)
    carol = stack.mint(org.master_key, member_id="carol", quota=hold * 3, quota_period="day")
    today = ledger.period_label("day")
    yesterday = ledger.period_label("day", time.time() - 86400)
    accounts = stack.tables["ACCOUNTS_TABLE"]
    stack.ddb.put_item(TableName=accounts, Item={**ledger.member_key(org.org_id, "carol", yesterday),
                                                 "used": {"N": str(hold * 3)}, "quota": {"N": str(hold * 3)}})
    client = stack.anthropic(carol["secret"])
    msg = client.messages.create(**body)
    stack.wait_all_released(org.org_id)
    assert stack.member_used(org.org_id, "carol", today) == msg.usage.model_extra["credits"]
    assert stack.member_used(org.org_id, "carol", yesterday) == hold * 3  # untouched
    # Exhaust today's period: now the same key is refused, until tomorrow's label.
    stack.ddb.update_item(TableName=accounts, Key=ledger.member_key(org.org_id, "carol", today),
                          UpdateExpression="SET used = :u", ExpressionAttributeValues={":u": {"N": str(hold * 3)}})
    r = httpx.post(f"{stack.base_url}/v1/messages", json=body, headers={"x-api-key": carol["secret"]}, timeout=30)
    assert r.status_code == 402 and "quota" in r.json()["error"]["message"]
    assert stack.admin("GET", f"/v1/keys/{carol['key_id']}", org.master_key).json()["quota_used"] == hold * 3


def test_a_limited_masters_quota_covers_its_sub_keys_under_50_concurrent_requests(stack: Stack) -> None:
    """Issue 14, finding 6: a master limited to Q credits a day with four sub-keys spent 4.9 Q in a day,
    each sub-key having its own counter. Now every hold through a sub-key also consumes the master's
    counter, in the same transaction: 50 concurrent requests across four siblings and the master fit
    in the master's quota, and the releases give back to both counters."""
    hold = _hold_of(stack, SLOW)
    quota = hold * 5 + hold // 2  # the master's whole day: room for five holds at once
    org = stack.create_org(100 * hold * 10)  # the wallet is never the limit here
    master = stack.mint(stack.operator_key, org_id=org.org_id, kind="master", member_id="team", quota=quota,
                        quota_period="day")
    subs = [stack.mint(master["secret"], member_id=f"dev{i}") for i in range(4)]
    assert all((s["quota"], s["quota_period"]) == (quota, "day") for s in subs)  # each inherits the master's
    day = ledger.period_label("day")

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as http:
            keys = [subs[i % 4]["secret"] for i in range(46)] + [master["secret"]] * 4
            return list(await asyncio.gather(*(http.post(f"{stack.base_url}/v1/messages", json=SLOW,
                                                         headers={"x-api-key": k}) for k in keys)))

    responses = asyncio.run(run())
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5 and statuses.count(402) == 45, statuses
    refusals = [r.json()["error"]["message"] for r in responses if r.status_code == 402]
    assert any("master key" in m for m in refusals), refusals[:3]
    stack.wait_all_released(org.org_id)
    res = stack.reservations(org.org_id)
    assert len(res) == 5  # a refused request holds nothing
    billed = sum(int(r["cost"]) for r in res)
    assert 0 < billed <= quota
    # Every counter is exactly what its reservations were billed: the master's covers all five.
    assert stack.member_used(org.org_id, "team", day) == billed
    for i in range(4):
        own = sum(int(r["cost"]) for r in res if r["member_id"] == f"dev{i}")
        assert (stack.member_used(org.org_id, f"dev{i}", day) or 0) == own
    stack.assert_conservation(org.org_id)
    view = stack.admin("GET", f"/v1/keys/{master['key_id']}", stack.operator_key,
                       params={"org_id": org.org_id}).json()
    assert view["quota_used"] == billed


def test_a_sub_key_under_an_unlimited_master_charges_only_its_own_quota(stack: Stack) -> None:
    org = stack.create_org(10_000_000)
    sub = stack.mint(org.master_key, member_id="solo", quota=1_000_000, quota_period="month")
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": sub["secret"]}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    [res] = stack.wait_all_released(org.org_id)
    assert res["quota_counters"] == [["solo", ledger.period_label("month")]]
    assert stack.member_used(org.org_id, "owner", ledger.period_label("month")) is None
