"""Transport helpers shared by every simulated provider: ids, JSON bodies, SSE driving.

Responses are raw-ASGI and pre-serialised (no pydantic, compact ``json.dumps``) because
the simulator doubles as the zero-delay upstream in benchmarks. The stream driver owns
all timing and fault behaviour (first-token delay, inter-delta interval, mid-stream
error, abrupt drop) so protocol modules only describe frames.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bytespike.http.render import lone_surrogate
from bytespike.simulator.directives import Directives
from bytespike.simulator.state import SimState


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the real providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


INVALID_JSON: Any = object()


async def read_recorded(request: Request, state: SimState) -> Any:
    """Read, parse and log the request body; ``INVALID_JSON`` when it does not parse.

    Logging happens before auth and validation so tests can inspect exactly what the
    gateway sent, including the requests the simulator rejects.
    """
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = INVALID_JSON
    if body is not INVALID_JSON and lone_surrogate(raw, body) is not None:
        body = INVALID_JSON  # Anthropic: "The request body is not valid JSON: no low surrogate in string" (issue #15)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    state.record(request.scope["path"], request.method, headers, None if body is INVALID_JSON else body, raw)
    return body


def bearer_token(headers: dict[str, str] | Any) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    auth = headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def new_id(prefix: str) -> str:
    """Unique id with a recognisable simulator prefix (``req_sim_…``, ``msg_sim_…``)."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


class SimError(Exception):
    """A request the simulated provider rejects; each protocol renders it in its own shape."""

    def __init__(
        self,
        status: int,
        message: str,
        etype: str | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.etype = etype
        self.param = param
        self.code = code


class SimulatedDrop(Exception):
    """Raised inside a stream to cut the connection without a final event (``drop_after``)."""


class _DropLogFilter(logging.Filter):
    """Keep uvicorn's log quiet about drops we caused on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


_filter_installed = False


def install_drop_log_filter() -> None:
    """Attach the filter once to uvicorn's error logger (idempotent)."""
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("uvicorn.error").addFilter(_DropLogFilter())
        _filter_installed = True


def raw_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class RawResponse(Response):
    """A pre-serialised body with exact headers (skips Starlette's header munging)."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]], media_type: str) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [
            *raw_headers(headers),
            (b"content-type", media_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]


def json_response(status: int, payload: Any, headers: list[tuple[str, str]]) -> RawResponse:
    return RawResponse(status, dumps(payload), headers, "application/json")


class FrameKind(IntEnum):
    """Role of a frame in the stream; the driver applies timing and faults by kind."""

    HEAD = 0  # before any content (message_start, ping, role chunk) — sent immediately
    DELTA = 1  # a content delta: counted, paced, fault points
    OTHER = 2  # block start/stop and similar structure frames
    TAIL = 3  # final frames (message_delta, message_stop, usage, [DONE])


@dataclass(slots=True)
class Frame:
    kind: FrameKind
    data: bytes


async def drive_stream(frames: Iterator[Frame], d: Directives, error_frame: bytes) -> AsyncIterator[bytes]:
    """Yield frames applying ``first_token_ms``, ``interval_ms``, ``error_after`` and ``drop_after``.

    A fault fires right after the N-th content delta (N=0: before the first one), or at the
    end of content when the reply has fewer deltas, so a directive never silently no-ops.
    """
    first_wait = d.first_token_ms / 1000.0
    interval = d.interval_ms / 1000.0
    limits = [x for x in (d.error_after, d.drop_after) if x is not None]
    limit = max(0, min(limits)) if limits else None
    drop = d.drop_after is not None and (d.error_after is None or d.drop_after <= d.error_after)
    count = 0

    def fault() -> bytes:
        if drop:
            raise SimulatedDrop(f"simulated connection drop after {count} deltas")
        return error_frame

    for frame in frames:
        kind = frame.kind
        if kind is FrameKind.DELTA:
            if limit is not None and count >= limit:
                yield fault()
                return
            if count == 0:
                if first_wait:
                    await asyncio.sleep(first_wait)
            elif interval:
                await asyncio.sleep(interval)
            yield frame.data
            count += 1
            if limit is not None and count >= limit:
                yield fault()
                return
        elif kind is FrameKind.TAIL and limit is not None:
            if count == 0 and first_wait:
                await asyncio.sleep(first_wait)
            yield fault()
            return
        else:
            if kind is FrameKind.TAIL and count == 0 and first_wait:
                await asyncio.sleep(first_wait)
                first_wait = 0.0
            yield frame.data


class StreamResponse(Response):
    """Minimal SSE response: headers first, then each chunk as its own ASGI body message.

    Unlike Starlette's ``StreamingResponse`` it spawns no disconnect-listener task (cheap for
    benchmarks) and lets ``SimulatedDrop`` escape so the server aborts the connection.
    """

    def __init__(self, chunks: AsyncIterator[bytes], headers: list[tuple[str, str]]) -> None:
        self.status_code = 200
        self.background = None
        self._chunks = chunks
        self.raw_headers = [
            *raw_headers(headers),
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            async for chunk in self._chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:
            return  # the client went away; nothing left to deliver
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def sleep_ms(ms: float) -> None:
    """Sleep only when asked to (``asyncio.sleep(0)`` still yields, which benchmarks don't need)."""
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)


def html_error(status: int, headers: list[tuple[str, str]]) -> RawResponse:
    """``error_body=html``: what a broken proxy in front of a provider returns."""
    return RawResponse(status, b"<html>502 Bad Gateway</html>", headers, "text/html")
