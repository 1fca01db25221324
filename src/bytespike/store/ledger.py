"""Wallets, member quotas and reservations: every balance change is a conditional write.

Money flow (DESIGN.md): hold (one TransactWriteItems) -> settle (one conditional
update) -> release (the stream handler: one transaction, exactly once) -> sweeper for
holds whose function died. Invariant, per org:
``topped_up = balance + Σ cost(released) + Σ hold(not released)``.

Quotas are counters of the same kind: the hold adds its amount to the counter of every
limited key on the way up (the key's own member counter, and its master's when the master
is limited: a master's quota covers its sub-keys), each conditional on staying within its
limit, in the same transaction as the wallet; the release takes ``hold - cost`` back off
each. So for every counter: ``used = Σ hold(not released) + Σ cost(released)`` of the
reservations that charged it in that period.

Concurrency slots (``max_concurrency`` on a key, and on its master: a master's cap covers its
sub-keys) are counters too: the hold adds 1 to ``SLOTS#<key_id>`` conditional on staying under
the cap, in the same transaction, and whatever moves the reservation out of HELD - the settle
(SETTLED or FAILED) or the sweeper's expiry at the deadline - takes the 1 back in the same
transaction as that state change, which happens exactly once. So for every slot counter:
``inflight = |{reservations in HELD that took a slot of it}|``; a crashed function's slot comes
back when the sweeper expires its hold, never later than the hold deadline.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.store.dynamo import CALLS, cancellation_codes, dynamo, from_item, n, s, to_item

log = logging.getLogger("bytespike.ledger")

HELD, SETTLED, FAILED, EXPIRED = "HELD", "SETTLED", "FAILED", "EXPIRED"
FINAL_STATES = (SETTLED, FAILED, EXPIRED)


def wallet_key(org_id: str) -> dict[str, Any]:
    return {"pk": s(f"ORG#{org_id}"), "sk": s("WALLET")}


def period_label(period: str, now: float | None = None) -> str:
    """Calendar periods in UTC: quotas roll over at midnight / the first of the month."""
    dt = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return dt.strftime("%Y-%m-%d") if period == "day" else dt.strftime("%Y-%m")


def member_key(org_id: str, member_id: str, period: str) -> dict[str, Any]:
    return {"pk": s(f"ORG#{org_id}"), "sk": s(f"MEMBER#{member_id}#{period}")}


def slot_key(org_id: str, key_id: str) -> dict[str, Any]:
    return {"pk": s(f"ORG#{org_id}"), "sk": s(f"SLOTS#{key_id}")}


def shard_of(reservation_id: str, shards: int) -> str:
    return f"S{int(hashlib.blake2s(reservation_id.encode(), digest_size=2).hexdigest(), 16) % shards}"


@dataclass(frozen=True, slots=True)
class QuotaCharge:
    """One quota counter a hold adds to: ``MEMBER#<member_id>#<period>`` limited to ``limit``."""

    member_id: str
    limit: int
    period: str  # period label, e.g. "2026-11-26"
    owner: str = "key"  # who set the limit, for the refusal's wording ("key", "master key")


@dataclass(frozen=True, slots=True)
class SlotCharge:
    """One concurrency counter a hold takes a slot of: ``SLOTS#<key_id>``, at most ``limit`` in flight."""

    key_id: str
    limit: int
    owner: str = "key"  # whose cap it is, for the refusal's wording ("key", "master key")


@dataclass(frozen=True, slots=True)
class Hold:
    reservation_id: str
    request_id: str
    org_id: str
    key_id: str
    member_id: str
    model: str
    provider: str
    surface: str
    amount: int
    quotas: tuple[QuotaCharge, ...] = ()
    modality: str = "chat"
    session_id: str | None = None  # the client's session (X-Claude-Code-Session-Id): cost per coding session
    slots: tuple[SlotCharge, ...] = ()

    @property
    def counters(self) -> list[QuotaCharge]:
        """The distinct counters charged (a counter named twice keeps the tighter limit)."""
        merged: dict[tuple[str, str], QuotaCharge] = {}
        for q in self.quotas:
            seen = merged.get((q.member_id, q.period))
            if seen is None or q.limit < seen.limit:
                merged[(q.member_id, q.period)] = q
        return list(merged.values())

    @property
    def slot_counters(self) -> list[SlotCharge]:
        """The distinct slot counters taken (a key named twice keeps the tighter cap)."""
        merged: dict[str, SlotCharge] = {}
        for c in self.slots:
            if c.key_id not in merged or c.limit < merged[c.key_id].limit:
                merged[c.key_id] = c
        return list(merged.values())


