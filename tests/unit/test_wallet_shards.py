"""The sharded-wallet simulation (bench/wallet_shards.py, issue #8) is the evidence for a design
that changes every money path, so its own accounting must be exact and its headline claims
must hold: one item saturates near 250 req/s, the recommended shard count does not, probes and
the gather fallback are what keep false 402s down. Small rates and short windows: < 10 s."""

from __future__ import annotations

import dataclasses

import pytest
from bench.wallet_shards import Workload, _gather_plan, recommended_shards, simulate, split
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TIGHT = Workload(float_seconds=1.0)  # free balance ≈ 1 s of spend: shards can run dry


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.integers(20, 400),
    shards=st.integers(1, 6),
    probes=st.integers(1, 6),
    rebalance=st.sampled_from([0.0, 0.3, 1.0]),
    gather=st.booleans(),
    float_s=st.floats(0.0, 3.0),
    topup_every=st.sampled_from([0.0, 0.5, 1.0]),
    lock_ms=st.sampled_from([0.0, 2.0]),
    burst=st.sampled_from([0.02, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_money_is_conserved_exactly(rate: int, shards: int, probes: int, rebalance: float, gather: bool,
                                    float_s: float, topup_every: float, lock_ms: float, burst: float,
                                    seed: int) -> None:
    # Includes overload (bursts of 20 ms, item locks) and wallets that drain (no top-ups, no float).
    r = simulate(rate, shards, 1.5, seed, probes=probes, rebalance_every=rebalance, gather=gather,
                 workload=Workload(float_seconds=float_s, topup_every=topup_every), warmup=0.5,
                 burst_seconds=burst, lock_ms=lock_ms)
    assert r.conserved
    assert r.initial + r.topped_up == sum(r.final_balances) + r.open_holds + r.billed
    assert min(r.final_balances) >= 0
    assert r.held + r.overloaded + r.true_402 + r.false_402 <= r.requests


@given(amount=st.integers(0, 10**12), shards=st.integers(1, 99))
def test_split_sums_exactly(amount: int, shards: int) -> None:
    parts = split(amount, shards)
    assert sum(parts) == amount and len(parts) == shards and max(parts) - min(parts) <= 1


@given(balance=st.lists(st.integers(0, 10**6), min_size=1, max_size=99), data=st.data())
def test_gather_plan_takes_the_hold_and_no_shard_below_zero(balance: list[int], data: st.DataObject) -> None:
    total = sum(balance)
    if total == 0:
        return
    hold = data.draw(st.integers(1, total))
    plan = _gather_plan(balance, hold)
    assert sum(part for _, part in plan) == hold
    assert all(0 < part <= balance[i] for i, part in plan)
    assert len({i for i, _ in plan}) == len(plan)


def test_single_item_saturates_at_1000_rps_and_the_recommended_shards_do_not() -> None:
    single = simulate(1000, 1, 3.0, 1)
    assert single.pct_529 > 50  # ~4 WCU per request on one 1,000 WCU/s partition: ~250 holds/s
    assert single.throughput < 350
    n = recommended_shards(1000)
    assert n == 8
    sharded = simulate(1000, n, 3.0, 1)
    assert sharded.pct_529 < 0.1 and sharded.pct_false_402 < 0.01
    assert sharded.throughput > 950


def test_recommended_shard_counts() -> None:
    assert [recommended_shards(r) for r in (250, 1000, 5000, 10000)] == [2, 8, 32, 64]


def test_false_402s_fall_with_probes_and_vanish_with_gather() -> None:
    def false_402(probes: int, gather: bool) -> float:
        r = simulate(1000, 8, 8.0, 1, probes=probes, rebalance_every=0, gather=gather, workload=TIGHT)
        return r.pct_false_402

    one, two, four = false_402(1, False), false_402(2, False), false_402(4, False)
    assert one > two > four
    assert one > 0.3  # a tight wallet on 8 shards, one probe: hundreds per 100,000 requests
    assert false_402(4, True) < 0.01


def test_deterministic_for_a_seed() -> None:
    a, b = (simulate(500, 4, 2.0, 7, workload=TIGHT) for _ in range(2))
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    c = simulate(500, 4, 2.0, 8, workload=TIGHT)
    assert dataclasses.asdict(a) != dataclasses.asdict(c)


def test_shard_count_is_bounded_by_a_transaction() -> None:
    with pytest.raises(ValueError):
        simulate(100, 100, 1.0, 1)
