"""DynamoDB clients (async for request paths, sync for event handlers) and item codecs.

Items are written in DynamoDB's low-level JSON by hand: the request path stays free of
TypeSerializer overhead, and every write is visible as the exact expression it runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from bytespike import tracing
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind

# Calls per operation name, for the benchmarks and the issue notes ("counted, not timed").
CALLS: Counter[str] = Counter()

def _boto_config() -> Any:  # botocore.config.Config; boto3/botocore.session load only when a client is made
    # Our retries are jittered, bounded and visible (with_retries); botocore's one retry covers
    # connection errors only in spirit - a replayed TransactWriteItems is made idempotent by
    # its ClientRequestToken on DynamoDB (moto ignores the token, hence a long local timeout).
    from botocore.config import Config

    return Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=2,
        read_timeout=settings().dynamodb_read_timeout,
        max_pool_connections=64,
        tcp_keepalive=True,
    )


_TRANSPORT_ERRORS = (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)
_RETRYABLE = {
    "TransactionConflict",
    # A single-item write (the settle's UpdateItem) racing a transaction on the same item gets this
    # code, not a TransactionCanceledException (issue #10: it was not retried).
    "TransactionConflictException",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def _client_kwargs() -> dict[str, Any]:
    s = settings()
    kwargs: dict[str, Any] = {"region_name": s.region, "config": _boto_config()}
    if s.dynamodb_endpoint:
        kwargs["endpoint_url"] = s.dynamodb_endpoint
    return kwargs


class AsyncDynamo:
    """One aiobotocore client per event loop, opened lazily and kept for the process."""

    def __init__(self) -> None:
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._lean: _LeanDynamo | None = None

    async def client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        async with self._lock:
            if self._client is None or self._loop is not loop:
                import aioboto3  # deferred: keeps cold import of entry modules small

                self._stack = AsyncExitStack()
                session = aioboto3.Session()
                self._client = await self._stack.enter_async_context(session.client("dynamodb", **_client_kwargs()))
                self._loop = loop
        return self._client

    async def close(self) -> None:
        if self._lean is not None:
            await self._lean.close()
            self._lean = None
        if self._stack is not None:
            await self._stack.aclose()
        self._client = None
        self._stack = None

    async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """Run one DynamoDB operation with jittered retries on transient errors.

        The request path uses ``_LeanDynamo`` (the same JSON protocol, SigV4 and error shapes as
        botocore, without its per-call event pipeline: ~0.2 instead of ~1.1 CPU-ms per call,
        see docs/BENCHMARKS.md); ``BYTESPIKE_DYNAMO_CLIENT=botocore`` switches back to aiobotocore.
        """
        with tracing.subsegment("DynamoDB", "aws", aws=_trace_fields(op, kwargs)) as span:
            try:
                if _LEAN:
                    lean = self._lean
                    if lean is None or lean.loop is not asyncio.get_running_loop():
                        lean = self._lean = _LeanDynamo()
                    return await with_retries(lambda: lean.call(op, kwargs), op)
                client = await self.client()
                method: Callable[..., Awaitable[dict[str, Any]]] = getattr(client, op)
                return await with_retries(lambda: method(**kwargs), op)
            except ClientError as exc:
                if span is not None:  # a refused condition is the caller's answer, not a fault
                    code = exc.response.get("Error", {}).get("Code", "")
                    span.status(500 if code == "InternalServerError" else 429 if "Throughput" in code
                                or code.startswith("Throttling") else 400)
                raise


def _trace_fields(op: str, params: dict[str, Any]) -> dict[str, Any]:
    """X-Ray's AWS fields for one call: operation and table(s), never keys or values."""
    tables = {params["TableName"]} if "TableName" in params else {
        next(iter(item.values())).get("TableName", "") for item in params.get("TransactItems", ())}
    return {"operation": "".join(p.capitalize() for p in op.split("_")),
            "table_name": ",".join(sorted(tables)), "region": os.environ.get("AWS_REGION", "")}


_LEAN = os.environ.get("BYTESPIKE_DYNAMO_CLIENT", "lean") != "botocore"
_TARGET_PREFIX = "DynamoDB_20120810."


