"""The local stack's sockets behave like the services they stand for (issue #20).

``make dev`` used to add ~60 ms per request where the bench measured ~14: its DynamoDB
(werkzeug) closed every connection and wrote headers and body apart, and every listener of the
stack had Nagle's algorithm on (a socket made with proto 0 gets no TCP_NODELAY from asyncio), so
each kept-alive response whose body went out in a second write waited for the client's delayed
ACK (~40 ms). These tests check the causes themselves, not a timing.
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.stack import local_dynamodb

from bytespike.local.moto_server import STATS_PATH, LocalDynamoDB
from bytespike.local.stack import _bind

LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
               "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261202/us-east-1/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=00"}


def _nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_stack_listeners_hand_out_connections_without_nagle() -> None:
    listener = _bind(0)
    try:
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert _nodelay(accepted), "the gateway's and simulator's connections would stall on delayed ACKs"
    finally:
        listener.close()


@pytest.fixture(scope="module")
def local_ddb() -> Iterator[LocalDynamoDB]:
    with local_dynamodb() as server:
        yield server


def test_local_dynamodb_keeps_connections_alive(local_ddb: LocalDynamoDB) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", local_ddb.port, timeout=10)
    try:
        ports = []
        for _ in range(3):
            conn.request("POST", "/", body=b"{}", headers=LIST_TABLES)
            resp = conn.getresponse()
            assert resp.status == 200
            assert "TableNames" in json.loads(resp.read())
            assert (resp.getheader("connection") or "").lower() != "close"
            assert conn.sock is not None
            ports.append(conn.sock.getsockname()[1])
        assert len(set(ports)) == 1, "each call paid a new connection"
    finally:
        conn.close()


def test_local_dynamodb_answers_in_one_write_without_nagle(local_ddb: LocalDynamoDB,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    nodelay: list[bool] = []
    original = socketserver._SocketWriter.write  # type: ignore[attr-defined]

    def write(self: Any, data: bytes) -> int:
        writes.append(len(data))
        nodelay.append(_nodelay(self._sock))
        return int(original(self, data))

    monkeypatch.setattr(socketserver._SocketWriter, "write", write)  # type: ignore[attr-defined]
    conn = http.client.HTTPConnection("127.0.0.1", local_ddb.port, timeout=10)
    try:
        conn.request("POST", "/", body=b"{}", headers=LIST_TABLES)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert len(writes) == 1, f"headers and body in {len(writes)} writes"
    assert writes[0] > len(body) > 0
    assert nodelay == [True]


def test_stats_endpoint_reports_what_the_process_registers(local_ddb: LocalDynamoDB) -> None:
    assert local_ddb.app is not None
    local_ddb.app.stats = lambda: {"stream_records_delivered": 7}
    conn = http.client.HTTPConnection("127.0.0.1", local_ddb.port, timeout=10)
    try:
        conn.request("GET", STATS_PATH)
        assert json.loads(conn.getresponse().read()) == {"stream_records_delivered": 7}
    finally:
        conn.close()


def test_local_dynamodb_does_not_walk_moto_packages_per_call(local_ddb: LocalDynamoDB,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """moto listed ~200 package folders on disk for every request to route it (fast_moto_dispatch)."""
    import os

    def no_listdir(*args: Any) -> Any:
        raise AssertionError("moto walked its packages for a request")

    monkeypatch.setattr(os, "listdir", no_listdir)
    conn = http.client.HTTPConnection("127.0.0.1", local_ddb.port, timeout=10)
    try:
        conn.request("POST", "/", body=b"{}", headers=LIST_TABLES)
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes or the whole Content-Length body is in."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            length = head.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0] if b"Content-Length: " in head else b"0"
            if sep and len(body) >= int(length):
                return data
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_local_dynamodb_reads_headers_in_any_case_and_honours_connection_close(local_ddb: LocalDynamoDB) -> None:
    """The server's own header parser (it replaced the stdlib's email parser): names in any case,
    ``Connection: close`` and HTTP/1.0 close the connection, a malformed header line is a 400."""
    target, ctype, auth = LIST_TABLES["X-Amz-Target"], LIST_TABLES["Content-Type"], LIST_TABLES["Authorization"]
    head = f"x-amz-target: {target}\r\nCONTENT-TYPE: {ctype}\r\nauthorization: {auth}\r\ncontent-length: 2\r\n"
    reply = _raw_exchange(local_ddb.port, f"POST / HTTP/1.1\r\nHost: x\r\n{head}Connection: close\r\n\r\n{{}}".encode())
    assert reply.startswith(b"HTTP/1.1 200") and b"TableNames" in reply and b"Connection: close" in reply
    reply = _raw_exchange(local_ddb.port, f"POST / HTTP/1.0\r\n{head}\r\n{{}}".encode())
    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply
    reply = _raw_exchange(local_ddb.port, b"POST / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
