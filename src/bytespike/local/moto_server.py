"""moto in server mode, with every DynamoDB call serialised.

Real DynamoDB applies each transaction and conditional write atomically. moto's
implementation is not thread-safe: two concurrent TransactWriteItems can both pass a
``balance >= :h`` check, and a cancelled transaction can leave a Put behind. One lock
around the WSGI app restores the atomicity the money code relies on (connections are
still accepted concurrently; only the datastore work is one-at-a-time).

It also carries a fault-injection hook for the fault suites (issue #10), on the local
server only (nothing of it exists in Lambda code): ``POST /_bytespike/faults`` arms a
fault such as ``{"op": "TransactWriteItems", "code": "ThrottlingException", "times": 2,
"match": "ORG#org-1234"}``; matching DynamoDB calls then get the error DynamoDB itself
would send (before moto runs them, or with ``"when": "after"`` once moto has applied
them: a write that committed but whose response was lost). ``GET`` lists faults with hit
counts, ``DELETE`` (``?id=…``) clears them. Matching by request-body substrings lets one
test target one org or reservation while the rest of the session runs untouched.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from bytespike.local import moto_speed

log = logging.getLogger("bytespike.local.dynamodb")


FAULTS_PATH = "/_bytespike/faults"
STATS_PATH = "/_bytespike/stats"  # what the process around the server reports (the stream poller's counters)
EMAILS_PATH = "/_bytespike/emails"  # what moto's SES "sent" (alert emails), for the tests to read
_JSON = "application/x-amz-json-1.0"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"
# Codes DynamoDB sends with a 5xx status; everything else injected is a 400.
_SERVER_CODES = {"InternalServerError": 500, "ServiceUnavailable": 503}
# Inside a transaction these are per-item cancellation reasons, not the error code itself.
_CANCEL_REASONS = {"TransactionConflict", "ThrottlingError"}
_TRANSACTION_OPS = {"TransactWriteItems", "TransactGetItems", "ExecuteTransaction"}
_MESSAGES = {
    "TransactionConflict": "Transaction is ongoing for the item",
    "ThrottlingError": "Throughput exceeds the current capacity for one or more global secondary indexes.",
    "TransactionConflictException": "Operation was rejected because there is an ongoing transaction for the item.",
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was "
                                              "exceeded. Consider increasing your provisioning level with the "
                                              "UpdateTable API.",
    "RequestLimitExceeded": "Throughput exceeds the current throughput limit for your account.",
    "InternalServerError": "Internal server error",
    "ServiceUnavailable": "Service unavailable",
}


@dataclass(slots=True)
class Fault:
    """One armed fault: which calls it hits, what they get, how many times (None: until cleared)."""

    code: str
    op: str | None = None  # DynamoDB operation name (X-Amz-Target's suffix); None: any
    match: list[str] = field(default_factory=list)  # substrings that must all occur in the request body
    times: int | None = None
    when: str = "before"  # "before": moto never sees the call; "after": applied, then the error
    id: str = field(default_factory=lambda: "f_" + secrets.token_hex(4))
    hits: int = 0

    @staticmethod
    def parse(spec: dict[str, Any]) -> Fault:
        code = spec.get("code")
        if not isinstance(code, str) or not code:
            raise ValueError("a fault needs a 'code', e.g. ThrottlingException")
        match = spec.get("match") or []
        match = [match] if isinstance(match, str) else match
        if not isinstance(match, list) or not all(isinstance(m, str) for m in match):
            raise ValueError("'match' is a string or a list of strings")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("'times' is a positive integer (omit it for a fault that lasts until cleared)")
        when = spec.get("when", "before")
        if when not in ("before", "after"):
            raise ValueError("'when' is 'before' or 'after'")
        op = spec.get("op")
        if op is not None and not isinstance(op, str):
            raise ValueError("'op' is an operation name such as TransactWriteItems")
        return Fault(code=code, op=op or None, match=list(match), times=times, when=when)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    def view(self) -> dict[str, Any]:
        return {**asdict(self), "remaining": self.remaining}


def error_body(code: str, op: str, request: bytes) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of the error DynamoDB sends for ``code`` on ``op``.

    On a transaction, TransactionConflict / ThrottlingError are cancellation reasons: the
    reply is a TransactionCanceledException whose first item carries the reason (the others
    ``None``), as DynamoDB reports a conflict on one item. On a single-item call a
    conflict is ``TransactionConflictException``.
    """
    if code in _CANCEL_REASONS and op in _TRANSACTION_OPS:
        try:
            count = len(json.loads(request or b"{}").get("TransactItems") or []) or 1
        except ValueError:
            count = 1
        reasons = [{"Code": code, "Message": _MESSAGES[code]}] + [{"Code": "None"}] * (count - 1)
        listed = ", ".join(r["Code"] for r in reasons)
        return 400, {"__type": _PREFIX + "TransactionCanceledException", "CancellationReasons": reasons,
                     "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]"}
    if code == "TransactionConflict":
        code = "TransactionConflictException"
    return _SERVER_CODES.get(code, 400), {"__type": _PREFIX + code, "message": _MESSAGES.get(code, f"Injected {code}")}


