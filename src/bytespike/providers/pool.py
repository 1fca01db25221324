"""Upstream account pools: priority, weight, shared cooldowns, stickiness and failover.

Each provider has one or more accounts (see ``accounts_for``). Health is shared by every
Lambda instance: a cooldown or a disable is a DynamoDB item in the Accounts table
(``pk = UPSTREAM#<provider>``, ``sk = ACCOUNT#<name>``, with a ``ttl``), read through a
short in-process cache. Failover happens only while opening the upstream call, i.e.
before any byte has reached the client.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bytespike.background import Refreshes
from bytespike.catalog import Provider
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.providers import Account, UpstreamResponse, accounts_for
from bytespike.store.dynamo import dynamo, from_item, n, s

log = logging.getLogger("bytespike.pool")

HEALTH_CACHE_SECONDS = 2.0
MAX_ATTEMPTS = 3
DEFAULT_COOLDOWN = {Kind.RATE_LIMIT: 30, Kind.OVERLOADED: 15, Kind.UPSTREAM: 10, Kind.TIMEOUT: 10, Kind.API: 10}
REPEATED_5XX = 3  # consecutive 5xx (in this process) before an account cools down
_RETRYABLE = {Kind.RATE_LIMIT, Kind.OVERLOADED, Kind.UPSTREAM, Kind.TIMEOUT, Kind.API}


@dataclass(frozen=True, slots=True)
class Health:
    cooldown_until: float = 0.0
    disabled: bool = False
    reason: str = ""

    def usable(self, now: float) -> bool:
        return not self.disabled and self.cooldown_until <= now


class HealthCache:
    """provider -> ({account name: Health}, fetched_at)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[dict[str, Health], float]] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self.refreshes = Refreshes("health")

    async def get(self, provider: str, *, wait: bool = True) -> dict[str, Health]:
        """The provider's account health, at most ``HEALTH_CACHE_SECONDS`` old.

        ``wait=False`` (a pool of one account, which has nothing to fail over to) never puts
        the read before the upstream call: a stale or missing entry is served as is (missing
        = healthy) and refreshed in the background, so an operator's disable takes effect
        one request later instead of costing every request a serialised Query.
        """
        hit = self._entries.get(provider)
        if hit is not None and time.monotonic() - hit[1] < HEALTH_CACHE_SECONDS:
            return hit[0]
        if wait:
            return await self._fetch(provider)
        self.refreshes.start(provider, lambda: self._fetch(provider))
        return hit[0] if hit is not None else {}

    async def _fetch(self, provider: str) -> dict[str, Health]:
        resp = await dynamo().call(
            "query",
            TableName=settings().accounts_table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": s(f"UPSTREAM#{provider}")},
        )
        health: dict[str, Health] = {}
        for raw in resp.get("Items", []):
            item = from_item(raw)
            health[item["sk"].removeprefix("ACCOUNT#")] = Health(
                cooldown_until=float(item.get("cooldown_until", 0)),
                disabled=bool(item.get("disabled", False)),
                reason=str(item.get("reason", "")),
            )
        self._entries[provider] = (health, time.monotonic())
        return health

    def forget(self, provider: str) -> None:
        self._entries.pop(provider, None)

    def count_error(self, provider: str, account: str) -> int:
        key = (provider, account)
        self._errors[key] = self._errors.get(key, 0) + 1
        return self._errors[key]

    def clear_errors(self, provider: str, account: str) -> None:
        self._errors.pop((provider, account), None)


HEALTH = HealthCache()


