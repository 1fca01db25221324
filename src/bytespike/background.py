"""Reads that keep a cache warm run beside requests, never in front of them.

A cache that expires makes the request that finds it expired wait for the store: on a steady
stream of requests, one in every refresh interval pays a DynamoDB round trip before its upstream
call. The key cache, the pool's health cache and the wallet view each refresh in the background
instead, through one :class:`Refreshes` each: at most one refresh per cache key in flight, its
failure logged (the cache keeps what it had and the next request tries again), cancelled together
when a restored Lambda snapshot forgets what it knew.

Every task is named ``background:<what>:<key>``, so whoever counts the store calls a request waited
on (``make bench``, scenario 8) can tell them from the refreshes that only ran beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("bytespike.background")

PREFIX = "background:"


def in_background() -> bool:
    """True inside a refresh task (the store call being made is not one a request waits on)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        return False
    return task is not None and task.get_name().startswith(PREFIX)


class Refreshes:
    """Single-flight background refreshes of one cache, keyed by the cache's own key."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def start(self, key: str, refresh: Callable[[], Awaitable[Any]]) -> bool:
        """Run ``refresh()`` in the background unless one for ``key`` is already running."""
        if key in self._tasks:
            return False
        task = asyncio.get_running_loop().create_task(refresh(), name=f"{PREFIX}{self.what}:{key}")
        self._tasks[key] = task  # also the strong reference that keeps the task alive
        task.add_done_callback(lambda t: self._done(key, t))
        return True

    def running(self, key: str) -> bool:
        return key in self._tasks

    def _done(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("background %s read for %s failed: %r", self.what, key, task.exception())

    def cancel_all(self) -> None:
        """Stop every refresh (a restored snapshot: the loop they ran on is gone)."""
        for task in self._tasks.values():
            with contextlib.suppress(RuntimeError):  # the task's loop is closed: nothing left to stop
                task.cancel()
        self._tasks.clear()
