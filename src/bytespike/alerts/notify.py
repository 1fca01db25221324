"""The notifier: delivers each alert event to the org's webhook and email addresses.

Invoked by the Alerts stream (the INSERT of an event) and by a schedule every minute (retries
that are due). An event is **leased** before delivery (a conditional update), so a redelivered
stream record and a scheduled retry never deliver it twice at once; channels already delivered
are not sent again. Within one invocation each channel is tried up to three times
(``ALERTS_RETRY_DELAYS``, default 1 s then 4 s apart); what still fails waits for the schedule,
at growing intervals (``ALERTS_RETRY_SCHEDULE``, default 1 min, 5 min, 30 min, 2 h, 6 h), after
which the event is marked failed. Every attempt is appended to the event's delivery log
(channel, target, attempt, time, status, error, duration), which the API and the console show.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bytespike.alerts import email, store, webhook
from bytespike.config import settings
from bytespike.store.dynamo import from_item, n, s, sync_client, to_item

log = logging.getLogger("bytespike.alerts")
LEASE_SECONDS = 120
_client: Any = None


def _dynamo() -> Any:
    global _client
    if _client is None:
        _client = sync_client()
    return _client


def _floats(name: str, default: str) -> list[float]:
    return [float(x) for x in (os.environ.get(name) or default).split(",") if x.strip()]


def retry_delays() -> list[float]:
    """Pauses between the attempts one invocation makes per channel."""
    return _floats("ALERTS_RETRY_DELAYS", "1,4")


def retry_schedule() -> list[float]:
    """Seconds until the next round of attempts, after each failed round."""
    return _floats("ALERTS_RETRY_SCHEDULE", "60,300,1800,7200,21600")


# ------------------------------------------------------------------ what is sent
def payload(event: dict[str, Any]) -> dict[str, Any]:
    """The webhook body: what crossed, where it stands, and the ids to de-duplicate on."""
    body: dict[str, Any] = {
        "id": event["event_id"],
        "type": event.get("type", "test"),
        "org_id": event["org_id"],
        "created_at": _iso(int(event.get("fired_at") or 0)),
        "threshold_percent": event.get("threshold"),
        "level_percent": round(int(event.get("level_bp") or 0) / 100, 2) if "level_bp" in event else None,
        "period": event.get("period"),
    }
    if event.get("scope") == "wallet":
        body["wallet"] = {"balance": event.get("balance"), "funds": event.get("funds")}
    elif event.get("scope") == "quota":
        body["quota"] = {"member_id": event.get("member_id"), "used": event.get("used"), "limit": event.get("quota")}
    return body


def message(event: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of the email."""
    org, scope, t = event["org_id"], event.get("scope"), event.get("threshold")
    level = int(event.get("level_bp") or 0) / 100
    if scope == "wallet":
        left = int(event.get("balance") or 0)
        subject = f"[ByteSpike] {org}: wallet at {t}% ({left:,} credits left)"
        text = (f"The wallet of org {org} has used {level:.1f}% of the {int(event.get('funds') or 0):,} credits its "
                f"last top-up left it with; {left:,} credits (${left / 1e6:,.2f}) remain.\n"
                f"This alert fires once per threshold until the next top-up.\n")
    elif scope == "quota":
        member, used, quota = event.get("member_id"), int(event.get("used") or 0), int(event.get("quota") or 0)
        subject = f"[ByteSpike] {org}: {member}'s quota at {t}% ({used:,} of {quota:,} credits)"
        text = (f"Member {member} of org {org} has used {used:,} of its {quota:,}-credit quota for {event.get('period')} "
                f"({level:.1f}%).\nThis alert fires once per threshold and period.\n")
    else:
        subject = f"[ByteSpike] {org}: test alert"
        text = f"A test alert for org {org}: webhook and email delivery work.\n"
    return subject, text + f"\nEvent {event['event_id']} at {_iso(int(event.get('fired_at') or 0))}.\n"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ------------------------------------------------------------------ delivery
def _lease(client: Any, org_id: str, key: str, now: float) -> dict[str, Any] | None:
    """The event, leased to this invocation; None when another one holds it or it is finished."""
    try:
        resp = client.update_item(
            TableName=settings().alerts_table, Key={"pk": s(store.org_pk(org_id)), "sk": s(f"EVENT#{key}")},
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="attribute_exists(pk) AND #st IN (:p, :r) AND "
                                "(attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":until": n(int(now) + LEASE_SECONDS), ":now": n(int(now)),
                                       ":p": s("pending"), ":r": s("retrying")},
            ReturnValues="ALL_NEW")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return from_item(resp["Attributes"])


async def _attempts(channel: str, target: str, first: int, send: Any) -> tuple[bool, list[dict[str, Any]]]:
    """Up to 1 + len(retry_delays()) attempts of ``send(attempt)`` -> (ok, status, error, ms)."""
    log_entries: list[dict[str, Any]] = []
    for i, pause in enumerate([0.0, *retry_delays()]):
        if pause:
            await asyncio.sleep(pause)
        ok, status, error, ms = await send(first + i)
        log_entries.append({"at": int(time.time() * 1000), "channel": channel, "target": target,
                            "attempt": first + i, "ok": ok, "status": status, "error": error[:300], "ms": ms})
        if ok:
            return True, log_entries
    return False, log_entries


