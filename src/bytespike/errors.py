"""One error vocabulary, rendered per surface.

Every failure inside the gateway is a :class:`GatewayError` of one internal kind; the
HTTP layer renders it in the caller's protocol (Anthropic, OpenAI or Gemini) with the
status that protocol's SDKs expect, so retries behave as the SDKs intend.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

from bytespike.protocols import SurfaceName


class Kind(StrEnum):
    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_LARGE = "request_too_large"
    BILLING = "billing"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    UPSTREAM = "upstream_error"
    TIMEOUT = "timeout"
    API = "api_error"


# kind -> (anthropic status, anthropic type, openai status, openai type, openai code)
_TABLE: dict[Kind, tuple[int, str, int, str, str | None]] = {
    Kind.INVALID_REQUEST: (400, "invalid_request_error", 400, "invalid_request_error", None),
    Kind.AUTHENTICATION: (401, "authentication_error", 401, "invalid_request_error", "invalid_api_key"),
    Kind.PERMISSION: (403, "permission_error", 403, "permission_error", "permission_denied"),
    Kind.NOT_FOUND: (404, "not_found_error", 404, "invalid_request_error", "not_found"),
    Kind.CONFLICT: (409, "conflict_error", 409, "invalid_request_error", "conflict"),
    Kind.TOO_LARGE: (413, "request_too_large", 413, "invalid_request_error", "request_too_large"),
    Kind.BILLING: (402, "billing_error", 402, "insufficient_quota", "insufficient_quota"),
    Kind.RATE_LIMIT: (429, "rate_limit_error", 429, "rate_limit_error", "rate_limit_exceeded"),
    Kind.OVERLOADED: (529, "overloaded_error", 503, "server_error", "overloaded"),
    Kind.UPSTREAM: (502, "api_error", 502, "server_error", "upstream_error"),
    Kind.TIMEOUT: (504, "timeout_error", 504, "server_error", "timeout"),
    Kind.API: (500, "api_error", 500, "server_error", None),
}

# kind -> (HTTP status, google.rpc status) on the Gemini surface. Google's own pairs where the
# kind has one (INVALID_ARGUMENT 400, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503 ...); where it has
# none the other surfaces' HTTP status is kept (402 for credits: Google clients retry only 429
# and 5xx, so a 402 is shown, never retried; 502 = UNAVAILABLE, as gRPC maps a bad gateway).
_GOOGLE: dict[Kind, tuple[int, str]] = {
    Kind.INVALID_REQUEST: (400, "INVALID_ARGUMENT"),
    Kind.AUTHENTICATION: (401, "UNAUTHENTICATED"),
    Kind.PERMISSION: (403, "PERMISSION_DENIED"),
    Kind.NOT_FOUND: (404, "NOT_FOUND"),
    Kind.CONFLICT: (409, "ABORTED"),
    Kind.TOO_LARGE: (413, "INVALID_ARGUMENT"),
    Kind.BILLING: (402, "FAILED_PRECONDITION"),
    Kind.RATE_LIMIT: (429, "RESOURCE_EXHAUSTED"),
    Kind.OVERLOADED: (503, "UNAVAILABLE"),
    Kind.UPSTREAM: (502, "UNAVAILABLE"),
    Kind.TIMEOUT: (504, "DEADLINE_EXCEEDED"),
    Kind.API: (500, "INTERNAL"),
}
# An overridden HTTP status (an upstream 4xx kept as is) gets the google.rpc status of that code.
_GOOGLE_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Client mistakes: a retry would only repeat the failure.
_NO_RETRY = {
    Kind.INVALID_REQUEST,
    Kind.AUTHENTICATION,
    Kind.PERMISSION,
    Kind.NOT_FOUND,
    Kind.TOO_LARGE,
    Kind.BILLING,
    Kind.CONFLICT,
}


@dataclass(slots=True)
class GatewayError(Exception):
    kind: Kind
    message: str
    param: str | None = None
    retry_after: str | None = None
    status: int | None = None  # override, e.g. an upstream 400 kept as 400
    account_fault: bool = False  # the gateway's provider account is at fault (pools disable it)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    @property
    def should_retry(self) -> bool:
        return self.kind not in _NO_RETRY


def anthropic_status(err: GatewayError) -> int:
    return err.status or _TABLE[err.kind][0]


def openai_status(err: GatewayError) -> int:
    return err.status or _TABLE[err.kind][2]


def gemini_status(err: GatewayError) -> int:
    return err.status or _GOOGLE[err.kind][0]


# ------------------------------------------------------------------ secret redaction
# Error messages can quote an upstream's text ("Upstream: …"); an upstream (or a proxy in
# front of one) that echoes request headers must not hand the gateway's provider key, or any
# caller's key, to the caller. Every rendered message passes through ``redact``: key-shaped
# tokens and the secrets this process knows are replaced (docs/SECURITY.md, finding F4).
REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"sk-[A-Za-z0-9][A-Za-z0-9_\-]{15,}"  # OpenAI, Anthropic (sk-ant-), DeepSeek, ByteSpike (sk-bs-)
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API keys (Gemini)
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"  # any bearer token
)
_SECRET_ENV_SUFFIXES = ("_API_KEY", "_KEY", "_SECRET", "_SECRET_ACCESS_KEY", "_SESSION_TOKEN", "_TOKEN")
_SECRET_ENV_SUFFIXES_BYTES = tuple(s.encode() for s in _SECRET_ENV_SUFFIXES)
_MIN_SECRET = 12  # shorter values ("local") would redact ordinary words
_REGISTERED: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret this process holds (e.g. a provider key from Secrets Manager) so that
    no error message ever renders it, whatever its shape."""
    if value and len(value) >= _MIN_SECRET:
        _REGISTERED.add(value)


