"""Mutable simulator state: request log, prompt-cache memory and ``fail_times`` counters.

One ``SimState`` lives per app instance, so tests that build their own app never share
state, and ``POST /_sim/reset`` restores a clean slate for the long-running local stack.
The app runs on one event loop, so plain dicts are safe without locks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from bytespike.simulator.directives import Directives

LOG_SIZE = 2000
CACHE_ENTRIES = 100_000


@dataclass(slots=True)
class RecordedRequest:
    """One request as the simulator received it (what tests assert the gateway sent)."""

    path: str
    method: str
    headers: dict[str, str]
    body: Any
    raw: str
    received_at: float

    def to_json(self) -> dict[str, Any]:
        """Shape served by ``GET /_sim/requests``."""
        return {
            "path": self.path,
            "method": self.method,
            "headers": self.headers,
            "body": self.body,
            "received_at": self.received_at,
        }


class PrefixCache:
    """Bounded set of prompt-prefix hashes (insertion-ordered, oldest evicted first)."""

    def __init__(self, limit: int = CACHE_ENTRIES) -> None:
        self._seen: dict[str, None] = {}
        self._limit = limit

    def __contains__(self, key: str) -> bool:
        return key in self._seen

    def add(self, key: str) -> None:
        """Remember ``key``; evict the oldest entry once the bound is reached."""
        if key in self._seen:
            return
        if len(self._seen) >= self._limit:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = None

    def clear(self) -> None:
        self._seen.clear()


class SimState:
    """Everything the simulator remembers between requests."""

    def __init__(self) -> None:
        self.log: deque[RecordedRequest] = deque(maxlen=LOG_SIZE)
        self._caches: dict[str, PrefixCache] = {}
        self._failures: dict[str, int] = {}

    def reset(self) -> None:
        """Forget requests, cached prefixes and failure counters."""
        self.log.clear()
        for cache in self._caches.values():
            cache.clear()
        self._failures.clear()

    def cache(self, namespace: str) -> PrefixCache:
        """The prefix cache of one provider (providers never share cache entries)."""
        cache = self._caches.get(namespace)
        if cache is None:
            cache = self._caches[namespace] = PrefixCache()
        return cache

    def record(self, path: str, method: str, headers: dict[str, str], body: Any, raw: bytes) -> None:
        """Append a request to the bounded log."""
        self.log.append(
            RecordedRequest(
                path=path,
                method=method,
                headers=headers,
                body=body,
                raw=raw.decode("utf-8", errors="replace"),
                received_at=time.time(),
            )
        )

    def search(self, contains: str | None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose raw body contains ``contains`` (all when empty), oldest first."""
        return [
            r
            for r in self.log
            if (not contains or contains in r.raw) and (not path or r.path.startswith(path))
        ]

    def should_fail(self, directives: Directives) -> bool:
        """Apply ``fail_times``: fail the first N requests carrying this exact directive text."""
        if not directives.wants_failure:
            return False
        if directives.fail_times is None:
            return True
        used = self._failures.get(directives.raw, 0)
        if used >= directives.fail_times:
            return False
        self._failures[directives.raw] = used + 1
        return True
