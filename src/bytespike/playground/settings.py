"""Playground settings, read from the environment (same code locally and on AWS)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from bytespike.catalog import Model, catalog

DAY = 86_400


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True, slots=True)
class PlaygroundSettings:
    runs_per_window: int
    window_seconds: int
    max_tokens: int
    max_body_bytes: int
    client_ip_source: str  # "peer" | "lambda" | "cloudfront"
    ip_salt: str
    house_key_param: str | None
    get_key_hint: str  # how a visitor gets a key, shown when the free runs are used up

    @staticmethod
    def from_env() -> PlaygroundSettings:
        source = os.environ.get("PLAYGROUND_CLIENT_IP_SOURCE", "auto").strip().lower()
        if source == "auto":
            # On Lambda the TCP peer is the Web Adapter on loopback: use the function URL's view.
            source = "lambda" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "peer"
        if source not in ("peer", "lambda", "cloudfront"):
            raise ValueError(f"PLAYGROUND_CLIENT_IP_SOURCE={source!r}: expected auto, peer, lambda or cloudfront")
        return PlaygroundSettings(
            runs_per_window=_int("PLAYGROUND_RUNS_PER_DAY", 3),
            window_seconds=max(1, _int("PLAYGROUND_WINDOW_SECONDS", DAY)),
            max_tokens=_int("PLAYGROUND_MAX_TOKENS", 1024),
            max_body_bytes=_int("PLAYGROUND_MAX_BODY_BYTES", 32 * 1024),
            client_ip_source=source,
            ip_salt=os.environ.get("PLAYGROUND_IP_SALT", ""),
            house_key_param=os.environ.get("PLAYGROUND_HOUSE_KEY_PARAM") or None,
            get_key_hint=os.environ.get("PLAYGROUND_GET_KEY_HINT")
            or "ask your ByteSpike operator for one (keys are created with the admin API)",
        )


@lru_cache(maxsize=1)
def playground_settings() -> PlaygroundSettings:
    return PlaygroundSettings.from_env()


def reset_playground_settings() -> None:
    playground_settings.cache_clear()


def free_models() -> list[Model]:
    """Catalog chat models marked ``free_tier = true`` (the only ones a free run may use)."""
    return [m for m in catalog().models.values() if m.free_tier and m.modality == "chat"]


_HOUSE_KEY: tuple[str, float] | None = None
_HOUSE_KEY_TTL = 300.0


async def house_key() -> str | None:
    """The house org's key: ``PLAYGROUND_HOUSE_KEY`` (local stack) or an SSM SecureString
    named by ``PLAYGROUND_HOUSE_KEY_PARAM`` (AWS), cached for five minutes so a rotation
    takes effect without a redeploy. Never logged, never rendered."""
    global _HOUSE_KEY
    direct = os.environ.get("PLAYGROUND_HOUSE_KEY")
    if direct:
        return direct
    name = playground_settings().house_key_param
    if not name:
        return None
    now = time.monotonic()
    if _HOUSE_KEY is not None and _HOUSE_KEY[1] > now:
        return _HOUSE_KEY[0]

    def fetch() -> str:
        import boto3  # deferred: only on AWS

        resp = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
        return str(resp["Parameter"]["Value"]).strip()

    value = await asyncio.to_thread(fetch)
    _HOUSE_KEY = (value, now + _HOUSE_KEY_TTL)
    return value


_LOCAL_SALT = "bytespike-playground-v1"


async def ip_salt() -> str:
    """The salt of the per-IP counters' hashes, secret per deployment.

    ``PLAYGROUND_IP_SALT`` when set; else derived from the house key (an SSM SecureString on
    AWS, so every deployment has its own without another secret to manage: a public salt
    would let anyone who can read the table reverse the hashes over the 2^32 IPv4
    addresses); the constant only when there is no house key either (then there are no
    free runs to count). Rotating the house key starts the day's counters afresh.
    """
    configured = playground_settings().ip_salt
    return configured or derive_ip_salt(await house_key())


def derive_ip_salt(house_key: str | None) -> str:
    if not house_key:
        return _LOCAL_SALT
    return hmac.new(house_key.encode(), b"bytespike playground ip salt v1", hashlib.sha256).hexdigest()
