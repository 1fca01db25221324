"""DynamoDB faults on the money path (issue #10): throttling, transaction conflicts, lost replies.

Faults are injected by the local moto server's hook (``bytespike.local.moto_server``), matched by
request-body substrings so each test hits only its own org or reservation. The requests go to a
second gateway process sharing the session's tables (``ddb_gateway``) whose holds have a short
deadline, so a hold the gateway could not settle is expired by the real sweeper within seconds.

Business outcomes checked here (DESIGN.md "Principles" 3-4, "Request pipeline" 4-8):
- the hold fails -> the client gets an overloaded error in its protocol (Anthropic 529
  ``overloaded_error``, OpenAI 503 ``server_error``/``overloaded``) with ``retry-after``;
  nothing is held, nothing billed; the overlapped upstream call is cancelled unread.
- a transient fault (within the 4-attempt retry budget of ``store.dynamo.with_retries``) is
  invisible to the client: served and billed exactly once.
- the settle fails for good after the answer was produced -> the client still gets the whole
  answer; the reservation stays HELD and the sweeper expires it at cost 0: the request is
  **not billed**. That is the design's rule for a gateway that fails to record its work
  (DESIGN.md principle 4 "failures don't bill" and step 8 "a crashed function never keeps
  credits"); ``usage.credits`` in the answer is the price it was about to bill.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from bytespike.gateway.pipeline import request_id_for
from bytespike.local.moto_server import ArmedFault, dynamo_fault
from bytespike.release.handler import handler as release_handler
from bytespike.store import keys
from bytespike.store.dynamo import from_item
from tests.conftest import STACK_ENV
from tests.faults._support import CLAUDE, GPT
from tests.support.stack import Org, Stack, local_stack_process

HOLD_DEADLINE = 5  # seconds; long enough for any request here, short enough to wait for the sweeper
HOLD_TX = "balance >= :h"  # only the hold transaction carries this condition
SETTLE = "cost = :c,"  # only the settle update (the sweeper's expiry writes cost = :zero)
RELEASE_TX = "released = :true"  # only the release transaction


@pytest.fixture(scope="module")
def ddb_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A gateway on the session's DynamoDB with a short hold deadline (its own simulator, sweeper, poller)."""
    with local_stack_process(
        tmp_path_factory.mktemp("ddb-faults"),
        args=["--dynamodb-url", stack.dynamodb_url, "--table-prefix", "bytespike-test", "--sweep-interval", "1",
              "--poll-interval", "0.1"],
        env={**STACK_ENV, "HOLD_DEADLINE_SECONDS": str(HOLD_DEADLINE)},
    ) as (info, _, log_path):
        yield {**info, "log_path": log_path}


def _claude(gw: dict[str, Any], org: Org) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw["base_url"], api_key=org.master_key, max_retries=0, timeout=30)


def _oai(gw: dict[str, Any], org: Org) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw["base_url"] + "/v1", api_key=org.master_key, max_retries=0, timeout=30)


