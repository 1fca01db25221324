"""One structured log record and one set of EMF metrics per paid request.

Logged: request id, org, key digest prefix (never the key), model, provider, upstream
account name (never its key), outcome, credits held and billed, time to first byte and
total time. Metrics (CloudWatch EMF via Powertools): requests and failures by outcome,
credits billed, upstream TTFB per provider.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bytespike.gateway.pipeline import Call

_logger: Any = None
_metrics: Any = None
_ON_LAMBDA = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _powertools() -> tuple[Any, Any]:
    """Powertools Logger/Metrics, created on first use (keeps them off the import path)."""
    global _logger, _metrics
    if _logger is None:
        from aws_lambda_powertools import Logger, Metrics

        _logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "bytespike"),
                         logger_handler=None if _ON_LAMBDA else logging.StreamHandler())
        _metrics = Metrics(namespace="ByteSpike", service="gateway")
    return _logger, _metrics


def rejected(fields: dict[str, Any]) -> None:
    """One record per rejected request (``http/access.py``): at WARNING, so the local stack's
    default level shows it too. The fields hold no key and no query string."""
    logger, _ = _powertools()
    logger.warning("rejected", extra=fields)


def record(call: Call, outcome: str) -> None:
    from bytespike.http.access import note

    note(credits=call.cost)  # the access line's "credits billed"
    now = time.perf_counter()
    fields = {
        "request_id": call.request_id,
        "org_id": call.key.org_id,
        "key": call.key.digest_prefix,
        "member_id": call.key.member_id,
        "surface": call.surface,
        "model": call.model.id,
        "provider": call.model.provider,
        "account": call.account,
        "outcome": outcome,
        "hold": call.hold,
        "credits": call.cost,
        "ttfb_ms": round((call.first_byte_at - call.started) * 1000, 1) if call.first_byte_at else None,
        "total_ms": round((now - call.started) * 1000, 1),
    }
    if not _ON_LAMBDA and not logging.getLogger("bytespike.calls").isEnabledFor(logging.INFO):
        return  # local stack at warning level: skip the work
    logger, metrics = _powertools()
    logger.info("call", extra=fields)
    if _ON_LAMBDA:
        metrics.add_dimension(name="provider", value=call.model.provider)
        metrics.add_metric(name="Requests", unit="Count", value=1)
        if outcome not in ("ok", "client_aborted"):
            metrics.add_metric(name="UpstreamFailures", unit="Count", value=1)
        metrics.add_metric(name="CreditsBilled", unit="Count", value=call.cost)
        if call.first_byte_at:
            metrics.add_metric(name="TimeToFirstByte", unit="Milliseconds", value=fields["ttfb_ms"])
        metrics.flush_metrics()
