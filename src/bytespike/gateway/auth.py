"""Authenticate (who is calling) and authorise (may this key use this model now)."""

from __future__ import annotations

import time

from starlette.requests import Request

from bytespike.catalog import Model
from bytespike.errors import GatewayError, Kind
from bytespike.store import keys

_QUERY_KEY_PARAMS = ("key", "api_key", "apikey", "access_token", "token")


def presented_secret(request: Request) -> str:
    """The key from ``x-api-key`` or ``Authorization: Bearer``; keys in URLs are refused."""
    if request.url.query and any(p in request.query_params for p in _QUERY_KEY_PARAMS):
        raise GatewayError(
            Kind.AUTHENTICATION,
            "API keys in the URL are refused (they leak into logs); send x-api-key or Authorization: Bearer.",
        )
    headers = request.headers
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
        if parent is None or parent.status != "active":
            raise GatewayError(Kind.AUTHENTICATION, "This key's master key was revoked.")
    return record


def _check_live(record: keys.KeyRecord) -> None:
    if record.status != "active":
        raise GatewayError(Kind.AUTHENTICATION, "This API key was revoked.")
    if record.expires_at is not None and record.expires_at <= time.time():
        raise GatewayError(Kind.AUTHENTICATION, "This API key has expired.")


def authorize(record: keys.KeyRecord, model: Model, modality: str = "chat") -> None:
    if record.models is not None and model.id not in record.models:
        raise GatewayError(Kind.PERMISSION, f"This key may not use model '{model.id}'.")
    if record.modalities is not None and modality not in record.modalities:
        raise GatewayError(Kind.PERMISSION, f"This key may not use the '{modality}' modality.")
