"""Keys: mint, list, show, revoke, rotate, under the scope rules of the product.

- The operator mints master keys (and may mint sub-keys under a named master).
- A master mints sub-keys in its own org; a sub-key may be narrower than its master in
  models, modalities and expiry, never wider. Quota, period and RPM are the master's choice,
  except that a master with a quota or RPM limit of its own cannot mint above it.
- A sub-key (member) can do none of this (403).
- ``max_concurrency`` caps the requests a key has in flight at once (a slot counter taken in the
  hold transaction, given back when the request settles); a capped master's slots cover its
  sub-keys, which inherit its cap or narrow it.
- A secret exists only in the response that creates it (mint, rotate); the store keeps
  its SHA-256 digest, and views show 8 hex characters of the digest, never the secret.

Rotation keeps key_id and settings under a new secret. A master's first digest stays as a
``rotated`` tombstone whose ``successor`` names the current secret, because its sub-keys
link to that first digest; so rotating a master keeps its sub-keys, revoking the current
master still stops them (auth follows the tombstone), and the chain never grows past one
hop (later rotations delete the intermediate item and repoint the tombstone).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bytespike.admin.principal import MASTER, OPERATOR, Principal, org_not_found
from bytespike.admin.retry import retrying
from bytespike.admin.schemas import CreateKey
from bytespike.catalog import catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.store import keys, ledger
from bytespike.store.dynamo import cancellation_codes, from_item, n, s

ACTIVE, REVOKED, ROTATED = "active", "revoked", "rotated"


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_record(*, org_id: str, kind: str, member_id: str, label: str = "", now: int | None = None,
               **settings_: Any) -> tuple[keys.KeyRecord, str]:
    secret = keys.new_secret()
    record = keys.KeyRecord(digest=keys.digest(secret), key_id=new_key_id(), org_id=org_id, kind=kind,
                            member_id=member_id, label=label, created_at=int(time.time()) if now is None else now,
                            **settings_)
    return record, secret


def iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_view(r: keys.KeyRecord, quota_used: int | None = None, in_flight: int | None = None) -> dict[str, Any]:
    """What listing and showing a key reveal: settings and state, never the secret."""
    view: dict[str, Any] = {
        "key_id": r.key_id,
        "org_id": r.org_id,
        "kind": r.kind,
        "member_id": r.member_id,
        "label": r.label,
        "status": r.status,
        "digest_prefix": r.digest_prefix,
        "parent_key_id": r.parent_key_id,
        "models": sorted(r.models) if r.models is not None else None,
        "modalities": sorted(r.modalities) if r.modalities is not None else None,
        "quota": r.quota,
        "quota_period": r.quota_period,
        "rpm": r.rpm,
        "max_concurrency": r.max_concurrency,
        "expires_at": iso(r.expires_at),
        "created_at": iso(r.created_at),
        "revoked_at": iso(r.revoked_at),
    }
    if r.quota is not None:
        view["quota_used"] = quota_used or 0
        view["quota_period_label"] = ledger.period_label(r.quota_period or "month")
    if r.max_concurrency is not None:
        view["in_flight"] = in_flight or 0  # requests holding one of its slots now
    return view


# ------------------------------------------------------------------ reads
def _org_key_items(client: Any, org_id: str, key_id: str | None = None) -> list[keys.KeyRecord]:
    kwargs: dict[str, Any] = {
        "TableName": settings().keys_table,
        "IndexName": "by-org",
        "KeyConditionExpression": "org_id = :o" + (" AND key_id = :k" if key_id else ""),
        "ExpressionAttributeValues": {":o": s(org_id), **({":k": s(key_id)} if key_id else {})},
    }
    out: list[keys.KeyRecord] = []
    while True:
        page = retrying(lambda: client.query(**kwargs))
        out.extend(keys.KeyRecord.from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _current(client: Any, org_id: str, key_id: str) -> keys.KeyRecord:
    """The live item of a key_id, read strongly by digest.

    The by-org index may lag a rotation that just happened; a master's tombstone always
    names its current digest, so a stale index entry still leads to the live item.
    """
    table = settings().keys_table

    def read(digest: str) -> keys.KeyRecord | None:
        item = retrying(lambda: client.get_item(TableName=table, Key={"pk": s(keys.key_pk(digest))},
                                                ConsistentRead=True)).get("Item")
        return keys.KeyRecord.from_item(item) if item else None

    seen: set[str] = set()
    for found in _org_key_items(client, org_id, key_id):
        digest: str | None = found.digest
        for _ in range(2):  # at most one hop: tombstone -> current
            if digest is None or digest in seen:
                break
            seen.add(digest)
            record = read(digest)
            if record is None or record.org_id != org_id or record.key_id != key_id:
                break
            if record.status != ROTATED:
                return record
            digest = record.successor
    raise GatewayError(Kind.NOT_FOUND, f"No key '{key_id}'.")


def _counters(client: Any, org_id: str, records: Iterable[keys.KeyRecord]
              ) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """(quota used per (member, period label), slots in flight per key id) now: one BatchGetItem per
    100 counter items."""
    records = list(records)
    wanted = {(r.member_id, ledger.period_label(r.quota_period or "month")) for r in records if r.quota is not None}
    used: dict[tuple[str, str], int] = {}
    in_flight: dict[str, int] = {}
    table = settings().accounts_table
    pending = [ledger.member_key(org_id, m, p) for m, p in sorted(wanted)]
    pending += [ledger.slot_key(org_id, r.key_id) for r in records if r.max_concurrency is not None]
    while pending:
        batch, pending = pending[:100], pending[100:]
        request: dict[str, Any] = {table: {"Keys": batch, "ConsistentRead": True}}
        while request:
            resp = retrying(lambda r=request: client.batch_get_item(RequestItems=r))
            for item in resp.get("Responses", {}).get(table, []):
                d = from_item(item)
                if d["sk"].startswith("SLOTS#"):
                    in_flight[d["sk"][len("SLOTS#"):]] = int(d.get("inflight", 0))
                    continue
                _, member, period = d["sk"].split("#", 2)
                used[(member, period)] = int(d.get("used", 0))
            request = resp.get("UnprocessedKeys") or {}
    return used, in_flight


def _with_usage(client: Any, org_id: str, records: list[keys.KeyRecord]) -> list[dict[str, Any]]:
    used, in_flight = _counters(client, org_id, records)
    return [key_view(r, used.get((r.member_id, ledger.period_label(r.quota_period or "month"))),
                     in_flight.get(r.key_id)) for r in records]


def _check_org(client: Any, org_id: str) -> None:
    if retrying(lambda: ledger.get_wallet(client, org_id)) is None:
        raise org_not_found(org_id)


def list_keys(client: Any, p: Principal, org_id: str | None, status: str | None = None) -> list[dict[str, Any]]:
    p.require(OPERATOR, MASTER)
    org = p.org_for(org_id)
    if p.role == OPERATOR:
        _check_org(client, org)
    records = [r for r in _org_key_items(client, org) if r.status != ROTATED and (status in (None, "all")
                                                                                    or r.status == status)]
    records.sort(key=lambda r: (r.kind != "master", r.created_at, r.key_id))  # masters first, then by age
    return _with_usage(client, org, records)


def get_key(client: Any, p: Principal, org_id: str | None, key_id: str) -> dict[str, Any]:
    p.require(OPERATOR, MASTER)
    org = p.org_for(org_id)
    return _with_usage(client, org, [_current(client, org, key_id)])[0]


def self_view(client: Any, p: Principal) -> dict[str, Any]:
    """The calling key's own view (any key, members included): what the console shows a member."""
    if p.key is None:
        raise GatewayError(Kind.INVALID_REQUEST, "The operator credential is not a key; name a key_id instead.")
    return {**_with_usage(client, p.key.org_id, [p.key])[0], "role": p.role}


