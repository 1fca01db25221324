"""Every provider's documented error bodies → the gateway's one error vocabulary (:class:`Kind`).

One function per provider, each taking the upstream HTTP status and the raw body (bytes,
str or already-parsed JSON; non-JSON bodies such as an HTML 502 or DeepSeek's plain-text
422 fall back to the status). The result keeps the upstream's own message and code, says
whether the fault is the gateway's *provider account* (bad key, no balance, no permission:
the pool should disable or cool that account, and the caller must never see it as *their*
billing or auth problem), and carries a retry delay found in the body (Gemini puts it in
``RetryInfo.retryDelay``, not in a header). A ``retry-after`` header is the caller's to
pass in: :meth:`UpstreamError.to_gateway_error` prefers it.

Rules shared by all providers (DESIGN.md "Errors"):

* an upstream 4xx *about the request* → ``INVALID_REQUEST`` with the upstream status kept
  (400/404/422 stay what they were) and the upstream message kept;
* the gateway's provider credentials/permission/balance → ``UPSTREAM`` (502), never
  ``AUTHENTICATION``/``BILLING``, which are the *caller's* problems;
* rate limits → ``RATE_LIMIT``; provider overload → ``OVERLOADED``; upstream 5xx →
  ``UPSTREAM``; upstream deadline → ``TIMEOUT``.

Sources: protocols.md §1/§2 (Anthropic, OpenAI), api-docs.deepseek.com/quick_start/error_codes,
Volcengine Ark error-code list (``{"error":{"code","message","param","type"}}``), Gemini
``{"error":{"code","message","status","details"}}`` (google.rpc codes). Fixtures with the
documented bodies live under ``tests/fixtures/<provider>/errors.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bytespike.errors import GatewayError, Kind, kind_for_upstream_status

__all__ = [
    "PROVIDER_MAPPERS",
    "UpstreamError",
    "anthropic_error",
    "ark_error",
    "deepseek_error",
    "gemini_error",
    "map_upstream_error",
    "openai_error",
]


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """One upstream failure, classified.

    ``status`` is the status to keep on the client surface (set only for upstream 4xx
    about the request); ``account_fault`` marks problems with the gateway's own provider
    account, which the pool should disable/cool and the caller must not be blamed for.
    """

    kind: Kind
    message: str
    upstream_status: int
    code: str | None = None
    status: int | None = None
    retry_after: str | None = None
    account_fault: bool = False

    @property
    def should_failover(self) -> bool:
        """True when another account (or a retry later) may succeed: never for request faults."""
        return self.kind not in (Kind.INVALID_REQUEST, Kind.TOO_LARGE, Kind.NOT_FOUND, Kind.CONFLICT)

    def to_gateway_error(self, retry_after_header: str | None = None) -> GatewayError:
        """The error to render to the caller. Account faults get a neutral message: the
        upstream's text ("Insufficient Balance", "API key not valid") is about the
        gateway's account, not the caller's, and is logged instead of shown."""
        if self.account_fault:
            text = (
                "The upstream provider rejected the gateway's account (credentials, permission or balance)."
            )
        elif self.message:
            text = f"Upstream: {self.message}"
        else:
            text = f"The upstream answered HTTP {self.upstream_status} without a readable error body."
        return GatewayError(
            self.kind, text, retry_after=retry_after_header or self.retry_after, status=self.status
        )


# --------------------------------------------------------------------------- helpers


def _parse(body: Any) -> Any:
    """bytes/str → JSON (or None when it is not JSON); dicts and lists pass through."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


