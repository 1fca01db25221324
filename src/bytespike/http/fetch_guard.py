"""The one way the gateway fetches a URL it did not configure itself (SSRF guard).

Today that is one kind of URL: a finished video job's result (Ark's pre-signed TOS URL,
Gemini's ``files/…:download``), which the *upstream* names and ``GET /v1/videos/{id}/content``
streams to the caller. A compromised or spoofed upstream could name anything — the Lambda
Runtime API on 127.0.0.1:9001, the instance metadata address 169.254.169.254, a VPC
service — and the gateway would fetch it and hand the answer to the caller. So:

* **Scheme**: ``http`` or ``https`` only; no userinfo (``user:pass@``) in the URL.
* **Address**: the host is resolved *here* and every address it resolves to must be a
  public unicast address (:func:`is_public_address`: no loopback, private, link-local incl.
  metadata, CGNAT, multicast, reserved, documentation, IPv4-mapped / NAT64 / 6to4 forms of
  those). The connection is then made to the address that was checked (the network backend
  does both), so DNS rebinding between check and connect is impossible.
  Exception: the *origin* (scheme, host, port) of the provider's configured base URL is
  trusted whatever its address — it is the operator's own configuration (locally, the
  simulator on 127.0.0.1). ``BYTESPIKE_FETCH_ALLOW_PRIVATE=1`` lifts the address rule for
  development setups; nothing sets it by default, not even the local stack.
* **Redirects** are followed by hand (at most ``FETCH_MAX_REDIRECTS``, default 3), each hop
  checked like the first; credentials go only to the trusted origin, never across a redirect.
* **No proxies from the environment** (``trust_env=False``): a proxy would do the connect.
* **Size**: a declared ``content-length`` over ``FETCH_MAX_BYTES`` (default 256 MiB) is
  refused before the body is read; the streamed body is counted and cut at the limit.
* **Time**: ``FETCH_CONNECT_TIMEOUT`` (5 s, DNS included), ``FETCH_READ_TIMEOUT`` (30 s
  between bytes) and ``FETCH_TOTAL_TIMEOUT`` (300 s for headers and body together).

Tests: ``tests/security/test_ssrf.py``.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_PRIVATE_ENV = "BYTESPIKE_FETCH_ALLOW_PRIVATE"
SCHEMES = ("http", "https")
_REDIRECTS = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}

# IPv4 ranges that are never a public result host (RFC 6890 special-purpose registry and friends).
_V4_BLOCKED = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",           # "this network"
    "10.0.0.0/8",          # private
    "100.64.0.0/10",       # carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
    "127.0.0.0/8",         # loopback (Lambda Runtime API, the Web Adapter, the app itself)
    "169.254.0.0/16",      # link-local (EC2/ECS/Lambda metadata 169.254.169.254 / .170.2)
    "172.16.0.0/12",       # private
    "192.0.0.0/24",        # IETF protocol assignments
    "192.0.2.0/24",        # documentation
    "192.88.99.0/24",      # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",      # private
    "198.18.0.0/15",       # benchmarking
    "198.51.100.0/24",     # documentation
    "203.0.113.0/24",      # documentation
    "224.0.0.0/4",         # multicast
    "240.0.0.0/4",         # reserved (incl. 255.255.255.255)
))
# IPv6: only global unicast (2000::/3) can be public; within it these are not.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_BLOCKED = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",           # IETF protocol assignments (Teredo 2001::/32, ORCHID, benchmarking…)
    "2001:db8::/32",       # documentation
    "2002::/16",           # 6to4: embeds an IPv4 address, relays are gone
    "3fff::/20",           # documentation (RFC 9637)
))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: embeds an IPv4 address


def is_public_address(address: str | IPAddress) -> bool:
    """True only for a public unicast address: the kind a result file can legitimately live on.

    IPv4-mapped (``::ffff:a.b.c.d``) and NAT64 (``64:ff9b::a.b.c.d``) addresses are judged by
    the IPv4 address they carry, since that is where a connection to them ends up.
    """
    ip: IPAddress
    if isinstance(address, str):
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
        except ValueError:
            return False
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip not in _V6_GLOBAL_UNICAST or any(ip in net for net in _V6_BLOCKED):
            return False
        return ip.is_global and not ip.is_multicast
    if any(ip in net for net in _V4_BLOCKED):
        return False
    return ip.is_global and not ip.is_multicast


def is_loopback_address(address: str) -> bool:
    """127.0.0.0/8 or ::1 (not their IPv4-mapped forms: the allowance is for literal loopback only)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0].strip("[]")).is_loopback
    except ValueError:
        return False


