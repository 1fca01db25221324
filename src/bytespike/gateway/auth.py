"""Authenticate (who is calling) and authorise (may this key use this model now)."""

from __future__ import annotations

import dataclasses
import time

from botocore.exceptions import ClientError
from starlette.requests import Request

from bytespike.catalog import Model
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.store import keys
from bytespike.store.dynamo import dynamo, n, s

_QUERY_KEY_PARAMS = ("key", "api_key", "apikey", "access_token", "token")


def presented_secret(request: Request) -> str:
    """The key from ``x-api-key`` or ``Authorization: Bearer``; keys in URLs are refused."""
    if request.url.query and any(p in request.query_params for p in _QUERY_KEY_PARAMS):
        raise GatewayError(
            Kind.AUTHENTICATION,
            "API keys in the URL are refused (they leak into logs); send x-api-key or Authorization: Bearer.",
        )
    headers = request.headers
    if len(headers.getlist("x-api-key")) > 1 or len(headers.getlist("authorization")) > 1:
        raise GatewayError(Kind.AUTHENTICATION, "More than one API key was sent; send exactly one.")
    secret = headers.get("x-api-key")
    if not secret:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            secret = auth[7:].strip()
    if not secret:
        raise GatewayError(Kind.AUTHENTICATION, "Missing API key: send x-api-key or Authorization: Bearer.")
    return secret


async def authenticate(request: Request) -> keys.KeyRecord:
    secret = presented_secret(request)
    if not secret.startswith(keys.KEY_PREFIX) or len(secret) > 200:
        raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
    record = await keys.lookup(keys.digest(secret))
    if record is None:
        raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
    _check_live(record)
    if record.parent_digest:
        parent = await keys.lookup(record.parent_digest)
        if parent is not None and parent.status == "rotated" and parent.successor:
            # The master was rotated: its first digest is a tombstone naming the current one.
            parent = await keys.lookup(parent.successor)
        if parent is None or parent.status != "active":
            raise GatewayError(Kind.AUTHENTICATION, "This key's master key was revoked.")
        if parent.quota is not None:
            # A limited master's quota covers its sub-keys: their holds consume it too (ledger.py).
            above = keys.QuotaLimit(parent.member_id, parent.quota, parent.quota_period or "month")
            record = dataclasses.replace(record, limits_above=(above,))
    if record.rpm:
        await check_rpm(record)
    return record


def rpm_window(now: float) -> tuple[str, int]:
    """(minute label, epoch second the window ends): a fixed one-minute window in UTC."""
    start = int(now // 60) * 60
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(start)), start + 60


async def check_rpm(record: keys.KeyRecord, now: float | None = None) -> None:
    """Per-key requests per minute, shared by every instance: one conditional ADD on a
    counter item (``RPM#<key_id>``, sk = the minute) that TTL cleans up later."""
    if not record.rpm:
        return
    now = time.time() if now is None else now
    label, window_end = rpm_window(now)
    try:
        await dynamo().call(
            "update_item",
            TableName=settings().accounts_table,
            Key={"pk": s(f"RPM#{record.key_id}"), "sk": s(label)},
            UpdateExpression="ADD #n :one SET #ttl = :ttl",
            ConditionExpression="attribute_not_exists(#n) OR #n < :rpm",
            ExpressionAttributeNames={"#n": "n", "#ttl": "ttl"},
            ExpressionAttributeValues={":one": n(1), ":rpm": n(record.rpm), ":ttl": n(window_end + 120)},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raise GatewayError(
            Kind.RATE_LIMIT,
            f"This key is limited to {record.rpm} requests per minute; retry after the minute turns.",
            retry_after=str(max(1, int(window_end - now))),
        ) from exc


def _check_live(record: keys.KeyRecord) -> None:
    if record.status == "rotated":
        raise GatewayError(Kind.AUTHENTICATION, "This API key was rotated; use its new secret.")
    if record.status != "active":
        raise GatewayError(Kind.AUTHENTICATION, "This API key was revoked.")
    if record.expires_at is not None and record.expires_at <= time.time():
        raise GatewayError(Kind.AUTHENTICATION, "This API key has expired.")


def may_use(record: keys.KeyRecord, model: Model) -> bool:
    """The key's model scope (None: every model)."""
    return record.models is None or model.id in record.models


def authorize(record: keys.KeyRecord, model: Model, modality: str = "chat") -> None:
    if not may_use(record, model):
        raise GatewayError(Kind.PERMISSION, f"This key may not use model '{model.id}'.")
    if record.modalities is not None and modality not in record.modalities:
        raise GatewayError(Kind.PERMISSION, f"This key may not use the '{modality}' modality.")
