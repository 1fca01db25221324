"""What every response of every function shares, in one place (issue #15):

- an ``estimated_credits`` header on every response, ``0`` where a handler held nothing (the
  product promise: a client can always show a cost, errors and admin calls included);
- one structured log record per rejected request (status >= 400): status, error kind, surface,
  model, request id, method and path - never a key, never a query string;
- with ``BYTESPIKE_ACCESS_LOG=1`` (the local stack, ``make dev``) one line per request on stdout:
  method, path, model, status, credits billed, milliseconds, request id.

Handlers add what only they know (the model, the error kind, the credits billed) with
:func:`note`; the middleware reads the rest from the response it relays.
"""

from __future__ import annotations

import os
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bytespike.errors import redact

ESTIMATE_HEADER = b"estimated_credits"


@dataclass(slots=True)
class RequestNote:
    """Filled in while a request runs (by handlers, through :func:`note`); read when it ends."""

    model: str | None = None
    kind: str | None = None
    surface: str | None = None
    credits: int | None = None


_CURRENT: ContextVar[RequestNote | None] = ContextVar("bytespike_request_note", default=None)


def note(*, model: Any = None, kind: str | None = None, surface: str | None = None,
         credits: int | None = None) -> None:
    """Record what a handler knows about the current request (a no-op outside one)."""
    current = _CURRENT.get()
    if current is None:
        return
    if isinstance(model, str) and model:
        current.model = redact(model[:120])  # caller-supplied text: bounded, and never a secret
    if kind is not None:
        current.kind = kind
    if surface is not None:
        current.surface = surface
    if credits is not None:
        current.credits = credits


def access_log_enabled() -> bool:
    return os.environ.get("BYTESPIKE_ACCESS_LOG") == "1"


class AccessMiddleware:
    """Pure ASGI: adds the header, then logs the rejection / prints the access line at the end."""

    def __init__(self, app: Any, function: str) -> None:
        self.app = app
        self.function = function
        self.print_lines = access_log_enabled()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        current = RequestNote()
        token = _CURRENT.set(current)
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 0, "request_id": None}

        async def relay(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                if not any(name.lower() == ESTIMATE_HEADER for name, _ in headers):
                    headers.append((ESTIMATE_HEADER, b"0"))
                    message = {**message, "headers": headers}
                seen["status"] = message["status"]
                seen["request_id"] = next((v.decode("latin-1") for k, v in headers if k.lower() == b"request-id"), None)
            await send(message)

        try:
            await self.app(scope, receive, relay)
        except Exception:
            if not seen["status"]:  # the app's catch-all renders the 500 outside this middleware
                seen["status"], current.kind = 500, current.kind or "api_error"
            raise
        finally:
            _CURRENT.reset(token)
            finished(scope, self.function, current, seen["status"], seen["request_id"], started,
                     print_line=self.print_lines)


def finished(scope: dict[str, Any], function: str, current: RequestNote, status: int, request_id: str | None,
             started: float, *, print_line: bool) -> None:
    """The request's log record (if rejected) and access line (if enabled)."""
    ms = round((time.perf_counter() - started) * 1000, 1)
    method, path = scope.get("method", ""), redact(scope.get("path", ""))
    if status >= 400:
        from bytespike.gateway import observe

        observe.rejected({"request_id": request_id, "status": status, "kind": current.kind or "unknown",
                          "surface": current.surface, "function": function, "method": method, "path": path,
                          "model": current.model, "ms": ms})
    if print_line:
        credits = current.credits if current.credits is not None else 0
        sys.stdout.write(f"{method} {path} {current.model or '-'} {status} {credits}cr {ms}ms {request_id or '-'}\n")
        sys.stdout.flush()
