"""Usage: the ledger's per-request rows and their aggregates, for a UTC date range.

Rows come from the Usage table the release transaction writes (pk ``ORG#<org>``, sk
``<iso-ms>#<request_id>``): one Query per page over an org, or over the ``by-key`` index
for a member, who sees only its own key's rows. Aggregates are computed from the same
rows, so an export and a summary can never disagree.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bytespike.admin.principal import MEMBER, OPERATOR, Principal, org_not_found
from bytespike.admin.retry import retrying
from bytespike.admin.schemas import UsageQuery
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.store import ledger
from bytespike.store.dynamo import from_item, s

MAX_RANGE_DAYS = 366
TOKEN_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_write_5m_tokens": "cache_creation_5m_input_tokens",
    "cache_write_1h_tokens": "cache_creation_1h_input_tokens",
    "cache_read_tokens": "cache_read_input_tokens",
}
ROW_COLUMNS = ["time", "request_id", "key_id", "member_id", "session_id", "model", "modality", "status", "outcome",
               "credits", "hold", *TOKEN_FIELDS, "other_usage", "provider", "duration_ms"]
GROUPS = {"member": "member_id", "model": "model", "day": "day", "key": "key_id", "modality": "modality",
          "session": "session_id", "provider": "provider"}
DEFAULT_GROUPS = ("member", "model", "day")
SUM_COLUMNS = ["requests", "succeeded", "failed", "credits", *TOKEN_FIELDS]


@dataclass(frozen=True, slots=True)
class Scope:
    """What one usage call may read: an org, optionally narrowed; a member is pinned to its key."""

    org_id: str
    start: date
    end: date
    key_id: str | None = None
    member_id: str | None = None
    model: str | None = None
    session_id: str | None = None


def scope_for(p: Principal, q: UsageQuery, today: date | None = None) -> Scope:
    """Members read their own key's rows; masters their org's; the operator any org it names."""
    org = p.org_for(q.org_id)
    today = today or datetime.now(UTC).date()
    end = q.end or today
    start = q.start or end.replace(day=1)
    if start > end:
        raise GatewayError(Kind.INVALID_REQUEST, "start: must not be after end.", param="start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise GatewayError(Kind.INVALID_REQUEST, f"start: a range covers at most {MAX_RANGE_DAYS} days.",
                           param="start")
    key_id = q.key_id
    if p.role == MEMBER:
        if key_id not in (None, p.key_id):
            raise GatewayError(Kind.NOT_FOUND, f"No key '{key_id}'.")
        key_id = p.key_id
    return Scope(org, start, end, key_id, q.member_id, q.model, q.session_id)


def check_org(client: Any, p: Principal, org_id: str) -> None:
    """The operator may name any org; tell it when that org does not exist (keys are in their own org)."""
    if p.role == OPERATOR and retrying(lambda: ledger.get_wallet(client, org_id)) is None:
        raise org_not_found(org_id)


# ------------------------------------------------------------------ cursor
def encode_cursor(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: Scope) -> dict[str, Any]:
    """A cursor is only accepted for the scope it came from (it can never point into another org)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (isinstance(raw, dict) and raw.get("pk") == {"S": f"ORG#{scope.org_id}"}
              and isinstance(raw.get("sk"), dict) and isinstance(raw["sk"].get("S"), str)
              and set(raw) <= {"pk", "sk", "key_id"}
              and (scope.key_id is None or raw.get("key_id") == {"S": scope.key_id}))
    except ValueError:
        ok = False
    if not ok:
        raise GatewayError(Kind.INVALID_REQUEST, "cursor: not a cursor this query returned.", param="cursor")
    return raw