class _LeanDynamo:
    """DynamoDB's JSON protocol on one pooled aiohttp session, signed with SigV4 here.

    What botocore does for a DynamoDB call, minus its generic machinery (event hooks, shape
    walking, user-agent rebuilding): the body is the operation's parameters as JSON (our
    items are already low-level JSON), the reply is parsed JSON plus ``ResponseMetadata``,
    errors raise ``ClientError`` with botocore's shape (``Error.Code`` from ``__type``,
    ``Error.Message``, modeled members such as ``CancellationReasons`` at the top level),
    timeouts and connection failures raise botocore's ``ReadTimeoutError`` /
    ``EndpointConnectionError``, and ``x-amz-crc32`` is checked like botocore does.
    Credentials come from botocore's provider chain (env first, as botocore; then profiles,
    container and instance credentials).
    Binary (``B``) attributes travel as DynamoDB's JSON has them, base64 text (``b``/``blob``
    below encode and decode them for either client).
    """

    def __init__(self) -> None:
        import aiohttp  # deferred like aioboto3: keeps the cold import of entry modules small

        cfg = settings()
        self.loop = asyncio.get_running_loop()
        self.region = cfg.region
        self.url = (cfg.dynamodb_endpoint or f"https://dynamodb.{cfg.region}.amazonaws.com").rstrip("/") + "/"
        self.host = urlsplit(self.url).netloc
        self._credentials = _credentials()
        self._signing: tuple[str, str, bytes] = ("", "", b"")  # (day, access key, key)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),  # pool size as _boto_config; aiohttp's keep-alive default
            timeout=aiohttp.ClientTimeout(sock_connect=2, sock_read=cfg.dynamodb_read_timeout),
            auto_decompress=False,
        )
        self._aiohttp = aiohttp

    async def close(self) -> None:
        await self._session.close()

    def _headers(self, target: str, body: bytes) -> dict[str, str]:
        if self._credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        creds = self._credentials.get_frozen_credentials()
        now = time.gmtime()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", now)
        day = amz_date[:8]
        if self._signing[0] != day or self._signing[1] != creds.access_key:
            key = _hmac(("AWS4" + creds.secret_key).encode(), day)
            for part in (self.region, "dynamodb", "aws4_request"):
                key = _hmac(key, part)
            self._signing = (day, creds.access_key, key)
        headers = {"content-type": "application/x-amz-json-1.0", "host": self.host, "x-amz-date": amz_date,
                   "x-amz-target": target}
        if creds.token:
            headers["x-amz-security-token"] = creds.token
        names = ";".join(sorted(headers))
        canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", names,
                               hashlib.sha256(body).hexdigest()])
        scope = f"{day}/{self.region}/dynamodb/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing[2], to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
                                    f"SignedHeaders={names}, Signature={signature}")
        return headers

    async def call(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import (
            ChecksumError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        name = "".join(part.capitalize() for part in op.split("_"))
        body = json.dumps(params, separators=(",", ":")).encode()
        headers = self._headers(_TARGET_PREFIX + name, body)
        try:
            async with self._session.post(self.url, data=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except self._aiohttp.ServerDisconnectedError as exc:  # as aiobotocore maps it
            raise ConnectionClosedError(endpoint_url=self.url, error=exc) from exc
        except self._aiohttp.ClientConnectionError as exc:
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        crc = resp_headers.get("x-amz-crc32")
        if crc is not None and int(crc) != zlib.crc32(raw) & 0xFFFFFFFF:
            raise ChecksumError(checksum_type="crc32", expected_checksum=crc,
                                actual_checksum=str(zlib.crc32(raw) & 0xFFFFFFFF))
        parsed: dict[str, Any] = json.loads(raw) if raw else {}
        meta = {"RequestId": resp_headers.get("x-amzn-requestid", ""), "HTTPStatusCode": status,
                "HTTPHeaders": resp_headers, "RetryAttempts": 0}
        if status >= 300:
            code = str(parsed.get("__type") or "").rsplit("#", 1)[-1] or str(status)
            error: dict[str, Any] = {k: v for k, v in parsed.items() if k != "__type"}  # modeled members, as botocore
            error["Error"] = {"Code": code, "Message": str(parsed.get("message") or parsed.get("Message") or "")}
            error["ResponseMetadata"] = meta
            raise ClientError(error, name)  # type: ignore[arg-type]
        parsed["ResponseMetadata"] = meta
        return parsed


class _EnvCredentials:
    """The first link of botocore's provider chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
    AWS_SESSION_TOKEN), read without importing botocore.session; Lambda provides exactly these."""

    def __init__(self, access_key: str, secret_key: str, token: str | None) -> None:
        self.access_key, self.secret_key, self.token = access_key, secret_key, token

    def get_frozen_credentials(self) -> _EnvCredentials:
        return self


def _credentials() -> Any:
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return _EnvCredentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                               env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None)
    import botocore.session  # the rest of the chain: profiles, container and instance credentials

    return botocore.session.get_session().get_credentials()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


async def with_retries[T](fn: Callable[[], Awaitable[T]], op: str, attempts: int = 4) -> T:
    """Retry throttles, conflicts and unanswered calls with jittered backoff, then 529/503.

    An unanswered call may or may not have committed; retrying it is safe (a hold's
    ClientRequestToken and a settle's read-back recognise their own committed write).
    """
    delay = 0.02
    for attempt in range(attempts):
        CALLS[op] += 1
        try:
            return await fn()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            retryable = code in _RETRYABLE or (
                code == "TransactionCanceledException" and _only_conflicts(exc.response)
            )
            if not retryable:
                raise
            failure: Exception = exc
            message = "The credit ledger is busy; retry shortly."
        except _TRANSPORT_ERRORS as exc:
            failure, message = exc, "The credit ledger did not answer; retry shortly."
        if attempt == attempts - 1:
            raise GatewayError(Kind.OVERLOADED, message, retry_after="1") from failure
        await asyncio.sleep(delay * (1 + random.random()))
        delay *= 3
    raise AssertionError("unreachable")


def _only_conflicts(response: dict[str, Any]) -> bool:
    reasons = [r.get("Code") for r in response.get("CancellationReasons") or []]
    return bool(reasons) and all(r in ("None", None, "TransactionConflict", "ThrottlingError") for r in reasons) and (
        "TransactionConflict" in reasons or "ThrottlingError" in reasons
    )


def cancellation_codes(exc: ClientError) -> list[str]:
    return [str(r.get("Code") or "None") for r in exc.response.get("CancellationReasons") or []]


_dynamo: AsyncDynamo | None = None


def dynamo() -> AsyncDynamo:
    global _dynamo
    if _dynamo is None:
        _dynamo = AsyncDynamo()
    return _dynamo


def sync_client() -> Any:
    """A plain boto3 client for the event handlers (release, sweeper) and admin tools."""
    import boto3  # deferred: the request path never needs boto3 (~0.4 s of a cold start)

    return boto3.client("dynamodb", **_client_kwargs())


# ------------------------------------------------------------------ codecs
def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def b(value: bytes) -> dict[str, Any]:
    """A binary attribute: base64 text on the lean client's wire, bytes for botocore (which encodes)."""
    import base64

    return {"B": base64.b64encode(value).decode() if _LEAN else value}


def blob(value: Any) -> bytes:
    """A binary attribute's bytes, as either client returns them."""
    import base64

    raw = value.get("B") if isinstance(value, dict) else value
    return raw if isinstance(raw, bytes) else base64.b64decode(raw or b"")


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Plain dict -> low-level item (str, int, bool, None-skipped, list of str, nested dict)."""
    item: dict[str, Any] = {}
    for key, value in data.items():
        encoded = _encode(value)
        if encoded is not None:
            item[key] = encoded
    return item


def _encode(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": to_item(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return {"L": [e for e in (_encode(v) for v in value) if e is not None]}
    raise TypeError(f"cannot store {type(value).__name__}")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _decode(value) for key, value in item.items()}


def _decode(value: dict[str, Any]) -> Any:
    (tag, raw), = value.items()
    if tag == "S":
        return raw
    if tag == "N":
        return int(raw) if "." not in raw else float(raw)
    if tag == "BOOL":
        return raw
    if tag == "M":
        return from_item(raw)
    if tag == "L":
        return [_decode(v) for v in raw]
    if tag in ("SS", "NS"):
        return list(raw)
    if tag == "NULL":
        return None
    return raw
