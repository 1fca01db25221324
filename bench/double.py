"""A lean zero-delay upstream double speaking OpenAI Chat Completions, OpenAI Responses and Anthropic Messages.

Stdlib only (uses uvloop when importable). One asyncio Protocol per connection, HTTP/1.1
keep-alive, pre-rendered frames: it spends a few tens of microseconds per request, so the
gateway under test, not the upstream, is what the benchmark sees.

Routes (any prefix is accepted, so every gateway can be pointed at the same process):
  POST …/chat/completions   OpenAI JSON or SSE (``"stream": true``; usage chunk when
                            ``stream_options.include_usage`` is true)
  POST …/messages           Anthropic JSON or SSE
  POST …/responses          OpenAI Responses JSON or SSE (named events, ``sequence_number``s,
                            usage in ``response.completed``)
  GET  /_double/arrivals?since=T   monotonic arrival times (time.perf_counter) after T
  GET  /_double/health

Directives in the request text, as the simulator reads them: ``[[sim deltas=N
first_token_ms=N interval_ms=N]]``. SSE: headers and the preamble (``message_start`` /
the role chunk) go out at once, the first content delta after ``first_token_ms``, later
ones every ``interval_ms`` (0 = back to back, one write per frame). Every content delta is
the text `` lorem`` so a client can find the first token by searching for ``lorem``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from collections import deque

DIRECTIVE = re.compile(rb"\[\[sim ([^\]]*)\]\]")
STREAM = re.compile(rb'"stream"\s*:\s*true')
USAGE = re.compile(rb'"include_usage"\s*:\s*true')
MODEL = re.compile(rb'"model"\s*:\s*"([^"]+)"')
TOKEN = " lorem"

ARRIVALS: deque[float] = deque(maxlen=200_000)
_counter = 0


def _next_id() -> int:
    global _counter
    _counter += 1
    return _counter


def parse_directives(body: bytes) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in DIRECTIVE.finditer(body):
        for tok in m.group(1).split():
            k, _, v = tok.partition(b"=")
            with contextlib.suppress(ValueError):
                out[k.decode()] = float(v)
    return out


def _chunk(frame: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(frame), frame)


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ------------------------------------------------------------------ OpenAI
def openai_json(model: str, deltas: int) -> bytes:
    return _dumps({
        "id": f"chatcmpl-dbl{_next_id()}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TOKEN * deltas, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": deltas, "total_tokens": 12 + deltas},
        "system_fingerprint": "fp_double",
    })


def openai_frames(model: str, deltas: int, include_usage: bool) -> tuple[list[bytes], bytes, list[bytes]]:
    """(preamble frames, one delta frame, tail frames)."""
    cid = f"chatcmpl-dbl{_next_id()}"
    created = int(time.time())
    head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_double"}

    def frame(choices: list, usage: object = None) -> bytes:
        return b"data: " + _dumps({**head, "choices": choices, "usage": usage}) + b"\n\n"

    pre = [frame([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])]
    delta = frame([{"index": 0, "delta": {"content": TOKEN}, "logprobs": None, "finish_reason": None}])
    tail = [frame([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])]
    if include_usage:
        tail.append(frame([], {"prompt_tokens": 12, "completion_tokens": deltas, "total_tokens": 12 + deltas}))
    tail.append(b"data: [DONE]\n\n")
    return pre, delta, tail


# ------------------------------------------------------------------ OpenAI Responses
def _response(rid: str, model: str, status: str, text: str | None, deltas: int) -> dict:
    output = [] if text is None else [{"id": f"msg_{rid}", "type": "message", "status": "completed", "role": "assistant",
                                       "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    return {"id": f"resp_{rid}", "object": "response", "created_at": int(time.time()), "status": status,
            "model": model, "output": output, "error": None, "incomplete_details": None,
            "usage": None if text is None else {
                "input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": deltas,
                "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + deltas}}


def responses_json(model: str, deltas: int) -> bytes:
    return _dumps(_response(f"dbl{_next_id()}", model, "completed", TOKEN * deltas, deltas))


def responses_frames(model: str, deltas: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(preamble frames, one frame per delta, tail frames): every event numbered, as OpenAI sends them."""
    rid = f"dbl{_next_id()}"
    seq = iter(range(1_000_000))
    item = {"id": f"msg_{rid}", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}

    def ev(name: str, **data: object) -> bytes:
        return _ev(name, {"type": name, "sequence_number": next(seq), **data})

    pre = [ev("response.created", response=_response(rid, model, "in_progress", None, 0)),
           ev("response.in_progress", response=_response(rid, model, "in_progress", None, 0)),
           ev("response.output_item.added", output_index=0, item=item),
           ev("response.content_part.added", item_id=item["id"], output_index=0, content_index=0, part=part)]
    delta = [ev("response.output_text.delta", item_id=item["id"], output_index=0, content_index=0, delta=TOKEN)
             for _ in range(deltas)]
    text = TOKEN * deltas
    done_part = {**part, "text": text}
    tail = [ev("response.output_text.done", item_id=item["id"], output_index=0, content_index=0, text=text),
            ev("response.content_part.done", item_id=item["id"], output_index=0, content_index=0, part=done_part),
            ev("response.output_item.done", output_index=0, item={**item, "status": "completed", "content": [done_part]}),
            ev("response.completed", response=_response(rid, model, "completed", text, deltas))]
    return pre, delta, tail


# ------------------------------------------------------------------ Anthropic
def anthropic_json(model: str, deltas: int) -> bytes:
    return _dumps({
        "id": f"msg_dbl{_next_id()}", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": TOKEN * deltas}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": deltas},
    })