def _hold_items(h: Hold, now: float, token: str | None = None) -> list[dict[str, Any]]:
    """The hold transaction; ``token`` marks the reservation as this attempt's (see :func:`place_hold`)."""
    cfg = settings()
    counters, slots = h.counters, h.slot_counters
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": cfg.accounts_table,
                "Key": wallet_key(h.org_id),
                "UpdateExpression": "SET balance = balance - :h",
                "ConditionExpression": "balance >= :h",
                "ExpressionAttributeValues": {":h": n(h.amount)},
                # A refusal returns the wallet: the balance this process then knows (gateway/budget.py).
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Put": {
                "TableName": cfg.reservations_table,
                "Item": to_item(
                    {
                        "id": h.reservation_id,
                        "request_id": h.request_id,
                        "org_id": h.org_id,
                        "key_id": h.key_id,
                        "member_id": h.member_id,
                        "model": h.model,
                        "provider": h.provider,
                        "surface": h.surface,
                        "modality": h.modality,
                        "hold": h.amount,
                        "state": HELD,
                        "created_at": int(now * 1000),
                        "expires_at": int(now) + cfg.hold_deadline_seconds,
                        "open_shard": shard_of(h.reservation_id, cfg.reservation_shards),
                        "quota_counters": [[q.member_id, q.period] for q in counters] or None,
                        "slot_counters": [c.key_id for c in slots] or None,
                        "hold_token": token,
                        "session_id": h.session_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(id)",
            }
        },
    ]
    items.extend(
        {
            "Update": {
                "TableName": cfg.accounts_table,
                "Key": member_key(h.org_id, q.member_id, q.period),
                "UpdateExpression": "SET used = if_not_exists(used, :zero) + :h, quota = :q",
                "ConditionExpression": "attribute_not_exists(used) OR used <= :limit",
                "ExpressionAttributeValues": {
                    ":h": n(h.amount),
                    ":zero": n(0),
                    ":q": n(q.limit),
                    ":limit": n(q.limit - h.amount),
                },
            }
        }
        for q in counters
    )
    items.extend(
        {
            "Update": {
                "TableName": cfg.accounts_table,
                "Key": slot_key(h.org_id, c.key_id),
                "UpdateExpression": "SET inflight = if_not_exists(inflight, :zero) + :one, max_concurrency = :cap",
                "ConditionExpression": "attribute_not_exists(inflight) OR inflight < :cap",
                "ExpressionAttributeValues": {":zero": n(0), ":one": n(1), ":cap": n(c.limit)},
            }
        }
        for c in slots
    )
    return items


class ConcurrencyLimited(GatewayError):
    """429: every slot of a key's concurrency cap is taken; nothing was held."""

    def __init__(self, slot: SlotCharge) -> None:
        whose = "This key is" if slot.owner == "key" else f"This key's {slot.owner} (its cap covers its sub-keys) is"
        super().__init__(Kind.RATE_LIMIT, f"{whose} limited to {slot.limit} concurrent requests, and {slot.limit} "
                                          "are in flight; retry when one finishes.", retry_after="1")
        self.slot = slot


class InsufficientCredit(GatewayError):
    """402: the wallet cannot cover the hold; ``balance`` is the wallet as the refusal saw it."""

    def __init__(self, amount: int, balance: int | None) -> None:
        super().__init__(Kind.BILLING, f"Insufficient credit: this request needs a hold of {amount} credits. "
                                       "Top up the wallet or lower max_tokens.")
        self.balance = balance


async def place_hold(h: Hold) -> None:
    """Reserve ``h.amount`` credits atomically, or raise billing/conflict. Nothing is held on failure."""
    for q in h.counters:
        if h.amount > q.limit:
            raise GatewayError(Kind.BILLING, f"This request may cost up to {h.amount} credits, more than the {q.owner}'s "
                                             f"quota of {q.limit} per period.")
    # One token per hold: DynamoDB makes a replayed TransactWriteItems with the same ClientRequestToken a
    # no-op success for 10 minutes, so a retry of a transaction that committed but whose reply was lost
    # (a 500, a dropped connection) does not fail on its own Put. moto ignores the token, and the window
    # can pass, so the reservation carries it too and a ConditionalCheckFailed on the Put is checked
    # against it (issue #10: such a retry used to answer 409 and leave the hold to the sweeper).
    token = secrets.token_hex(16)
    try:
        await dynamo().call("transact_write_items", TransactItems=_hold_items(h, time.time(), token),
                            ClientRequestToken=token)
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed" and await _is_our_hold(h, token):
            return
        raise _hold_error(exc, h) from exc