def _raw_text(body: Any) -> str:
    """A short plain-text rendering of a non-JSON body (kept as the message)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        text = body.strip()
        if text.startswith("<"):  # an HTML error page from a proxy says nothing useful
            return ""
        return text[:500]
    return ""


def _error_obj(parsed: Any) -> dict:
    """The ``error`` object of a body (Gemini sometimes wraps its error in a one-item list)."""
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict):
            return err
        if isinstance(err, str):
            return {"message": err}
    return {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _generic(status: int, message: str, code: str | None) -> UpstreamError:
    """Status-only classification (non-JSON bodies, unknown codes)."""
    if status in (401, 403, 402):
        return UpstreamError(Kind.UPSTREAM, message, status, code, account_fault=True)
    kind = kind_for_upstream_status(status)
    keep = status if kind is Kind.INVALID_REQUEST and status in (400, 404, 422) else None
    return UpstreamError(kind, message, status, code, status=keep)


def _request_fault(status: int, message: str, code: str | None) -> UpstreamError:
    keep = status if status in (400, 404, 409, 413, 422) else 400
    kind = Kind.TOO_LARGE if status == 413 else Kind.INVALID_REQUEST
    return UpstreamError(kind, message, status, code, status=None if kind is Kind.TOO_LARGE else keep)


# --------------------------------------------------------------------------- Anthropic

_ANTHROPIC: dict[str, Kind] = {
    "invalid_request_error": Kind.INVALID_REQUEST,
    "request_too_large": Kind.TOO_LARGE,
    "not_found_error": Kind.INVALID_REQUEST,
    "conflict_error": Kind.CONFLICT,
    "rate_limit_error": Kind.RATE_LIMIT,
    "api_error": Kind.UPSTREAM,
    "overloaded_error": Kind.OVERLOADED,
    "timeout_error": Kind.TIMEOUT,
}
_ANTHROPIC_ACCOUNT = frozenset({"authentication_error", "permission_error", "billing_error"})
# Anthropic reports an exhausted *organisation* balance as a 400 invalid_request_error.
_ANTHROPIC_BALANCE = re.compile(r"credit balance is too low|spend limit|usage limit", re.IGNORECASE)


def anthropic_error(status: int, body: Any) -> UpstreamError:
    """``{"type":"error","error":{"type","message"},"request_id"}`` (also mid-stream ``event: error``)."""
    parsed = _parse(body)
    err = _error_obj(parsed)
    etype = _str(err.get("type"))
    message = _str(err.get("message")) or _raw_text(body)
    if etype in _ANTHROPIC_ACCOUNT or (
        etype == "invalid_request_error" and _ANTHROPIC_BALANCE.search(message)
    ):
        return UpstreamError(Kind.UPSTREAM, message, status, etype, account_fault=True)
    kind = _ANTHROPIC.get(etype or "")
    if kind is None:
        return _generic(status, message, etype)
    if kind is Kind.INVALID_REQUEST:
        return _request_fault(status if status < 500 else 400, message, etype)
    if kind is Kind.TOO_LARGE:
        return UpstreamError(kind, message, status, etype)
    return UpstreamError(kind, message, status, etype)


# --------------------------------------------------------------------------- OpenAI

_OPENAI_ACCOUNT_CODES = frozenset(
    {"invalid_api_key", "insufficient_quota", "account_deactivated", "billing_hard_limit_reached",
     "unsupported_country_region_territory", "organization_deactivated"}
)  # fmt: skip


def openai_error(status: int, body: Any) -> UpstreamError:
    """``{"error":{"message","type","param","code"}}``.

    429 ``insufficient_quota`` is the gateway's OpenAI account running dry (not a rate
    limit: waiting will not help) → account fault; 401/403 are always the gateway's key.
    """
    parsed = _parse(body)
    err = _error_obj(parsed)
    code = _str(err.get("code")) or _str(err.get("type"))
    message = _str(err.get("message")) or _raw_text(body)
    if status in (401, 402, 403) or code in _OPENAI_ACCOUNT_CODES:
        return UpstreamError(Kind.UPSTREAM, message, status, code, account_fault=True)
    if status == 429:
        return UpstreamError(Kind.RATE_LIMIT, message, status, code)
    if 400 <= status < 500:
        return _request_fault(status, message, code)
    if status == 503:
        return UpstreamError(Kind.OVERLOADED, message, status, code)
    return _generic(status, message, code)


# --------------------------------------------------------------------------- DeepSeek


def deepseek_error(status: int, body: Any) -> UpstreamError:
    """DeepSeek's documented codes (api-docs.deepseek.com/quick_start/error_codes).

    400 Invalid Format / 422 Invalid Parameters → the request (422 bodies are plain text:
    "Failed to deserialize the JSON body …"); 401 Authentication Fails and 402
    Insufficient Balance → the gateway's DeepSeek account (never the caller's billing);
    429 Rate Limit Reached; 500 Server Error; 503 Server Overloaded.
    """
    parsed = _parse(body)
    err = _error_obj(parsed)
    code = _str(err.get("type")) or _str(err.get("code"))
    message = _str(err.get("message")) or _raw_text(body)
    if status in (401, 402, 403):
        return UpstreamError(Kind.UPSTREAM, message, status, code, account_fault=True)
    if status == 429:
        return UpstreamError(Kind.RATE_LIMIT, message, status, code)
    if status in (400, 404, 413, 422):
        return _request_fault(status, message, code)
    if status == 503:
        return UpstreamError(Kind.OVERLOADED, message, status, code)
    return _generic(status, message, code)


# --------------------------------------------------------------------------- Volcengine Ark

_ARK_ACCOUNT_PREFIXES = (
    "AuthenticationError", "AccessDenied", "AccountOverdueError", "ServiceOverdue", "ServiceNotOpen",
    "ModelNotOpen", "QuotaExceeded", "SetLimitExceeded", "InvalidAccountStatus", "OperationDenied",
)  # fmt: skip


def ark_error(status: int, body: Any) -> UpstreamError:
    """``{"error":{"code","message","param","type"}}`` keyed by Ark's ``code``.

    Account problems (AuthenticationError, AccessDenied, AccountOverdueError, ServiceNotOpen,
    ModelNotOpen, QuotaExceeded/SetLimitExceeded — the account's trial quota or its own
    spend cap) → account fault. ``RateLimitExceeded*`` → rate limit. ``ServerOverloaded``
    is a **429** at Ark but means capacity, not the caller's rate → overloaded.
    ``InvalidParameter``/``MissingParameter``/``*SensitiveContentDetected`` → the request
    (400 kept). ``InvalidEndpointOrModel.NotFound`` → 404 kept. ``InternalServiceError`` → upstream.
    """
    parsed = _parse(body)
    err = _error_obj(parsed)
    code = _str(err.get("code")) or ""
    message = _str(err.get("message")) or _raw_text(body)
    if code.startswith(_ARK_ACCOUNT_PREFIXES) or (not code and status in (401, 402, 403)):
        return UpstreamError(Kind.UPSTREAM, message, status, code or None, account_fault=True)
    if code.startswith("RateLimitExceeded"):
        return UpstreamError(Kind.RATE_LIMIT, message, status, code)
    if code == "ServerOverloaded":
        return UpstreamError(Kind.OVERLOADED, message, status, code)
    if code in ("InternalServiceError", "ServiceUnavailable"):
        kind = Kind.OVERLOADED if status == 503 else Kind.UPSTREAM
        return UpstreamError(kind, message, status, code)
    if code.startswith("InvalidEndpointOrModel") or status == 404:
        return UpstreamError(Kind.INVALID_REQUEST, message, status, code or None, status=404)
    if code and 400 <= status < 500 and status != 429:
        return _request_fault(status, message, code)
    return _generic(status, message, code or None)


# --------------------------------------------------------------------------- Gemini

_GEMINI_STATUS: dict[str, Kind] = {
    "INVALID_ARGUMENT": Kind.INVALID_REQUEST,
    "OUT_OF_RANGE": Kind.INVALID_REQUEST,
    "NOT_FOUND": Kind.INVALID_REQUEST,
    "ALREADY_EXISTS": Kind.CONFLICT,
    "ABORTED": Kind.UPSTREAM,
    "FAILED_PRECONDITION": Kind.UPSTREAM,  # billing not enabled / region not supported: the account
    "PERMISSION_DENIED": Kind.UPSTREAM,
    "UNAUTHENTICATED": Kind.UPSTREAM,
    "RESOURCE_EXHAUSTED": Kind.RATE_LIMIT,
    "CANCELLED": Kind.UPSTREAM,
    "UNKNOWN": Kind.UPSTREAM,
    "INTERNAL": Kind.UPSTREAM,
    "UNAVAILABLE": Kind.OVERLOADED,
    "DEADLINE_EXCEEDED": Kind.TIMEOUT,
    "UNIMPLEMENTED": Kind.UPSTREAM,
    "DATA_LOSS": Kind.UPSTREAM,
}
_GEMINI_ACCOUNT_STATUSES = frozenset({"FAILED_PRECONDITION", "PERMISSION_DENIED", "UNAUTHENTICATED"})
_GEMINI_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "CONSUMER_SUSPENDED"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _gemini_retry_delay(err: dict) -> str | None:
    """``details[@type=…RetryInfo].retryDelay`` ("37s", "1.5s") → whole seconds, rounded up."""
    for detail in err.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            m = _DURATION.match(str(detail.get("retryDelay") or ""))
            if m:
                seconds = float(m.group(1))
                return str(max(1, int(-(-seconds // 1))))
    return None


def _gemini_reasons(err: dict) -> set[str]:
    return {
        str(d.get("reason"))
        for d in err.get("details") or ()
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")
    }


def gemini_error(status: int, body: Any) -> UpstreamError:
    """``{"error":{"code","message","status","details"}}`` keyed by the google.rpc ``status``.

    A wrong API key is a **400 INVALID_ARGUMENT** at Gemini (ErrorInfo reason
    ``API_KEY_INVALID``) — the gateway's key, so an account fault, not the caller's 400.
    RESOURCE_EXHAUSTED carries its wait in ``RetryInfo.retryDelay`` (no header).
    """
    parsed = _parse(body)
    err = _error_obj(parsed)
    gstatus = _str(err.get("status"))
    message = _str(err.get("message")) or _raw_text(body)
    reasons = _gemini_reasons(err)
    retry = _gemini_retry_delay(err)
    if (
        reasons & _GEMINI_KEY_REASONS
        or gstatus in _GEMINI_ACCOUNT_STATUSES
        or message.startswith("API key not valid")
    ):
        return UpstreamError(Kind.UPSTREAM, message, status, gstatus, account_fault=True)
    kind = _GEMINI_STATUS.get(gstatus or "")
    if kind is None:
        base = _generic(status, message, gstatus)
        return UpstreamError(base.kind, base.message, status, gstatus, base.status, retry, base.account_fault)
    if kind is Kind.INVALID_REQUEST:
        keep = 404 if gstatus == "NOT_FOUND" else (status if status in (400, 404, 422) else 400)
        return UpstreamError(kind, message, status, gstatus, status=keep)
    return UpstreamError(kind, message, status, gstatus, retry_after=retry)


# --------------------------------------------------------------------------- dispatch

PROVIDER_MAPPERS: dict[str, Callable[[int, Any], UpstreamError]] = {
    "anthropic": anthropic_error,
    "openai": openai_error,
    "deepseek": deepseek_error,
    "ark": ark_error,
    "gemini": gemini_error,
}


def map_upstream_error(provider: str, status: int, body: Any) -> UpstreamError:
    """Classify with ``provider``'s mapper (unknown providers: the OpenAI shape, the most common)."""
    return PROVIDER_MAPPERS.get(provider, openai_error)(status, body)
