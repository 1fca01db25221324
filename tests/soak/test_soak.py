"""The soak test's short form (issue #10): `make test` runs it; `make soak` runs the long form.

Its own local stack (moto and the gateway in separate processes, so the gateway's RSS is
its own), 3 orgs x (master + 9 member keys), ~200 mixed requests at concurrency 16 with a
fault on every 10th, then the exact reconciliation of bench/soak.py. Runtime on the 2-core
machine: about 16-20 s when it is idle, 50-60 s when it is busy (the stack's start and the
release poller's drain after the traffic are most of it).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from bench.soak import (
    EXPECTED_OUTCOME,
    SoakConfig,
    gateway_log_findings,
    launch_stack,
    print_summary,
    run_soak,
)

# ~200 requests: 20 injected faults (4 of each kind) and, with the tight quotas, some refusals.
SHORT = SoakConfig(duration=40, requests=200, concurrency=16, sample_interval=1.0, release_timeout=120,
                   # 200 requests fill the simulator's request log a tenth of the way (2,000 entries, ~3 KiB
                   # each); 25 MiB is several times what such a run grows, far below a per-request leak.
                   rss_growth_limit_mb=25)


@pytest.mark.timeout(300)
def test_soak_short(tmp_path: Path) -> None:
    with launch_stack(tmp_path) as launched:
        report = run_soak(launched, SHORT)
    print_summary(report)  # shown with -s or on failure

    outcomes = Counter(r.outcome for r in report.results)
    assert len(report.results) == SHORT.requests, f"the duration ran out first: {len(report.results)} requests"
    unexpected = [(r.plan.i, r.plan.surface, r.plan.model, r.plan.stream, r.plan.via, r.plan.fault, r.outcome,
                   r.obs.status, r.obs.problem or r.obs.error) for r in report.unexpected]
    assert not unexpected, unexpected[:10]
    # Every class of the mix really happened (the plan is deterministic; refusals depend on the tight quotas).
    for outcome in set(EXPECTED_OUTCOME.values()) | {"quota_refused"}:
        assert outcomes[outcome] > 0, (outcome, outcomes)
    lanes = {(r.plan.surface, r.plan.model.split("-")[0]) for r in report.results}
    assert lanes == {("anthropic", "claude"), ("anthropic", "gpt"), ("openai", "claude"), ("openai", "gpt")}, lanes
    assert {r.plan.via for r in report.results} == {"http", "sdk"}
    assert {r.plan.stream for r in report.results} == {True, False}

    # Blocking checks must all hold; the non-blocking ones are the known findings of docs/LOAD.md
    # (the billing of aborted streams, reproduced as strict xfails in test_abort_billing.py).
    failed = [(c.name, c.detail) for c in report.checks if c.blocking and not c.ok]
    assert not failed, failed
    assert report.reconciled
    assert report.totals["states"].get("HELD", 0) == 0
    assert report.totals["billed"] > 0

    memory = report.memory
    assert memory["ok"], memory
    errors = {k: n for k, n in gateway_log_findings(report.log_findings).items() if "ERROR" in k or "CRITICAL" in k}
    assert not errors, errors  # warnings (e.g. a redelivered release) are reported, not failed on
