"""The per-process budget view that decides whether a hold may overlap the upstream call (issue 14,
finding 5), and the hold transaction's quota counters (finding 6)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bytespike.gateway import budget
from bytespike.store import ledger


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    budget.forget()
    yield
    budget.forget()


def test_an_unknown_wallet_never_overlaps() -> None:
    assert not budget.claim("org", 1)


def test_a_refusal_teaches_the_balance_and_claims_count_at_once() -> None:
    budget.refused("org", 250)
    assert budget.claim("org", 100) and budget.claim("org", 100)
    assert not budget.claim("org", 100)  # 50 left: the third of a burst holds first
    budget.give_back("org", 100)  # a claimed hold failed, or a settle's refund to come
    assert budget.claim("org", 100)


def test_a_stale_view_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    budget.refused("org", 10_000)
    later = time.monotonic() + budget.FRESH_SECONDS + 1
    monkeypatch.setattr(budget.time, "monotonic", lambda: later)
    assert not budget.claim("org", 1)


async def test_a_hold_the_view_said_could_not_pass_relearns_the_wallet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wallet topped up elsewhere: the serial hold passed, so the view is wrong and is read again."""
    reads: list[str] = []

    async def read_balance(org_id: str) -> int:
        reads.append(org_id)
        return 7_000

    monkeypatch.setattr(ledger, "read_balance", read_balance)
    budget.refused("org", 0)
    assert not budget.claim("org", 1)
    budget.held("org", 5, claimed=False)
    await asyncio.sleep(0.01)
    assert reads == ["org"] and budget.claim("org", 6_000)


def _hold(*quotas: ledger.QuotaCharge) -> ledger.Hold:
    return ledger.Hold(reservation_id="r", request_id="r", org_id="o", key_id="k", member_id="dev", model="m",
                       provider="p", surface="anthropic", amount=100, quotas=quotas)


def test_every_limited_counter_is_charged_once_in_the_hold_transaction() -> None:
    own = ledger.QuotaCharge("dev", 500, "2026-12", "key")
    master = ledger.QuotaCharge("team", 2_000, "2026-12-02", "master key")
    items = ledger._hold_items(_hold(own, master), now=0)
    counters = [i["Update"]["Key"]["sk"]["S"] for i in items[2:]]
    assert counters == ["MEMBER#dev#2026-12", "MEMBER#team#2026-12-02"]
    limits = [int(i["Update"]["ExpressionAttributeValues"][":limit"]["N"]) for i in items[2:]]
    assert limits == [400, 1_900]
    put = items[1]["Put"]["Item"]["quota_counters"]["L"]
    assert [[c["S"] for c in pair["L"]] for pair in put] == [["dev", "2026-12"], ["team", "2026-12-02"]]


def test_a_counter_named_twice_is_charged_once_at_the_tighter_limit() -> None:
    """A sub-key whose member is its master's shares one counter (DynamoDB refuses two writes to one
    item in a transaction)."""
    items = ledger._hold_items(_hold(ledger.QuotaCharge("owner", 900, "2026-12", "key"),
                                     ledger.QuotaCharge("owner", 2_000, "2026-12", "master key")), now=0)
    assert len(items) == 3 and items[2]["Update"]["ExpressionAttributeValues"][":limit"]["N"] == "800"


def test_release_refunds_every_counter_and_reads_old_reservations() -> None:
    assert ledger.quota_counters({"quota_counters": [["dev", "p1"], ["team", "p2"]]}) == [("dev", "p1"), ("team", "p2")]
    assert ledger.quota_counters({"member_id": "dev", "quota_period": "p1"}) == [("dev", "p1")]  # before the change
    assert ledger.quota_counters({"member_id": "dev"}) == []