def _msg(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _fault(stack: Stack, code: str, op: str, *match: str, times: int | None = None, when: str = "before"
           ) -> AbstractContextManager[ArmedFault]:
    return dynamo_fault(stack.dynamodb_url, code, op=op, match=list(match), times=times, when=when)


def _hits(fault: ArmedFault, expected: int, timeout: float = 5.0) -> int:
    """The fault's hit count once it reaches ``expected`` (or the timeout): a stream's client can have
    its last bytes while the settle is still retrying."""
    deadline = time.monotonic() + timeout
    while (hits := fault.hits) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return hits


def _sim_requests(gw: dict[str, Any], marker: str) -> list[dict[str, Any]]:
    r = httpx.get(gw["simulator_url"] + "/_sim/requests", params={"contains": marker}, timeout=5)
    r.raise_for_status()
    return list(r.json()["requests"])


def _idempotent(org: Org, name: str) -> tuple[str, dict[str, str]]:
    """(reservation id, headers): with an Idempotency-Key the id is known before the request, so a fault
    can target this one reservation (the settle's body names nothing else of the request)."""
    record = keys.KeyRecord(digest=keys.digest(org.master_key), key_id="k", org_id=org.org_id, kind="master",
                            member_id="owner")
    idem = f"{name}-{secrets.token_hex(4)}"
    return request_id_for(record, idem)[0], {"Idempotency-Key": idem}


def _claude_call(gw: dict[str, Any], org: Org, text: str, *, stream: bool,
                 headers: dict[str, str] | None = None) -> tuple[str, int]:
    """(answer text, usage.credits) of a successful Messages call through the Anthropic SDK."""
    client = _claude(gw, org)
    if not stream:
        message = client.messages.create(model=CLAUDE, max_tokens=200, messages=_msg(text), extra_headers=headers)
        assert message.stop_reason == "end_turn", message
        return "".join(b.text for b in message.content if b.type == "text"), int(message.usage.model_extra["credits"])
    credits, stopped = -1, False
    with client.messages.stream(model=CLAUDE, max_tokens=200, messages=_msg(text), extra_headers=headers) as s:
        for event in s:
            if event.type == "message_delta":  # usage.credits rides here; the SDK keeps it on the event only
                credits = int(event.usage.model_extra["credits"])
            stopped = stopped or event.type == "message_stop"
        message = s.get_final_message()
    assert stopped and message.stop_reason == "end_turn" and credits >= 0, message
    return "".join(b.text for b in message.content if b.type == "text"), credits


def _openai_call(gw: dict[str, Any], org: Org, text: str, *, stream: bool,
                 headers: dict[str, str] | None = None) -> tuple[str, int]:
    client = _oai(gw, org)
    if not stream:
        r = client.chat.completions.create(model=GPT, max_tokens=200, messages=_msg(text),  # type: ignore[arg-type]
                                           extra_headers=headers)
        assert r.choices[0].finish_reason == "stop"
        return r.choices[0].message.content or "", int(r.usage.model_extra["credits"])  # type: ignore[union-attr]
    out, credits, finish = [], -1, None
    for chunk in client.chat.completions.create(model=GPT, max_tokens=200, messages=_msg(text), stream=True,  # type: ignore[arg-type]
                                                stream_options={"include_usage": True}, extra_headers=headers):
        for choice in chunk.choices:
            out.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
        if chunk.usage is not None:
            credits = int(chunk.usage.model_extra["credits"])
    assert finish == "stop" and credits >= 0
    return "".join(out), credits


def _wait_released(stack: Stack, org: Org, timeout: float = 20.0) -> list[dict[str, Any]]:
    return stack.wait_all_released(org.org_id, timeout=timeout)


def _billed_once(stack: Stack, org: Org, reported: list[int]) -> list[dict[str, Any]]:
    """Every request served once: one released, settled reservation each, billed what the client was told."""
    res = _wait_released(stack, org)
    assert len(res) == len(reported) and all(r["state"] == "SETTLED" for r in res), res
    assert sorted(int(r["cost"]) for r in res) == sorted(reported)
    totals = stack.assert_conservation(org.org_id)
    assert totals == {"balance": org.topped_up - sum(reported), "billed": sum(reported), "open_holds": 0}
    return res


# ---------------------------------------------------------------- the hold (TransactWriteItems)
# Each code is tried on both surfaces, one streaming and one not (the two codes swap which).
HOLD_CASES = [("ThrottlingException", False, True), ("TransactionConflict", True, False)]


@pytest.mark.parametrize(("code", "claude_stream", "openai_stream"), HOLD_CASES)
def test_transient_fault_on_the_hold_is_retried_and_billed_once(stack: Stack, ddb_gateway: dict[str, Any], code: str,
                                                                claude_stream: bool, openai_stream: bool) -> None:
    org = stack.new_org(1_000_000)
    reported = []
    for call, stream in ((_claude_call, claude_stream), (_openai_call, openai_stream)):
        with _fault(stack, code, "TransactWriteItems", f"ORG#{org.org_id}", HOLD_TX, times=3) as fault:
            text, credits = call(ddb_gateway, org, f"transient hold {code}", stream=stream)
            assert fault.hits == 3  # three refusals, the fourth (last) attempt committed
        assert text and credits > 0
        reported.append(credits)
    _billed_once(stack, org, reported)


@pytest.mark.parametrize(("code", "claude_stream", "openai_stream"), HOLD_CASES)
def test_persistent_fault_on_the_hold_is_a_clean_overloaded_error(stack: Stack, ddb_gateway: dict[str, Any], code: str,
                                                                  claude_stream: bool, openai_stream: bool) -> None:
    """Nothing held, nothing billed, 529/503 + retry-after; the overlapped upstream call was made at most
    once per request and its answer never reached the client (it is cancelled when the hold fails)."""
    org = stack.new_org(1_000_000)
    text = f"persistent hold fault {secrets.token_hex(4)}"
    with _fault(stack, code, "TransactWriteItems", f"ORG#{org.org_id}", HOLD_TX) as fault:
        with pytest.raises(anthropic.OverloadedError) as a_err:
            if claude_stream:
                with _claude(ddb_gateway, org).messages.stream(model=CLAUDE, max_tokens=200, messages=_msg(text)) as s:
                    s.get_final_message()
            else:
                _claude(ddb_gateway, org).messages.create(model=CLAUDE, max_tokens=200, messages=_msg(text))
        assert a_err.value.status_code == 529
        assert a_err.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
        assert a_err.value.response.headers["retry-after"] == "1"
        assert a_err.value.response.headers.get("x-should-retry") != "false"
        with pytest.raises(openai.InternalServerError) as o_err:
            _oai(ddb_gateway, org).chat.completions.create(model=GPT, max_tokens=200, messages=_msg(text),  # type: ignore[arg-type]
                                                           stream=openai_stream)
        assert o_err.value.status_code == 503
        assert o_err.value.code == "overloaded" and o_err.value.type == "server_error"
        assert o_err.value.response.headers["retry-after"] == "1"
        assert fault.hits == 2 * 4  # each request spent the whole retry budget
    assert stack.reservations(org.org_id) == []
    assert stack.assert_conservation(org.org_id) == {"balance": org.topped_up, "billed": 0, "open_holds": 0}
    assert len(_sim_requests(ddb_gateway, text)) <= 2  # at most one upstream call per request, no replays


def test_hold_committed_but_reply_lost_is_not_refused_nor_held_twice(stack: Stack,
                                                                      ddb_gateway: dict[str, Any]) -> None:
    """The hold transaction commits, then DynamoDB answers 500: the retry must see its own reservation
    (it used to answer 409 "Idempotency-Key already accepted" and leave the hold to the sweeper)."""
    org = stack.new_org(1_000_000)
    reported = []
    for call, stream in ((_claude_call, False), (_openai_call, True)):
        with _fault(stack, "InternalServerError", "TransactWriteItems", f"ORG#{org.org_id}", HOLD_TX, times=1,
                    when="after") as fault:
            reported.append(call(ddb_gateway, org, "lost hold reply", stream=stream)[1])
            assert fault.hits == 1
    _billed_once(stack, org, reported)


# ---------------------------------------------------------------- the settle (UpdateItem)
def test_transient_fault_on_the_settle_is_retried_and_billed_once(stack: Stack, ddb_gateway: dict[str, Any]) -> None:
    org = stack.new_org(1_000_000)
    reported = []
    for code, call, stream in (("ThrottlingException", _claude_call, True), ("TransactionConflict", _openai_call, True),
                               ("InternalServerError", _claude_call, False)):
        rid, headers = _idempotent(org, "settle")
        with _fault(stack, code, "UpdateItem", rid, SETTLE, times=2) as fault:
            reported.append(call(ddb_gateway, org, "transient settle", stream=stream, headers=headers)[1])
            assert _hits(fault, 2) == 2
    _billed_once(stack, org, reported)


def test_settle_committed_but_reply_lost_bills_once(stack: Stack, ddb_gateway: dict[str, Any]) -> None:
    org = stack.new_org(1_000_000)
    rid, headers = _idempotent(org, "lost-settle")
    with _fault(stack, "InternalServerError", "UpdateItem", rid, SETTLE, times=1, when="after") as fault:
        credits = _openai_call(ddb_gateway, org, "lost settle reply", stream=False, headers=headers)[1]
        assert _hits(fault, 1) == 1
    [res] = _billed_once(stack, org, [credits])
    assert res["id"] == rid


def test_persistent_settle_fault_after_the_answer_leaves_it_to_the_sweeper(stack: Stack,
                                                                          ddb_gateway: dict[str, Any]) -> None:
    """The answer is complete when the settle fails for good: the client gets all of it (a clean end, no
    error event), the reservation stays HELD, and the sweeper expires it past its deadline at cost 0.

    Business outcome: the request is not billed (DESIGN.md principle 4 and pipeline step 8: the gateway
    failed to record its work, as if its function had died); the wallet is whole and conservation holds.
    """
    org = stack.new_org(1_000_000)
    cases = [(_claude_call, True, "ThrottlingException"), (_openai_call, True, "TransactionConflict"),
             (_claude_call, False, "ProvisionedThroughputExceededException")]
    armed: list[ArmedFault] = []
    rids = []
    with ExitStack() as faults:
        for call, stream, code in cases:
            rid, headers = _idempotent(org, "lost")
            armed.append(faults.enter_context(_fault(stack, code, "UpdateItem", rid, SETTLE)))
            rids.append(rid)
            text, credits = call(ddb_gateway, org, "settle never lands [[sim deltas=8]]", stream=stream,
                                 headers=headers)
            assert len(text) > 20 and credits > 0  # the whole answer, priced as usual
        assert all(_hits(fault, 4) == 4 for fault in armed)  # the full retry budget, then given up
        res = {r["id"]: r for r in stack.reservations(org.org_id)}
        assert {r["state"] for r in res.values()} == {"HELD"} and set(res) == set(rids)
        stack.assert_conservation(org.org_id)  # open holds count
    deadline = max(int(r["expires_at"]) for r in res.values())
    swept = _wait_released(stack, org, timeout=HOLD_DEADLINE + 15)
    assert all(r["state"] == "EXPIRED" and r["cost"] == 0 for r in swept), swept
    assert all(int(r["released_at"]) / 1000 <= deadline + 5 for r in swept)  # sweeper every 1 s, poller 0.1 s
    assert stack.assert_conservation(org.org_id) == {"balance": org.topped_up, "billed": 0, "open_holds": 0}
    assert all(stack.usage_row(org.org_id, rid)["credits"] == 0 for rid in rids)


# ---------------------------------------------------------------- the release (stream handler)
def test_release_failing_half_a_batch_reports_exactly_those_and_redelivery_releases_once(
        stack: Stack, ddb_gateway: dict[str, Any]) -> None:
    """Two of four releases refused by DynamoDB: the handler names exactly their records in
    batchItemFailures (the other two are already released and pass), and a redelivery once the fault
    is gone releases them exactly once. (A record delivered twice and out of order is
    tests/e2e/test_money.py::test_redelivered_stream_record_refunds_once.)"""
    org = stack.new_org(1_000_000)
    mark = stack.stream_mark()
    planned = [_idempotent(org, f"rel{i}") for i in range(4)]
    failing = {rid for rid, _ in planned[:2]}
    with ExitStack() as armed:
        faults = [armed.enter_context(_fault(stack, "ThrottlingException", "TransactWriteItems", rid, RELEASE_TX))
                  for rid in failing]
        reported = [_claude_call(ddb_gateway, org, "release me", stream=False, headers=h)[1] for _, h in planned]
        deadline = time.monotonic() + 15  # both pollers release the other two and keep failing on these
        while time.monotonic() < deadline:
            res = {r["id"]: r for r in stack.reservations(org.org_id)}
            if (len(res) == 4 and all(r.get("released") for i, r in res.items() if i not in failing)
                    and all(f.hits >= 1 for f in faults)):
                break
            time.sleep(0.1)
        assert all(not res[rid].get("released") and res[rid]["state"] == "SETTLED" for rid in failing), res
        records = stack.stream_records({rid for rid, _ in planned}, since=mark)
        out = release_handler({"Records": records}, None)
        expected = {r["dynamodb"]["SequenceNumber"] for r in records
                    if r["dynamodb"]["Keys"]["id"]["S"] in failing and r["eventName"] == "MODIFY"
                    and from_item(r["dynamodb"]["NewImage"])["state"] == "SETTLED"
                    and not from_item(r["dynamodb"]["NewImage"]).get("released")}
        assert len(expected) == 2
        assert {f["itemIdentifier"] for f in out["batchItemFailures"]} == expected
    redeliver = [r for r in records if r["dynamodb"]["SequenceNumber"] in expected]
    for _ in range(2):  # the redelivery (racing the pollers' own) and one more: refunded once
        assert release_handler({"Records": redeliver}, None) == {"batchItemFailures": []}
    _billed_once(stack, org, reported)
    rows = stack.ddb.query(TableName=stack.tables["USAGE_TABLE"], KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": f"ORG#{org.org_id}"}}, ConsistentRead=True)["Items"]
    assert sorted(from_item(r)["reservation_id"] for r in rows) == sorted(rid for rid, _ in planned)


def test_gateway_log_has_no_unhandled_errors(ddb_gateway: dict[str, Any]) -> None:
    """Every fault above ended in a handled outcome: no unhandled-error trace in the gateway's log."""
    text = Path(ddb_gateway["log_path"]).read_text()
    assert "unhandled error" not in text and "Traceback" not in text, text[-3000:]
    assert "left HELD for the sweeper" in text  # the persistent settle faults were logged as such