async def _deliver(event: dict[str, Any], rules: store.Rules | None) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Try every channel not yet delivered; (channel states, new log entries)."""
    channels: dict[str, str] = dict(event.get("channels") or {})
    past = event.get("deliveries") or []
    tried = {c: sum(1 for d in past if d.get("channel") == c) for c in ("webhook", "email")}  # attempts per channel
    entries: list[dict[str, Any]] = []
    body = json.dumps(payload(event), separators=(",", ":")).encode()
    if rules is not None and rules.webhook_url and rules.webhook_secret and channels.get("webhook") != "delivered":
        url, secret = rules.webhook_url, rules.webhook_secret

        async def post(attempt: int) -> tuple[bool, int | None, str, int]:
            out = await webhook.send(url, secret, event["event_id"], body, attempt)
            return out.ok, out.status, out.error, out.ms

        ok, log_entries = await _attempts("webhook", url, tried["webhook"] + 1, post)
        channels["webhook"] = "delivered" if ok else "failing"
        entries += log_entries
    if rules is not None and rules.emails and channels.get("email") != "delivered":
        subject, text = message(event)
        to = list(rules.emails)

        async def mail(attempt: int) -> tuple[bool, int | None, str, int]:
            started = time.monotonic()
            try:
                message_id = await asyncio.to_thread(email.send, to, subject, text)
                return True, 200, f"message {message_id}", int((time.monotonic() - started) * 1000)
            except Exception as exc:  # SES throttling, an unverified sender, the network
                return False, None, f"{type(exc).__name__}: {str(exc)[:200]}", int((time.monotonic() - started) * 1000)

        ok, log_entries = await _attempts("email", ", ".join(to), tried["email"] + 1, mail)
        channels["email"] = "delivered" if ok else "failing"
        entries += log_entries
    return channels, entries


def deliver(client: Any, org_id: str, key: str, now: float | None = None) -> str | None:
    """Deliver one event (if this invocation gets its lease); its status afterwards, or None if skipped."""
    now = time.time() if now is None else now
    event = _lease(client, org_id, key, now)
    if event is None:
        return None
    rules = store.get_rules(client, org_id)
    channels, entries = asyncio.run(_deliver(event, rules))
    rounds = int(event.get("attempts") or 0) + 1
    schedule = retry_schedule()
    if all(v == "delivered" for v in channels.values()):
        status = "delivered"
    elif rounds > len(schedule):
        status = "failed"
    else:
        status = "retrying"
    names = {"#st": "status"}
    values: dict[str, Any] = {":st": s(status), ":rounds": n(rounds), ":log": {"L": [{"M": to_item(e)} for e in entries]},
                              ":ch": {"M": to_item(channels)}}
    update = "SET #st = :st, attempts = :rounds, deliveries = list_append(deliveries, :log), channels = :ch"
    if status == "retrying":
        update += ", retry_shard = :shard, next_attempt_at = :next REMOVE lease_until"
        values |= {":shard": s(store.RETRY_SHARD), ":next": n(int(time.time() + schedule[rounds - 1]))}
    else:
        update += " REMOVE lease_until, retry_shard, next_attempt_at"
    client.update_item(TableName=settings().alerts_table, Key={"pk": s(store.org_pk(org_id)), "sk": s(f"EVENT#{key}")},
                       UpdateExpression=update, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    log.info("alert %s for %s: %s after round %d", key, org_id, status, rounds)
    return status


def retry_due(client: Any | None = None, now: float | None = None) -> int:
    """Deliver every event whose next retry is due (the schedule's job); how many were tried."""
    client = client or _dynamo()
    now = time.time() if now is None else now
    kwargs: dict[str, Any] = {"TableName": settings().alerts_table, "IndexName": "retry-by-time",
                              "KeyConditionExpression": "retry_shard = :r AND next_attempt_at <= :now",
                              "ExpressionAttributeValues": {":r": s(store.RETRY_SHARD), ":now": n(int(now))}}
    tried = 0
    while True:
        page = client.query(**kwargs)
        for raw in page.get("Items", []):
            item = from_item(raw)  # the index holds keys only: the org and the event key are in them
            org_id, key = item["pk"][len("ORG#"):], item["sk"][len("EVENT#"):]
            if deliver(client, org_id, key, now) is not None:
                tried += 1
        if "LastEvaluatedKey" not in page:
            return tried
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stream records (an event's INSERT) or the schedule (no records): deliver what is due."""
    client = _dynamo()
    records = event.get("Records")
    if records is None:
        return {"retried": retry_due(client)}
    failures: list[dict[str, str]] = []
    for record in records:
        new = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not new or new.get("kind", {}).get("S") != "event":
            continue  # rules, and the notifier's own updates, are not deliveries
        item = from_item(new)
        try:
            deliver(client, item["org_id"], item["key"])
        except Exception:
            log.exception("delivery of %s failed; the stream retries it", item.get("key"))
            failures.append({"itemIdentifier": record["dynamodb"].get("SequenceNumber", "")})
    return {"batchItemFailures": failures}