# ------------------------------------------------------------------ mint
def _narrow(field: str, parent: frozenset[str] | None, wanted: frozenset[str] | None) -> frozenset[str] | None:
    if parent is None:
        return wanted
    if wanted is None:
        return parent
    wider = sorted(wanted - parent)
    if wider:
        raise GatewayError(Kind.PERMISSION, f"{field}: the master key may not use {', '.join(wider)}, so its "
                                            f"sub-keys may not either.", param=field)
    return wanted


def _narrow_concurrency(parent: keys.KeyRecord, wanted: int | None) -> int | None:
    """A capped master's sub-keys inherit its concurrency cap or narrow it (its slots cover them anyway)."""
    if parent.max_concurrency is None:
        return wanted
    if wanted is None:
        return parent.max_concurrency
    if wanted > parent.max_concurrency:
        raise GatewayError(Kind.PERMISSION, f"max_concurrency: the master key is limited to {parent.max_concurrency} "
                                            "concurrent requests, so its sub-keys are too.", param="max_concurrency")
    return wanted


def _narrow_limits(parent: keys.KeyRecord, quota: int | None, period: str | None,
                   rpm: int | None) -> tuple[int | None, str | None, int | None]:
    """(quota, period, rpm) of a sub-key: free under an unlimited master, never above a limited one.

    A master the operator gave a quota or an RPM limit cannot hand out a key without it:
    omitted values inherit the master's, larger ones are a 403. A per-day master quota
    admits a per-month sub-key quota no larger than it (a month never spends more than a day's
    quota then); a per-month master quota admits only per-month sub-key quotas (a day quota
    would refill 28-31 times a month).
    """
    if parent.quota is not None:
        parent_period = parent.quota_period or "month"
        if quota is None:
            quota, period = parent.quota, period or parent_period
        period = period or "month"
        if quota > parent.quota:
            raise GatewayError(Kind.PERMISSION, f"quota: the master key is limited to {parent.quota} credits per "
                                                f"{parent_period}, so its sub-keys are too.", param="quota")
        if parent_period == "month" and period != "month":
            raise GatewayError(Kind.PERMISSION, "quota_period: the master key's quota is per month, so a sub-key's "
                                                "quota must be per month too.", param="quota_period")
    if parent.rpm is not None:
        if rpm is None:
            rpm = parent.rpm
        if rpm > parent.rpm:
            raise GatewayError(Kind.PERMISSION, f"rpm: the master key is limited to {parent.rpm} requests per minute, "
                                                "so its sub-keys are too.", param="rpm")
    return quota, (period or "month") if quota is not None else None, rpm


