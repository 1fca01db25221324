"""Upstream providers: where a model's request goes, with which key, over one shared client.

Accounts come from one place: ``UPSTREAM_<PROVIDER>_API_KEY`` / ``UPSTREAM_<PROVIDER>_BASE_URL``
in the environment (dev, local stack), or a Secrets Manager JSON secret named by
``UPSTREAM_SECRET_ARN`` (AWS) holding the same names. Never the template or the repo.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from bytespike import tracing
from bytespike.catalog import Provider
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind, register_secret


@dataclass(frozen=True, slots=True)
class Account:
    provider: str
    name: str
    base_url: str
    api_key: str
    priority: int = 0  # lower is tried first
    weight: float = 1.0  # share of traffic within a priority

    def __repr__(self) -> str:  # never print the key
        return f"Account({self.provider}/{self.name} -> {self.base_url})"


def _secret_values() -> dict[str, str]:
    arn = os.environ.get("UPSTREAM_SECRET_ARN")
    if not arn:
        return {}
    from aws_lambda_powertools.utilities import parameters  # deferred: only on AWS

    raw = parameters.get_secret(arn, max_age=300)
    return json.loads(raw) if isinstance(raw, str) else dict(raw)  # type: ignore[arg-type]


def accounts_for(provider: Provider) -> list[Account]:
    """The provider's accounts, from one place.

    ``UPSTREAM_<P>_ACCOUNTS`` (a JSON list of ``{name, api_key, base_url?, priority?, weight?}``)
    in the environment, in the JSON file named by ``UPSTREAM_ACCOUNTS_FILE`` (``{"<p>": [...]}``)
    or in the Secrets Manager secret named by ``UPSTREAM_SECRET_ARN``; or a single account
    from ``UPSTREAM_<P>_API_KEY`` (+ ``UPSTREAM_<P>_BASE_URL``).
    """
    env_prefix = f"UPSTREAM_{provider.name.upper()}"
    secret = _secret_values()

    def value(name: str) -> str | None:  # the environment wins over the secret (no copy of either)
        found = os.environ.get(name)
        return found if found is not None else secret.get(name)

    default_base = value(f"{env_prefix}_BASE_URL") or provider.base_url
    listed = value(f"{env_prefix}_ACCOUNTS") or _file_accounts(value("UPSTREAM_ACCOUNTS_FILE"), provider.name)
    if listed:
        return _parse_accounts(provider.name, listed, default_base)
    key = value(f"{env_prefix}_API_KEY") or value(provider.key_env)
    if not key:
        raise GatewayError(Kind.UPSTREAM, f"No upstream account is configured for provider '{provider.name}'.")
    register_secret(key)  # never rendered in an error, whatever its shape (errors.redact)
    return [Account(provider=provider.name, name="default", base_url=default_base.rstrip("/"), api_key=key)]


@lru_cache(maxsize=64)
def _parse_accounts(provider: str, raw: str, default_base: str) -> list[Account]:
    try:
        entries = json.loads(raw)
        for e in entries:
            register_secret(str(e.get("api_key") or ""))
        return [
            Account(provider=provider, name=str(e.get("name") or f"account-{i}"),
                    base_url=str(e.get("base_url") or default_base).rstrip("/"), api_key=str(e["api_key"]),
                    priority=int(e.get("priority", 0)), weight=float(e.get("weight", 1.0)))
            for i, e in enumerate(entries)
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GatewayError(Kind.API, f"The account pool for '{provider}' is misconfigured.") from exc


def _file_accounts(path: str | None, provider: str) -> str | None:
    """The provider's list from the accounts file, re-read only when the file changes."""
    if not path:
        return None
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise GatewayError(Kind.API, "UPSTREAM_ACCOUNTS_FILE is unreadable.") from exc
    return _read_accounts_file(path, mtime).get(provider)


@lru_cache(maxsize=8)
def _read_accounts_file(path: str, mtime_ns: int) -> dict[str, str]:
    try:
        with open(path) as fh:
            entries = json.load(fh)
    except (OSError, ValueError) as exc:
        raise GatewayError(Kind.API, "UPSTREAM_ACCOUNTS_FILE is unreadable.") from exc
    if not isinstance(entries, dict):
        raise GatewayError(Kind.API, "UPSTREAM_ACCOUNTS_FILE is unreadable.")
    return {name: json.dumps(listed) for name, listed in entries.items() if listed}


class HttpClients:
    """One pooled httpx client per event loop (Lambda: one per process)."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            cfg = settings()
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=cfg.upstream_connect_timeout,
                    read=cfg.upstream_idle_timeout,
                    write=30.0,
                    pool=10.0,
                ),
                limits=httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=60),
                http2=False,
                follow_redirects=False,
            )
            self._loop = loop
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


HTTP = HttpClients()


def retry_after_of(headers: httpx.Headers) -> str | None:
    for name in ("retry-after", "retry-after-ms"):
        value = headers.get(name)
        if value:
            if name == "retry-after-ms":
                try:
                    return str(max(1, round(float(value) / 1000)))
                except ValueError:
                    return None
            return value
    return None


def upstream_message(body: bytes) -> tuple[str | None, Any]:
    """(message, parsed body) from an upstream error body in any provider's shape, or non-JSON."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if isinstance(parsed, list) and parsed:  # Gemini sometimes wraps errors in a list
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return None, parsed
    err = parsed.get("error")
    if isinstance(err, dict):
        return err.get("message"), parsed
    if isinstance(err, str):
        return err, parsed
    return parsed.get("message"), parsed


def upstream_error(provider: str, status: int, raw: bytes, headers: httpx.Headers) -> GatewayError:
    """Any provider's error response -> the gateway's vocabulary (``translate.errors_map``)."""
    from bytespike.translate.errors_map import map_upstream_error

    classified = map_upstream_error(provider, status, raw)
    err = classified.to_gateway_error(retry_after_of(headers))
    err.account_fault = classified.account_fault
    return err


async def send_post(account: Account, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to an upstream and return once its headers are in (the body streams later).

    Connection failures and timeouts become the gateway's kinds; an error status is read
    and mapped by the provider's error table. Shared by every chat adapter.
    """
    client = HTTP.get()
    request = client.build_request("POST", url, content=body, headers=headers)
    # Traced up to the response headers (the upstream's time to first byte); no query string.
    target = request.url
    with tracing.subsegment(target.host, http={"request": {"method": "POST", "url": f"{target.scheme}://{target.host}{target.path}"}},
                            annotations={"provider": account.provider, "account": account.name}) as span:
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise GatewayError(Kind.TIMEOUT, "The upstream did not answer in time.", retry_after="2") from exc
        except httpx.HTTPError as exc:
            raise GatewayError(Kind.UPSTREAM, f"Could not reach the upstream ({type(exc).__name__}).", retry_after="1") from exc
        if span is not None:
            span.status(response.status_code)
        if response.status_code >= 400:
            raw = await response.aread()
            await response.aclose()
            raise upstream_error(account.provider, response.status_code, raw, response.headers)
        return response
