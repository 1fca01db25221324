"""The local DynamoDB's fault hook (issue #10) and the ledger's answers to the faults it injects.

The hook must send what DynamoDB sends, or the fault suites would test a fantasy: each error is
checked through botocore (the release function's and the sweeper's client) and through the lean
client of the request path, then the ledger's own handling of a write that committed but whose
reply was lost (a retried hold or settle must recognise its own commit, not fail on it).
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.support.stack import local_dynamodb

from bytespike.config import reset_settings
from bytespike.errors import GatewayError, Kind
from bytespike.local.moto_server import (
    LocalDynamoDB,
    _control_call,
    clear_faults,
    dynamo_fault,
    inject_fault,
    list_faults,
)
from bytespike.local.template import TABLE_ENV
from bytespike.store import dynamo, ledger

PREFIX = "faults-unit"


@pytest.fixture(scope="module")
def moto() -> Iterator[LocalDynamoDB]:
    with local_dynamodb() as server:
        yield server


@pytest.fixture
def env(moto: LocalDynamoDB, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """This process's store code pointed at the module's moto (restored afterwards), tables created."""
    from bytespike.local.stack import create_tables

    for var, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "DYNAMODB_ENDPOINT_URL": moto.url}.items():
        monkeypatch.setenv(var, value)
    for logical, var in TABLE_ENV.items():
        monkeypatch.setenv(var, f"{PREFIX}-{logical}")
    reset_settings()
    client = boto3.client("dynamodb", endpoint_url=moto.url, region_name="us-east-1",
                          config=Config(retries={"total_max_attempts": 1}))  # see each injected error once
    create_tables(client, PREFIX)
    try:
        yield client
    finally:
        clear_faults(moto.url)
        reset_settings()


def _run[T](make: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine on a fresh loop and close the lean client it opened."""

    async def main() -> T:
        try:
            return await make()
        finally:
            await dynamo.dynamo().close()

    return asyncio.run(main())


def _put(client: Any, key: str) -> None:
    client.put_item(TableName=f"{PREFIX}-KeysTable", Item={"pk": {"S": key}})


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# ---------------------------------------------------------------- the control API
def test_control_api_arms_lists_and_clears(moto: LocalDynamoDB) -> None:
    first = inject_fault(moto.url, "ThrottlingException", op="PutItem", match="abc", times=2)
    second = inject_fault(moto.url, "InternalServerError")
    listed = {f["id"]: f for f in list_faults(moto.url)}
    assert listed[first]["op"] == "PutItem" and listed[first]["match"] == ["abc"] and listed[first]["remaining"] == 2
    assert listed[second]["times"] is None and listed[second]["remaining"] is None
    assert clear_faults(moto.url, [first]) == 1
    assert [f["id"] for f in list_faults(moto.url)] == [second]
    assert clear_faults(moto.url) == 1 and list_faults(moto.url) == []
    for bad in ({"op": "PutItem"}, {"code": "X", "times": 0}, {"code": "X", "when": "later"}, {"code": "X", "match": 3}):
        with pytest.raises(urllib.error.HTTPError) as err:
            _control_call(moto.url, "POST", body=bad)
        assert err.value.code == 400


# ---------------------------------------------------------------- error shapes, through botocore
def test_throttling_hits_only_matching_calls_and_only_n_times(env: Any, moto: LocalDynamoDB) -> None:
    with dynamo_fault(moto.url, "ThrottlingException", op="PutItem", match=["KEY#target"], times=2) as fault:
        _put(env, "KEY#bystander")  # no match: untouched
        for _ in range(2):
            with pytest.raises(ClientError) as exc:
                _put(env, "KEY#target")
            assert _code(exc) == "ThrottlingException"
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        _put(env, "KEY#target")  # the third call goes through
        assert fault.hits == 2
    assert env.get_item(TableName=f"{PREFIX}-KeysTable", Key={"pk": {"S": "KEY#target"}}).get("Item")


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError"])
def test_conflict_on_a_transaction_is_a_cancellation_with_reasons(env: Any, moto: LocalDynamoDB, code: str) -> None:
    items = [{"Put": {"TableName": f"{PREFIX}-KeysTable", "Item": {"pk": {"S": f"KEY#{code}{i}"}}}} for i in range(3)]
    with dynamo_fault(moto.url, code, op="TransactWriteItems", match=f"KEY#{code}0", times=1), \
            pytest.raises(ClientError) as exc:
        env.transact_write_items(TransactItems=items)
    assert _code(exc) == "TransactionCanceledException"
    assert dynamo.cancellation_codes(exc.value) == [code, "None", "None"]
    assert dynamo._only_conflicts(exc.value.response)  # what with_retries retries
    assert "Item" not in env.get_item(TableName=f"{PREFIX}-KeysTable", Key={"pk": {"S": f"KEY#{code}1"}})
    env.transact_write_items(TransactItems=items)  # times=1: the retry commits


