"""Bounded, jittered retries for the admin's synchronous DynamoDB calls.

Top-ups and key writes share items with the request path (the wallet), so on DynamoDB a
transaction can be cancelled by a concurrent one (``TransactionConflict``). Every admin
write is conditional and idempotent, so running it again is safe.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from botocore.exceptions import ClientError

from bytespike.errors import GatewayError, Kind
from bytespike.store.dynamo import cancellation_codes

_TRANSIENT = {
    "TransactionConflict",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}


def transient(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in _TRANSIENT:
        return True
    if code == "TransactionCanceledException":
        codes = set(cancellation_codes(exc))
        return bool(codes & {"TransactionConflict", "ThrottlingError"}) and codes <= {
            "None", "TransactionConflict", "ThrottlingError"}
    return False


def retrying[T](fn: Callable[[], T], attempts: int = 5) -> T:
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except ClientError as exc:
            if not transient(exc):
                raise
            if attempt == attempts - 1:
                raise GatewayError(Kind.OVERLOADED, "The store is busy; retry shortly.", retry_after="1") from exc
            time.sleep(delay * (1 + random.random()))
            delay *= 3
    raise AssertionError("unreachable")
