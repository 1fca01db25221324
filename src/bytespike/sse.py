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


# ------------------------------------------------------------------ Gemini's two stream framings
GEMINI_PING = b"\n"
"""The Gemini surface's keep-alive: a bare newline. Google's SDKs tolerate nothing else between
events: google-genai (Python) feeds every line that is not ``data: `` to its JSON buffer (an SSE
comment such as ``: ping`` raises ``UnknownApiResponseError``), and @google/genai (Gemini CLI)
matches ``^\\s*data: `` at the head of its buffer (any other byte stalls the stream to its end).
A newline is an empty SSE line to both, and JSON whitespace in the array framing."""


def gemini_json(chunk: dict[str, Any]) -> bytes:
    """A chunk's JSON, with U+2028/U+2029 escaped: JavaScript's ``.`` stops at them, so @google/genai's
    ``data: (.*)`` would never match a frame holding one raw (JSON allows either form)."""
    return dumps(chunk).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


class GeminiFrames:
    """``streamGenerateContent``'s framing: ``alt=sse`` sends ``data: <chunk>\\r\\n\\r\\n`` per chunk (as
    Google does); without it the same chunks form one JSON array, sent element by element (Google's
    default). Chunk bytes are never touched, so a pass-through stays byte-exact in either framing."""

    __slots__ = ("closed", "opened", "sse")

    def __init__(self, *, sse: bool) -> None:
        self.sse = sse
        self.opened = False
        self.closed = False

    @property
    def media_type(self) -> str:
        return "text/event-stream" if self.sse else "application/json"

    def chunk(self, data: bytes) -> bytes:
        if self.sse:
            return b"data: " + data + b"\r\n\r\n"
        head = b",\r\n" if self.opened else b"["
        self.opened = True
        return head + data

    def close(self) -> bytes:
        """The end of the stream (the array's closing bracket; nothing for SSE); once."""
        if self.sse or self.closed:
            return b""
        self.closed = True
        return b"]" if self.opened else b"[]"