def _models(wanted: list[str] | None) -> frozenset[str] | None:
    if wanted is None:
        return None
    out: set[str] = set()
    for model_id in wanted:
        model = catalog().model(model_id)
        if model is None:
            raise GatewayError(Kind.INVALID_REQUEST, f"models: '{model_id}' is not a model this gateway serves.",
                               param="models")
        out.add(model.id)
    return frozenset(out)


def _modalities(wanted: list[str] | None) -> frozenset[str] | None:
    if wanted is None:
        return None
    known = {"chat"} | {m.modality for m in catalog().models.values()}  # the catalog names them
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise GatewayError(Kind.INVALID_REQUEST, f"modalities: unknown {', '.join(unknown)} "
                                                 f"(known: {', '.join(sorted(known))}).", param="modalities")
    return frozenset(wanted)


def _parent_for(client: Any, p: Principal, org: str, req: CreateKey) -> keys.KeyRecord:
    if p.role == MASTER:
        assert p.key is not None
        if req.parent_key_id not in (None, p.key.key_id):
            raise GatewayError(Kind.PERMISSION, "parent_key_id: a master key mints sub-keys under itself only.",
                               param="parent_key_id")
        return p.key
    if req.parent_key_id:
        parent = _current(client, org, req.parent_key_id)
    else:
        masters = [r for r in _org_key_items(client, org) if r.kind == "master" and r.status == ACTIVE]
        if len(masters) != 1:
            raise GatewayError(Kind.INVALID_REQUEST, f"parent_key_id: org '{org}' has {len(masters)} active master "
                                                     "keys; name the parent.", param="parent_key_id")
        parent = masters[0]
    if parent.kind != "master" or parent.status != ACTIVE:
        raise GatewayError(Kind.INVALID_REQUEST, "parent_key_id: the parent must be an active master key.",
                           param="parent_key_id")
    return parent


