"""Release function: the Reservations stream -> refunds, exactly once per reservation.

Powertools' BatchProcessor reports failed records individually (ReportBatchItemFailures),
so one failing record is retried without replaying the batch's other refunds; and the
release transaction itself is conditional, so a redelivered record refunds nothing.

After the batch, the orgs it touched are checked against their alert rules (``alerts/evaluate.py``):
a threshold reached becomes an event item, once (a conditional put), which the notifier delivers.
That check never fails a refund: an error is logged and the org's next release checks again.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from bytespike.store import ledger
from bytespike.store.dynamo import from_item, sync_client

log = logging.getLogger("bytespike.release")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_client: Any = None
_released: list[dict[str, Any]] = []  # this batch's final reservations, for the alert check


def _dynamo() -> Any:
    global _client
    if _client is None:
        _client = sync_client()
    return _client


def _raw_image(record: DynamoDBRecord, which: str) -> dict[str, Any] | None:
    return (record.raw_event.get("dynamodb") or {}).get(which)


def record_handler(record: DynamoDBRecord) -> None:
    new = _raw_image(record, "NewImage")
    if record.raw_event.get("eventName") == "REMOVE" or new is None:
        old = _raw_image(record, "OldImage")
        if old and from_item(old).get("state") == ledger.HELD:
            # TTL is only set once a reservation is released, so this cannot be a live hold.
            log.error("REMOVE of an unreleased HELD reservation %s; the sweeper cannot see it any more",
                      from_item(old).get("id"))
        return
    res = from_item(new)
    if res.get("state") not in ledger.FINAL_STATES or res.get("released"):
        log.debug("skip %s in state %s", res.get("id"), res.get("state"))
        return
    _released.append(res)  # a redelivered one too: the check is by state, and idempotent
    if ledger.release(_dynamo(), res):
        log.info("released %s: hold %s cost %s", res["id"], res["hold"], res.get("cost", 0))
    else:
        log.info("already released %s (redelivered record)", res["id"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _released.clear()
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    if _released:
        from bytespike.alerts import evaluate

        try:
            evaluate.evaluate(_dynamo(), list(_released))
        except Exception:
            log.exception("alert check after the release batch failed; the org's next release checks again")
        _released.clear()
    return result
