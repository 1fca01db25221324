"""A webhook receiver for the alert tests: a real HTTP server on loopback that records every POST
(headers and raw body) and can be told to fail its first N deliveries."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to this many POSTs first
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                failing = len(receiver.received) < receiver.fail_first
                status = 500 if failing else 200
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                                  status))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/bytespike"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[Received]:
        """The deliveries so far, once ``predicate(deliveries)`` holds (or AssertionError)."""
        deadline = time.monotonic() + timeout
        while True:
            got = list(self.received)
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook receiver: condition not met within {timeout}s; got {len(got)}: "
                                     f"{[r.body[:200] for r in got]}")
            time.sleep(0.1)


def sent_emails(dynamodb_url: str) -> list[dict[str, Any]]:
    """What the local stack's SES (moto) accepted."""
    r = httpx.get(dynamodb_url.rstrip("/") + "/_bytespike/emails", timeout=10)
    r.raise_for_status()
    return list(r.json()["messages"])


def wait_emails(dynamodb_url: str, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        got = [m for m in sent_emails(dynamodb_url) if predicate(m)]
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching alert email within {timeout}s")
        time.sleep(0.2)
