"""Sweeper: expire holds whose function died, finish releases the stream did not deliver."""

from __future__ import annotations

import logging
from typing import Any

from bytespike.store import ledger
from bytespike.store.dynamo import sync_client

log = logging.getLogger("bytespike.sweeper")
_client: Any = None


def sweep(now: float | None = None) -> dict[str, int]:
    global _client
    if _client is None:
        _client = sync_client()
    counts = ledger.expire_stale(_client, now)
    if any(counts.values()):
        log.info("sweeper: %s", counts)
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    counts = sweep()
    from aws_lambda_powertools import Metrics  # deferred: only the Lambda entry point emits EMF

    metrics = Metrics(namespace="ByteSpike", service="sweeper")
    metrics.add_metric(name="HoldsExpired", unit="Count", value=counts["expired"])
    metrics.add_metric(name="ReleasesFinished", unit="Count", value=counts["released"])
    metrics.flush_metrics()
    return counts
