"""Spend alerts over real HTTP: rules set by the master key, crossings from the release path, fired
exactly once per threshold and period (redelivered stream records included), delivered as an
HMAC-signed webhook (retried with backoff, every attempt logged) and as an email through SES."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from bytespike.alerts import webhook
from bytespike.release.handler import handler as release_handler
from tests.support.stack import Org, Stack
from tests.support.webhooks import Receiver, sent_emails, wait_emails

CLAUDE = "claude-haiku-5-5"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def spend(stack: Stack, key: str, words: int = 600) -> None:
    """One request that holds about 520 credits and bills about words x 0.65 on Claude Haiku 5.5."""
    stack.anthropic(key).messages.create(model=CLAUDE, max_tokens=1024, messages=[
        {"role": "user", "content": f"spend [[sim words={words}]] {secrets.token_hex(3)}"}])


def spend_until(stack: Stack, org: Org, key: str, level: float, limit: int = 40) -> None:
    """Spend until ``level`` of the wallet's funds are used (released, so the alert check has run)."""
    for _ in range(limit):
        stack.wait_all_released(org.org_id)
        wallet = stack.wallet(org.org_id)
        if wallet["balance"] <= wallet["funds"] * (1 - level):
            return
        spend(stack, key)
    raise AssertionError("the wallet never reached the level")


def events(stack: Stack, key: str) -> list[dict[str, Any]]:
    r = stack.admin("GET", "/v1/alerts/events", key)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def wait_events(stack: Stack, key: str, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = events(stack, key)
        if predicate(got):
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.2)


def test_rules_are_the_masters_and_the_signing_secret_is_shown_once(stack: Stack, receiver: Receiver) -> None:
    org = stack.create_org(1_000_000)
    member = stack.mint(org.master_key, member_id="m1")
    put = stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [80, 50, 80], "quota": [100],
                                                                  "webhook_url": receiver.url,
                                                                  "emails": ["ops@example.com"]})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["wallet"] == [50, 80] and body["quota"] == [100] and body["webhook_secret"].startswith("whsec_")
    got = stack.admin("GET", "/v1/alerts", org.master_key).json()
    assert "webhook_secret" not in got and got["webhook_secret_set"] is True and got["emails"] == ["ops@example.com"]
    # Saving again keeps the secret (not shown again); rotating shows a new one.
    again = stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [50], "webhook_url": receiver.url})
    assert "webhook_secret" not in again.json()
    rotated = stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [50], "webhook_url": receiver.url,
                                                                     "rotate_secret": True}).json()
    assert rotated["webhook_secret"] != body["webhook_secret"]
    # Members: 403 whatever the target; another org's master: 404 for this org.
    for method, path in (("GET", "/v1/alerts"), ("PUT", "/v1/alerts"), ("POST", "/v1/alerts/test"),
                         ("GET", "/v1/alerts/events")):
        r = stack.admin(method, path, member["secret"], json={} if method == "PUT" else None)
        assert r.status_code == 403, (path, r.text)
    other = stack.create_org(1_000)
    r = stack.admin("GET", "/v1/alerts", other.master_key, params={"org_id": org.org_id})
    assert r.status_code == 404
    # The operator names the org.
    assert stack.admin("GET", "/v1/alerts", stack.operator_key, params={"org_id": org.org_id}).json()["wallet"] == [50]


@pytest.mark.parametrize("url, why", [
    ("http://example.com/hook", "https"),
    ("https://169.254.169.254/latest/meta-data", "not a public"),
    ("https://10.0.0.8/hook", "not a public"),
    ("https://user:pw@example.com/hook", "credentials"),
    ("ftp://example.com/hook", "scheme"),
    ("https://[::ffff:192.168.0.1]/hook", "not a public"),
])
def test_webhook_urls_go_through_the_ssrf_guard(stack: Stack, url: str, why: str) -> None:
    org = stack.create_org(1_000)
    r = stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [50], "webhook_url": url})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("webhook_url:"), r.text
    assert why in r.json()["error"]["message"]