def test_conflict_on_a_single_item_write_and_server_errors(env: Any, moto: LocalDynamoDB) -> None:
    cases = [("TransactionConflict", "TransactionConflictException", 400),
             ("ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException", 400),
             ("InternalServerError", "InternalServerError", 500)]
    for code, expected, status in cases:
        with dynamo_fault(moto.url, code, op="PutItem", match="KEY#single", times=1), \
                pytest.raises(ClientError) as exc:
            _put(env, "KEY#single")
        assert (_code(exc), exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (expected, status)
        assert expected in dynamo._RETRYABLE


def test_after_applies_the_write_then_fails(env: Any, moto: LocalDynamoDB) -> None:
    with dynamo_fault(moto.url, "InternalServerError", op="PutItem", match="KEY#after", when="after", times=1), \
            pytest.raises(ClientError):
        _put(env, "KEY#after")
    assert env.get_item(TableName=f"{PREFIX}-KeysTable", Key={"pk": {"S": "KEY#after"}}).get("Item")


# ---------------------------------------------------------------- the same errors through the lean client
def test_lean_client_parses_and_retries_them(env: Any, moto: LocalDynamoDB) -> None:
    table = f"{PREFIX}-KeysTable"
    items = [{"Put": {"TableName": table, "Item": {"pk": {"S": "KEY#lean"}}}},
             {"Put": {"TableName": table, "Item": {"pk": {"S": "KEY#lean2"}}}}]
    with dynamo_fault(moto.url, "TransactionConflict", op="TransactWriteItems", match="KEY#lean", times=3) as fault:
        _run(lambda: dynamo.dynamo().call("transact_write_items", TransactItems=items))  # 3 conflicts, 4th commits
        assert fault.hits == 3
    with dynamo_fault(moto.url, "ThrottlingException", op="UpdateItem", match="KEY#lean"), \
            pytest.raises(GatewayError) as exc:  # persistent: the retry budget runs out
        _run(lambda: dynamo.dynamo().call("update_item", TableName=table, Key={"pk": {"S": "KEY#lean"}},
                                          UpdateExpression="SET x = :x", ExpressionAttributeValues={":x": {"N": "1"}}))
    assert exc.value.kind is Kind.OVERLOADED and exc.value.retry_after == "1"
    cause = exc.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ThrottlingException"
    with dynamo_fault(moto.url, "TransactionConflict", op="TransactWriteItems", match="KEY#lean"), \
            pytest.raises(GatewayError) as exc:
        _run(lambda: dynamo.dynamo().call("transact_write_items", TransactItems=items))
    cause = exc.value.__cause__
    assert isinstance(cause, ClientError) and dynamo.cancellation_codes(cause) == ["TransactionConflict", "None"]


# ---------------------------------------------------------------- the ledger on a lost reply
def _hold(org: str, rid: str, amount: int = 1_000) -> ledger.Hold:
    return ledger.Hold(reservation_id=rid, request_id=rid, org_id=org, key_id="key_x", member_id="owner",
                       model="claude-haiku-5-5", provider="anthropic", surface="anthropic", amount=amount)


def _fund(client: Any, org: str, credits: int) -> None:
    ledger.create_wallet(client, org, org)
    ledger.top_up(client, org, credits, topup_id="initial")


def test_hold_whose_reply_was_lost_is_not_held_twice_nor_refused(env: Any, moto: LocalDynamoDB) -> None:
    """The first attempt commits and answers 500; the retry's Put then fails its condition. That must
    read as "held" (the reservation carries this hold's token), not as an Idempotency-Key conflict."""
    _fund(env, "org-lost-hold", 10_000)
    with dynamo_fault(moto.url, "InternalServerError", op="TransactWriteItems", match="req_lost_hold",
                      when="after", times=1) as fault:
        _run(lambda: ledger.place_hold(_hold("org-lost-hold", "req_lost_hold")))
        assert fault.hits == 1
    assert ledger.get_wallet(env, "org-lost-hold")["balance"] == 9_000  # type: ignore[index]
    # Another request on the same id (an Idempotency-Key replay) is still refused.
    with pytest.raises(GatewayError) as exc:
        _run(lambda: ledger.place_hold(_hold("org-lost-hold", "req_lost_hold")))
    assert exc.value.kind is Kind.CONFLICT
    assert ledger.get_wallet(env, "org-lost-hold")["balance"] == 9_000  # type: ignore[index]


def test_settle_whose_reply_was_lost_reports_settled(env: Any, moto: LocalDynamoDB) -> None:
    _fund(env, "org-lost-settle", 10_000)
    _run(lambda: ledger.place_hold(_hold("org-lost-settle", "req_lost_settle")))
    with dynamo_fault(moto.url, "InternalServerError", op="UpdateItem", match="req_lost_settle", when="after",
                      times=1):
        assert _run(lambda: ledger.settle("req_lost_settle", cost=400, usage={}, status="ok")) is True
    res = _run(lambda: ledger.get_reservation("req_lost_settle"))
    assert res is not None and res["state"] == ledger.SETTLED and res["cost"] == 400
    # A settle after the sweeper expired the hold still says False.
    _run(lambda: ledger.place_hold(_hold("org-lost-settle", "req_swept")))
    assert ledger._expire_one(env, {"id": "req_swept"}, time.time()) == 1
    assert _run(lambda: ledger.settle("req_swept", cost=400, usage={}, status="ok")) is False


def test_sweeper_goes_past_an_item_it_cannot_write(env: Any, moto: LocalDynamoDB) -> None:
    _fund(env, "org-sweep", 10_000)
    for rid in ("req_sweep_stuck", "req_sweep_ok"):
        env.transact_write_items(TransactItems=ledger._hold_items(_hold("org-sweep", rid), time.time() - 5_000))
    with dynamo_fault(moto.url, "ThrottlingException", op="UpdateItem", match="req_sweep_stuck"):
        counts = ledger.expire_stale(env)
    assert counts["failed"] == 1 and counts["expired"] >= 1
    states = {rid: ledger.from_item(env.get_item(TableName=f"{PREFIX}-ReservationsTable",
                                                 Key={"id": {"S": rid}})["Item"])["state"]
              for rid in ("req_sweep_stuck", "req_sweep_ok")}
    assert states == {"req_sweep_stuck": ledger.HELD, "req_sweep_ok": ledger.EXPIRED}
    assert ledger.expire_stale(env)["expired"] >= 1  # the next sweep gets it
