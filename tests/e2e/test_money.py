"""Money over real HTTP: holds, settles, releases, the sweeper, and the conservation invariant."""

from __future__ import annotations

import asyncio
import time

import anthropic
import httpx
import pytest

from bytespike.release.handler import handler as release_handler
from bytespike.store import ledger
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"


def _body(text: str, **kw: object) -> dict:
    return {"model": CLAUDE, "max_tokens": 200, "messages": [{"role": "user", "content": text}], **kw}


def _post(stack: Stack, key: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/messages", json=body, timeout=30,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers})


def test_mixed_requests_conserve_money(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    client = stack.anthropic(org.master_key)
    billed = 0
    for i in range(4):
        billed += client.messages.create(**_body(f"plain {i}")).usage.model_extra["credits"]
    with client.messages.stream(**_body("streamed [[sim deltas=20]]")) as s:
        delta = next(e for e in s if e.type == "message_delta")
    billed += delta.usage.model_extra["credits"]
    for directive in ("[[sim status=500]]", "[[sim status=529]]", "[[sim error_after=3]]"):
        with pytest.raises(anthropic.APIStatusError), client.messages.stream(**_body(f"fail {directive}")) as s:
            list(s)
    res = stack.wait_all_released(org.org_id)
    assert sum(r.get("cost", 0) for r in res) == billed
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - billed
    assert stack.assert_conservation(org.org_id)["open_holds"] == 0


@pytest.mark.parametrize("directive", ["[[sim status=500]]", "[[sim status=529 retry_after=7]]", "[[sim status=429 retry_after=3]]"])
def test_failure_before_first_byte_bills_zero(stack: Stack, directive: str) -> None:
    org = stack.new_org(1_000_000)
    r = _post(stack, org.master_key, _body(f"x {directive}", stream=True))
    assert r.status_code in (502, 529, 429)  # an upstream 500 is the gateway's 502 (upstream_error)
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] in ("api_error", "overloaded_error", "rate_limit_error")
    assert int(r.headers["estimated_credits"]) > 0 and r.headers["request-id"] == body["request_id"]
    if "retry_after" in directive:
        assert r.headers["retry-after"] == directive.split("retry_after=")[1].rstrip("]")
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


def test_error_mid_stream_bills_zero(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    client = stack.anthropic(org.master_key)
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as err, client.messages.stream(**_body("mid [[sim error_after=4]]")) as s:
        for event in s:
            seen.append(event.type)
    assert "overloaded" in str(err.value).lower()
    assert "text" in seen  # content had reached the client before the error
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


def test_upstream_drop_mid_stream_bills_zero(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    r = httpx.post(f"{stack.base_url}/v1/messages", json=_body("drop [[sim drop_after=3]]", stream=True),
                   headers={"x-api-key": org.master_key}, timeout=30)
    assert r.status_code == 200
    assert "event: error" in r.text and "message_stop" not in r.text
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0


def test_fifty_concurrent_on_wallet_for_ten(stack: Stack) -> None:
    body = _body("slow [[sim delay_ms=1500]]", stream=True)
    probe = stack.new_org(10_000_000)
    hold = int(_post(stack, probe.master_key, {**body, "messages": [{"role": "user", "content": "probe [[sim status=400]]"}]})
               .headers["estimated_credits"])
    org = stack.new_org(hold * 10 + hold // 2)
    balances: list[int] = []
    stop = False

    async def watch() -> None:
        while not stop:
            balances.append(await asyncio.to_thread(lambda: stack.wallet(org.org_id)["balance"]))
            await asyncio.sleep(0.05)

    async def run() -> list[int]:
        nonlocal stop
        watcher = asyncio.create_task(watch())
        async with httpx.AsyncClient(timeout=60) as http:
            rs = await asyncio.gather(*[
                http.post(f"{stack.base_url}/v1/messages", json=body, headers={"x-api-key": org.master_key})
                for _ in range(50)
            ])
        stop = True
        await watcher
        for r in rs:
            if r.status_code == 402:
                assert r.json()["error"]["type"] == "billing_error" and r.headers["x-should-retry"] == "false"
        return [r.status_code for r in rs]

    statuses = asyncio.run(run())
    assert statuses.count(200) == 10 and statuses.count(402) == 40, statuses
    assert min(balances) >= 0
    stack.wait_all_released(org.org_id)
    totals = stack.assert_conservation(org.org_id)
    assert len(stack.reservations(org.org_id)) == 10  # a refused request holds nothing
    assert totals["open_holds"] == 0


def test_redelivered_stream_record_refunds_once(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    msg = stack.anthropic(org.master_key).messages.create(**_body("once"))
    [res] = stack.wait_all_released(org.org_id)
    balance = stack.wallet(org.org_id)["balance"]
    assert balance == org.topped_up - msg.usage.model_extra["credits"]
    # Replay the real stream records for this reservation (as Lambda's at-least-once delivery may).
    streams = __import__("boto3").client("dynamodbstreams", endpoint_url=stack.dynamodb_url, region_name="us-east-1")
    arn = stack.ddb.describe_table(TableName=stack.tables["RESERVATIONS_TABLE"])["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while it:
        page = streams.get_records(ShardIterator=it, Limit=1000)
        records += [r for r in page["Records"] if r["dynamodb"]["Keys"]["id"]["S"] == res["id"]]
        if not page["Records"]:
            break
        it = page.get("NextShardIterator")
    assert len(records) >= 2
    for _ in range(2):  # twice, and in reverse order too
        out = release_handler({"Records": [{**r, "eventSourceARN": arn} for r in reversed(records)]}, None)
        assert out == {"batchItemFailures": []}
    assert stack.wallet(org.org_id)["balance"] == balance
    stack.assert_conservation(org.org_id)


def test_hold_abandoned_by_crash_is_swept(stack: Stack) -> None:
    """A function that died after its hold: the sweeper expires it past the deadline, the stream refunds."""
    org = stack.new_org(1_000_000)
    h = ledger.Hold(reservation_id=f"req_crash_{org.org_id}", request_id=f"req_crash_{org.org_id}", org_id=org.org_id,
                    key_id="key_x", member_id="owner", model=CLAUDE, provider="anthropic", surface="anthropic",
                    amount=12_345)
    stack.ddb.transact_write_items(TransactItems=ledger._hold_items(h, time.time() - 2000))
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - 12_345
    stack.assert_conservation(org.org_id)  # an open hold counts
    [res] = stack.wait_all_released(org.org_id, timeout=15)
    assert res["state"] == "EXPIRED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


def test_conservation_is_read_as_one_snapshot_while_holds_are_swept(stack: Stack) -> None:
    """The check itself must not race the sweeper and the release stream (a CI failure: the wallet read
    before a release's refund, the reservations after it, summed to 12,345 credits missing)."""
    org = stack.new_org(1_000_000)
    for i in range(25):
        h = ledger.Hold(reservation_id=f"req_swept_{i}_{org.org_id}", request_id=f"req_swept_{i}_{org.org_id}",
                        org_id=org.org_id, key_id="key_x", member_id="owner", model=CLAUDE, provider="anthropic",
                        surface="anthropic", amount=1_000 + i)
        stack.ddb.transact_write_items(TransactItems=ledger._hold_items(h, time.time() - 2000))
    checks = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view = stack.assert_conservation(org.org_id)
        checks += 1
        if view["open_holds"] == 0:
            break
    assert view["open_holds"] == 0 and view["balance"] == org.topped_up, view
    assert checks > 1  # the checks ran while the sweeper worked


def test_idempotency_key_never_holds_twice(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    first = _post(stack, org.master_key, _body("idem"), **{"Idempotency-Key": "order-42"})
    second = _post(stack, org.master_key, _body("idem"), **{"Idempotency-Key": "order-42"})
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["error"]["type"] == "conflict_error"
    assert second.headers["request-id"] == first.headers["request-id"]
    [res] = stack.wait_all_released(org.org_id)
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - res["cost"]


def test_client_disconnect_bills_only_what_was_received(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    body = _body("long [[sim deltas=60 interval_ms=40]]", stream=True, max_tokens=2000)
    with httpx.stream("POST", f"{stack.base_url}/v1/messages", json=body,
                      headers={"x-api-key": org.master_key}, timeout=30) as r:
        got = 0
        for line in r.iter_lines():
            if line.startswith("event: content_block_delta"):
                got += 1
                if got == 5:
                    break
    [res] = stack.wait_all_released(org.org_id)
    assert res["outcome"] == "client_aborted" and res["state"] == "SETTLED"
    full = stack.anthropic(org.master_key).messages.create(**{**body, "stream": False})
    assert 0 < res["cost"] < full.usage.model_extra["credits"]
    stack.wait_all_released(org.org_id)
    stack.assert_conservation(org.org_id)


def test_disconnect_before_content_bills_zero(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    body = _body("wait [[sim first_token_ms=1500]]", stream=True)
    with httpx.stream("POST", f"{stack.base_url}/v1/messages", json=body,
                      headers={"x-api-key": org.master_key}, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("event: message_start"):
                break
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
