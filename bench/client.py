"""A lean HTTP/1.1 load client (asyncio streams, keep-alive, chunked and content-length bodies).

It timestamps with ``time.perf_counter`` (CLOCK_MONOTONIC on Linux, so comparable with the
gateway's and the double's own timestamps) the moment the response head arrives, the first
body byte, the first occurrence of a marker (the first content token) and the end.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass


@dataclass(slots=True)
class Result:
    status: int
    t_send: float
    t_head: float
    t_first: float  # first body byte
    t_token: float  # first marker occurrence (0.0 when absent)
    t_end: float
    nbytes: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and 200 <= self.status < 300

    @property
    def total(self) -> float:
        return self.t_end - self.t_send

    @property
    def ttfb(self) -> float:
        return self.t_first - self.t_send

    @property
    def ttft(self) -> float:
        return (self.t_token or self.t_end) - self.t_send


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: dict | bytes) -> bytes:
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json",
             f"content-length: {len(raw)}", "accept: */*"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


def build_get(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: {host}:{port}\r\naccept: */*\r\n\r\n".encode()


class Conn:
    """One keep-alive connection; reconnects by itself after ``connection: close`` or an error."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes, marker: bytes | None = None, keep_body: bool = False,
                      timeout: float = 60.0) -> tuple[Result, bytes]:
        for attempt in (0, 1):
            reused = self.writer is not None
            t_send = time.perf_counter()
            try:
                return await asyncio.wait_for(self._request(raw, marker, keep_body, t_send), timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                self.close()
                stale = reused and (isinstance(exc, ConnectionResetError | BrokenPipeError) or (
                    isinstance(exc, asyncio.IncompleteReadError) and not exc.partial))
                if stale and attempt == 0:
                    # The server closed this idle keep-alive connection (uvicorn and Node close
                    # after 5 s) before our request reached it: reconnect and resend, as HTTP clients do.
                    self.reconnects += 1
                    continue
                now = time.perf_counter()
                return Result(0, t_send, now, now, 0.0, now, 0, error=f"{type(exc).__name__}: {exc}"[:200]), b""
        raise AssertionError("unreachable")

    async def _request(self, raw: bytes, marker: bytes | None, keep_body: bool, t_send: float) -> tuple[Result, bytes]:
        if self.writer is None:
            await self._open()
            t_send = time.perf_counter()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        reader = self.reader
        head = await reader.readuntil(b"\r\n\r\n")
        t_head = time.perf_counter()
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = -1, False, False
        for line in lines[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v.strip())
            elif k == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
            elif k == "connection" and "close" in v.lower():
                close = True
        t_first = t_token = 0.0
        nbytes = 0
        tail = b""
        parts: list[bytes] = []
        mlen = len(marker) if marker else 0

        def got(data: bytes) -> None:
            nonlocal t_first, t_token, nbytes, tail
            now = time.perf_counter()
            if not t_first:
                t_first = now
            nbytes += len(data)
            if marker and not t_token:
                if marker in tail + data:
                    t_token = now
                tail = data[-mlen:]
            if keep_body:
                parts.append(data)

        if chunked:
            while True:
                size_line = await reader.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until a blank line
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = await reader.readexactly(size + 2)
                got(data[:-2])
        elif length >= 0:
            remaining = length
            while remaining:
                data = await reader.read(min(remaining, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                got(data)
        else:  # read to close
            close = True
            while True:
                data = await reader.read(1 << 20)
                if not data:
                    break
                got(data)
        t_end = time.perf_counter()
        if close:
            self.close()
        if not t_first:
            t_first = t_end
        return Result(status, t_send, t_head, t_first, t_token, t_end, nbytes), b"".join(parts)


async def get_json(host: str, port: int, path: str, timeout: float = 10.0) -> object:
    conn = Conn(host, port)
    try:
        res, body = await conn.request(build_get(host, port, path), keep_body=True, timeout=timeout)
        if not res.ok:
            raise RuntimeError(f"GET {path} -> {res.status} {res.error} {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()
