"""Crossings: after a batch of releases, which thresholds has each touched org reached?

Levels are what the next hold sees, so an alert warns before requests start being refused:

* **wallet**: ``(funds - balance) / funds``, where ``funds`` is the balance its latest top-up
  left the wallet with (a top-up starts a new period: the wallet's ``fundings`` count). In-flight
  holds count as spent until their release gives the unused part back.
* **quota**: ``used / quota`` of a member's counter in its calendar period (holds included, as
  the hold transaction checks it).

A threshold of 100 % also fires when what is left cannot pay for another request like one just
released (its hold): the point from which such requests are refused with 402, which a level
computed from holds alone would never quite reach.

Evaluation is by state, not by edge: a threshold fires when the level is at or past it and its
event does not exist yet (a conditional put). A batch that never gets evaluated (a crash after the
refunds) is made good by the org's next release; a redelivered record finds the event there.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from typing import Any

from bytespike.alerts import store
from bytespike.config import settings
from bytespike.store import ledger
from bytespike.store.dynamo import from_item

log = logging.getLogger("bytespike.alerts")

_RULES: dict[str, tuple[store.Rules | None, float]] = {}  # org -> (rules or None, read at, monotonic)
_FIRED: set[tuple[str, str]] = set()  # (org, event key) this process knows exist: no write to learn it again


def _rules_ttl() -> float:
    return float(os.environ.get("ALERTS_RULES_TTL_SECONDS") or 30)


def rules_for(client: Any, org_id: str) -> store.Rules | None:
    """The org's rules, cached per process (a change applies within ``ALERTS_RULES_TTL_SECONDS``)."""
    hit = _RULES.get(org_id)
    if hit is not None and time.monotonic() - hit[1] < _rules_ttl():
        return hit[0]
    rules = store.get_rules(client, org_id)
    if len(_RULES) > 10_000:
        _RULES.clear()
    _RULES[org_id] = (rules, time.monotonic())
    return rules


def forget(org_id: str | None = None) -> None:
    """Drop cached rules and fired marks (this process just changed them; a SnapStart restore; tests)."""
    if org_id is None:
        _RULES.clear()
        _FIRED.clear()
    else:
        _RULES.pop(org_id, None)


def evaluate(client: Any, released: list[dict[str, Any]], now: float | None = None) -> list[tuple[str, str]]:
    """Fire every threshold the released reservations' orgs have reached; the (org, key) pairs fired."""
    holds: dict[str, int] = defaultdict(int)  # org -> the largest hold released in this batch
    counters: dict[tuple[str, str, str], int] = defaultdict(int)  # (org, member, period) -> largest hold
    for res in released:
        org, hold = res.get("org_id"), int(res.get("hold") or 0)
        if not org:
            continue
        holds[org] = max(holds[org], hold)
        for member, period in ledger.quota_counters(res):
            counters[(org, member, period)] = max(counters[(org, member, period)], hold)
    fired: list[tuple[str, str]] = []
    for org, hold in holds.items():
        rules = rules_for(client, org)
        if rules is None or rules.empty:
            continue
        crossings: list[tuple[str, dict[str, Any]]] = []
        if rules.wallet:
            crossings += _wallet(client, rules, hold)
        if rules.quota:
            mine = {(m, p): h for (o, m, p), h in counters.items() if o == org}
            crossings += _quotas(client, rules, mine)
        for key, body in crossings:
            if (org, key) in _FIRED:
                continue
            if store.put_event(client, org, key, body, now):
                log.info("alert %s fired for %s", key, org)
                fired.append((org, key))
            if len(_FIRED) > 50_000:
                _FIRED.clear()
            _FIRED.add((org, key))
    return fired


def reached(threshold: int, used: int, limit: int, hold: int) -> bool:
    """Is ``used`` of ``limit`` at or past ``threshold`` %? 100 % also when a hold like ``hold`` no longer fits."""
    return used * 100 >= threshold * limit or (threshold >= 100 and limit - used < max(hold, 1))


def _wallet(client: Any, rules: store.Rules, hold: int) -> list[tuple[str, dict[str, Any]]]:
    wallet = ledger.get_wallet(client, rules.org_id)
    if not wallet:
        return []
    funds = int(wallet.get("funds") or wallet.get("topped_up") or 0)
    if funds <= 0:
        return []
    balance = int(wallet.get("balance") or 0)
    used = min(funds, max(0, funds - balance))
    period = f"topup-{int(wallet.get('fundings') or 0)}"
    body = {"type": "wallet.threshold", "scope": "wallet", "period": period, "balance": balance, "funds": funds,
            "level_bp": used * 10_000 // funds}
    return [(f"wallet#{period}#{t}", {**body, "threshold": t}) for t in rules.wallet if reached(t, used, funds, hold)]


def _quotas(client: Any, rules: store.Rules, counters: dict[tuple[str, str], int]) -> list[tuple[str, dict[str, Any]]]:
    if not counters:
        return []
    table = settings().accounts_table
    keys = [ledger.member_key(rules.org_id, m, p) for m, p in sorted(counters)]
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": keys[i:i + 100], "ConsistentRead": True}}
        while request:
            resp = client.batch_get_item(RequestItems=request)
            for raw in resp.get("Responses", {}).get(table, []):
                item = from_item(raw)
                _, member, period = item["sk"].split("#", 2)
                used, limit = int(item.get("used") or 0), int(item.get("quota") or 0)
                if limit <= 0:
                    continue
                body = {"type": "quota.threshold", "scope": "quota", "member_id": member, "period": period,
                        "used": used, "quota": limit, "level_bp": min(used, limit) * 10_000 // limit}
                out += [(f"quota#{member}#{period}#{t}", {**body, "threshold": t}) for t in rules.quota
                        if reached(t, used, limit, counters[(member, period)])]
            request = resp.get("UnprocessedKeys") or {}
    return out