# ------------------------------------------------------------------ rows
def _query_kwargs(scope: Scope) -> dict[str, Any]:
    names: dict[str, str] = {"#sk": "sk", "#pk": "pk"}
    values: dict[str, Any] = {":a": s(scope.start.isoformat()), ":b": s(scope.end.isoformat() + "~"),
                              ":org": s(f"ORG#{scope.org_id}")}
    filters: list[str] = []
    if scope.key_id:
        cond = "#key = :k AND #sk BETWEEN :a AND :b"
        values[":k"] = s(scope.key_id)
        names["#key"] = "key_id"
        filters.append("#pk = :org")  # belt and braces: the index spans orgs
    else:
        cond = "#pk = :org AND #sk BETWEEN :a AND :b"
    if scope.member_id:
        filters.append("#member = :m")
        names["#member"] = "member_id"
        values[":m"] = s(scope.member_id)
    if scope.model:
        filters.append("#model = :model")
        names["#model"] = "model"
        values[":model"] = s(scope.model)
    if scope.session_id:
        filters.append("#session = :session")
        names["#session"] = "session_id"
        values[":session"] = s(scope.session_id)
    kwargs: dict[str, Any] = {"TableName": settings().usage_table, "KeyConditionExpression": cond,
                              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    if scope.key_id:
        kwargs["IndexName"] = "by-key"
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    return kwargs


def row_view(item: dict[str, Any]) -> dict[str, Any]:
    """A decoded ledger item -> one flat usage row (tokens by kind as columns)."""
    d = item
    usage = d.get("usage") or {}
    known = set(TOKEN_FIELDS.values())
    row: dict[str, Any] = {
        "time": d["sk"].split("#", 1)[0],
        "request_id": d.get("request_id"),
        "key_id": d.get("key_id"),
        "member_id": d.get("member_id"),
        "session_id": d.get("session_id"),
        "model": d.get("model"),
        "modality": d.get("modality", "chat"),
        "status": d.get("state"),
        "outcome": d.get("outcome"),
        "credits": int(d.get("credits") or 0),
        "hold": int(d.get("hold") or 0),
        "provider": d.get("provider"),
        # hold to settle, in ms (rows released before it was recorded have none)
        "duration_ms": int(d["duration_ms"]) if d.get("duration_ms") is not None else None,
    }
    for column, field in TOKEN_FIELDS.items():
        row[column] = int(usage.get(field) or 0)
    other = {k: v for k, v in usage.items() if k not in known}
    row["other_usage"] = other or None
    return row


def page(client: Any, scope: Scope, limit: int, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` rows in time order, and a cursor for the next page (None at the end)."""
    kwargs = _query_kwargs(scope)
    if cursor:
        kwargs["ExclusiveStartKey"] = decode_cursor(cursor, scope)
    rows: list[dict[str, Any]] = []
    while True:
        kwargs["Limit"] = limit - len(rows)
        resp = retrying(lambda: client.query(**kwargs))
        rows.extend(row_view(from_item(i)) for i in resp.get("Items", []))
        last = resp.get("LastEvaluatedKey")
        if last is None:
            return rows, None
        if len(rows) >= limit:
            return rows, encode_cursor(last)
        kwargs["ExclusiveStartKey"] = last


def all_rows(client: Any, scope: Scope, page_size: int = 1000) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        rows, cursor = page(client, scope, page_size, cursor)
        yield from rows
        if cursor is None:
            return


# ------------------------------------------------------------------ aggregates
def parse_groups(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_GROUPS
    groups = tuple(g.strip() for g in raw.split(",") if g.strip())
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise GatewayError(Kind.INVALID_REQUEST, f"group_by: use a comma-separated subset of {', '.join(GROUPS)}.",
                           param="group_by")
    return tuple(dict.fromkeys(groups))


def summarize(rows: Iterator[dict[str, Any]] | list[dict[str, Any]], groups: tuple[str, ...] = DEFAULT_GROUPS
              ) -> dict[str, Any]:
    """Sums per group (credits, requests, tokens by kind) and the totals over all rows."""
    buckets: dict[tuple[Any, ...], dict[str, Any]] = {}
    totals = dict.fromkeys(SUM_COLUMNS, 0)
    for row in rows:
        values = {**row, "day": row["time"][:10]}
        group_key = tuple(values.get(GROUPS[g]) or "" for g in groups)
        bucket = buckets.setdefault(group_key, {**{GROUPS[g]: v for g, v in zip(groups, group_key, strict=True)},
                                                **dict.fromkeys(SUM_COLUMNS, 0)})
        for target in (bucket, totals):
            target["requests"] += 1
            target["succeeded" if row["status"] == ledger.SETTLED else "failed"] += 1
            target["credits"] += row["credits"]
            for column in TOKEN_FIELDS:
                target[column] += row[column]
    return {"group_by": list(groups), "data": [buckets[k] for k in sorted(buckets)], "totals": totals}


# ------------------------------------------------------------------ CSV
def _cell(value: Any) -> Any:
    """Spreadsheet-safe: a text cell never starts a formula, structured values become JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def summary_columns(groups: tuple[str, ...]) -> list[str]:
    return [GROUPS[g] for g in groups] + SUM_COLUMNS


# ------------------------------------------------------------------ one request
request_view = ledger.request_view  # GET /v1/usage/{request_id}, shared with the gateway functions

