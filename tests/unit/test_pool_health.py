"""Pool health reads: strict for real pools, never before the upstream call for a pool of one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bytespike.providers import pool


class FakeDynamo:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items, self.calls, self.gate = items, 0, asyncio.Event()

    async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        await self.gate.wait()
        return {"Items": self.items}


DISABLED = [{"pk": {"S": "UPSTREAM#openai"}, "sk": {"S": "ACCOUNT#main"}, "cooldown_until": {"N": "0"},
             "disabled": {"BOOL": True}, "reason": {"S": "operator"}}]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeDynamo:
    fake = FakeDynamo(DISABLED)
    monkeypatch.setattr(pool, "dynamo", lambda: fake)
    return fake


async def test_lone_account_read_is_served_stale_and_refreshed_in_background(fake: FakeDynamo) -> None:
    cache = pool.HealthCache()
    assert await cache.get("openai", wait=False) == {}  # cold: healthy, the read has not finished
    await asyncio.sleep(0)
    assert await cache.get("openai", wait=False) == {} and fake.calls == 1  # one refresh in flight
    fake.gate.set()
    await asyncio.sleep(0.01)
    health = await cache.get("openai", wait=False)
    assert health["main"].disabled and fake.calls == 1  # the refreshed entry, from the cache


async def test_pool_read_waits_for_fresh_health(fake: FakeDynamo) -> None:
    cache = pool.HealthCache()
    fake.gate.set()
    assert (await cache.get("openai"))["main"].disabled and fake.calls == 1


async def test_background_failure_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("ledger down")

    monkeypatch.setattr(pool, "dynamo", lambda: Broken())
    cache = pool.HealthCache()
    assert await cache.get("openai", wait=False) == {}
    await asyncio.sleep(0.01)
    assert "background health read for openai failed" in caplog.text
    assert await cache.get("openai", wait=False) == {}  # retried on the next request