async def _is_our_hold(h: Hold, token: str) -> bool:
    """The reservation exists: did an earlier attempt of this very hold commit it?"""
    existing = await get_reservation(h.reservation_id)
    if existing is not None and existing.get("hold_token") == token:
        log.warning("hold %s: an earlier attempt had committed (reply lost); not held twice", h.reservation_id)
        return True
    return False


def _hold_error(exc: ClientError, h: Hold) -> Exception:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return exc
    codes = cancellation_codes(exc)
    if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
        return GatewayError(
            Kind.CONFLICT,
            f"A request with this Idempotency-Key was already accepted ({h.reservation_id}); it is never held or billed twice.",
        )
    if codes and codes[0] == "ConditionalCheckFailed":
        wallet = (exc.response.get("CancellationReasons") or [{}])[0].get("Item") or {}
        balance = wallet.get("balance", {}).get("N")
        return InsufficientCredit(h.amount, int(balance) if balance is not None else None)
    counters = h.counters
    for q, code in zip(counters, codes[2:], strict=False):
        if code == "ConditionalCheckFailed":
            whose = "key's" if q.owner == "key" else f"{q.owner}'s (it covers its sub-keys)"
            return GatewayError(Kind.BILLING, f"The {whose} credit quota for this period is used up.")
    for slot, code in zip(h.slot_counters, codes[2 + len(counters):], strict=False):
        if code == "ConditionalCheckFailed":
            return ConcurrencyLimited(slot)
    return exc


def _free_slots(org_id: str, key_ids: list[str]) -> list[dict[str, Any]]:
    """The slot give-backs that go with a reservation's one move out of HELD (settle or expiry)."""
    return [{"Update": {"TableName": settings().accounts_table, "Key": slot_key(org_id, k),
                        "UpdateExpression": "SET inflight = inflight - :one",
                        "ExpressionAttributeValues": {":one": n(1)}}} for k in key_ids]


async def settle(reservation_id: str, *, cost: int, usage: dict[str, Any], status: str, detail: str = "",
                 slots: tuple[str, ...] | None = None, org_id: str = "") -> bool:
    """HELD -> SETTLED (cost) or FAILED (0). False if the hold was already expired by the sweeper.

    ``slots``: the key ids whose concurrency slots the hold took (``org_id`` names their org); their
    slots come back in the same transaction. ``None`` means unknown: the reservation is read first
    (the video poller, off the request path).

    Raises (``GatewayError`` overloaded after the retries, or the store's error) when the update could
    not be made: the reservation then stays HELD and the sweeper expires it at cost 0.
    """
    if slots is None:
        held = await get_reservation(reservation_id)
        slots, org_id = tuple((held or {}).get("slot_counters") or ()), (held or {}).get("org_id", "")
    state = SETTLED if status == "ok" else FAILED
    settled_at = int(time.time() * 1000)  # also this settle's mark: a retry can recognise its own commit
    update = {
        "TableName": settings().reservations_table,
        "Key": {"id": s(reservation_id)},
        "UpdateExpression": "SET #st = :st, cost = :c, #u = :u, settled_at = :t, outcome = :o",
        "ConditionExpression": "#st = :held AND #hold >= :c",
        "ExpressionAttributeNames": {"#st": "state", "#u": "usage", "#hold": "hold"},
        "ExpressionAttributeValues": {
            ":st": s(state),
            ":c": n(cost),
            ":u": {"M": to_item(usage)},
            ":t": n(settled_at),
            ":o": s(detail or status),
            ":held": s(HELD),
        },
    }
    try:
        if slots:
            token = hashlib.sha256(f"{reservation_id}\n{settled_at}".encode()).hexdigest()[:36]
            await dynamo().call("transact_write_items", TransactItems=[{"Update": update},
                                                                       *_free_slots(org_id, list(slots))],
                                ClientRequestToken=token)
        else:
            await dynamo().call("update_item", **update)
        return True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException" or cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            # Not HELD any more: expired by the sweeper, or an earlier attempt of this call committed and
            # its reply was lost (issue #10) - then the stored state is exactly ours.
            current = await get_reservation(reservation_id)
            return bool(current and current.get("state") == state and current.get("settled_at") == settled_at
                        and int(current.get("cost") or 0) == cost)
        raise


async def read_balance(org_id: str) -> int | None:
    """The wallet's balance, eventually consistent (half a read unit): a hint, never a decision."""
    resp = await dynamo().call("get_item", TableName=settings().accounts_table, Key=wallet_key(org_id),
                               ProjectionExpression="balance")
    item = resp.get("Item")
    return int(item["balance"]["N"]) if item and "balance" in item else None


