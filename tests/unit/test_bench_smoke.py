"""The benchmark harness cannot rot: one tiny round of `make bench` against ByteSpike and the
upstream double (no peers, no network, no timing assertions).

It runs ``bench/run.py --smoke`` exactly as ``make bench`` runs it: the double, the DynamoDB
side (moto + the release poller) and the ByteSpike gateway process, scenario 1 (non-streaming
added latency and CPU per request) and scenario 8 (DynamoDB calls per request), then the
report renderer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_bench_harness_one_round(tmp_path: Path) -> None:
    out, results = tmp_path / "BENCHMARKS.md", tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--no-peers", "--no-stub", "--scenarios", "1,8",
         "--out", str(out), "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=85, env={**os.environ, "BENCH_NICE": "0"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    r = json.loads(results.read_text())
    row = r["s1"]["rows"]["bytespike"]
    assert row["requests"] >= 5 and row["errors"] == 0, row
    assert row["added_p50"] > 0 and row["cpu_ms"] >= 0
    paths = r["s8"]["paths"]
    assert paths["oai>oai:json"]["errors"] == 0
    assert paths["oai>oai:json"]["writes"] > 0  # the billing path ran: hold + settle were counted
    text = out.read_text()
    assert "## 1. Non-streaming chat" in text and "## 8. DynamoDB calls" in text
