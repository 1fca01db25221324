"""moto in server mode, with every DynamoDB call serialised.

Real DynamoDB applies each transaction and conditional write atomically. moto's
implementation is not thread-safe: two concurrent TransactWriteItems can both pass a
``balance >= :h`` check, and a cancelled transaction can leave a Put behind. One lock
around the WSGI app restores the atomicity the money code relies on (connections are
still accepted concurrently; only the datastore work is one-at-a-time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


def fast_moto_transactions() -> None:
    """Back up only the items a TransactWriteItems names, not whole tables.

    moto deep-copies every table a transaction touches (items and the whole stream), so a
    hold costs O(table) and gets slower as a run accumulates reservations; and the copies a
    rollback swaps in stay referenced by moto's stream iterators, so memory grows with every
    cancelled transaction. Rolling back the named items in place keeps DynamoDB's item
    semantics; the records a cancelled transaction left in the stream are harmless to the
    release handler (it ignores HELD images and already-released ones).
    """
    import copy as _copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(models.DynamoDBBackend.transact_write_items, "_bytespike", False):
        return

    class _NoTableCopy:
        @staticmethod
        def deepcopy(obj: object, memo: object = None) -> object:
            return obj if isinstance(obj, Table) else _copy.deepcopy(obj)

    models.copy = _NoTableCopy  # type: ignore[attr-defined]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            src = op.get("Item") if op_type == "Put" else op.get("Key")
            if not src or table.hash_key_attr not in src:
                continue
            h = DynamoType(src[table.hash_key_attr])
            r = DynamoType(src[table.range_key_attr]) if table.range_key_attr and table.range_key_attr in src else None
            try:
                current = table.get_item(h, r)
            except Exception:
                current = None
            backups.append((table, h, r, _copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(backups):
                if r is not None:
                    if item is None:
                        table.items.get(h, {}).pop(r, None)
                    else:
                        table.items[h][r] = item
                elif item is None:
                    table.items.pop(h, None)
                else:
                    table.items[h] = item
            raise

    transact_write_items._bytespike = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _Serialised:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


class LocalDynamoDB:
    """Start/stop a loopback moto server in a daemon thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        fast_moto_transactions()
        app = _Serialised(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