def _secret_env_items() -> Iterator[tuple[str, str]]:
    """The environment's (name, value) pairs whose names can hold a secret, read afresh each call
    (tests and operators change the environment). On POSIX the names are matched as stored (bytes)
    and only matching values decoded: ``os.environ.items()`` decoded all ~100 values, ~6 % of the
    gateway's CPU per request (every access log line is redacted)."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict) or not isinstance(next(iter(data), b""), bytes):  # POSIX stores bytes
        yield from os.environ.items()
        return
    for raw_name, raw_value in list(data.items()):
        if raw_name.endswith(_SECRET_ENV_SUFFIXES_BYTES) or (
                raw_name.startswith(b"UPSTREAM_") and raw_name.endswith(b"_ACCOUNTS")):
            yield os.fsdecode(raw_name), os.fsdecode(raw_value)


def _env_secrets() -> set[str]:
    out: set[str] = set()
    for name, value in _secret_env_items():
        if name.endswith(_SECRET_ENV_SUFFIXES) and len(value) >= _MIN_SECRET:
            out.add(value)
        elif name.startswith("UPSTREAM_") and name.endswith("_ACCOUNTS"):
            with contextlib.suppress(ValueError, TypeError):
                out.update(str(e["api_key"]) for e in json.loads(value) if isinstance(e, dict) and e.get("api_key"))
    return {v for v in out if len(v) >= _MIN_SECRET}


def looks_like_secret(text: str) -> bool:
    """Is there a key-shaped token (``sk-…``, ``AIza…``, ``Bearer …``) in ``text``?"""
    return _SECRET_SHAPES.search(text) is not None


def redact(text: str) -> str:
    """``text`` with every known secret and key-shaped token replaced by ``[redacted]``."""
    for secret in sorted(_REGISTERED | _env_secrets(), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SECRET_SHAPES.sub(REDACTED, text)


def anthropic_body(err: GatewayError, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": _TABLE[err.kind][1], "message": redact(err.message)},
        "request_id": request_id,
    }


def openai_body(err: GatewayError) -> dict[str, Any]:
    _, _, _, etype, code = _TABLE[err.kind]
    return {"error": {"message": redact(err.message), "type": etype, "param": err.param, "code": code}}


def gemini_body(err: GatewayError) -> dict[str, Any]:
    """Google's error shape, ``{"error": {"code", "message", "status", "details"?}}``.

    The same object is the mid-stream error chunk of ``streamGenerateContent`` (google-genai
    raises on a chunk whose JSON starts with ``{"error":``, so ``error`` is its only key).
    ``details`` carries what Google's clients read: ``RetryInfo.retryDelay`` (Gemini CLI waits
    that long before retrying a 429) and ``BadRequest.fieldViolations`` naming the field.
    """
    code = gemini_status(err)
    status = _GOOGLE[err.kind][1] if err.status is None else _GOOGLE_BY_HTTP.get(code, _GOOGLE[err.kind][1])
    message = redact(err.message)
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    details: list[dict[str, Any]] = []
    if err.param:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": err.param, "description": message}],
            }
        )
    if err.retry_after and err.retry_after.strip().isdigit():
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{int(err.retry_after)}s"}
        )
    if details:
        error["details"] = details
    return {"error": error}


def error_status(err: GatewayError, surface: SurfaceName) -> int:
    """The HTTP status of an error on ``surface`` (529 is Anthropic's alone)."""
    match surface:
        case SurfaceName.ANTHROPIC:
            return anthropic_status(err)
        case SurfaceName.OPENAI_CHAT | SurfaceName.OPENAI_RESPONSES:
            return openai_status(err)
        case SurfaceName.GEMINI:
            return gemini_status(err)
        case _:
            assert_never(surface)


def error_body(err: GatewayError, surface: SurfaceName, request_id: str) -> dict[str, Any]:
    """The error body in ``surface``'s own shape."""
    match surface:
        case SurfaceName.ANTHROPIC:
            return anthropic_body(err, request_id)
        case SurfaceName.OPENAI_CHAT | SurfaceName.OPENAI_RESPONSES:
            return openai_body(err)
        case SurfaceName.GEMINI:
            return gemini_body(err)
        case _:
            assert_never(surface)


def error_headers(err: GatewayError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if err.retry_after:
        headers["retry-after"] = err.retry_after
    headers["x-should-retry"] = "true" if err.should_retry else "false"
    return headers


def kind_for_upstream_status(status: int) -> Kind:
    """Map an upstream HTTP status to the gateway's kind (provider adapters refine this)."""
    if status in (400, 422):
        return Kind.INVALID_REQUEST
    if status == 413:
        return Kind.TOO_LARGE
    if status == 404:
        return Kind.INVALID_REQUEST
    if status == 429:
        return Kind.RATE_LIMIT
    if status in (529, 503):
        return Kind.OVERLOADED
    if status in (504, 408):
        return Kind.TIMEOUT
    # 401/403 from an upstream are the gateway's problem (its provider key), not the client's.
    return Kind.UPSTREAM
