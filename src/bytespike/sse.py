"""Server-sent events: an incremental parser that keeps each frame's raw bytes.

Keeping the raw frame lets same-protocol streams pass through byte for byte; only the
frames the gateway must read (usage, errors) are ever decoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: str
    raw: bytes  # the frame as received, without the trailing blank line

    def json(self) -> Any:
        return json.loads(self.data)


class SSEParser:
    """Feed bytes as they arrive; get back complete events."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        out: list[SSEEvent] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            frame = buf[start:end]
            start = end + 2
            if frame:
                ev = parse_frame(frame)
                if ev is not None:
                    out.append(ev)
        self._buf = buf[start:]
        return out

    @property
    def pending(self) -> bytes:
        return self._buf


def parse_frame(frame: bytes) -> SSEEvent | None:
    event: str | None = None
    data_lines: list[str] = []
    for line in frame.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"event":
            event = value.decode()
        elif name == b"data":
            data_lines.append(value.decode())
    if event is None and not data_lines:
        return None
    return SSEEvent(event=event, data="\n".join(data_lines), raw=frame)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def anthropic_frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {dumps(data)}\n\n".encode()


def openai_frame(data: dict[str, Any]) -> bytes:
    return f"data: {dumps(data)}\n\n".encode()


OPENAI_DONE = b"data: [DONE]\n\n"