async def get_reservation(reservation_id: str) -> dict[str, Any] | None:
    resp = await dynamo().call(
        "get_item", TableName=settings().reservations_table, Key={"id": s(reservation_id)}, ConsistentRead=True
    )
    item = resp.get("Item")
    return from_item(item) if item else None


# ------------------------------------------------------------------ release (sync: event handlers)
def release(client: Any, res: dict[str, Any], now: float | None = None) -> bool:
    """Refund ``hold - cost`` and write the ledger entry, exactly once.

    Returns False when the reservation was already released (a redelivered record).
    Raises on transient errors so the batch processor retries only this record.
    """
    cfg = settings()
    now = time.time() if now is None else now
    hold, cost = int(res["hold"]), int(res.get("cost") or 0)
    refund = hold - cost
    org = res["org_id"]
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": cfg.reservations_table,
                "Key": {"id": s(res["id"])},
                "UpdateExpression": "SET released = :true, released_at = :t, #ttl = :ttl REMOVE open_shard",
                "ConditionExpression": "#st IN (:a, :b, :c) AND attribute_not_exists(released)",
                "ExpressionAttributeNames": {"#st": "state", "#ttl": "ttl"},
                "ExpressionAttributeValues": {
                    ":true": {"BOOL": True},
                    ":t": n(int(now * 1000)),
                    ":ttl": n(int(now) + cfg.released_retention_days * 86400),
                    ":a": s(SETTLED),
                    ":b": s(FAILED),
                    ":c": s(EXPIRED),
                },
            }
        }
    ]
    if refund > 0:
        items.append(
            {
                "Update": {
                    "TableName": cfg.accounts_table,
                    "Key": wallet_key(org),
                    "UpdateExpression": "SET balance = balance + :r",
                    "ExpressionAttributeValues": {":r": n(refund)},
                }
            }
        )
        items.extend(
            {
                "Update": {
                    "TableName": cfg.accounts_table,
                    "Key": member_key(org, member, period),
                    "UpdateExpression": "SET used = used - :r",
                    "ExpressionAttributeValues": {":r": n(refund)},
                }
            }
            for member, period in quota_counters(res)
        )
    created = int(res.get("created_at") or now * 1000)
    iso = datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    usage = res.get("usage") or {}
    items.append(
        {
            "Put": {
                "TableName": cfg.usage_table,
                "Item": to_item(
                    {
                        "pk": f"ORG#{org}",
                        "sk": f"{iso}#{res['request_id']}",
                        "request_id": res["request_id"],
                        "reservation_id": res["id"],
                        "org_id": org,
                        "key_id": res.get("key_id"),
                        "member_id": res.get("member_id"),
                        "model": res.get("model"),
                        "provider": res.get("provider"),
                        "modality": res.get("modality", "chat"),
                        "surface": res.get("surface"),
                        "session_id": res.get("session_id"),
                        "state": res["state"],
                        "outcome": res.get("outcome"),
                        "credits": cost,
                        "hold": hold,
                        "usage": usage,
                        "created_at": created,
                        "duration_ms": int(res["settled_at"]) - created if res.get("settled_at") else None,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    )
    CALLS["transact_write_items"] += 1
    try:
        client.transact_write_items(TransactItems=items)
        return True
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if codes and codes[0] == "ConditionalCheckFailed":
            return False  # already released (or not final): nothing to refund twice
        raise


def quota_counters(res: dict[str, Any]) -> list[tuple[str, str]]:
    """The (member, period) counters a reservation charged; reservations from before hierarchical
    quotas name one, the key's own, as ``quota_period``."""
    if res.get("quota_counters"):
        return [(str(m), str(p)) for m, p in res["quota_counters"]]
    if res.get("quota_period"):
        return [(res["member_id"], res["quota_period"])]
    return []


def expire_stale(client: Any, now: float | None = None, grace_seconds: int = 120) -> dict[str, int]:
    """The sweeper: HELD past deadline -> EXPIRED (the stream releases it); final-but-unreleased -> release."""
    cfg = settings()
    now = time.time() if now is None else now
    counts = {"expired": 0, "released": 0}
    for shard in range(cfg.reservation_shards):
        kwargs: dict[str, Any] = {
            "TableName": cfg.reservations_table,
            "IndexName": "open-by-deadline",
            "KeyConditionExpression": "open_shard = :s AND expires_at < :now",
            "ExpressionAttributeValues": {":s": s(f"S{shard}"), ":now": n(int(now))},
        }
        while True:
            CALLS["query"] += 1
            page = client.query(**kwargs)
            for raw in page.get("Items", []):
                res = from_item(raw)
                try:
                    if res["state"] == HELD:
                        counts["expired"] += _expire_one(client, res, now)
                    elif now - int(res["expires_at"]) > grace_seconds and release(client, res, now):
                        counts["released"] += 1
                except ClientError as exc:
                    # One item the store refuses (throttled, conflicting) must not stop the sweep of the
                    # others; it is still open, so the next sweep retries it (issue #10).
                    counts["failed"] = counts.get("failed", 0) + 1
                    log.warning("sweeper: %s on %s; retried next sweep", exc.response.get("Error", {}).get("Code"),
                                res["id"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return counts


def _expire_one(client: Any, res: dict[str, Any], now: float) -> int:
    """HELD -> EXPIRED at cost 0, and the concurrency slots it took back, in one write."""
    update = {
        "TableName": settings().reservations_table,
        "Key": {"id": s(res["id"])},
        "UpdateExpression": "SET #st = :exp, cost = :zero, outcome = :o, settled_at = :t",
        "ConditionExpression": "#st = :held",
        "ExpressionAttributeNames": {"#st": "state"},
        "ExpressionAttributeValues": {
            ":exp": s(EXPIRED),
            ":zero": n(0),
            ":o": s("expired by sweeper"),
            ":t": n(int(now * 1000)),
            ":held": s(HELD),
        },
    }
    slots = list(res.get("slot_counters") or ())
    try:
        if slots:
            CALLS["transact_write_items"] += 1
            client.transact_write_items(TransactItems=[{"Update": update}, *_free_slots(res["org_id"], slots)])
        else:
            CALLS["update_item"] += 1
            client.update_item(**update)
        return 1
    except ClientError as exc:
        if (exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
                or cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]):
            return 0
        raise


# ------------------------------------------------------------------ wallets (sync: admin, seed, tests)
def create_wallet(client: Any, org_id: str, name: str) -> bool:
    try:
        client.put_item(
            TableName=settings().accounts_table,
            Item=to_item({"pk": f"ORG#{org_id}", "sk": "WALLET", "balance": 0, "topped_up": 0, "name": name,
                          "created_at": int(time.time())}),
            ConditionExpression="attribute_not_exists(pk)",
        )
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise


def top_up(client: Any, org_id: str, amount: int, topup_id: str) -> bool:
    """Idempotent by ``topup_id``: the marker item and the balance change commit together.

    It also starts a new alert period for the wallet: ``funds`` (the balance it leaves) and
    ``fundings`` (a count), which only alerts read; no balance rule depends on them."""
    if amount <= 0:
        raise GatewayError(Kind.INVALID_REQUEST, "amount must be a positive integer number of credits", param="amount")
    cfg = settings()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": cfg.accounts_table,
                        "Item": to_item({"pk": f"ORG#{org_id}", "sk": f"TOPUP#{topup_id}", "amount": amount,
                                         "at": int(time.time())}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": cfg.accounts_table,
                        "Key": wallet_key(org_id),
                        # funds / fundings: what this top-up left the wallet with, and how many top-ups
                        # there were - the base and the period of wallet alerts (alerts/evaluate.py).
                        "UpdateExpression": "SET balance = balance + :a, topped_up = topped_up + :a, "
                                            "funds = balance + :a, fundings = if_not_exists(fundings, :zero) + :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":a": n(amount), ":zero": n(0), ":one": n(1)},
                    }
                },
            ]
        )
        return True
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if codes and codes[0] == "ConditionalCheckFailed":
            return False
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise GatewayError(Kind.NOT_FOUND, f"No wallet for org {org_id}") from exc
        raise


def get_wallet(client: Any, org_id: str) -> dict[str, Any] | None:
    item = client.get_item(TableName=settings().accounts_table, Key=wallet_key(org_id), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def request_view(res: dict[str, Any]) -> dict[str, Any]:
    """The shape of GET /v1/usage/{request_id}: one request's reservation, as its key may see it."""
    return {
        "request_id": res["request_id"],
        "model": res.get("model"),
        "provider": res.get("provider"),
        "surface": res.get("surface"),
        "modality": res.get("modality", "chat"),
        "key_id": res.get("key_id"),
        "member_id": res.get("member_id"),
        "session_id": res.get("session_id"),
        "state": res["state"],
        "outcome": res.get("outcome"),
        "hold": res["hold"],
        "credits": res.get("cost", 0) if res["state"] != HELD else None,
        "released": bool(res.get("released")),
        "usage": res.get("usage") or {},
        "created_at": res.get("created_at"),
    }