def test_a_test_alert_is_signed_retried_with_backoff_and_logged(stack: Stack) -> None:
    flaky = Receiver(fail_first=2).start()
    try:
        org = stack.create_org(1_000_000)
        secret = stack.admin("PUT", "/v1/alerts", org.master_key, json={
            "wallet": [80], "webhook_url": flaky.url, "emails": ["finance@example.com"]}).json()["webhook_secret"]
        sent = stack.admin("POST", "/v1/alerts/test", org.master_key)
        assert sent.status_code == 202, sent.text
        event_id = sent.json()["event_id"]
        deliveries = flaky.wait_for(lambda got: any(r.status == 200 for r in got))
        assert [r.status for r in deliveries] == [500, 500, 200]  # two failures, then delivered
        for r in deliveries:
            assert r.headers["bytespike-event-id"] == event_id  # one id for every attempt: receivers de-duplicate
            assert webhook.verify(secret, r.body, r.headers["bytespike-signature"])
            assert not webhook.verify("whsec_wrong", r.body, r.headers["bytespike-signature"])
        assert [int(r.headers["bytespike-delivery-attempt"]) for r in deliveries] == [1, 2, 3]
        assert deliveries[-1].json["type"] == "test" and deliveries[-1].json["org_id"] == org.org_id
        [event] = wait_events(stack, org.master_key, lambda ev: ev and ev[0]["status"] == "delivered")
        log = event["deliveries"]
        assert [(d["channel"], d["ok"]) for d in log if d["channel"] == "webhook"] == [
            ("webhook", False), ("webhook", False), ("webhook", True)]
        assert [d["status"] for d in log if d["channel"] == "webhook"] == [500, 500, 200]
        assert any(d["channel"] == "email" and d["ok"] for d in log)
        [mail] = wait_emails(stack.dynamodb_url, lambda m: org.org_id in m["subject"])
        assert mail["destinations"]["ToAddresses"] == ["finance@example.com"] and "test alert" in mail["subject"]
    finally:
        flaky.stop()


def test_a_receiver_that_stays_down_is_retried_on_the_schedule_then_marked_failed(stack: Stack) -> None:
    down = Receiver(fail_first=1_000).start()
    try:
        org = stack.create_org(1_000_000)
        stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [80], "webhook_url": down.url})
        stack.admin("POST", "/v1/alerts/test", org.master_key)
        # The test stack's schedule: 3 attempts per round, rounds 1, 2 and 4 s apart (ALERTS_RETRY_*).
        [event] = wait_events(stack, org.master_key, lambda ev: ev and ev[0]["status"] == "failed", timeout=60)
        assert event["attempts"] == 4 and len(event["deliveries"]) == 12 and len(down.received) == 12
        assert all(not d["ok"] and d["status"] == 500 for d in event["deliveries"])
    finally:
        down.stop()


def test_wallet_crossings_fire_exactly_once_per_threshold_and_period(stack: Stack, receiver: Receiver) -> None:
    org = stack.create_org(5_000)
    mark = stack.stream_mark()
    put = stack.admin("PUT", "/v1/alerts", org.master_key, json={
        "wallet": [50, 80], "webhook_url": receiver.url, "emails": ["ops@example.com"]}).json()
    spend_until(stack, org, org.master_key, 0.8)
    got = receiver.wait_for(lambda r: {x.json.get("threshold_percent") for x in r} >= {50, 80})
    by_threshold = sorted(x.json["threshold_percent"] for x in got)
    assert by_threshold == [50, 80], by_threshold  # each once, though many releases saw the level past it
    for x in got:
        assert webhook.verify(put["webhook_secret"], x.body, x.headers["bytespike-signature"])
        assert x.json["type"] == "wallet.threshold" and x.json["wallet"]["funds"] == 5_000
    # Redelivered stream records (Lambda retries, a bisected batch) fire nothing again.
    ids = {r["id"] for r in stack.reservations(org.org_id)}
    records = stack.stream_records(ids, since=mark)
    assert records
    release_handler({"Records": records}, None)
    release_handler({"Records": records}, None)
    spend(stack, org.master_key, words=10)  # and so does the next release past the same thresholds
    stack.wait_all_released(org.org_id)
    import time

    time.sleep(1.5)
    assert sorted(x.json["threshold_percent"] for x in receiver.received) == [50, 80]
    assert len([e for e in events(stack, org.master_key) if e["scope"] == "wallet"]) == 2
    mails = wait_emails(stack.dynamodb_url, lambda m: org.org_id in m["subject"] and "80%" in m["subject"])
    assert len(mails) == 1 and "credits left" in mails[0]["subject"]
    # A top-up starts a new period: the same thresholds can fire again.
    r = stack.admin("POST", f"/v1/orgs/{org.org_id}/topups", stack.operator_key,
                    json={"amount": 5_000, "topup_id": "again"})
    assert r.status_code == 201
    wallet = stack.wallet(org.org_id)
    assert wallet["fundings"] == 2 and wallet["funds"] == wallet["balance"]
    spend_until(stack, org, org.master_key, 0.5)
    receiver.wait_for(lambda r: len(r) == 3)
    assert receiver.received[-1].json["threshold_percent"] == 50
    assert receiver.received[-1].json["period"] == "topup-2"
    stack.assert_conservation(org.org_id)


