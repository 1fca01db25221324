"""Orgs and wallets: onboarding (wallet + first master key in one transaction) and top-ups."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from bytespike.admin import keys as admin_keys
from bytespike.admin.principal import MASTER, OPERATOR, Principal, org_not_found
from bytespike.admin.retry import retrying
from bytespike.admin.schemas import CreateOrg, TopUp
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.store import ledger
from bytespike.store.dynamo import cancellation_codes, from_item, s, to_item


def wallet_view(org_id: str, wallet: dict[str, Any]) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "name": wallet.get("name", ""),
        "balance": int(wallet.get("balance", 0)),
        "topped_up": int(wallet.get("topped_up", 0)),
        "created_at": admin_keys.iso(wallet.get("created_at")),
    }


def create_org(client: Any, p: Principal, req: CreateOrg) -> dict[str, Any]:
    """Wallet and master key commit together; the master secret appears only in this result."""
    p.require(OPERATOR)
    now = int(time.time())
    record, secret = admin_keys.new_record(org_id=req.org_id, kind="master", member_id="owner",
                                           label=f"{req.org_id} master", now=now)
    cfg = settings()
    try:
        retrying(lambda: client.transact_write_items(TransactItems=[
            {"Put": {"TableName": cfg.accounts_table,
                     "Item": to_item({"pk": f"ORG#{req.org_id}", "sk": "WALLET", "balance": 0, "topped_up": 0,
                                      "name": req.name or req.org_id, "created_at": now}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": cfg.keys_table, "Item": record.to_item(),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ]))
    except ClientError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise GatewayError(Kind.CONFLICT, f"org_id: org '{req.org_id}' already exists.", param="org_id") from exc
        raise
    if req.credits:
        retrying(lambda: ledger.top_up(client, req.org_id, req.credits, req.topup_id))
    out = get_org(client, p, req.org_id)
    out["master_key"] = {**admin_keys.key_view(record), "secret": secret}
    return out


def get_org(client: Any, p: Principal, org_id: str) -> dict[str, Any]:
    p.require(OPERATOR, MASTER)
    org_id = p.org_for(org_id)
    wallet = retrying(lambda: ledger.get_wallet(client, org_id))
    if wallet is None:
        raise org_not_found(org_id)
    return wallet_view(org_id, wallet)


def top_up(client: Any, p: Principal, org_id: str, req: TopUp) -> tuple[dict[str, Any], bool]:
    """(wallet after, applied). A replayed ``topup_id`` changes nothing; with another amount it is refused."""
    p.require(OPERATOR)
    applied = retrying(lambda: ledger.top_up(client, org_id, req.amount, req.topup_id))
    if not applied:
        marker = client.get_item(TableName=settings().accounts_table,
                                 Key={"pk": s(f"ORG#{org_id}"), "sk": s(f"TOPUP#{req.topup_id}")},
                                 ConsistentRead=True).get("Item")
        previous = int(from_item(marker)["amount"]) if marker else None
        if previous is not None and previous != req.amount:
            raise GatewayError(
                Kind.CONFLICT,
                f"topup_id: '{req.topup_id}' was already used for {previous} credits; a top-up id names one top-up.",
                param="topup_id")
    out = get_org(client, p, org_id)
    return {**out, "topup": {"topup_id": req.topup_id, "amount": req.amount, "applied": applied}}, applied