def mint_key(client: Any, p: Principal, req: CreateKey, now: float | None = None) -> tuple[dict[str, Any], str]:
    """(view, secret). The secret is returned here and never again."""
    p.require(OPERATOR, MASTER)
    org = p.org_for(req.org_id)
    now = time.time() if now is None else now
    if req.kind == "master" and p.role != OPERATOR:
        raise GatewayError(Kind.PERMISSION, "kind: only the operator mints master keys; a master mints sub-keys.",
                           param="kind")
    if p.role == OPERATOR:
        _check_org(client, org)
    if req.quota_period is not None and req.quota is None:
        raise GatewayError(Kind.INVALID_REQUEST, "quota_period: set quota too (credits per period).",
                           param="quota_period")
    when = req.expires_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # a time without a zone is UTC, like every time in the API
    expires_at = int(when.timestamp()) if when is not None else None
    if expires_at is not None and expires_at <= now:
        raise GatewayError(Kind.INVALID_REQUEST, "expires_at: must be in the future.", param="expires_at")
    models, modalities = _models(req.models), _modalities(req.modalities)
    fields: dict[str, Any] = {
        "quota": req.quota,
        "quota_period": (req.quota_period or "month") if req.quota is not None else None,
        "rpm": req.rpm,
        "max_concurrency": req.max_concurrency,
    }
    if req.kind == "master":
        if req.parent_key_id:
            raise GatewayError(Kind.INVALID_REQUEST, "parent_key_id: a master key has no parent.",
                               param="parent_key_id")
        member_id = req.member_id or "owner"
        fields.update(models=models, modalities=modalities, expires_at=expires_at)
    else:
        if not req.member_id:
            raise GatewayError(Kind.INVALID_REQUEST, "member_id: Field required for a sub-key.", param="member_id")
        member_id = req.member_id
        parent = _parent_for(client, p, org, req)
        if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
            expires_at = parent.expires_at  # a sub-key never outlives its master
        quota, period, rpm = _narrow_limits(parent, req.quota, req.quota_period, req.rpm)
        fields.update(models=_narrow("models", parent.models, models),
                      modalities=_narrow("modalities", parent.modalities, modalities),
                      expires_at=expires_at, parent_digest=parent.anchor_digest, parent_key_id=parent.key_id,
                      quota=quota, quota_period=period, rpm=rpm,
                      max_concurrency=_narrow_concurrency(parent, req.max_concurrency))
    record, secret = new_record(org_id=org, kind=req.kind, member_id=member_id, label=req.label, now=int(now),
                                **fields)
    put = {"TableName": settings().keys_table, "Item": record.to_item(), "ConditionExpression": "attribute_not_exists(pk)"}
    check = _caller_check(p)
    if check is None:
        retrying(lambda: client.put_item(**put))
    else:
        try:
            retrying(lambda: client.transact_write_items(TransactItems=[{"Put": put}, check]))
        except ClientError as exc:
            if _caller_failed(exc, 1):
                raise caller_gone() from exc
            raise
    return key_view(record, 0 if record.quota is not None else None), secret


# ------------------------------------------------------------------ revoke / rotate
def _may_manage(p: Principal, target: keys.KeyRecord) -> None:
    """A master manages its org's sub-keys and itself, not other masters; the operator manages all."""
    if p.role == MASTER and target.kind == "master" and target.key_id != p.key_id:
        raise GatewayError(Kind.PERMISSION, "Only the operator manages another master key.")


def _caller_check(p: Principal) -> dict[str, Any] | None:
    """A transaction item that holds only while the caller's own key is still active, so a key
    operation authenticated a moment before its secret was rotated or revoked cannot commit after
    that change did (the operator, with no key item, has none)."""
    if p.key is None:
        return None
    return {"ConditionCheck": {"TableName": settings().keys_table, "Key": {"pk": s(keys.key_pk(p.key.digest))},
                               "ConditionExpression": "#st = :active", "ExpressionAttributeNames": {"#st": "status"},
                               "ExpressionAttributeValues": {":active": s(ACTIVE)}}}


def caller_gone() -> GatewayError:
    return GatewayError(Kind.AUTHENTICATION, "This API key was rotated or revoked; use its current secret.")


def _caller_failed(exc: ClientError, index: int | None) -> bool:
    codes = cancellation_codes(exc)
    return index is not None and index < len(codes) and codes[index] == "ConditionalCheckFailed"