async def mark(provider: str, account: str, *, cooldown_seconds: float | None = None, disable: bool = False,
               reason: str = "") -> None:
    """Record a cooldown (or a disable, which lasts until an operator re-enables) for every instance."""
    now = time.time()
    until = now + (cooldown_seconds or 0)
    names = {"#r": "reason", "#ttl": "ttl"}
    values = {":u": {"N": f"{until:.3f}"}, ":r": s(reason[:200])}
    if disable:  # no TTL: a disable lasts until an operator deletes the item
        expr = "SET cooldown_until = :u, #r = :r, disabled = :d REMOVE #ttl"
        values[":d"] = {"BOOL": True}
    else:
        expr = "SET cooldown_until = :u, #r = :r, #ttl = :t"
        values[":t"] = n(int(until) + 86400)
    await dynamo().call(
        "update_item",
        TableName=settings().accounts_table,
        Key={"pk": s(f"UPSTREAM#{provider}"), "sk": s(f"ACCOUNT#{account}")},
        UpdateExpression=expr,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    HEALTH.forget(provider)
    log.warning("upstream account %s/%s %s: %s", provider, account, "disabled" if disable else
                f"cooling down {cooldown_seconds:.0f}s", reason)


def _rendezvous(session: str, account: Account) -> float:
    digest = hashlib.blake2b(f"{session}\n{account.name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def order(accounts: list[Account], health: dict[str, Health], session: str | None, now: float,
          weights: dict[str, float], priorities: dict[str, int]) -> list[Account]:
    """Healthy accounts, best priority first; within a priority, sticky by session or weighted-random."""
    usable = [a for a in accounts if health.get(a.name, Health()).usable(now)]
    out: list[Account] = []
    for prio in sorted({priorities.get(a.name, 0) for a in usable}):
        tier = [a for a in usable if priorities.get(a.name, 0) == prio]
        if session:
            # Weighted rendezvous hashing: a session keeps its account while it is healthy.
            tier.sort(key=lambda a: -(_rendezvous(session, a) ** (1 / max(weights.get(a.name, 1.0), 1e-6))))
        else:
            keyed = [(random.random() ** (1 / max(weights.get(a.name, 1.0), 1e-6)), a) for a in tier]
            tier = [a for _, a in sorted(keyed, key=lambda t: -t[0])]
        out.extend(tier)
    return out


async def open_with_failover(
    provider: Provider,
    send: Callable[[Account], Awaitable[UpstreamResponse]],
    *,
    session: str | None = None,
) -> tuple[UpstreamResponse, Account]:
    """Try accounts in order; fail over on retryable errors before any byte reaches the client."""
    accounts = accounts_for(provider)
    health = await HEALTH.get(provider.name, wait=len(accounts) > 1)
    now = time.time()
    weights = {a.name: a.weight for a in accounts}
    priorities = {a.name: a.priority for a in accounts}
    candidates = order(accounts, health, session, now, weights, priorities)
    if not candidates:
        wait = min((h.cooldown_until - now for h in health.values() if not h.disabled), default=30)
        raise GatewayError(Kind.OVERLOADED, f"Every upstream account for {provider.name} is cooling down.",
                           retry_after=str(max(1, int(wait + 0.999))))
    last: GatewayError | None = None
    for account in candidates[:MAX_ATTEMPTS]:
        try:
            response = await send(account)
        except GatewayError as err:
            last = err
            # A lone account is never benched: there is nothing to fail over to, and the
            # provider's own error (with its retry-after) already tells the caller when to retry.
            if len(accounts) == 1 or not await _on_failure(provider.name, account, err):
                raise
            continue
        HEALTH.clear_errors(provider.name, account.name)
        return response, account
    assert last is not None
    raise last


async def _on_failure(provider: str, account: Account, err: GatewayError) -> bool:
    """Update the account's health; True when another account may succeed."""
    if err.account_fault:  # bad credentials, no permission, provider balance: off until an operator re-enables
        await mark(provider, account.name, disable=True, reason=err.message)
        return True
    if err.kind not in _RETRYABLE:
        return False
    if err.kind in (Kind.RATE_LIMIT, Kind.OVERLOADED):
        await mark(provider, account.name, cooldown_seconds=_retry_after_seconds(err) or DEFAULT_COOLDOWN[err.kind],
                   reason=err.message)
    elif HEALTH.count_error(provider, account.name) >= REPEATED_5XX:
        HEALTH.clear_errors(provider, account.name)
        await mark(provider, account.name, cooldown_seconds=DEFAULT_COOLDOWN.get(err.kind, 10), reason=err.message)
    return True


def _retry_after_seconds(err: GatewayError) -> float | None:
    if not err.retry_after:
        return None
    try:
        return max(1.0, float(err.retry_after))
    except ValueError:
        return None


def session_key(metadata_user: str | None, cacheable_prefix: bytes | None) -> str | None:
    """The stickiness key: the caller's user id, or a hash of the cacheable prompt prefix."""
    if metadata_user:
        return f"user:{metadata_user}"
    if cacheable_prefix:
        return "prefix:" + hashlib.blake2b(cacheable_prefix, digest_size=12).hexdigest()
    return None
