"""The Alerts table: one rules item per org and one event item per crossing (with its delivery log).

``pk = ORG#<org>``; ``sk = CONFIG`` (the rules) or ``EVENT#<scope>#<period>#<threshold>`` (a
crossing; the key itself is the idempotency key, so a crossing fires once). Events waiting for a
retry carry ``retry_shard`` and ``next_attempt_at`` (the sparse index ``retry-by-time``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bytespike.config import settings
from bytespike.store.dynamo import from_item, s, to_item

EVENT_TTL_DAYS = 400  # longer than any period an event key names (months; a wallet's top-up period may be long)
CONFIG_SK = "CONFIG"
RETRY_SHARD = "R"


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


@dataclass(frozen=True, slots=True)
class Rules:
    """What an org asked to be told about, and where to."""

    org_id: str
    wallet: tuple[int, ...] = ()  # percent of the funds its last top-up left the wallet with
    quota: tuple[int, ...] = ()  # percent of each member's quota in its period
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    emails: tuple[str, ...] = ()
    updated_at: int = 0

    @property
    def empty(self) -> bool:
        return not (self.wallet or self.quota) or not (self.webhook_url or self.emails)

    def view(self) -> dict[str, Any]:
        """What the API shows: everything but the signing secret (shown once, when it is made)."""
        return {"org_id": self.org_id, "wallet": list(self.wallet), "quota": list(self.quota),
                "webhook_url": self.webhook_url, "webhook_secret_set": bool(self.webhook_secret),
                "emails": list(self.emails), "updated_at": self.updated_at or None}

    @staticmethod
    def from_item(d: dict[str, Any]) -> Rules:
        return Rules(org_id=d["org_id"], wallet=tuple(int(x) for x in d.get("wallet") or ()),
                     quota=tuple(int(x) for x in d.get("quota") or ()), webhook_url=d.get("webhook_url"),
                     webhook_secret=d.get("webhook_secret"), emails=tuple(d.get("emails") or ()),
                     updated_at=int(d.get("updated_at") or 0))


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def get_rules(client: Any, org_id: str) -> Rules | None:
    item = client.get_item(TableName=settings().alerts_table, Key={"pk": s(org_pk(org_id)), "sk": s(CONFIG_SK)},
                           ConsistentRead=True).get("Item")
    return Rules.from_item(from_item(item)) if item else None


def put_rules(client: Any, rules: Rules) -> None:
    client.put_item(TableName=settings().alerts_table, Item=to_item({
        "pk": org_pk(rules.org_id), "sk": CONFIG_SK, "kind": "config", "org_id": rules.org_id,
        "wallet": list(rules.wallet), "quota": list(rules.quota), "webhook_url": rules.webhook_url,
        "webhook_secret": rules.webhook_secret, "emails": list(rules.emails), "updated_at": rules.updated_at}))


def event_id(org_id: str, key: str) -> str:
    """The id receivers de-duplicate on: the same crossing always has the same id."""
    return "evt_" + hashlib.sha256(f"{org_id}\n{key}".encode()).hexdigest()[:24]


def put_event(client: Any, org_id: str, key: str, body: dict[str, Any], now: float | None = None) -> bool:
    """The crossing ``key`` happened: True if this call recorded it (and so fires it), False if it was
    already recorded - by another release, batch or redelivered record."""
    now = time.time() if now is None else now
    item = {"pk": org_pk(org_id), "sk": f"EVENT#{key}", "kind": "event", "org_id": org_id, "key": key,
            "event_id": event_id(org_id, key), "fired_at": int(now * 1000), "status": "pending", "attempts": 0,
            "deliveries": [], "ttl": int(now) + EVENT_TTL_DAYS * 86400, **body}
    try:
        client.put_item(TableName=settings().alerts_table, Item=to_item(item),
                        ConditionExpression="attribute_not_exists(pk)")
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise


def list_events(client: Any, org_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The org's events, newest first (a few per threshold and period: one query reads them all)."""
    kwargs: dict[str, Any] = {"TableName": settings().alerts_table, "KeyConditionExpression": "pk = :p AND begins_with(sk, :e)",
                              "ExpressionAttributeValues": {":p": s(org_pk(org_id)), ":e": s("EVENT#")},
                              "ConsistentRead": True}
    out: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        out.extend(from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.sort(key=lambda e: e.get("fired_at", 0), reverse=True)
    return out[:limit]


def event_view(e: dict[str, Any]) -> dict[str, Any]:
    """An event as the API shows it: what crossed, and every delivery attempt."""
    hidden = {"pk", "sk", "kind", "ttl", "retry_shard", "lease_until"}
    return {k: v for k, v in e.items() if k not in hidden}
