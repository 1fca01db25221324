"""A zero-latency DynamoDB double for the benchmark's *ByteSpike, DynamoDB stubbed* row (asyncio, stdlib).

It stores PutItem items, answers GetItem from them and acknowledges every other write with
``{}``. The local stack joins it (``--dynamodb-url``, no poller, no sweeper): the gateway still
signs, serialises and parses every call, but DynamoDB itself costs nothing, so the difference
to the ByteSpike row (the same stack on its own local DynamoDB) is DynamoDB's share of the
added latency. The stub answers each request in one write, keep-alive, as DynamoDB does.

    python bench/dynamo_stub.py --port N
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

ITEMS: dict[tuple[str, str], dict] = {}


def _key_of(table: str, key: dict) -> tuple[str, str]:
    return table, json.dumps(key, sort_keys=True)


class StubConn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            target = headers.get("x-amz-target", "")
            out = self.answer(target.rpartition(".")[2], body)
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: stub\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(out), out))

    @staticmethod
    def answer(op: str, body: bytes) -> bytes:
        req = json.loads(body) if body else {}
        if op == "PutItem":
            item = req.get("Item", {})
            for attrs in (("pk", "sk"), ("pk",), ("id",)):
                if all(a in item for a in attrs):
                    ITEMS[_key_of(req["TableName"], {a: item[a] for a in attrs})] = item
            return b"{}"
        if op == "GetItem":
            item = ITEMS.get(_key_of(req["TableName"], req.get("Key", {})))
            return json.dumps({"Item": item}).encode() if item else b"{}"
        if op == "ListTables":
            return b'{"TableNames":[]}'
        return b"{}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(StubConn, "127.0.0.1", args.port, backlog=4096, reuse_address=True)
        async with server:
            await server.serve_forever()

    factory = None
    try:
        import uvloop  # type: ignore[import-not-found]

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(), loop_factory=factory)


if __name__ == "__main__":
    main()
