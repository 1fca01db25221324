"""DynamoDB clients (async for request paths, sync for event handlers) and item codecs.

Items are written in DynamoDB's low-level JSON by hand: the request path stays free of
TypeSerializer overhead, and every write is visible as the exact expression it runs.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bytespike.config import settings
from bytespike.errors import GatewayError, Kind

# Calls per operation name, for the benchmarks and the issue notes ("counted, not timed").
CALLS: Counter[str] = Counter()

def _boto_config() -> Config:
    # Our retries are jittered, bounded and visible (with_retries); botocore's one retry covers
    # connection errors only in spirit - a replayed TransactWriteItems is made idempotent by
    # its ClientRequestToken on DynamoDB (moto ignores the token, hence a long local timeout).
    return Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=2,
        read_timeout=settings().dynamodb_read_timeout,
        max_pool_connections=64,
        tcp_keepalive=True,
    )


_RETRYABLE = {
    "TransactionConflict",
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
        if self._stack is not None:
            await self._stack.aclose()
        self._client = None
        self._stack = None

    async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """Run one DynamoDB operation with jittered retries on transient errors."""
        client = await self.client()
        method: Callable[..., Awaitable[dict[str, Any]]] = getattr(client, op)
        return await with_retries(lambda: method(**kwargs), op)


async def with_retries[T](fn: Callable[[], Awaitable[T]], op: str, attempts: int = 4) -> T:
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
            if attempt == attempts - 1:
                raise GatewayError(
                    Kind.OVERLOADED, "The credit ledger is busy; retry shortly.", retry_after="1"
                ) from exc
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
    return boto3.client("dynamodb", **_client_kwargs())


# ------------------------------------------------------------------ codecs
def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


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
