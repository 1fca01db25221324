"""Alert webhooks: which URLs are accepted, how a body is signed, one guarded POST.

The URL is the customer's, so it goes through the SSRF guard (``http/fetch_guard.py``) like any URL
the gateway did not configure itself: https only, every address it resolves to public, the connection
made to the address that was checked, no redirects, small and short.

**Loopback in the local stack.** Tests and ``make dev`` receive webhooks on 127.0.0.1. The local
stack alone sets ``ALERTS_WEBHOOK_ALLOW_LOOPBACK=1``, which admits ``http``/``https`` URLs whose
addresses are loopback (127.0.0.0/8, ::1) and nothing else the guard refuses (metadata, private
ranges stay refused). The flag is ignored on Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set there), and
``template.yaml`` never sets it (``tests/security/test_alert_webhooks.py``), so production keeps
the full guard.

**Signature.** ``bytespike-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``,
the scheme Stripe made familiar: a receiver recomputes it over the raw body, compares in constant
time and refuses a ``t`` older than a few minutes (replays). ``bytespike-event-id`` is the same for
every attempt of one event: receivers de-duplicate on it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from bytespike.errors import GatewayError, Kind

if TYPE_CHECKING:
    from bytespike.http.fetch_guard import FetchLimits

ALLOW_LOOPBACK_ENV = "ALERTS_WEBHOOK_ALLOW_LOOPBACK"
MAX_URL = 2048
USER_AGENT = "ByteSpike-Alerts/1"


def _guard() -> ModuleType:
    """The SSRF guard, imported on first use: it brings httpx, which the admin function (where rules
    are set) must not load at init (functions/import_budget.toml); the alerts function loads it anyway."""
    from bytespike.http import fetch_guard

    return fetch_guard


def loopback_allowed() -> bool:
    """Only off Lambda, and only where the local stack asked for it."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return False
    return os.environ.get(ALLOW_LOOPBACK_ENV, "").strip().lower() in ("1", "true", "yes")


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The webhook URL if it may be used; else a 400 naming ``webhook_url``.

    Checked again at every delivery, where its host is resolved and every address must be public.
    """
    if len(url) > MAX_URL:
        raise GatewayError(Kind.INVALID_REQUEST, f"webhook_url: at most {MAX_URL} characters.", param="webhook_url")
    fetch_guard = _guard()
    try:
        parsed = fetch_guard.check_url(url)
    except fetch_guard.FetchRefused as exc:
        raise GatewayError(Kind.INVALID_REQUEST, f"webhook_url: {exc.reason}.", param="webhook_url") from exc
    loopback = loopback_allowed() and _is_loopback_host(parsed.host)
    if parsed.scheme != "https" and not loopback:
        raise GatewayError(Kind.INVALID_REQUEST, "webhook_url: must be an https URL.", param="webhook_url")
    try:
        literal = ipaddress.ip_address(parsed.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None and not loopback and not fetch_guard.is_public_address(literal):
        raise GatewayError(Kind.INVALID_REQUEST, "webhook_url: the address is not a public one.",
                           param="webhook_url")
    return str(parsed)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None, tolerance: int = 300) -> bool:
    """What a receiver does (and what the tests do): recompute, compare in constant time, refuse stale ones."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None
    error: str
    ms: int


def limits() -> FetchLimits:
    return _guard().FetchLimits(max_bytes=64 * 1024, connect_timeout=5.0, read_timeout=10.0, total_timeout=15.0,
                                   max_redirects=0, allow_loopback=loopback_allowed())


async def send(url: str, secret: str, event_id: str, body: bytes, attempt: int) -> Outcome:
    """One delivery attempt: 2xx is delivered; anything else (a redirect included) is a failure to retry."""
    started = time.monotonic()
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "bytespike-event-id": event_id,
               "bytespike-delivery-attempt": str(attempt),
               "bytespike-signature": signature(secret, body, int(time.time()))}
    fetch_guard = _guard()
    try:
        check_url(url)
        reply = await fetch_guard.post(url, body, headers=headers, limits=limits())
    except GatewayError as err:
        return Outcome(False, None, err.message, _ms(started))
    except fetch_guard.FetchRefused as exc:
        return Outcome(False, None, f"refused: {exc.reason}", _ms(started))
    except Exception as exc:  # connection refused, reset, TLS: the receiver is unreachable now
        return Outcome(False, None, f"{type(exc).__name__}: {str(exc)[:200]}", _ms(started))
    ok = 200 <= reply.status_code < 300
    error = "" if ok else ("redirects are not followed" if 300 <= reply.status_code < 400
                           else f"HTTP {reply.status_code}")
    return Outcome(ok, reply.status_code, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