def test_member_quota_crossings_fire_per_member(stack: Stack, receiver: Receiver) -> None:
    org = stack.create_org(10_000_000)
    alice = stack.mint(org.master_key, member_id="alice", quota=2_000, quota_period="day")
    stack.mint(org.master_key, member_id="bob", quota=2_000, quota_period="day")
    stack.admin("PUT", "/v1/alerts", org.master_key, json={"quota": [50, 100], "webhook_url": receiver.url})
    for _ in range(3):
        spend(stack, alice["secret"])
    stack.wait_all_released(org.org_id)
    got = receiver.wait_for(lambda r: any(x.json.get("threshold_percent") == 50 for x in r))
    quota_events = [x.json for x in got if x.json["type"] == "quota.threshold"]
    assert {q["quota"]["member_id"] for q in quota_events} == {"alice"}  # bob spent nothing
    first = next(q for q in quota_events if q["threshold_percent"] == 50)
    assert first["quota"]["limit"] == 2_000 and first["level_percent"] >= 50
    # 100 %: alice cannot pay for another request like hers; the next one is refused (402).
    with pytest.raises(Exception) as refused:
        for _ in range(10):
            spend(stack, alice["secret"])
    assert "402" in str(refused.value) or "quota" in str(refused.value).lower()
    stack.wait_all_released(org.org_id)
    receiver.wait_for(lambda r: any(x.json.get("threshold_percent") == 100 for x in r))
    assert sorted(x.json["threshold_percent"] for x in receiver.received) == [50, 100]


def test_webhook_delivery_refuses_non_public_addresses_without_the_local_allowance(monkeypatch: Any) -> None:
    """At delivery the host is resolved and checked (DNS rebinding): without the local stack's flag,
    loopback is refused like any private address; the flag is ignored on Lambda."""
    import asyncio

    monkeypatch.delenv(webhook.ALLOW_LOOPBACK_ENV, raising=False)
    out = asyncio.run(webhook.send("https://localhost:9/hook", "whsec_x", "evt_1", b"{}", 1))
    assert not out.ok and "refused" in out.error
    monkeypatch.setenv(webhook.ALLOW_LOOPBACK_ENV, "1")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "alerts")
    assert webhook.loopback_allowed() is False
    out = asyncio.run(webhook.send("http://127.0.0.1:9/hook", "whsec_x", "evt_1", b"{}", 1))
    assert not out.ok and "https" in out.error
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert webhook.loopback_allowed() is True


def test_no_deployed_function_may_post_webhooks_to_loopback() -> None:
    from bytespike.local.template import load_template

    text = json.dumps(load_template())
    assert webhook.ALLOW_LOOPBACK_ENV not in text and "BYTESPIKE_FETCH_ALLOW_PRIVATE" not in text


def test_every_email_address_the_rules_name_is_checked(stack: Stack) -> None:
    org = stack.create_org(1_000)
    r = stack.admin("PUT", "/v1/alerts", org.master_key, json={"wallet": [50], "emails": ["not an email"]})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("emails:")
    assert sent_emails(stack.dynamodb_url) is not None
