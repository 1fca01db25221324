"""API keys: generated once, stored only as SHA-256 digests, cached in-process briefly."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from bytespike.background import Refreshes
from bytespike.config import settings
from bytespike.store.dynamo import dynamo, from_item, s, to_item

KEY_PREFIX = "sk-bs-"


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_pk(key_digest: str) -> str:
    return f"KEY#{key_digest}"


@dataclass(frozen=True, slots=True)
class QuotaLimit:
    """A limited ancestor's quota, which a hold through this key also consumes (not stored on the key:
    authentication reads it from the master's own record, so a change to the master applies at once)."""

    member_id: str
    quota: int
    period: str  # "day" | "month"


@dataclass(frozen=True, slots=True)
class SlotLimit:
    """A capped ancestor's concurrency limit, whose slots a hold through this key also takes."""

    key_id: str
    max_concurrency: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    digest: str
    key_id: str
    org_id: str
    kind: str  # "master" | "sub"
    member_id: str
    status: str = "active"
    parent_digest: str | None = None
    expires_at: int | None = None
    models: frozenset[str] | None = None
    modalities: frozenset[str] | None = None
    quota: int | None = None
    quota_period: str | None = None  # "day" | "month"
    rpm: int | None = None
    max_concurrency: int | None = None  # requests in flight at once (a slot counter in the hold transaction)
    label: str = ""
    created_at: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Admin (issue #5). A sub-key links to its master's *first* digest (origin_digest), which
    # survives the master's rotations as a "rotated" tombstone pointing at the current secret
    # (successor); so rotating a master keeps its sub-keys, and revoking it still stops them.
    parent_key_id: str | None = None
    origin_digest: str | None = None
    successor: str | None = None
    revoked_at: int | None = None
    limits_above: tuple[QuotaLimit, ...] = field(default=(), compare=False)  # set by authentication, per request
    slots_above: tuple[SlotLimit, ...] = field(default=(), compare=False)  # likewise: a capped master's slots

    @property
    def anchor_digest(self) -> str:
        """The digest sub-keys point at: stable across this key's rotations."""
        return self.origin_digest or self.digest

    @property
    def digest_prefix(self) -> str:
        """Safe to log: 8 hex chars of the digest identify a key without revealing it."""
        return self.digest[:8]

    def to_item(self) -> dict[str, Any]:
        return to_item(
            {
                "pk": key_pk(self.digest),
                "digest": self.digest,
                "key_id": self.key_id,
                "org_id": self.org_id,
                "kind": self.kind,
                "member_id": self.member_id,
                "status": self.status,
                "parent_digest": self.parent_digest,
                "expires_at": self.expires_at,
                "models": sorted(self.models) if self.models is not None else None,
                "modalities": sorted(self.modalities) if self.modalities is not None else None,
                "quota": self.quota,
                "quota_period": self.quota_period,
                "rpm": self.rpm,
                "max_concurrency": self.max_concurrency,
                "label": self.label,
                "created_at": self.created_at,
                "parent_key_id": self.parent_key_id,
                "origin_digest": self.origin_digest,
                "successor": self.successor,
                "revoked_at": self.revoked_at,
            }
        )

    @staticmethod
    def from_item(item: dict[str, Any]) -> KeyRecord:
        d = from_item(item)
        return KeyRecord(
            digest=d["digest"],
            key_id=d["key_id"],
            org_id=d["org_id"],
            kind=d["kind"],
            member_id=d.get("member_id", ""),
            status=d.get("status", "active"),
            parent_digest=d.get("parent_digest"),
            expires_at=d.get("expires_at"),
            models=frozenset(d["models"]) if d.get("models") is not None else None,
            modalities=frozenset(d["modalities"]) if d.get("modalities") is not None else None,
            quota=d.get("quota"),
            quota_period=d.get("quota_period"),
            rpm=d.get("rpm"),
            max_concurrency=d.get("max_concurrency"),
            label=d.get("label", ""),
            created_at=d.get("created_at", 0),
            parent_key_id=d.get("parent_key_id"),
            origin_digest=d.get("origin_digest"),
            successor=d.get("successor"),
            revoked_at=d.get("revoked_at"),
        )


class KeyCache:
    """digest -> (record, read at). Revocation takes effect within the TTL.

    A record in use is re-read in the background once it is older than ``REFRESH_AFTER`` of the
    TTL, so a key that keeps sending requests is never read on a request's path after its first;
    one idle for longer than the TTL is read again before its next request is let through.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[KeyRecord | None, float]] = {}
        self._evictions = 0  # a read that began before an evict must not put back what it removed
        self.refreshes = Refreshes("key")

    def get(self, key_digest: str, ttl: float) -> tuple[bool, KeyRecord | None]:
        hit = self._entries.get(key_digest)
        if hit is None or time.monotonic() - hit[1] > ttl:
            return False, None
        return True, hit[0]

    def age(self, key_digest: str) -> float | None:
        """Seconds since the cached record was read; None when there is none."""
        hit = self._entries.get(key_digest)
        return None if hit is None else time.monotonic() - hit[1]

    def put(self, key_digest: str, record: KeyRecord | None, *, read_at: float | None = None,
            evictions: int | None = None) -> None:
        """Cache a record read at ``read_at``, unless an evict came after the read began (``evictions``
        as :meth:`evictions` said then)."""
        if evictions is not None and evictions != self._evictions:
            return
        if len(self._entries) > 10_000:  # bounded: a flood of random keys cannot grow memory
            self._entries.clear()
        self._entries[key_digest] = (record, time.monotonic() if read_at is None else read_at)

    def evictions(self) -> int:
        return self._evictions

    def evict(self, key_digest: str) -> None:
        """Forget one digest (a rotation or revocation this process committed)."""
        self._evictions += 1
        self._entries.pop(key_digest, None)

    def forget(self, key_digest: str) -> None:
        """Drop a digest the table no longer has. Not an evict: a flood of unknown keys must not
        stop the reads in flight for real ones from being cached."""
        self._entries.pop(key_digest, None)

    def clear(self) -> None:
        self._evictions += 1
        self._entries.clear()
        self.refreshes.cancel_all()


KEY_CACHE = KeyCache()
REFRESH_AFTER = 0.5  # of the TTL: the age from which a cached record in use is re-read in the background


async def lookup(key_digest: str, *, fresh: bool = False) -> KeyRecord | None:
    """The key record for a digest, through the in-process cache (found keys only).

    ``fresh``: a strongly consistent read of the table, bypassing the cache (and refreshing it),
    for callers that must see a committed rotation or revocation at once (the admin API).
    """
    if not fresh:
        ttl = settings().auth_cache_ttl
        hit, record = KEY_CACHE.get(key_digest, ttl)
        if hit:
            if (KEY_CACHE.age(key_digest) or 0.0) > ttl * REFRESH_AFTER:
                KEY_CACHE.refreshes.start(key_digest, lambda: _read(key_digest, consistent=False))
            return record
    return await _read(key_digest, consistent=fresh)


async def _read(key_digest: str, *, consistent: bool) -> KeyRecord | None:
    """Read one key record from the table and cache what was found (a missing key is not cached)."""
    read_at, evictions = time.monotonic(), KEY_CACHE.evictions()
    resp = await dynamo().call(
        "get_item", TableName=settings().keys_table, Key={"pk": s(key_pk(key_digest))}, ConsistentRead=consistent
    )
    item = resp.get("Item")
    record = KeyRecord.from_item(item) if item else None
    if record is not None:
        KEY_CACHE.put(key_digest, record, read_at=read_at, evictions=evictions)
    else:
        KEY_CACHE.forget(key_digest)
    return record


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
