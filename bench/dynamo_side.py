"""The DynamoDB side of the ByteSpike benchmark, in its own process (runs in the project venv).

``--mode moto``: moto's DynamoDB (as in the local stack, one lock around it) with the
tables from template.yaml, the demo org and master key (``bytespike.local.stack``), a
large top-up so thousands of holds never run the wallet dry, and the Reservations stream
poller calling the release handler, exactly as ``python -m bytespike.local`` runs them, but
outside the gateway process: on AWS, DynamoDB and the release function are not in the
gateway's Lambda, so neither their CPU nor their GIL time belongs to the gateway. Two
changes make moto behave like DynamoDB where it matters for the gateway's numbers: HTTP/1.1
keep-alive (werkzeug closes every connection) and O(items) instead of O(table)
transactions (see ``fast_moto_transactions``).

``--mode stub``: a zero-latency DynamoDB double (asyncio, stdlib) that stores PutItem
items, answers GetItem from them and acknowledges every other write with ``{}``. With it
the gateway still signs, serialises and parses every call, but DynamoDB itself costs
nothing: the difference between the two runs is DynamoDB's share of the added latency.

Prints one JSON line (``{"secret": ..., "port": ...}``) on stdout when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time

from bytespike.local.moto_server import fast_moto_transactions  # the local stack's item-level rollback

BENCH_CREDITS = 10_000_000_000  # $10,000: far above what any run can hold at once


def _ready(secret: str, port: int, env: dict[str, str]) -> None:
    print(json.dumps({"secret": secret, "port": port, "pid": os.getpid(), "env": env}), flush=True)


# ------------------------------------------------------------------ moto
class KeepAliveWSGI:
    """moto's WSGI app behind an HTTP/1.1 keep-alive server (werkzeug's dev server closes
    every connection, so each DynamoDB call would pay a new TCP connection in the gateway,
    which real DynamoDB does not make it do). One lock around the app, as the local stack."""

    def __init__(self, port: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from io import BytesIO

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, the body waits for the
            # client's delayed ACK of the headers (~40 ms per call on a kept-alive connection).
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                environ = {
                    "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
                    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1",
                    "REMOTE_ADDR": "127.0.0.1", "wsgi.input": BytesIO(body), "wsgi.errors": sys.stderr,
                    "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": True,
                    "wsgi.multiprocess": False, "wsgi.run_once": False,
                    "CONTENT_LENGTH": str(length), "CONTENT_TYPE": self.headers.get("content-type", ""),
                }
                for k, v in self.headers.items():
                    key = "HTTP_" + k.upper().replace("-", "_")
                    if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                        environ[key] = v
                status_headers: list = []

                def start_response(status: str, headers: list, exc_info: object = None) -> None:
                    status_headers[:] = [status, headers]

                with lock:
                    out = b"".join(app(environ, start_response))
                status, headers = status_headers
                self.send_response_only(int(status.split()[0]), status.split(" ", 1)[1] if " " in status else "")
                for k, v in headers:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def run_moto(port: int, upstream_port: int, prefix: str, poll_interval: float) -> None:
    import boto3

    from bytespike.local.stack import DEMO_ORG, StreamPoller, configure_env, create_tables, seed_demo
    from bytespike.store import ledger
    from bytespike.store.dynamo import sync_client

    fast_moto_transactions()
    moto = KeepAliveWSGI(port)
    moto.start()
    env = configure_env(port, upstream_port, prefix)
    client = sync_client()
    create_tables(client, prefix)
    secret = seed_demo(client, None)
    ledger.top_up(client, DEMO_ORG, BENCH_CREDITS, topup_id=f"bench-{int(time.time())}")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1", endpoint_url=env["DYNAMODB_ENDPOINT_URL"])
    poller = StreamPoller(client, streams, env["RESERVATIONS_TABLE"], interval=poll_interval)
    _ready(secret, port, env)
    try:
        asyncio.run(poller.run())
    except KeyboardInterrupt:
        pass
    finally:
        moto.stop()


# ------------------------------------------------------------------ stub
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


def run_stub(port: int, upstream_port: int, prefix: str) -> None:
    from bytespike.local.stack import configure_env, seed_demo
    from bytespike.store.dynamo import sync_client

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(StubConn, "127.0.0.1", port, backlog=4096, reuse_address=True)
        env = configure_env(port, upstream_port, prefix)
        secret = await asyncio.to_thread(seed_demo, sync_client(), None)
        _ready(secret, port, env)
        async with server:
            await server.serve_forever()

    factory = None
    try:
        import uvloop  # type: ignore[import-not-found]

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(), loop_factory=factory)


def main(argv: list[str] | None = None) -> None:
    for var in list(os.environ):  # never a real upstream
        if var.startswith("UPSTREAM_") or var.endswith("_API_KEY"):
            del os.environ[var]
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=("moto", "stub"), default="moto")
    p.add_argument("--upstream-port", type=int, default=1)
    p.add_argument("--prefix", default="bytespike-bench")
    p.add_argument("--poll-interval", type=float, default=0.2)
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.mode == "moto":
        run_moto(args.port, args.upstream_port, args.prefix, args.poll_interval)
    else:
        run_stub(args.port, args.upstream_port, args.prefix)


if __name__ == "__main__":
    main()
