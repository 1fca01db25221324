"""Deterministic media for the simulated modality endpoints: vectors, PNG, WAV, MP3, MP4, jobs.

Everything is derived from the request (a hash of the input), so the same request always
gets the same bytes and tests can assert exact sizes and shapes. The files are tiny but
valid: a real PNG (zlib + CRC), a RIFF/WAVE header, MPEG-1 Layer III frame headers and an
ISO BMFF (ftyp + moov + mdat) box tree.

Video jobs advance with time (queued -> running -> succeeded) or as told by directives in
the prompt: ``[[sim job=fail]]`` makes the job fail, ``[[sim job_ms=N]]`` sets how long it
runs (0 = done on the first poll), ``[[sim status=N]]`` fails the create call itself.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from bytespike.simulator.directives import Directives, parse_directives, strip_directives
from bytespike.simulator.state import SimState
from bytespike.simulator.wire import RawResponse, bearer_token, json_response

DEFAULT_JOB_MS = 1500
QUEUED_MS = 150
SPEECH_RATE = 24_000  # Hz, 16-bit mono, what OpenAI's pcm format is
SECONDS_PER_CHAR = 0.02  # speech length: deterministic, proportional to the input


# ---------------------------------------------------------------- embeddings
def vector(text: str, dims: int, salt: str = "") -> list[float]:
    """A unit-length vector of ``dims`` floats derived from the text's hash."""
    raw = hashlib.shake_256(f"{salt}\n{text}".encode()).digest(2 * dims)
    values = [(int.from_bytes(raw[2 * i : 2 * i + 2], "little") - 32768) / 32768.0 for i in range(dims)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 7) for v in values]


def floats_b64(values: list[float]) -> str:
    """OpenAI's ``encoding_format=base64``: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


# ---------------------------------------------------------------- images
def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png(seed: str, width: int = 32, height: int = 32) -> bytes:
    """A small valid RGB PNG whose colours come from ``seed``."""
    h = hashlib.sha256(seed.encode()).digest()
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes(((h[0] + x * 4) % 256, (h[1] + y * 4) % 256, h[2]))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- audio
def speech_seconds(text: str) -> float:
    return max(0.2, round(len(text) * SECONDS_PER_CHAR, 3))


def pcm(seconds: float, rate: int = SPEECH_RATE) -> bytes:
    """16-bit mono samples of a quiet 440 Hz tone."""
    n = int(seconds * rate)
    return b"".join(struct.pack("<h", int(2000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))


def wav_header(data_len: int, rate: int = SPEECH_RATE) -> bytes:
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data_len))


def wav(seconds: float, rate: int = SPEECH_RATE) -> bytes:
    data = pcm(seconds, rate)
    return wav_header(len(data), rate) + data


MP3_FRAME = b"\xff\xfb\x90\xc0" + bytes(413)  # MPEG-1 Layer III, 128 kbps, 44.1 kHz, mono: 417-byte silent frame
MP3_FRAME_SECONDS = 1152 / 44_100


def mp3(seconds: float) -> bytes:
    return MP3_FRAME * max(1, math.ceil(seconds / MP3_FRAME_SECONDS))


def wav_duration(data: bytes) -> float | None:
    """Seconds of a PCM WAV file from its header, or None when it is not one."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            byte_rate = struct.unpack("<I", data[pos + 16 : pos + 20])[0]
        elif cid == b"data":
            size = min(size, len(data) - pos - 8)
            return size / byte_rate if byte_rate else None
        pos += 8 + size + (size & 1)
    return None


# ---------------------------------------------------------------- video
def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version_flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *payload)


