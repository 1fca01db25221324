"""Per-key concurrency caps over real HTTP: ``max_concurrency`` is a slot counter in the hold
transaction, given back by the settle (or the sweeper's expiry), so a fan-out of agents on one key
gets 429s in its own protocol and never reaches the provider past the cap."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from bytespike.store import ledger
from bytespike.store.dynamo import from_item
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"


def _slow(tag: str, stream: bool = True) -> dict:
    """A request the simulator answers after 2.5 s, marked so its upstream requests can be counted."""
    return {"model": CLAUDE, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": f"slow {tag} [[sim delay_ms=2500]]"}]}


def in_flight(stack: Stack, org_id: str, key_id: str) -> int | None:
    item = stack.ddb.get_item(TableName=stack.tables["ACCOUNTS_TABLE"], Key=ledger.slot_key(org_id, key_id),
                              ConsistentRead=True).get("Item")
    return int(from_item(item)["inflight"]) if item else None


async def _burst(stack: Stack, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """(surface, key, body) all at once over real HTTP."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=120)) as http:
        def post(surface: str, key: str, body: dict) -> asyncio.Future[httpx.Response]:
            if surface == "anthropic":
                return asyncio.ensure_future(http.post(f"{stack.base_url}/v1/messages", json=body,
                                                       headers={"x-api-key": key, "anthropic-version": "2023-06-01"}))
            oa = {"model": body["model"], "max_tokens": body["max_tokens"], "stream": body["stream"],
                  "messages": body["messages"]}
            return asyncio.ensure_future(http.post(f"{stack.base_url}/v1/chat/completions", json=oa,
                                                   headers={"authorization": f"Bearer {key}"}))

        return list(await asyncio.gather(*(post(*r) for r in requests)))


def test_fifty_concurrent_requests_on_a_key_capped_at_five(stack: Stack) -> None:
    org = stack.create_org(50_000_000)
    agent = stack.mint(org.master_key, member_id="agent", max_concurrency=5)
    assert agent["max_concurrency"] == 5 and agent["in_flight"] == 0
    tag = "conc-" + secrets.token_hex(4)
    # Half on each surface: the refusal speaks the caller's protocol.
    burst = [("anthropic" if i % 2 else "openai", agent["secret"], _slow(tag)) for i in range(50)]
    started = time.monotonic()
    responses = asyncio.run(_burst(stack, burst))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5 and statuses.count(429) == 45, statuses
    for (surface, _, _), r in zip(burst, responses, strict=True):
        if r.status_code != 429:
            continue
        assert r.headers["retry-after"] == "1"
        body = r.json()
        if surface == "anthropic":
            assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error", body
            assert "limited to 5 concurrent requests" in body["error"]["message"]
        else:
            assert body["error"]["type"] == "rate_limit_error" and body["error"]["code"] == "rate_limit_exceeded", body
    # The refusals came at once, not after the slow answers.
    assert time.monotonic() - started < 20
    # A capped key holds before it calls the provider: only the five admitted requests reached it.
    assert len(stack.sim_requests(tag)) == 5
    # Only the admitted ones held anything; every slot came back with its settle.
    reservations = stack.wait_all_released(org.org_id)
    assert len(reservations) == 5 and all(r["state"] == ledger.SETTLED for r in reservations)
    assert in_flight(stack, org.org_id, agent["key_id"]) == 0
    stack.assert_conservation(org.org_id)


def test_a_capped_masters_slots_cover_its_sub_keys(stack: Stack) -> None:
    org = stack.create_org(50_000_000)
    master = stack.mint(stack.operator_key, org_id=org.org_id, kind="master", max_concurrency=3)
    subs = [stack.mint(master["secret"], member_id=f"dev{i}") for i in range(3)]
    assert all(s["max_concurrency"] == 3 for s in subs)  # inherited, never wider
    wider = stack.admin("POST", "/v1/keys", master["secret"], json={"member_id": "x", "max_concurrency": 4})
    assert wider.status_code == 403 and "max_concurrency" in wider.text
    tag = "conc-tree-" + secrets.token_hex(4)
    burst = [("anthropic", subs[i % 3]["secret"], _slow(tag)) for i in range(12)]
    statuses = [r.status_code for r in asyncio.run(_burst(stack, burst))]
    assert statuses.count(200) == 3 and statuses.count(429) == 9, statuses
    assert len(stack.sim_requests(tag)) == 3
    stack.wait_all_released(org.org_id)
    assert in_flight(stack, org.org_id, master["key_id"]) == 0
    stack.assert_conservation(org.org_id)


def test_a_slot_comes_back_at_the_settle_not_the_release(stack: Stack) -> None:
    """One slot, ten requests in a row (success, upstream failure, non-streaming): none is refused."""
    org = stack.create_org(50_000_000)
    key = stack.mint(org.master_key, member_id="serial", max_concurrency=1)
    client = stack.anthropic(key["secret"])
    for i in range(10):
        text = f"serial {i}" + (" [[sim status=500]]" if i == 4 else "")
        try:
            client.messages.create(model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": text}])
        except Exception as exc:  # the failing upstream: a 5xx, not a 429
            assert i == 4 and "429" not in str(exc), exc
    with client.messages.stream(model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "s"}]) as s:
        s.get_final_message()
    assert in_flight(stack, org.org_id, key["key_id"]) == 0
    stack.wait_all_released(org.org_id)
    stack.assert_conservation(org.org_id)


def test_a_crashed_requests_slot_comes_back_when_the_sweeper_expires_its_hold(stack: Stack) -> None:
    org = stack.create_org(50_000_000)
    key = stack.mint(org.master_key, member_id="crash", max_concurrency=1)
    # A function that died holding the key's only slot: its hold is past the deadline, HELD forever.
    dead = ledger.Hold(reservation_id="req_dead_" + secrets.token_hex(6), request_id="req_dead", org_id=org.org_id,
                       key_id=key["key_id"], member_id="crash", model=CLAUDE, provider="anthropic",
                       surface="anthropic", amount=1000, slots=(ledger.SlotCharge(key["key_id"], 1),))
    deadline = time.time() - settings_deadline() - 5
    stack.ddb.transact_write_items(TransactItems=ledger._hold_items(dead, deadline))
    assert in_flight(stack, org.org_id, key["key_id"]) == 1
    # The stack's sweeper runs every second: the expired hold gives its slot back, then requests pass.
    t0 = time.monotonic()
    while in_flight(stack, org.org_id, key["key_id"]) != 0:
        assert time.monotonic() - t0 < 20, "the sweeper never gave the slot back"
        time.sleep(0.2)
    r = stack.anthropic(key["secret"]).messages.create(model=CLAUDE, max_tokens=16,
                                                      messages=[{"role": "user", "content": "after"}])
    assert r.content
    res = {x["id"]: x for x in stack.wait_all_released(org.org_id)}
    assert res[dead.reservation_id]["state"] == ledger.EXPIRED and res[dead.reservation_id]["cost"] == 0
    assert in_flight(stack, org.org_id, key["key_id"]) == 0
    stack.assert_conservation(org.org_id)


def settings_deadline() -> int:
    from bytespike.config import settings

    return settings().hold_deadline_seconds
