"""Upstream providers: where a model's request goes, with which key, over one shared client.

Accounts come from one place: ``UPSTREAM_<PROVIDER>_API_KEY`` / ``UPSTREAM_<PROVIDER>_BASE_URL``
in the environment (dev, local stack), or a Secrets Manager JSON secret named by
``UPSTREAM_SECRET_ARN`` (AWS) holding the same names. Never the template or the repo.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bytespike import tracing
from bytespike.catalog import Provider
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind, register_secret

if TYPE_CHECKING:
    import httpx


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
    """One pooled httpx client per event loop (Lambda: one per process), for the modality endpoints.

    httpx is imported on first use: the chat functions talk to upstreams and DynamoDB through
    aiohttp (``UPSTREAM_HTTP``, ``store.dynamo``) and must not pay httpx's import at cold start.
    """

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import httpx

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


def retry_after_of(headers: Mapping[str, str]) -> str | None:
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


def upstream_error(provider: str, status: int, raw: bytes, headers: Mapping[str, str]) -> GatewayError:
    """Any provider's error response -> the gateway's vocabulary (``translate.errors_map``)."""
    from bytespike.translate.errors_map import map_upstream_error

    classified = map_upstream_error(provider, status, raw)
    err = classified.to_gateway_error(retry_after_of(headers))
    err.account_fault = classified.account_fault
    return err


class UpstreamResponse:
    """An upstream chat response, headers in, body unread: what the pipeline and relay use.

    aiohttp underneath (the chat request path's one HTTP client): for a streamed POST it
    costs ~0.2 CPU-ms where httpx cost ~1.1 (docs/BENCHMARKS.md), which on one event loop is
    also time to first token. Body failures surface as the gateway's own kinds.
    """

    __slots__ = ("_resp", "headers", "status_code")

    def __init__(self, resp: Any) -> None:
        self._resp = resp
        self.status_code: int = resp.status
        self.headers: Mapping[str, str] = resp.headers

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """Body chunks as they arrive (decompressed if the upstream compressed them)."""
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except Exception as exc:
            raise _body_error(exc) from exc

    async def aread(self) -> bytes:
        try:
            return bytes(await self._resp.read())
        except Exception as exc:
            raise _body_error(exc) from exc

    async def aclose(self) -> None:
        """Back to the pool when fully read, else the connection is closed (never reused mid-body)."""
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()


def _body_error(exc: Exception) -> Exception:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, TimeoutError):
        return GatewayError(Kind.TIMEOUT, "The upstream went quiet mid-response.", retry_after="2")
    aiohttp = UPSTREAM_HTTP.aiohttp
    if isinstance(exc, aiohttp.ClientError | OSError):
        return GatewayError(Kind.UPSTREAM, f"The upstream stream failed: {type(exc).__name__}.")
    return exc


class UpstreamSessions:
    """One pooled aiohttp session per event loop (Lambda: one per process), for chat upstreams."""

    def __init__(self) -> None:
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.aiohttp: Any = None

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            import aiohttp  # deferred: off the entry modules' import path (cold start)

            self.aiohttp = aiohttp
            cfg = settings()
            reuse = aiohttp.TraceConfig()
            reuse.on_connection_reuseconn.append(_mark_reused)
            self._session = aiohttp.ClientSession(
                trace_configs=[reuse],
                connector=aiohttp.TCPConnector(limit=512, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300),
                # Per read, as httpx's was: time to headers (slow first token) and silence mid-stream.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=cfg.upstream_connect_timeout,
                                              sock_read=cfg.upstream_idle_timeout),
                trust_env=False,  # no proxy from the environment
                raise_for_status=False,
            )
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None


UPSTREAM_HTTP = UpstreamSessions()
STALE_CONNECTION_RETRIES = 3
log = logging.getLogger("bytespike.providers")


async def _mark_reused(session: Any, ctx: Any, params: Any) -> None:
    """aiohttp's trace hook: this request went out on a pooled keep-alive connection."""
    if isinstance(ctx.trace_request_ctx, dict):
        ctx.trace_request_ctx["reused"] = True


async def _post(session: Any, url: str, body: bytes, headers: dict[str, str]) -> Any:
    """One POST, sent again on another connection when the pooled one it went out on was closed.

    An upstream closes idle keep-alive connections on its own clock (the simulator after 5 s, load
    balancers after a minute); a request written just as the close arrives fails with
    ``ServerDisconnectedError`` or a reset before any response byte, and was never read, so it is
    sent again - but only when the connection was a reused one: a fresh connection that fails the
    same way may have reached a server that died working on it, and a POST that costs money is not
    sent twice on a guess. (The residual case: an upstream that read a request on a reused
    connection and then dropped it without a byte of answer gets it twice; its load balancer would
    normally answer a 5xx instead, which is never resent here.) aiohttp itself retries only
    idempotent methods. Several pooled connections can have gone stale together, so each failure
    on a reused one earns another try, up to ``STALE_CONNECTION_RETRIES``.
    """
    aiohttp = UPSTREAM_HTTP.aiohttp
    for _ in range(STALE_CONNECTION_RETRIES):
        trace: dict[str, bool] = {}
        try:
            return await session.post(url, data=body, headers=headers, allow_redirects=False, trace_request_ctx=trace)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if not trace.get("reused") or isinstance(exc, aiohttp.ClientConnectorError):
                raise
            log.info("the upstream had closed a pooled connection (%s); sending the request again", type(exc).__name__)
    return await session.post(url, data=body, headers=headers, allow_redirects=False)


async def send_post(account: Account, url: str, body: bytes, headers: dict[str, str]) -> UpstreamResponse:
    """POST to an upstream and return once its headers are in (the body streams later).

    Connection failures and timeouts become the gateway's kinds; an error status is read
    and mapped by the provider's error table. Shared by every chat adapter.
    """
    session = UPSTREAM_HTTP.get()
    aiohttp = UPSTREAM_HTTP.aiohttp
    target = urlsplit(url)
    # Traced up to the response headers (the upstream's time to first byte); no query string.
    with tracing.subsegment(target.hostname or "upstream",
                            http={"request": {"method": "POST", "url": f"{target.scheme}://{target.netloc}{target.path}"}},
                            annotations={"provider": account.provider, "account": account.name}) as span:
        try:
            resp = await _post(session, url, body, headers)
        except TimeoutError as exc:
            raise GatewayError(Kind.TIMEOUT, "The upstream did not answer in time.", retry_after="2") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise GatewayError(Kind.UPSTREAM, f"Could not reach the upstream ({type(exc).__name__}).", retry_after="1") from exc
        response = UpstreamResponse(resp)
        if span is not None:
            span.status(response.status_code)
        if response.status_code >= 400:
            try:
                raw = await response.aread()
            except GatewayError:
                raw = b""
            await response.aclose()
            raise upstream_error(account.provider, response.status_code, raw, response.headers)
        return response