def _respond(start_response: Callable[..., Any], status: int, body: dict[str, Any],
             content_type: str = "application/json") -> list[bytes]:
    raw = json.dumps(body).encode()
    reason = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(raw))),
                                          ("x-amzn-RequestId", "fault-" + secrets.token_hex(8))])
    return [raw]


class _Serialised:
    """moto's WSGI app behind one lock, with the fault hook in front of it."""

    def __init__(self, app: Callable[..., Iterable[bytes]],
                 direct: Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]] | None = None) -> None:
        self.app = app
        self.direct = direct  # DynamoDB calls straight to moto's handler (moto_speed.dynamodb_direct)
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self.stats: Callable[[], dict[str, Any]] = dict

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path == FAULTS_PATH:
            return self._control(environ, start_response)
        if path == STATS_PATH:
            return _respond(start_response, 200, self.stats())
        if path == EMAILS_PATH:
            with self.lock:
                return _respond(start_response, 200, {"messages": sent_emails()})
        if not self.faults:  # the normal path: no body copy, no matching
            with self.lock:
                return self._run(environ, start_response)
        body = _read_body(environ)
        op = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        fault = self._take(op, body)
        if fault is None:
            with self.lock:
                return self._run(environ, start_response)
        if fault.when == "after":  # apply the call, drop moto's answer: a committed write whose reply was lost
            with self.lock:
                self._run(environ, lambda *a, **k: (lambda data: None))
        status, payload = error_body(fault.code, op, body)
        return _respond(start_response, status, payload, _JSON)

    def _run(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """moto's answer to one call (the caller holds the lock)."""
        if self.direct is not None and environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_20120810."):
            status, headers, body = self.direct(environ)
            start_response(status, headers)
            return [body]
        return list(self.app(environ, start_response))

    def _take(self, op: str, body: bytes) -> Fault | None:
        text = body.decode("utf-8", "replace")
        with self._faults_lock:
            for fault in self.faults:
                if fault.remaining == 0 or (fault.op is not None and fault.op != op):
                    continue
                if all(m in text for m in fault.match):
                    fault.hits += 1
                    return fault
        return None

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        ids = {i for raw in query.get("id", []) for i in raw.split(",") if i}
        if method == "POST":
            try:
                spec = json.loads(_read_body(environ) or b"null")
                added = [Fault.parse(s) for s in (spec if isinstance(spec, list) else [spec])]
            except (ValueError, AttributeError, TypeError) as exc:
                return _respond(start_response, 400, {"error": str(exc)})
            with self._faults_lock:
                self.faults.extend(added)
            return _respond(start_response, 201, {"faults": [f.view() for f in added]})
        if method == "GET":
            with self._faults_lock:
                listed = [f.view() for f in self.faults if not ids or f.id in ids]
            return _respond(start_response, 200, {"faults": listed})
        if method == "DELETE":
            with self._faults_lock:
                kept = [f for f in self.faults if ids and f.id not in ids]
                cleared = len(self.faults) - len(kept)
                self.faults = kept
            return _respond(start_response, 200, {"cleared": cleared})
        return _respond(start_response, 405, {"error": f"{method} not allowed on {FAULTS_PATH}"})


def sent_emails() -> list[dict[str, Any]]:
    """Every message moto's SES accepted, in every account and region of this process."""
    from moto.ses.models import ses_backends

    out: list[dict[str, Any]] = []
    for account in list(ses_backends.values()):
        for backend in list(account.values()):
            out.extend({"id": m.id, "source": m.source, "subject": getattr(m, "subject", ""),
                        "body": getattr(m, "body", ""), "destinations": m.destinations}
                       for m in backend.sent_messages)
    return out


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back as a fresh stream so moto can read it again."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    body: bytes = stream.read(int(length)) if length else (stream.read() if environ.get("wsgi.input_terminated") else b"")
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


# ------------------------------------------------------------------ the hook's client (tests, operators)
def _control_call(dynamodb_url: str, method: str, *, body: Any = None, ids: Iterable[str] = ()) -> dict[str, Any]:
    query = "?" + urllib.parse.urlencode({"id": ",".join(ids)}) if ids else ""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(dynamodb_url.rstrip("/") + FAULTS_PATH + query, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # a loopback URL the caller gave
        result: dict[str, Any] = json.loads(resp.read())
        return result


def inject_fault(dynamodb_url: str, code: str, *, op: str | None = None, match: str | Sequence[str] = (),
                 times: int | None = None, when: str = "before") -> str:
    """Arm one fault on a local DynamoDB; returns its id."""
    spec = {"code": code, "op": op, "match": [match] if isinstance(match, str) else list(match), "times": times,
            "when": when}
    return str(_control_call(dynamodb_url, "POST", body=spec)["faults"][0]["id"])


def list_faults(dynamodb_url: str, ids: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Armed faults (exhausted ones included) with their ``hits`` and ``remaining``."""
    faults: list[dict[str, Any]] = _control_call(dynamodb_url, "GET", ids=ids)["faults"]
    return faults


def clear_faults(dynamodb_url: str, ids: Iterable[str] = ()) -> int:
    """Disarm these faults (all of them when ``ids`` is empty)."""
    return int(_control_call(dynamodb_url, "DELETE", ids=list(ids) or ())["cleared"])


class ArmedFault:
    """A handle on one armed fault: how often it fired; ``clear()`` disarms it."""

    def __init__(self, dynamodb_url: str, fault_id: str) -> None:
        self.url, self.id = dynamodb_url, fault_id

    @property
    def hits(self) -> int:
        [fault] = list_faults(self.url, [self.id])
        return int(fault["hits"])

    def clear(self) -> None:
        clear_faults(self.url, [self.id])


@contextmanager
def dynamo_fault(dynamodb_url: str, code: str, **spec: Any) -> Iterator[ArmedFault]:
    """``with dynamo_fault(url, "ThrottlingException", op=..., match=..., times=2) as fault:`` - cleared on exit."""
    armed = ArmedFault(dynamodb_url, inject_fault(dynamodb_url, code, **spec))
    try:
        yield armed
    finally:
        armed.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


class _Headers:
    """Request headers: case-insensitive ``get`` and ``items``, all the handler reads."""

    __slots__ = ("_by_name", "_items")

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []
        self._by_name: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._by_name.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._by_name.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, each response in one write on a TCP_NODELAY socket.

    werkzeug's development server (moto's own) closes every connection and writes the
    headers and the body separately: the gateway paid a new TCP connection per call, and on
    a kept-alive connection the body would wait for the client's delayed ACK of the headers
    (Nagle, ~40 ms). Real DynamoDB does neither, so neither may the local one.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def parse_request(self) -> bool:
        """The request line and headers of an ordinary HTTP/1.x request, without the stdlib's email
        parser (~0.15 CPU-ms of every DynamoDB call); anything unusual goes to the stdlib's parser."""
        words = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n").split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()  # reads the headers itself: none have been consumed
        self.requestline = " ".join(words)
        self.command, self.path, self.request_version = words
        headers = _Headers()
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            if len(line) > 65536 or len(headers) >= 100 or b":" not in line:
                self.close_connection = True
                self.send_error(431 if len(headers) >= 100 else 400, "Bad request headers")
                return False
            name, _, value = line.decode("iso-8859-1").partition(":")
            headers.add(name.strip(), value.strip())
        self.headers = headers  # type: ignore[assignment]
        connection = (headers.get("connection") or "").lower()
        self.close_connection = connection == "close" or (self.request_version == "HTTP/1.0" and connection != "keep-alive")
        if (headers.get("expect") or "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def _read_body(self) -> bytes:
        length = self.headers.get("content-length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        return b""

    def _serve(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "PATH_INFO": urllib.parse.unquote(path), "QUERY_STRING": query,
            "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": self.client_address[0], "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("content-type", ""),
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):
                environ[key] = value
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
            started[:] = [status, headers]

        try:
            out = b"".join(self.server.app(environ, start_response))  # type: ignore[attr-defined]
        except Exception:
            log.exception("local DynamoDB failed on %s", environ.get("HTTP_X_AMZ_TARGET", path))
            started[:] = ["500 Internal Server Error", [("Content-Type", _JSON)]]
            out = json.dumps({"__type": _PREFIX + "InternalServerError", "message": "local DynamoDB error"}).encode()
        status, headers = started
        head = [f"HTTP/1.1 {status}"]
        head += [f"{k}: {v}" for k, v in headers if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        head.append(f"Content-Length: {len(out)}")
        if self.close_connection:
            head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (b"" if self.command == "HEAD" else out)
        self.wfile.write(payload)  # one write: headers and body in one segment


class LocalDynamoDB:
    """The local DynamoDB: moto (one lock, the ``moto_speed`` patches, the fault hook) behind a
    keep-alive, Nagle-free HTTP/1.1 server, in daemon threads of this process.

    ``python -m bytespike.local.aws`` runs it in a process of its own (what ``make dev``,
    the test stacks and ``make bench`` use); unit tests start it in-process.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.app: _Serialised | None = None

    def start(self) -> None:
        moto_speed.apply_all()
        self.app = _Serialised(DomainDispatcherApplication(moto_speed.debug_off(create_backend_app)),
                               moto_speed.dynamodb_direct())
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.app = self.app  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
