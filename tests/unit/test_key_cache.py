"""The key cache: a key in use is re-read beside its requests, never in front of them, and the TTL
still bounds how long a revoked key keeps working."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bytespike import background
from bytespike.config import reset_settings
from bytespike.store import keys

TTL = 30.0


class FakeTable:
    """One key record; each GetItem waits for ``gate`` so a test can see who waited on it."""

    def __init__(self) -> None:
        self.status = "active"
        self.reads: list[bool] = []  # per GetItem: made by a background refresh task?
        self.gate = asyncio.Event()
        self.gate.set()

    async def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        assert op == "get_item"
        self.reads.append(background.in_background())
        if kwargs["Key"]["pk"]["S"] == keys.key_pk("unknown"):
            return {}
        await self.gate.wait()
        if self.status == "deleted":
            return {}
        record = keys.KeyRecord(digest="d", key_id="key_1", org_id="org", kind="master", member_id="owner",
                                 status=self.status)
        return {"Item": record.to_item()}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTable]:
    monkeypatch.setenv("AUTH_CACHE_TTL_SECONDS", str(TTL))
    reset_settings()
    fake = FakeTable()
    monkeypatch.setattr(keys, "dynamo", lambda: fake)
    keys.KEY_CACHE.clear()
    yield fake
    keys.KEY_CACHE.clear()
    reset_settings()


def age(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make the cached records ``seconds`` old."""
    now = time.monotonic()
    monkeypatch.setattr(keys.time, "monotonic", lambda: now + seconds)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_young_record_costs_no_read(table: FakeTable) -> None:
    assert (await keys.lookup("d")).status == "active"  # type: ignore[union-attr]
    for _ in range(20):
        await keys.lookup("d")
    await settle()
    assert table.reads == [False]  # the first request's own read, then the cache


async def test_aging_record_is_refreshed_beside_the_request(table: FakeTable,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    await keys.lookup("d")
    table.status, table.gate = "revoked", asyncio.Event()  # the next read blocks until the gate opens
    age(monkeypatch, TTL * 0.6)
    results = await asyncio.wait_for(asyncio.gather(*(keys.lookup("d") for _ in range(10))), 1)
    assert {r.status for r in results} == {"active"}  # served from the cache; nobody waited on the read
    await settle()
    assert table.reads == [False, True]  # one refresh for ten requests, in the background
    table.gate.set()
    await settle()
    assert (await keys.lookup("d")).status == "revoked"  # type: ignore[union-attr]
    assert table.reads == [False, True]  # the refreshed record is young again: no further read


async def test_record_past_the_ttl_is_read_before_the_request_goes_on(table: FakeTable,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    await keys.lookup("d")
    table.status = "revoked"
    age(monkeypatch, TTL + 1)
    assert (await keys.lookup("d")).status == "revoked"  # type: ignore[union-attr]
    assert table.reads == [False, False]  # the revocation bound: never served older than the TTL


async def test_deleted_key_is_forgotten_by_its_refresh(table: FakeTable, monkeypatch: pytest.MonkeyPatch) -> None:
    await keys.lookup("d")
    table.status = "deleted"
    age(monkeypatch, TTL * 0.6)
    await keys.lookup("d")
    await settle()
    assert await keys.lookup("d") is None
    assert table.reads == [False, True, False]


async def test_a_refresh_that_began_before_an_evict_does_not_undo_it(table: FakeTable,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin API evicts a key it just revoked; a refresh already in flight read it before the revocation."""
    await keys.lookup("d")
    table.gate = asyncio.Event()
    age(monkeypatch, TTL * 0.6)
    await keys.lookup("d")  # starts the refresh, which reads the record as it was ("active")
    await settle()
    keys.KEY_CACHE.evict("d")  # the revocation committed
    table.status = "revoked"
    table.gate.set()
    await settle()
    assert (await keys.lookup("d")).status == "revoked"  # type: ignore[union-attr]
    assert table.reads == [False, True, False]


async def test_unknown_keys_do_not_stop_real_ones_from_being_cached(table: FakeTable) -> None:
    """Random keys (each a table read that finds nothing) while a real key's first read is in flight."""
    table.gate = asyncio.Event()
    real = asyncio.ensure_future(keys.lookup("d"))
    await settle()
    for _ in range(5):
        assert await keys.lookup("unknown") is None
    table.gate.set()
    assert (await real).status == "active"  # type: ignore[union-attr]
    await keys.lookup("d")
    assert table.reads == [False] * 6  # the real key's record was cached: no second read for it


async def test_failed_refresh_is_logged_and_the_record_kept(table: FakeTable, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    await keys.lookup("d")

    async def down(op: str, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("table unreachable")

    monkeypatch.setattr(table, "call", down)
    age(monkeypatch, TTL * 0.6)
    assert (await keys.lookup("d")).status == "active"  # type: ignore[union-attr]
    await settle()
    assert "background key read for d failed" in caplog.text
    assert not keys.KEY_CACHE.refreshes.running("d")  # the next request may try again


async def test_clear_cancels_refreshes_in_flight(table: FakeTable, monkeypatch: pytest.MonkeyPatch) -> None:
    await keys.lookup("d")
    table.gate = asyncio.Event()
    age(monkeypatch, TTL * 0.6)
    await keys.lookup("d")
    await settle()
    assert keys.KEY_CACHE.refreshes.running("d")
    keys.KEY_CACHE.clear()  # a restored SnapStart sandbox
    await settle()
    assert not keys.KEY_CACHE.refreshes.running("d") and keys.KEY_CACHE.age("d") is None
