"""Lambda SnapStart: prime the snapshot, and make every restored sandbox its own.

Every sandbox of a published version is restored from one memory image taken after init, so
whatever the image holds, every sandbox restored from it holds too:

- **randomness**: the state of Python's ``random`` generator (retry jitter in ``store.dynamo``
  and ``admin.retry``, weighted account picks in ``providers.pool``) is reseeded from the
  kernel, or every sandbox would draw the same sequence and retry in lock-step.
  ``secrets``, ``uuid4`` and ``os.urandom`` read the kernel on every call (request ids, key
  secrets, salts) and need nothing.
- **connections**: sockets open at snapshot time are dead after a restore (and would be one
  TCP stream shared by many sandboxes): the upstream aiohttp session, the modality httpx
  client, the fetch guard's client, the lean DynamoDB client and the boto3 clients of the
  event handlers (release, sweeper, the alerts notifier and its SES client) are dropped and
  reopened on first use.
- **caches**: key records (a revocation must take effect; the image may be hours old, and
  monotonic timestamps taken before the snapshot say nothing about the time since),
  upstream pool health, the budget view (what this process believes each wallet holds:
  another sandbox's belief would let broke wallets overlap the upstream call), the hold-first
  marks, the release function's alert rules and fired-event marks (``alerts.evaluate``: rules
  read before the snapshot, timed by a monotonic clock that says nothing after it), and
  Powertools' parameter/secret cache.

``prime()`` runs before the snapshot: the first request's one-time work (importing aiohttp,
reading the catalog and settings, building the wire models) goes into the image instead of
into every restored sandbox's first request.

The streaming functions run under the Lambda Web Adapter (a separate process from the runtime):
it calls ``AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH`` and ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH``
on the app (``http.app.create_app`` adds those two routes only when the variables are set, and the
adapter refuses them to outside callers). The Mangum and event functions run on the managed
runtime, whose ``snapshot_restore_py`` calls the hooks ``register_runtime_hooks()`` registers.
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable

log = logging.getLogger("bytespike.snapstart")

BEFORE_CHECKPOINT_ENV = "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH"
AFTER_RESTORE_ENV = "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"


def prime() -> None:
    """Do the first request's one-time work now, so that the snapshot holds it."""
    import aiohttp  # noqa: F401 - the chat upstreams' and DynamoDB's client, imported on first use otherwise

    from bytespike.catalog import catalog
    from bytespike.config import settings

    settings()
    catalog()
    for name in ("bytespike.wire.anthropic", "bytespike.wire.openai"):
        __import__(name)


def reseed() -> None:
    """A generator state of this sandbox's own (``random.seed()`` reads ``os.urandom``)."""
    random.seed()


def _loaded(name: str) -> object | None:
    """A module only if this process already imported it: a hook never imports what init did not."""
    return sys.modules.get(name)


def clear_caches() -> None:
    """Forget what was true when the snapshot was taken."""
    if keys := _loaded("bytespike.store.keys"):
        keys.KEY_CACHE.clear()  # type: ignore[attr-defined]
    if pool := _loaded("bytespike.providers.pool"):
        pool.HEALTH._entries.clear()  # type: ignore[attr-defined]
        pool.HEALTH._errors.clear()  # type: ignore[attr-defined]
        pool.HEALTH.refreshes.cancel_all()  # type: ignore[attr-defined]
    if pipeline := _loaded("bytespike.gateway.pipeline"):
        pipeline._HOLD_FIRST.clear()  # type: ignore[attr-defined]
    if budget := _loaded("bytespike.gateway.budget"):
        budget.forget()  # type: ignore[attr-defined]  (its refreshes of a loop that no longer runs too)
    if alerts := _loaded("bytespike.alerts.evaluate"):
        alerts.forget()  # type: ignore[attr-defined]
    if parameters := _loaded("aws_lambda_powertools.utilities.parameters"):
        clear = getattr(parameters, "clear_caches", None)
        if callable(clear):
            clear()


def drop_sync_clients() -> None:
    """The event handlers' boto3 clients (their pooled connections would be the snapshot's)."""
    for name in ("bytespike.release.handler", "bytespike.release.sweeper", "bytespike.alerts.notify",
                 "bytespike.alerts.email"):
        if module := _loaded(name):
            module._client = None  # type: ignore[attr-defined]


async def drop_connections() -> None:
    """Close every pooled async client; each reopens on first use."""
    closers: list[Callable[[], object]] = []
    if providers := _loaded("bytespike.providers"):
        closers += [providers.UPSTREAM_HTTP.close, providers.HTTP.close]  # type: ignore[attr-defined]
    if guard := _loaded("bytespike.http.fetch_guard"):
        closers.append(guard.CLIENTS.close)  # type: ignore[attr-defined]
    store = _loaded("bytespike.store.dynamo")
    if store is not None and store._dynamo is not None:  # type: ignore[attr-defined]
        closers.append(store._dynamo.close)  # type: ignore[attr-defined]
    for close in closers:
        try:
            await close()  # type: ignore[misc]
        except Exception:  # a socket the restore already killed: it only has to be forgotten
            log.warning("closing a pre-snapshot client failed", exc_info=True)
    if store is not None:
        store._dynamo = None  # type: ignore[attr-defined]
    _forget_async_clients()


def _forget_async_clients() -> None:
    """Drop references whatever closing did (a client bound to a loop that no longer runs)."""
    if providers := _loaded("bytespike.providers"):
        providers.UPSTREAM_HTTP._session = None  # type: ignore[attr-defined]
        providers.HTTP._client = None  # type: ignore[attr-defined]
    if guard := _loaded("bytespike.http.fetch_guard"):
        guard.CLIENTS.client = None  # type: ignore[attr-defined]
    if store := _loaded("bytespike.store.dynamo"):
        store._dynamo = None  # type: ignore[attr-defined]


async def after_restore() -> None:
    """The web adapter's after-restore hook (inside the app's running event loop)."""
    reseed()
    clear_caches()
    drop_sync_clients()
    await drop_connections()


def after_restore_sync() -> None:
    """The managed runtime's after-restore hook: no loop runs, so clients are only forgotten."""
    reseed()
    clear_caches()
    drop_sync_clients()
    _forget_async_clients()


def register_runtime_hooks() -> bool:
    """Register ``prime`` / ``after_restore_sync`` with the managed runtime (``snapshot_restore_py``
    ships in Lambda's Python runtimes; elsewhere nothing is registered and False is returned)."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(prime)
    register_after_restore(after_restore_sync)
    return True
