"""Free runs per client per window: one conditional counter item in the Accounts table.

``pk = PLAYIP#<ip hash>``, ``sk = <window label>`` (the UTC day by default). A run is taken
with ``ADD runs :1`` conditional on ``attribute_not_exists(runs) OR runs < :limit`` *before*
the request runs, so concurrent runs from one client can never exceed the limit; TTL
cleans old windows up (correctness never depends on it: the label changes every window).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from bytespike.config import settings
from bytespike.store.dynamo import dynamo, n, s

from .settings import DAY


@dataclass(frozen=True, slots=True)
class Window:
    label: str
    resets_at: int  # epoch seconds when the next window starts

    @property
    def resets_at_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.resets_at))


def window(now: float, seconds: int) -> Window:
    start = int(now // seconds) * seconds
    fmt = "%Y-%m-%d" if seconds == DAY else "%Y-%m-%dT%H:%M:%S"
    return Window(time.strftime(fmt, time.gmtime(start)), start + seconds)


def _key(ip_hash: str, win: Window) -> dict[str, dict[str, str]]:
    return {"pk": s(f"PLAYIP#{ip_hash}"), "sk": s(win.label)}


async def take_run(ip_hash: str, win: Window, limit: int) -> int | None:
    """Count one run; the runs used after it, or None when the limit is already reached."""
    try:
        resp = await dynamo().call(
            "update_item",
            TableName=settings().accounts_table,
            Key=_key(ip_hash, win),
            UpdateExpression="ADD #runs :one SET #ttl = if_not_exists(#ttl, :ttl)",
            ConditionExpression="attribute_not_exists(#runs) OR #runs < :limit",
            ExpressionAttributeNames={"#runs": "runs", "#ttl": "ttl"},
            ExpressionAttributeValues={":one": n(1), ":limit": n(limit), ":ttl": n(win.resets_at + DAY)},
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return int(resp["Attributes"]["runs"]["N"])


async def give_back(ip_hash: str, win: Window) -> None:
    """Return a run that produced nothing (refused or failed before any output)."""
    try:
        await dynamo().call(
            "update_item",
            TableName=settings().accounts_table,
            Key=_key(ip_hash, win),
            UpdateExpression="ADD #runs :minus",
            ConditionExpression="#runs > :zero",
            ExpressionAttributeNames={"#runs": "runs"},
            ExpressionAttributeValues={":minus": n(-1), ":zero": n(0)},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


async def runs_used(ip_hash: str, win: Window) -> int:
    resp = await dynamo().call("get_item", TableName=settings().accounts_table, Key=_key(ip_hash, win),
                               ConsistentRead=True)
    item = resp.get("Item") or {}
    return int(item.get("runs", {}).get("N", "0"))
