"""Conservation under a randomized mix, over real HTTP: top-ups (some replayed), successes, upstream
failures, client aborts and duplicate stream deliveries, across members with and without quotas.

Per org: ``top-ups = balance + Σ billed + Σ open holds``; per member: the quota counter equals
the ledger's sum (and the usage API's).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from typing import Any

import httpx

from bytespike.release.handler import handler as release_handler
from bytespike.store import ledger
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
SEED = int(os.environ.get("BYTESPIKE_TEST_SEED", "20260505"))
TOPUPS = {f"inv-{i}": 10_000 * (i + 1) for i in range(6)}  # an id always carries the same amount


def _body(text: str, stream: bool = False, max_tokens: int = 200) -> dict[str, Any]:
    return {"model": CLAUDE, "max_tokens": max_tokens, "stream": stream,
            "messages": [{"role": "user", "content": text}]}


async def _op(http: httpx.AsyncClient, stack: Stack, org_id: str, kind: str, key: str, i: int) -> str:
    url = f"{stack.base_url}/v1/messages"
    headers = {"x-api-key": key}
    if kind == "topup":
        topup_id = f"inv-{i % len(TOPUPS)}"
        r = await http.post(f"{stack.base_url}/v1/orgs/{org_id}/topups", json={"amount": TOPUPS[topup_id],
                                                                               "topup_id": topup_id},
                            headers={"authorization": f"Bearer {stack.operator_key}"})
        assert r.status_code in (200, 201), r.text
        return f"topup {r.status_code}"
    if kind == "ok":
        r = await http.post(url, json=_body(f"ok {i}"), headers=headers)
    elif kind == "stream":
        r = await http.post(url, json=_body(f"stream {i} [[sim deltas=8]]", stream=True), headers=headers)
    elif kind == "fail":
        r = await http.post(url, json=_body(f"fail {i} [[sim status=500]]"), headers=headers)
    elif kind == "midstream":
        r = await http.post(url, json=_body(f"mid {i} [[sim error_after=3]]", stream=True), headers=headers)
    else:  # abort: the client walks away after a few deltas
        body = _body(f"abort {i} [[sim deltas=40 interval_ms=15]]", stream=True, max_tokens=1000)
        async with http.stream("POST", url, json=body, headers=headers) as resp:
            if resp.status_code != 200:
                return f"abort {resp.status_code}"
            seen = 0
            async for line in resp.aiter_lines():
                seen += line.startswith("event: content_block_delta")
                if seen == 3:
                    break
        return "abort"
    return f"{kind} {r.status_code}"


def test_randomized_mix_conserves_money_and_quotas(stack: Stack) -> None:
    rng = random.Random(SEED)
    org = stack.create_org(300_000)
    members = {"owner": org.master_key}
    quotas = {"alice": 20_000, "bob": 5_000}  # bob's quota binds: some of his requests get 402
    for member, quota in quotas.items():
        members[member] = stack.mint(org.master_key, member_id=member, quota=quota, quota_period="month")["secret"]
    members["carol"] = stack.mint(org.master_key, member_id="carol")["secret"]  # no quota
    kinds = ["topup", "ok", "ok", "stream", "fail", "midstream", "abort"]
    plan = [(rng.choice(kinds), rng.choice(list(members)), i) for i in range(30)]
    mark = stack.stream_mark()

    async def run() -> list[str]:
        sem = asyncio.Semaphore(10)
        async with httpx.AsyncClient(timeout=60) as http:
            async def one(kind: str, member: str, i: int) -> str:
                async with sem:
                    return await _op(http, stack, org.org_id, kind, members[member], i)
            return await asyncio.gather(*(one(k, m, i) for k, m, i in plan))

    outcomes = Counter(asyncio.run(run()))
    assert outcomes["abort"] >= 1 and any(o.startswith("fail") for o in outcomes), (SEED, outcomes)
    res = stack.wait_all_released(org.org_id, timeout=30)

    # Duplicate stream deliveries: the real records of a random eight reservations again, twice, reversed.
    ids = {r["id"] for r in rng.sample(res, min(8, len(res)))}
    records = stack.stream_records(ids, since=mark)
    assert len({r["dynamodb"]["Keys"]["id"]["S"] for r in records}) == len(ids)
    balance = stack.wallet(org.org_id)["balance"]
    for _ in range(2):
        assert release_handler({"Records": list(reversed(records))}, None) == {"batchItemFailures": []}
    assert stack.wallet(org.org_id)["balance"] == balance

    wallet = stack.wallet(org.org_id)
    applied = {f"inv-{i % len(TOPUPS)}" for kind, _, i in plan if kind == "topup"}
    assert wallet["topped_up"] == org.topped_up + sum(TOPUPS[t] for t in applied)  # replays added nothing
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == 0
    assert {r["state"] for r in res} <= {"SETTLED", "FAILED"}
    assert any(r.get("outcome") == "client_aborted" and r["cost"] > 0 for r in res)  # billed what it received

    # Each member: the quota counter = Σ billed in the ledger = the usage API's sum.
    period = ledger.period_label("month")
    rows = stack.admin("GET", "/v1/usage", org.master_key, params={"limit": 1000}).json()["data"]
    assert len(rows) == len(res) and sum(r["credits"] for r in rows) == totals["billed"]
    summary = stack.admin("GET", "/v1/usage/summary", org.master_key, params={"group_by": "member"}).json()
    by_member = {d["member_id"]: d["credits"] for d in summary["data"]}
    for member in members:
        billed = sum(r["cost"] for r in res if r["member_id"] == member)
        assert by_member.get(member, 0) == billed
        if member in quotas:
            used = stack.member_used(org.org_id, member, period) or 0
            assert used == billed <= quotas[member], (member, used, billed)

    # An open hold (a function that died mid-request) counts until the sweeper expires it.
    h = ledger.Hold(reservation_id=f"req_open_{org.org_id}", request_id=f"req_open_{org.org_id}", org_id=org.org_id,
                    key_id="key_x", member_id="alice", model=CLAUDE, provider="anthropic", surface="anthropic",
                    amount=777, quotas=(ledger.QuotaCharge("alice", quotas["alice"], period),))
    stack.ddb.transact_write_items(TransactItems=ledger._hold_items(h, time.time()))
    with_open = stack.assert_conservation(org.org_id)
    assert with_open["open_holds"] == 777 and with_open["balance"] == totals["balance"] - 777
    assert stack.member_used(org.org_id, "alice", period) == by_member.get("alice", 0) + 777