class FetchRefused(Exception):
    """The URL (or what it resolved or redirected to) is outside the fetch policy."""

    def __init__(self, reason: str, host: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int = 256 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 300.0
    max_redirects: int = 3
    allow_private: bool = False
    allow_loopback: bool = False  # loopback only (never metadata or private ranges): the local stack's webhooks

    @staticmethod
    def from_env() -> FetchLimits:
        return FetchLimits(
            max_bytes=int(_float("FETCH_MAX_BYTES", 256 * 1024 * 1024)),
            connect_timeout=_float("FETCH_CONNECT_TIMEOUT", 5.0),
            read_timeout=_float("FETCH_READ_TIMEOUT", 30.0),
            total_timeout=_float("FETCH_TOTAL_TIMEOUT", 300.0),
            max_redirects=int(_float("FETCH_MAX_REDIRECTS", 3)),
            allow_private=os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes"),
        )


Origin = tuple[str, str, int]


def origin_of(url: str | httpx.URL) -> Origin:
    u = httpx.URL(url) if isinstance(url, str) else url
    return u.scheme, u.host.lower(), u.port or _DEFAULT_PORTS.get(u.scheme, 0)


def check_url(url: str | httpx.URL) -> httpx.URL:
    """The parsed URL if its shape is allowed (scheme, host, no userinfo); else FetchRefused."""
    try:
        u = httpx.URL(url) if isinstance(url, str) else url
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefused("not a valid URL") from exc
    if u.scheme not in SCHEMES:
        raise FetchRefused(f"scheme '{u.scheme}' is not http(s)", u.host or None)
    if not u.host:
        raise FetchRefused("the URL has no host")
    if u.userinfo:
        raise FetchRefused("credentials in the URL are refused", u.host)
    return u


# The (host, port) pairs that may resolve to non-public addresses in the current request:
# the provider's configured origin. A context variable, because the pool connects inside the
# task that sends the request.
_TRUSTED: contextvars.ContextVar[frozenset[tuple[str, int]]] = contextvars.ContextVar(
    "bytespike_fetch_trusted", default=frozenset())


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]
        if addr not in out:
            out.append(addr)
    return out


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked address (no rebinding window)."""

    def __init__(self, limits: FetchLimits) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._limits = limits

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(self._limits.connect_timeout):
                addresses = await resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        trusted = (host.lower(), port) in _TRUSTED.get()
        if not addresses:
            raise FetchRefused("the host resolves to no address", host)
        if not (trusted or self._limits.allow_private):
            bad = [a for a in addresses if not is_public_address(a)
                   and not (self._limits.allow_loopback and is_loopback_address(a))]
            if bad:
                raise FetchRefused(f"the host resolves to a non-public address ({bad[0]})", host)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded network backend underneath.

    No keep-alive: every fetch connects (and so is checked) afresh, and a connection opened
    to a trusted origin is never reused for a request that does not trust it.
    """

    def __init__(self, limits: FetchLimits) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=64, max_keepalive_connections=0,
            network_backend=GuardedBackend(limits),
        )


@dataclass(slots=True)
class _Clients:
    """One guarded client per event loop (Lambda: one per process), like providers.HTTP."""

    client: httpx.AsyncClient | None = None
    loop: Any = None
    limits: FetchLimits = field(default_factory=FetchLimits)

    def get(self, limits: FetchLimits) -> httpx.AsyncClient:
        import asyncio

        loop = asyncio.get_running_loop()
        if self.client is None or self.loop is not loop or self.limits != limits:
            self.client = httpx.AsyncClient(
                transport=GuardedTransport(limits), trust_env=False, follow_redirects=False,
                timeout=httpx.Timeout(connect=limits.connect_timeout, read=limits.read_timeout, write=30.0, pool=10.0),
            )
            self.loop, self.limits = loop, limits
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