def mp4(seconds: int, width: int, height: int, seed: str = "") -> bytes:
    """A tiny ISO BMFF file: ftyp, moov (mvhd + one video trak) and mdat."""
    duration = int(seconds * 1000)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(b"mvhd", 0, struct.pack(">IIII", 0, 0, 1000, duration), struct.pack(">IH", 0x10000, 0x100),
                 bytes(10), matrix, bytes(24), struct.pack(">I", 2))
    tkhd = _full(b"tkhd", 3, struct.pack(">IIIII", 0, 0, 1, 0, duration), bytes(8), struct.pack(">hhhH", 0, 0, 0, 0),
                 matrix, struct.pack(">II", width << 16, height << 16))
    mdhd = _full(b"mdhd", 0, struct.pack(">IIII", 0, 0, 1000, duration), struct.pack(">HH", 0x55C4, 0))
    hdlr = _full(b"hdlr", 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00")
    vmhd = _full(b"vmhd", 1, bytes(8))
    dinf = _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1), _full(b"url ", 1)))
    stbl = _box(b"stbl", _full(b"stsd", 0, struct.pack(">I", 0)), _full(b"stts", 0, struct.pack(">I", 0)),
                _full(b"stsc", 0, struct.pack(">I", 0)), _full(b"stsz", 0, struct.pack(">II", 0, 0)),
                _full(b"stco", 0, struct.pack(">I", 0)))
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", vmhd, dinf, stbl)))
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    mdat = _box(b"mdat", hashlib.sha256(seed.encode()).digest() * 8)
    return ftyp + _box(b"moov", mvhd, trak) + mdat


@dataclass(slots=True)
class SimJob:
    """A simulated asynchronous video job."""

    id: str
    model: str
    prompt: str
    seconds: int
    width: int
    height: int
    resolution: str
    created: float = field(default_factory=time.time)
    run_ms: float = DEFAULT_JOB_MS
    fail: bool = False
    cancelled: bool = False

    def status(self, now: float | None = None) -> str:
        """queued | running | succeeded | failed | cancelled, by elapsed time."""
        if self.cancelled:
            return "cancelled"
        elapsed = ((now or time.time()) - self.created) * 1000
        if self.run_ms > 0 and elapsed < min(QUEUED_MS, self.run_ms):
            return "queued"
        if elapsed < self.run_ms:
            return "running"
        return "failed" if self.fail else "succeeded"

    def progress(self, now: float | None = None) -> int:
        elapsed = ((now or time.time()) - self.created) * 1000
        return 100 if self.run_ms <= 0 else min(100, int(100 * elapsed / self.run_ms))

    def video(self) -> bytes:
        return mp4(self.seconds, self.width, self.height, self.id)


def new_job(prefix: str, model: str, prompt: str, seconds: int, width: int, height: int, resolution: str) -> SimJob:
    d = parse_directives(prompt)
    run_ms = float(d.unknown.get("job_ms", DEFAULT_JOB_MS)) if d.unknown.get("job_ms", "").isdigit() else DEFAULT_JOB_MS
    return SimJob(id=f"{prefix}{uuid.uuid4().hex[:20]}", model=model, prompt=strip_directives(prompt), seconds=seconds,
                  width=width, height=height, resolution=resolution, run_ms=run_ms,
                  fail=d.unknown.get("job") == "fail")


# ---------------------------------------------------------------- request helpers
def directives_of(text: str) -> Directives:
    return parse_directives(text or "")


def forced_status(state: SimState, text: str) -> int | None:
    """The status a ``[[sim status=N]]`` directive asks for (honouring ``fail_times``)."""
    d = parse_directives(text or "")
    if state.should_fail(d):
        return d.status or 502
    return None


def has_key(request: Request) -> bool:
    return bool(bearer_token(request.headers) or request.headers.get("x-goog-api-key")
                or request.query_params.get("key"))


def record(state: SimState, request: Request, body: Any, raw: bytes) -> None:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    state.record(request.scope["path"], request.method, headers, body, raw)


def binary(status: int, data: bytes, media_type: str, headers: list[tuple[str, str]] | None = None) -> RawResponse:
    return RawResponse(status, data, headers or [], media_type)


def ok(payload: Any, request_id: str) -> RawResponse:
    return json_response(200, payload, [("x-request-id", request_id)])


def size_of(size: str, default: tuple[int, int] = (1280, 720)) -> tuple[int, int]:
    try:
        w, h = size.lower().split("x")
        return int(w), int(h)
    except (AttributeError, ValueError):
        return default
