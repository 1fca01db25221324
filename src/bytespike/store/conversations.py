"""Stored OpenAI Responses (``store: true``): what ``previous_response_id`` and ``GET /v1/responses/{id}`` read.

The gateway owns this state for every model, OpenAI's included (docs/ARCHITECTURE.md, "Stored
responses"): a response lives in the org's partition of the Responses table, so any Lambda can
continue the conversation and no upstream account has to hold it. A record is the response as its
client got it plus the whole input that produced it (the stored history it continued, then its own
input items): continuing it is ``input + response.output``, one read however long the chain.

Layout: ``pk = ORG#<org>``, ``sk = <response id>#<part>``. The record is JSON, zlib-compressed and
cut into parts under DynamoDB's 400 KB item limit; part ``0000`` is the head (the key that stored
it, the part count, timestamps). The continuation parts are written first and the head last, so a
reader sees a response whole or not at all; a delete removes the head first for the same reason.
Reads are strongly consistent queries of the org's partition: another org's id is simply absent,
and a response stored by another key of the same org is treated as absent too. Items expire by TTL
(``responses_ttl_days``, 30 as OpenAI's own retention).
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from dataclasses import dataclass
from typing import Any

from bytespike.config import settings
from bytespike.store.dynamo import b, blob, dynamo, n, s

PART_BYTES = 350_000  # compressed bytes per item, well under DynamoDB's 400 KB item limit
HEAD = "0000"


@dataclass(slots=True)
class StoredResponse:
    """A response as its client got it, and the whole input that produced it."""

    response: dict[str, Any]
    input: list[Any]
    key_id: str = ""
    created_at: int = 0

    @property
    def id(self) -> str:
        return str(self.response.get("id") or "")

    def conversation(self) -> list[Any]:
        """What a request continuing this response starts from: its input, then its output."""
        return [*self.input, *(self.response.get("output") or ())]


def _table() -> str:
    return settings().responses_table


def _pk(org_id: str) -> dict[str, str]:
    return s(f"ORG#{org_id}")


def _encode(record: StoredResponse) -> bytes:
    data = json.dumps({"response": record.response, "input": record.input}, separators=(",", ":"),
                      ensure_ascii=False).encode()
    return zlib.compress(data, 6)


async def save(org_id: str, key_id: str, record: StoredResponse) -> None:
    """Store (or replace) ``record`` in the org's partition, readable by ``key_id`` only."""
    packed = _encode(record)
    parts = [packed[i:i + PART_BYTES] for i in range(0, len(packed), PART_BYTES)] or [b""]
    now = int(time.time())
    expires = now + settings().responses_ttl_days * 86400
    common = {"pk": _pk(org_id), "ttl": n(expires)}
    rid = record.id
    tail = [dynamo().call("put_item", TableName=_table(),
                          Item={**common, "sk": s(f"{rid}#{k:04d}"), "data": b(part)})
            for k, part in enumerate(parts[1:], start=1)]
    if tail:
        await asyncio.gather(*tail)
    head = {**common, "sk": s(f"{rid}#{HEAD}"), "data": b(parts[0]), "parts": n(len(parts)), "key_id": s(key_id),
            "created_at": n(int(record.response.get("created_at") or now)), "model": s(str(record.response.get("model")))}
    await dynamo().call("put_item", TableName=_table(), Item=head)


async def _items(org_id: str, response_id: str, *, keys_only: bool = False) -> list[dict[str, Any]]:
    if not response_id or "#" in response_id:
        return []
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": _table(), "KeyConditionExpression": "pk = :p AND begins_with(sk, :id)",
        "ExpressionAttributeValues": {":p": _pk(org_id), ":id": s(response_id + "#")}, "ConsistentRead": True}
    if keys_only:
        params["ProjectionExpression"] = "pk, sk, key_id"
    while True:
        page = await dynamo().call("query", **params)
        items += page.get("Items") or []
        if not page.get("LastEvaluatedKey"):
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _visible(head: dict[str, Any] | None, key_id: str) -> bool:
    return head is not None and head.get("key_id", {}).get("S") == key_id


async def load(org_id: str, key_id: str, response_id: str) -> StoredResponse | None:
    """The stored response, or None: unknown, expired, deleted, another org's, or another key's."""
    items = sorted(await _items(org_id, response_id), key=lambda i: i["sk"]["S"])
    head = items[0] if items and items[0]["sk"]["S"].endswith("#" + HEAD) else None
    if head is None or not _visible(head, key_id) or len(items) < int(head["parts"]["N"]):
        return None
    packed = b"".join(blob(item["data"]) for item in items[: int(head["parts"]["N"])])
    data = json.loads(zlib.decompress(packed))
    return StoredResponse(response=data["response"], input=data["input"], key_id=key_id,
                          created_at=int(head.get("created_at", {}).get("N", "0")))


async def delete(org_id: str, key_id: str, response_id: str) -> bool:
    """Delete a stored response (head first: it disappears whole); False when there is none to delete."""
    items = sorted(await _items(org_id, response_id, keys_only=True), key=lambda i: i["sk"]["S"])
    if not items or not items[0]["sk"]["S"].endswith("#" + HEAD) or not _visible(items[0], key_id):
        return False
    for item in items:  # the head first, then the parts it made visible
        await dynamo().call("delete_item", TableName=_table(), Key={"pk": item["pk"], "sk": item["sk"]})
    return True
