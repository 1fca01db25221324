"""X-Ray subsegments for the calls that matter: the upstream request and every DynamoDB call.

Why not aws-xray-sdk / Powertools Tracer: the streaming functions run uvicorn behind the
Lambda Web Adapter, a separate process, so ``_X_AMZN_TRACE_ID`` is never set for the app
(aws-lambda-web-adapter#312); the adapter passes the trace as the ``x-amzn-trace-id``
request header instead. The SDK would also cost ~150 ms of import on every cold start and
patch botocore, which the request path does not use (store/dynamo.py's lean client).

So this module does what the SDK does inside Lambda, in ~100 lines: the trace context
(``Root``, ``Parent``, ``Sampled``) comes from the request header (streaming functions,
via :class:`TraceMiddleware`) or from ``_X_AMZN_TRACE_ID`` (Mangum functions, set by the
Lambda runtime per invocation); each traced call becomes one subsegment document whose
``parent_id`` is the function segment Lambda created, sent as one UDP datagram to the
X-Ray daemon Lambda runs next to the function (``AWS_XRAY_DAEMON_ADDRESS``). Unsampled or
untraced requests cost one context-variable read per call. No URL query, header or body
is recorded: only the operation, table, host, path and status.
"""

from __future__ import annotations

import contextvars
import json
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_HEADER = b"x-amzn-trace-id"
_PREFIX = b'{"format":"json","version":1}\n'


@dataclass(slots=True)
class TraceContext:
    """The part of an X-Ray trace header a subsegment needs."""

    trace_id: str
    parent_id: str | None
    sampled: bool


@dataclass(slots=True)
class Span:
    """One open subsegment; callers add the outcome before it closes."""

    name: str
    namespace: str
    start: float = field(default_factory=time.time)
    http: dict[str, Any] | None = None
    aws: dict[str, Any] | None = None
    annotations: dict[str, str | int | bool] = field(default_factory=dict)
    error: bool = False
    fault: bool = False
    throttle: bool = False

    def status(self, code: int) -> None:
        """Record the HTTP status and X-Ray's error/fault/throttle flags for it."""
        self.http = {**(self.http or {}), "response": {"status": code}}
        self.throttle = code == 429
        self.error = 400 <= code < 500
        self.fault = code >= 500


_current: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("bytespike_trace", default=None)
_env_cache: tuple[str, TraceContext | None] = ("", None)
_sock: socket.socket | None = None


def parse_header(value: str) -> TraceContext | None:
    """``Root=1-…;Parent=…;Sampled=1`` → a context; anything without a Root → None."""
    parts = dict(p.strip().split("=", 1) for p in value.split(";") if "=" in p)
    root = parts.get("Root")
    if not root:
        return None
    return TraceContext(trace_id=root, parent_id=parts.get("Parent"), sampled=parts.get("Sampled") == "1")


def current() -> TraceContext | None:
    """The request's trace: the header-set context, else the Lambda runtime's env variable."""
    ctx = _current.get()
    if ctx is not None:
        return ctx
    global _env_cache
    env = os.environ.get("_X_AMZN_TRACE_ID", "")
    if env != _env_cache[0]:
        _env_cache = (env, parse_header(env) if env else None)
    return _env_cache[1]


def use(ctx: TraceContext | None) -> contextvars.Token[TraceContext | None]:
    return _current.set(ctx)


def _daemon() -> tuple[str, int]:
    host, _, port = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000").rpartition(":")
    return host or "127.0.0.1", int(port)


def _emit(ctx: TraceContext, span: Span) -> None:
    """Send the finished subsegment; tracing must never fail a request, so errors are dropped."""
    global _sock
    doc: dict[str, Any] = {
        "name": span.name, "id": secrets.token_hex(8), "trace_id": ctx.trace_id,
        "start_time": span.start, "end_time": time.time(), "type": "subsegment", "namespace": span.namespace,
    }
    if ctx.parent_id:
        doc["parent_id"] = ctx.parent_id
    for key in ("http", "aws"):
        if getattr(span, key):
            doc[key] = getattr(span, key)
    if span.annotations:
        doc["annotations"] = span.annotations
    for flag in ("error", "fault", "throttle"):
        if getattr(span, flag):
            doc[flag] = True
    try:
        if _sock is None:
            _sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _sock.setblocking(False)
        _sock.sendto(_PREFIX + json.dumps(doc, separators=(",", ":")).encode(), _daemon())
    except OSError:
        pass


@contextmanager
def subsegment(name: str, namespace: str = "remote", **fields: Any) -> Any:
    """Time the block as one subsegment of the current sampled trace (a no-op otherwise).

    Yields the :class:`Span` (or None when not traced); an exception escaping the block
    marks it as a fault unless the caller already set an HTTP status.
    """
    ctx = current()
    if ctx is None or not ctx.sampled:
        yield None
        return
    span = Span(name=name, namespace=namespace, **fields)
    try:
        yield span
    except BaseException:
        if span.http is None or "response" not in span.http:
            span.fault = True
        raise
    finally:
        _emit(ctx, span)


class TraceMiddleware:
    """Pure ASGI middleware: the ``x-amzn-trace-id`` header becomes the request's trace context."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Under Mangum the Lambda runtime's variable names the function segment; the header
        # there would name API Gateway's segment instead, so the header only counts without it.
        if scope["type"] == "http" and "_X_AMZN_TRACE_ID" not in os.environ:
            for name, value in scope.get("headers", ()):
                if name == _HEADER:
                    ctx = parse_header(value.decode("latin-1"))
                    if ctx is not None:
                        token = _current.set(ctx)
                        try:
                            return await self.app(scope, receive, send)
                        finally:
                            _current.reset(token)
                    break
        await self.app(scope, receive, send)