def revoke_key(client: Any, p: Principal, org_id: str | None, key_id: str) -> dict[str, Any]:
    """Idempotent. A revoked key has no admin power at once; on the request path it (and a revoked
    master's sub-keys) stops within the auth cache TTL."""
    p.require(OPERATOR, MASTER)
    org = p.org_for(org_id)
    target = _current(client, org, key_id)
    _may_manage(p, target)
    if target.status == REVOKED:
        return key_view(target)
    now = int(time.time())
    update = {"TableName": settings().keys_table, "Key": {"pk": s(keys.key_pk(target.digest))},
              "UpdateExpression": "SET #st = :rev, revoked_at = :t", "ConditionExpression": "#st = :active",
              "ExpressionAttributeNames": {"#st": "status"},
              "ExpressionAttributeValues": {":rev": s(REVOKED), ":t": n(now), ":active": s(ACTIVE)}}
    check = _caller_check(p) if p.key is None or p.key.digest != target.digest else None
    try:
        if check is None:  # the operator, or a master revoking itself (the update's own condition)
            retrying(lambda: client.update_item(**update))
        else:
            retrying(lambda: client.transact_write_items(TransactItems=[{"Update": update}, check]))
    except ClientError as exc:
        if check is not None and _caller_failed(exc, 1):
            raise caller_gone() from exc
        code = exc.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in cancellation_codes(exc):
            return key_view(_current(client, org, key_id))  # revoked or rotated meanwhile: report what is
        raise
    keys.KEY_CACHE.evict(target.digest)  # this process's request path stops it now; others within the TTL
    return key_view(dataclasses.replace(target, status=REVOKED, revoked_at=now))


def rotate_key(client: Any, p: Principal, org_id: str | None, key_id: str) -> tuple[dict[str, Any], str]:
    """(view, new secret): same key_id and settings. The old secret has no admin power once this commits
    (the admin API reads the table, and every key operation checks its caller's key in its own
    transaction); on the request path it stops within the auth cache TTL."""
    p.require(OPERATOR, MASTER)
    org = p.org_for(org_id)
    old = _current(client, org, key_id)
    _may_manage(p, old)
    if old.status != ACTIVE:
        raise GatewayError(Kind.CONFLICT, f"Key '{key_id}' is {old.status}; only an active key can be rotated.")
    secret = keys.new_secret()
    anchor = old.anchor_digest
    new = keys.KeyRecord(**{f: getattr(old, f) for f in keys.KeyRecord.__dataclass_fields__ if f != "extra"}
                         | {"digest": keys.digest(secret), "origin_digest": anchor if old.kind == "master" else None,
                            "successor": None})
    table = settings().keys_table
    active = {"ConditionExpression": "#st = :active", "ExpressionAttributeNames": {"#st": "status"}}
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": new.to_item(), "ConditionExpression": "attribute_not_exists(pk)"}}]
    if old.kind == "master" and old.digest == anchor:
        items.append({"Update": {"TableName": table, "Key": {"pk": s(keys.key_pk(old.digest))},
                                 "UpdateExpression": "SET #st = :rot, successor = :new", **active,
                                 "ExpressionAttributeValues": {":rot": s(ROTATED), ":new": s(new.digest),
                                                               ":active": s(ACTIVE)}}})
    else:
        items.append({"Delete": {"TableName": table, "Key": {"pk": s(keys.key_pk(old.digest))}, **active,
                                 "ExpressionAttributeValues": {":active": s(ACTIVE)}}})
        if old.kind == "master":
            items.append({"Update": {"TableName": table, "Key": {"pk": s(keys.key_pk(anchor))},
                                     "UpdateExpression": "SET successor = :new",
                                     "ConditionExpression": "#st = :rot", "ExpressionAttributeNames": {"#st": "status"},
                                     "ExpressionAttributeValues": {":new": s(new.digest), ":rot": s(ROTATED)}}})
    caller_index: int | None = None
    if p.key is not None:
        touched = {item[op]["Key"]["pk"]["S"] for item in items for op in ("Update", "Delete") if op in item}
        if keys.key_pk(p.key.digest) in touched - {keys.key_pk(old.digest)}:
            raise caller_gone()  # the caller's own secret is the tombstone: it was rotated after it was read
        if keys.key_pk(p.key.digest) not in touched:
            caller_index = len(items)
            items.append(_caller_check(p))  # type: ignore[arg-type]
    try:
        retrying(lambda: client.transact_write_items(TransactItems=items))
    except ClientError as exc:
        if _caller_failed(exc, caller_index):
            raise caller_gone() from exc
        if "ConditionalCheckFailed" in cancellation_codes(exc):
            if p.key is not None and p.key.digest == old.digest:
                raise caller_gone() from exc  # the caller rotated itself and its secret changed meanwhile
            raise GatewayError(Kind.CONFLICT, f"Key '{key_id}' changed while rotating (revoked or rotated "
                                              "concurrently); read it again.") from exc
        raise
    keys.KEY_CACHE.evict(old.digest)  # this process's request path stops it now; others within the TTL
    if old.kind == "master":
        keys.KEY_CACHE.evict(anchor)  # its tombstone names the new secret
    return _with_usage(client, org, [new])[0], secret
