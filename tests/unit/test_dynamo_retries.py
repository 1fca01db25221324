"""with_retries: transport failures (no answer) are retried like throttles, then a clean 529/503."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from bytespike.errors import GatewayError, Kind
from bytespike.store import dynamo


async def test_timeouts_are_retried_then_succeed() -> None:
    calls = 0

    async def flaky() -> dict:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ReadTimeoutError(endpoint_url="http://ddb")
        return {"ok": True}

    assert await dynamo.with_retries(flaky, "update_item") == {"ok": True} and calls == 3


async def test_persistent_transport_failure_is_overloaded_with_retry_after() -> None:
    calls = 0

    async def down() -> dict:
        nonlocal calls
        calls += 1
        raise EndpointConnectionError(endpoint_url="http://ddb")

    with pytest.raises(GatewayError) as info:
        await dynamo.with_retries(down, "transact_write_items", attempts=3)
    assert info.value.kind is Kind.OVERLOADED and info.value.retry_after == "1" and calls == 3
