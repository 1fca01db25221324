"""Authenticate (who is calling) and authorise (may this key use this model now)."""

from __future__ import annotations

import dataclasses
import re
import time

from botocore.exceptions import ClientError
from starlette.requests import Request

from bytespike.catalog import Model
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind, looks_like_secret
from bytespike.store import keys
from bytespike.store.dynamo import dynamo, n, s

# Query parameters are credentials when their name says so, however it is spelled (``API_KEY``,
# ``x-api-key``, ``Authorization``, ``client_secret``…) or when their value is key-shaped: URLs
# end up in access logs, browser history and Referer headers (docs/SECURITY.md).
_CREDENTIAL_NAMES = frozenset({"key", "auth", "bearer", "pwd", "authorization"})
_CREDENTIAL_SUFFIXES = ("key", "keys", "token", "tokens", "secret", "secrets", "password", "passwd",
                        "authorization", "credential", "credentials", "bearer")
_NOT_LETTERS = re.compile(r"[^a-z0-9]")
# Parameters whose names end like a credential's but are not one: Google's list pagination
# (``GET /v1beta/models?pageToken=``, which google-genai sends for every page after the first).
_NOT_CREDENTIALS = frozenset({"pagetoken"})


def credential_param(name: str, value: str) -> bool:
    """Does this query parameter carry (or name) a credential?"""
    norm = _NOT_LETTERS.sub("", name.lower())
    if norm in _NOT_CREDENTIALS:
        return looks_like_secret(value)
    return (norm in _CREDENTIAL_NAMES or norm.endswith(_CREDENTIAL_SUFFIXES) or "apikey" in norm
            or looks_like_secret(value))


def refuse_url_credentials(request: Request) -> None:
    """A key in the query string (``?key=``, as Google's own curl examples send it) is refused on
    every path, named by its parameter (never its value): URLs end up in access logs, browser
    history and Referer headers (docs/SECURITY.md)."""
    if not request.url.query:
        return
    for name, value in request.query_params.multi_items():
        if credential_param(name, value):
            raise GatewayError(
                Kind.AUTHENTICATION,
                f"API keys in the URL are refused (query parameter '{name[:40]}'): URLs end up in logs. Send the "
                "key in a header: x-goog-api-key (Google's SDKs and Gemini CLI do), x-api-key, or "
                "Authorization: Bearer.",
            )


def _ambiguous() -> GatewayError:
    return GatewayError(Kind.AUTHENTICATION, "More than one API key was sent (x-api-key, x-goog-api-key and "
                                             "Authorization name different credentials); send exactly one.")


def presented_secret(request: Request) -> str:
    """The one credential of ``x-api-key`` / ``x-goog-api-key`` (Google's SDKs) / ``Authorization:
    Bearer``; keys in URLs are refused.

    Exactly one credential: the same key in several headers (or repeated) is one; two different
    values, or a non-Bearer ``Authorization`` beside a key, are refused rather than one
    silently winning (which one pays would depend on header order).
    """
    refuse_url_credentials(request)
    headers = request.headers
    found: set[str] = set()
    for value in (*headers.getlist("x-api-key"), *headers.getlist("x-goog-api-key")):
        if value.strip():
            found.add(value.strip())
    for value in headers.getlist("authorization"):
        value = value.strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if value:
            found.add(value)
    if len(found) > 1:
        raise _ambiguous()
    if not found:
        raise GatewayError(Kind.AUTHENTICATION, "Missing API key: send x-api-key, x-goog-api-key or "
                                                 "Authorization: Bearer.")
    return found.pop()


async def authenticate(request: Request, *, fresh: bool = False) -> keys.KeyRecord:
    """The caller's live key record. ``fresh``: read the Keys table (strongly consistent), never
    the auth cache - the admin API does, so a rotated or revoked secret has no admin power the
    moment the change commits; the request path accepts the cache's TTL."""
    secret = presented_secret(request)
    if not secret.startswith(keys.KEY_PREFIX) or len(secret) > 200:
        raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
    record = await keys.lookup(keys.digest(secret), fresh=fresh)
    if record is None:
        raise GatewayError(Kind.AUTHENTICATION, "Invalid API key.")
    _check_live(record)
    if record.parent_digest:
        parent = await _master_of(record, fresh)
        if parent is None or parent.status != "active":
            raise GatewayError(Kind.AUTHENTICATION, "This key's master key was revoked.")
        if parent.quota is not None:
            # A limited master's quota covers its sub-keys: their holds consume it too (ledger.py).
            above = keys.QuotaLimit(parent.member_id, parent.quota, parent.quota_period or "month")
            record = dataclasses.replace(record, limits_above=(above,))
        if parent.max_concurrency is not None:  # and so does a capped master's concurrency
            record = dataclasses.replace(record, slots_above=(keys.SlotLimit(parent.key_id, parent.max_concurrency),))
    if record.rpm:
        await check_rpm(record)
    return record


async def _master_of(record: keys.KeyRecord, fresh: bool) -> keys.KeyRecord | None:
    """A sub-key's current master: its parent digest, or (the master was rotated) the tombstone's
    successor. A cached tombstone can name a successor a later rotation deleted; then the tombstone
    is read again from the table before the master is declared gone."""
    assert record.parent_digest
    for attempt_fresh in (fresh, True):
        parent = await keys.lookup(record.parent_digest, fresh=attempt_fresh)
        if parent is not None and parent.status == "rotated" and parent.successor:
            # The master was rotated: its first digest is a tombstone naming the current one.
            parent = await keys.lookup(parent.successor, fresh=attempt_fresh)
            if parent is None and not attempt_fresh:
                continue
        return parent
    return None


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