def _ev(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _dumps(data) + b"\n\n"


def anthropic_frames(model: str, deltas: int) -> tuple[list[bytes], bytes, list[bytes]]:
    pre = [
        _ev("message_start", {"type": "message_start", "message": {
            "id": f"msg_dbl{_next_id()}", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 1}}}),
        _ev("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "text", "text": ""}}),
    ]
    delta = _ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": TOKEN}})
    tail = [
        _ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                              "usage": {"output_tokens": deltas}}),
        _ev("message_stop", {"type": "message_stop"}),
    ]
    return pre, delta, tail


# ------------------------------------------------------------------ HTTP
class Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.task: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy and self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            rest = self.buf[end + 4:]
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body, consumed = _dechunk(rest)
                if body is None:
                    return
            else:
                length = int(headers.get("content-length") or 0)
                if len(rest) < length:
                    return
                body, consumed = rest[:length], length
            self.buf = rest[consumed:]
            if headers.get("expect", "").lower() == "100-continue":
                pass  # body already here
            keep = headers.get("connection", "").lower() != "close"
            ARRIVALS.append(time.perf_counter())
            self.busy = True
            self.task = asyncio.ensure_future(self._serve(method, target, body, keep))

    async def _serve(self, method: str, target: str, body: bytes, keep: bool) -> None:
        try:
            await handle(self, method, target, body, keep)
        except Exception as exc:  # pragma: no cover - diagnostic only
            self.send_simple(500, _dumps({"error": {"message": repr(exc)}}), keep=False)
        self.busy = False
        if not keep and self.transport is not None:
            self.transport.close()
            return
        if self.buf:
            self._next()

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def send_simple(self, status: int, body: bytes, ctype: bytes = b"application/json", keep: bool = True) -> None:
        reason = b"OK" if status == 200 else b"ERR"
        self.write(b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n%s" % (
            status, reason, ctype, len(body), b"" if keep else b"connection: close\r\n", body))


def _dechunk(raw: bytes) -> tuple[bytes | None, int]:
    out, pos = [], 0
    while True:
        nl = raw.find(b"\r\n", pos)
        if nl < 0:
            return None, 0
        size = int(raw[pos:nl].split(b";")[0], 16)
        start = nl + 2
        if len(raw) < start + size + 2:
            return None, 0
        if size == 0:
            # trailers: assume none
            return b"".join(out), start + 2
        out.append(raw[start:start + size])
        pos = start + size + 2


SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n")


async def handle(conn: Conn, method: str, target: str, body: bytes, keep: bool) -> None:
    path = target.split("?", 1)[0]
    if path.endswith("/responses"):
        d = parse_directives(body)
        deltas = int(d.get("deltas", 8))
        m = MODEL.search(body)
        model = m.group(1).decode() if m else "unknown"
        if d.get("first_token_ms", 0) and not STREAM.search(body):
            await asyncio.sleep(d["first_token_ms"] / 1000)
        if not STREAM.search(body):
            conn.send_simple(200, responses_json(model, deltas), keep=keep)
            return
        pre, each, tail = responses_frames(model, deltas)
        conn.write(SSE_HEAD + b"".join(_chunk(f) for f in pre))
        first, interval = d.get("first_token_ms", 0) / 1000, d.get("interval_ms", 0) / 1000
        if first:
            await asyncio.sleep(first)
        for i, frame in enumerate(each):
            if i and interval:
                await asyncio.sleep(interval)
            conn.write(_chunk(frame))
        conn.write(b"".join(_chunk(f) for f in tail) + b"0\r\n\r\n")
        return
    if path.endswith("/chat/completions") or path.endswith("/messages"):
        openai = path.endswith("/chat/completions")
        d = parse_directives(body)
        deltas = int(d.get("deltas", 8))
        m = MODEL.search(body)
        model = m.group(1).decode() if m else "unknown"
        if not STREAM.search(body):
            delay = d.get("first_token_ms", 0) + d.get("delay_ms", 0)
            if delay:
                await asyncio.sleep(delay / 1000)
            payload = openai_json(model, deltas) if openai else anthropic_json(model, deltas)
            conn.send_simple(200, payload, keep=keep)
            return
        if openai:
            pre, delta, tail = openai_frames(model, deltas, bool(USAGE.search(body)))
        else:
            pre, delta, tail = anthropic_frames(model, deltas)
        conn.write(SSE_HEAD + b"".join(_chunk(f) for f in pre))
        first, interval = d.get("first_token_ms", 0) / 1000, d.get("interval_ms", 0) / 1000
        if first:
            await asyncio.sleep(first)
        framed = _chunk(delta)
        for i in range(deltas):
            if i and interval:
                await asyncio.sleep(interval)
            conn.write(framed)
        conn.write(b"".join(_chunk(f) for f in tail) + b"0\r\n\r\n")
        return
    if path == "/_double/arrivals":
        since = 0.0
        if "since=" in target:
            since = float(target.split("since=", 1)[1].split("&")[0])
        conn.send_simple(200, _dumps([t for t in ARRIVALS if t >= since]), keep=keep)
        return
    if path in ("/_double/health", "/health", "/"):
        conn.send_simple(200, b'{"ok":true}', keep=keep)
        return
    conn.send_simple(404, _dumps({"error": {"message": f"double: no route {method} {path}"}}), keep=keep)


async def serve(port: int, host: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Conn, host, port, backlog=4096, reuse_address=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=9010)
    p.add_argument("--no-uvloop", action="store_true")
    args = p.parse_args(argv)
    factory = None
    if not args.no_uvloop:
        try:
            import uvloop  # type: ignore[import-not-found]

            factory = uvloop.new_event_loop
        except ImportError:
            pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port), loop_factory=factory)


if __name__ == "__main__":
    main()
