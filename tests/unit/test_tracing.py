"""X-Ray subsegments: header parsing, emission to the daemon, and the no-op paths."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from bytespike import tracing


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    yield sock
    sock.close()


def _receive(sock: socket.socket) -> dict:
    raw = sock.recv(65536)
    header, _, body = raw.partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return json.loads(body)


def test_parse_header() -> None:
    ctx = tracing.parse_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    assert ctx == tracing.TraceContext("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)
    assert tracing.parse_header("Root=1-a-b;Sampled=0").sampled is False
    assert tracing.parse_header("Parent=abc") is None
    assert tracing.parse_header("garbage") is None


def test_sampled_subsegment_is_sent_with_parent_and_flags(daemon: socket.socket) -> None:
    token = tracing.use(tracing.TraceContext("1-abc-def", "1234567890abcdef", True))
    try:
        with tracing.subsegment("api.example.com", http={"request": {"method": "POST"}},
                                annotations={"provider": "openai"}) as span:
            span.status(429)
    finally:
        tracing._current.reset(token)
    doc = _receive(daemon)
    assert doc["type"] == "subsegment" and doc["trace_id"] == "1-abc-def" and doc["parent_id"] == "1234567890abcdef"
    assert doc["name"] == "api.example.com" and doc["namespace"] == "remote"
    assert doc["http"] == {"request": {"method": "POST"}, "response": {"status": 429}}
    assert doc["throttle"] and doc["error"] and "fault" not in doc
    assert doc["end_time"] >= doc["start_time"] and len(doc["id"]) == 16


def test_exception_marks_fault(daemon: socket.socket) -> None:
    token = tracing.use(tracing.TraceContext("1-abc-def", None, True))
    try:
        with pytest.raises(RuntimeError), tracing.subsegment("DynamoDB", "aws"):
            raise RuntimeError("boom")
    finally:
        tracing._current.reset(token)
    doc = _receive(daemon)
    assert doc["fault"] is True and "parent_id" not in doc and doc["namespace"] == "aws"


def test_unsampled_and_untraced_send_nothing(daemon: socket.socket) -> None:
    with tracing.subsegment("x") as span:
        assert span is None
    token = tracing.use(tracing.TraceContext("1-abc-def", "p", False))
    try:
        with tracing.subsegment("x") as span:
            assert span is None
    finally:
        tracing._current.reset(token)
    daemon.settimeout(0.2)
    with pytest.raises(TimeoutError):
        daemon.recv(65536)


def test_lambda_runtime_variable_is_the_fallback(daemon: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-env-trace;Parent=aaaabbbbccccdddd;Sampled=1")
    with tracing.subsegment("DynamoDB", "aws"):
        pass
    doc = _receive(daemon)
    assert doc["trace_id"] == "1-env-trace" and doc["parent_id"] == "aaaabbbbccccdddd"


def test_daemon_unreachable_never_fails_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "256.0.0.1:2000")  # not an address: sendto fails
    token = tracing.use(tracing.TraceContext("1-abc-def", None, True))
    try:
        with tracing.subsegment("x"):
            pass
    finally:
        tracing._current.reset(token)