CLIENTS = _Clients()


@dataclass(slots=True)
class Fetched:
    """An opened response whose body can only be read within the limits."""

    response: httpx.Response
    url: httpx.URL
    deadline: float
    max_bytes: int

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as sent (``aiter_raw``), cut with FetchRefused past the size or time limit."""
        total = 0
        chunks = self.response.aiter_raw()
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise FetchRefused("the download took longer than the total time limit", self.url.host)
            try:
                with anyio.fail_after(remaining):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise FetchRefused("the download took longer than the total time limit", self.url.host) from exc
            total += len(chunk)
            if total > self.max_bytes:
                raise FetchRefused(f"the body is larger than {self.max_bytes} bytes", self.url.host)
            yield chunk

    async def aread(self) -> bytes:
        return b"".join([c async for c in self.iter_bytes()])

    async def aclose(self) -> None:
        await self.response.aclose()


async def fetch(url: str, *, trusted_origin: str | None = None, headers: dict[str, str] | None = None,
                limits: FetchLimits | None = None) -> Fetched:
    """GET ``url`` under the policy above. ``headers`` (credentials) go only to ``trusted_origin``.

    Returns the opened response (any status; the caller decides what an error means) or
    raises FetchRefused. Transport failures are httpx errors, as from any client.
    """
    limits = limits or FetchLimits.from_env()
    trusted = origin_of(trusted_origin) if trusted_origin else None
    client = CLIENTS.get(limits)
    deadline = time.monotonic() + limits.total_timeout
    current = check_url(url)
    token = _TRUSTED.set(frozenset({(trusted[1], trusted[2])}) if trusted else frozenset())
    try:
        for _hop in range(limits.max_redirects + 1):
            same = trusted is not None and origin_of(current) == trusted
            request = client.build_request("GET", current, headers=(headers or {}) if same else {})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchRefused("the fetch took longer than the total time limit", current.host)
            try:
                with anyio.fail_after(remaining):
                    response = await client.send(request, stream=True)
            except TimeoutError as exc:
                raise FetchRefused("the fetch took longer than the total time limit", current.host) from exc
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                await response.aclose()
                current = check_url(current.join(location))
                continue
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                await response.aclose()
                raise FetchRefused(f"the body is larger than {limits.max_bytes} bytes", current.host)
            return Fetched(response, current, deadline, limits.max_bytes)
        raise FetchRefused(f"more than {limits.max_redirects} redirects", current.host)
    finally:
        _TRUSTED.reset(token)


@dataclass(frozen=True, slots=True)
class Posted:
    """What a guarded POST got back: the status and at most ``max_bytes`` of the body."""

    status_code: int
    body: bytes
    location: str | None = None


async def post(url: str, body: bytes, *, headers: dict[str, str], limits: FetchLimits) -> Posted:
    """POST ``body`` to ``url`` under the same policy as :func:`fetch`, for URLs a customer names
    (alert webhooks): nothing is trusted, redirects are not followed (a 3xx is the answer), and the
    reply is read up to ``limits.max_bytes`` within ``limits.total_timeout``.

    A fresh connection pool per call: webhook deliveries are rare and each runs on its own event loop.
    """
    current = check_url(url)
    token = _TRUSTED.set(frozenset())
    timeout = httpx.Timeout(connect=limits.connect_timeout, read=limits.read_timeout, write=limits.read_timeout,
                            pool=limits.connect_timeout)
    try:
        async with httpx.AsyncClient(transport=GuardedTransport(limits), trust_env=False, follow_redirects=False,
                                     timeout=timeout) as client:
            try:
                with anyio.fail_after(limits.total_timeout):
                    async with client.stream("POST", current, content=body, headers=headers) as response:
                        data = b""
                        async for chunk in response.aiter_raw():
                            data += chunk
                            if len(data) >= limits.max_bytes:
                                data = data[:limits.max_bytes]
                                break
                        return Posted(response.status_code, data, response.headers.get("location"))
            except TimeoutError as exc:
                raise FetchRefused("the request took longer than the total time limit", current.host) from exc
    finally:
        _TRUSTED.reset(token)
