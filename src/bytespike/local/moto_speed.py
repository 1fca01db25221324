"""moto, made to cost what a local DynamoDB should: the same answers, a fraction of the CPU.

moto is a Python mock: on the local stack (``make dev``, the tests, ``make bench``) it spent
2.2-2.9 CPU-ms per gateway call (hold, settle, the release's transaction), more than the whole
gateway's own work per request, on the same 2 cores. Every patch here keeps moto's results and
its errors exactly and only stops it from redoing work whose result cannot change while it
runs; ``tests/unit/test_moto_speed.py`` replays a battery of calls (the ledger's own and invalid
ones) through a patched and an unpatched moto and compares every answer.

Measured in-process on this 2-core box, moto's mean CPU per call (``make bench`` figures are in
docs/BENCHMARKS.md): hold (TransactWriteItems) 2.2 -> 1.0 ms, settle (UpdateItem) 2.9 -> 1.0 ms.
And made to keep what a local DynamoDB should: its items, not every object a call created
(``untracked_models``, compact stream records, shard iterators that expire).
"""

from __future__ import annotations

import copy
import functools
import pickle
import time
from collections.abc import Callable, Iterable
from typing import Any

_MAX_EXPRESSIONS = 2048  # distinct expression texts cached; past it, parsing simply is not cached
_MAX_SIZES = 100_000  # distinct scalar values and attribute names whose size is remembered


def _remembered(cache: dict[Any, Any], key: Any, compute: Callable[[], Any], limit: int) -> Any:
    """``cache[key]``, computed on first use; past ``limit`` entries, computed and not kept (bounded memory).
    An exception from ``compute`` propagates and nothing is kept."""
    value = cache.get(key)
    if value is None:
        value = compute()
        if len(cache) < limit:
            cache[key] = value
    return value


def apply_all() -> None:
    """Every patch below, once per process (the local DynamoDB calls it before serving)."""
    untracked_models()
    fast_moto_transactions()
    fast_moto_dispatch()
    fast_moto_expressions()
    fast_moto_item_sizes()
    fast_moto_stream_records()


def untracked_models() -> None:
    """moto keeps every model object it ever creates: no more, for the life of the process.

    ``BaseModel.__new__`` appends each instance to its class's ``instances_tracked`` list, which
    only moto's ``/moto-api/data.json`` reads - and DynamoDB creates model objects per call, not
    per item: every Scan and Query deep-copies each item it returns, transactions back items up,
    each stream record and shard iterator is one. So the local DynamoDB retained every item copy
    of every read: ~1.4 MB per Scan of 500 reservations, 4.5 GB by the end of the test suite
    (whose ``wait_all_released`` scans the table every 0.1 s), and each of those objects was one
    more for every full garbage collection to walk. Objects still referenced (tables, items,
    records) live on as before.
    """
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "_bytespike", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # type: ignore[misc]

    __new__._bytespike = True  # type: ignore[attr-defined]
    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[assignment,method-assign]


def fast_moto_transactions() -> None:
    """Back up only the items a TransactWriteItems names, not whole tables.

    moto deep-copies every table a transaction touches (items and the whole stream), so a
    hold costs O(table) and gets slower as a run accumulates reservations; and the copies a
    rollback swaps in stay referenced by moto's stream iterators, so memory grows with every
    cancelled transaction. Rolling back the named items in place keeps DynamoDB's item
    semantics, and the stream records the cancelled transaction appended are dropped (moto
    applies a transaction's items before it reports a failed condition; DynamoDB never emits
    them): the stream reads exactly as stock moto's after its table swap.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(models.DynamoDBBackend.transact_write_items, "_bytespike", False):
        return

    class _NoTableCopy:
        @staticmethod
        def deepcopy(obj: object, memo: object = None) -> object:
            return obj if isinstance(obj, Table) else copy.deepcopy(obj)

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
            backups.append((table, h, r, copy.deepcopy(current)))
        streams = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in backups if t.stream_shard is not None}
        try:
            return original(self, transact_items)
        except Exception:
            for shard, length in streams.values():
                del shard.items[length:]
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


def fast_moto_dispatch() -> None:
    """Memoise what moto recomputes on every request although it cannot change while it runs.

    To route a request by its Host header, moto lists its own service packages on disk (a
    ``listdir`` plus a ``stat`` per package, ~200 of them); to dispatch it, it lists the response
    class's methods with ``inspect.getmembers``. Together ~25 % of moto's CPU per DynamoDB call
    (measured in-process: UpdateItem 2.1 -> 1.6 CPU-ms, TransactWriteItems 2.5 -> 1.9).
    """
    from moto import backends
    from moto.core import responses

    if getattr(backends.list_of_moto_modules, "_bytespike", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules._bytespike = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[assignment]

    # The x-amzn-RequestId: 52 characters drawn one ``choice`` call each (3 % of a call); one
    # ``choices`` call draws the same (moto's own seeded random, same alphabet and length).
    import string

    from moto.moto_api._internal import mock_random

    alphabet = string.ascii_letters + string.digits

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        req_id = "".join(mock_random.choices(alphabet, k=52))
        if headerdict is not None and isinstance(headerdict, dict):
            headerdict.update({"x-amzn-requestid": req_id})
        return req_id

    responses.gen_amzn_requestid_long = gen_amzn_requestid_long  # type: ignore[assignment]


def fast_moto_expressions() -> None:
    """Parse each expression text once; walk each tree with class lookups instead of ABC checks.

    Per UpdateItem (and per Update inside a transaction) moto parsed the UpdateExpression twice,
    deep-copied the tree, then walked it with ten validators, each node tested with
    ``isinstance`` against abstract classes, three of them (action counts, overlapping paths, key
    attributes) re-deriving from every node of the tree what depends only on the expression text,
    the attribute names and the table's keys; and it parsed every ConditionExpression from its
    text. Now: one parse per text (the validator gets a copy, as before, unpickled from the parsed
    tree), those three checks once per (text, names, keys) combination that passed them, node
    classes looked up once per (validator, node class), and one condition syntax tree per (text,
    names, value names). The values, the item and the table state are read afresh on every call,
    as before.
    """
    from moto.dynamodb import comparisons
    from moto.dynamodb.parsing import ast_nodes, expressions, validators

    if getattr(expressions.UpdateExpressionParser.make, "_bytespike", False):
        return

    # -- one parse per UpdateExpression text. The trees stay referenced forever (bounded), so their
    # ids are stable keys for their pickled copies and for the checks they passed.
    parse_update = expressions.UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    trees: dict[str, Any] = {}
    pickled: dict[int, bytes] = {}

    def make(cls: type, expression: str) -> Any:
        tree = trees.get(expression)
        if tree is None:
            tree = parse_update(cls, expression)  # raises on a syntax error: nothing cached
            if len(trees) < _MAX_EXPRESSIONS:
                trees[expression] = tree
                pickled[id(tree)] = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
        return tree

    make._bytespike = True  # type: ignore[attr-defined]
    expressions.UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]

    def tree_copy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        blob = pickled.get(id(obj))
        return pickle.loads(blob) if blob is not None else copy.deepcopy(obj, memo)

    validators.deepcopy = tree_copy  # the Validator's copy of the tree it is given

    # -- the checks that read only (text, names, table keys), once per combination that passed them
    static = (validators.ActionCountValidator, validators.OverlappingPathsValidator,
              validators.UpdateHashRangeKeyValidator)
    passed: set[tuple[Any, ...]] = set()
    init, validate = validators.Validator.__init__, validators.Validator.validate

    def validator_init(self: Any, expression: Any, expression_attribute_names: Any, expression_attribute_values: Any,
                       item: Any, table: Any) -> None:
        init(self, expression, expression_attribute_names, expression_attribute_values, item, table)
        self._bytespike_key = None
        if id(expression) in pickled and isinstance(self, validators.UpdateExpressionValidator):
            names = tuple(sorted((expression_attribute_names or {}).items()))
            self._bytespike_key = (id(expression), names, tuple(table.table_key_attrs))
            if self._bytespike_key in passed:
                self.processors = [p for p in self.processors if type(p) not in static]

    def validator_validate(self: Any) -> Any:
        node = validate(self)
        key = getattr(self, "_bytespike_key", None)
        if key is not None and len(passed) < _MAX_EXPRESSIONS:
            passed.add(key)
        return node

    validators.Validator.__init__ = validator_init  # type: ignore[method-assign]
    validators.Validator.validate = validator_validate  # type: ignore[method-assign]

    # -- the tree walk: is-a-Node and which-handler answered once per class, not per node
    node_class = ast_nodes.Node
    base_hook = ast_nodes.DepthFirstTraverser.pre_processing_of_child
    hooked: dict[type, bool] = {}  # processors that override pre_processing_of_child (the others' is a no-op)
    is_node: dict[type, bool] = {}
    handles: dict[tuple[type, type], bool] = {}
    handler_of: dict[tuple[type, type], type | None] = {}

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        kind = type(node)
        known = is_node.get(kind)
        if known is None:
            known = is_node[kind] = issubclass(kind, node_class)
        if not known:
            return node
        parent_node = node.parent
        children = node.children
        if children is not None:
            hook = hooked.get(type(self))
            if hook is None:
                hook = hooked[type(self)] = type(self).pre_processing_of_child is not base_hook
            for i, child_node in enumerate(children):
                if hook:
                    self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        key = (type(self), kind)
        wanted = handles.get(key)
        if wanted is None:
            wanted = handles[key] = issubclass(kind, self.nodes_to_be_processed())
        if wanted:
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    def process(self: Any, node: Any) -> Any:
        processing = self._processing_map()
        key = (type(self), type(node))
        if key not in handler_of:  # the first class in the map's order that node is an instance of
            handler_of[key] = next((k for k in processing if issubclass(type(node), k)), None)
        handler = handler_of[key]
        return processing[handler](node) if handler is not None else None

    ast_nodes.DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]
    ast_nodes.DepthFirstTraverser.process = process  # type: ignore[method-assign]

    # -- one syntax tree per (condition text, names, value names): the values' contents are never read
    # while the tree is built, so it is built with a named slot for each value and the slots are
    # filled from this call's values when the tree becomes moto's Op objects.
    parser_class = comparisons.ConditionExpressionParser
    parse_condition, make_operand = parser_class.parse, parser_class._make_operand
    value_kind = parser_class.Kind.EXPRESSION_ATTRIBUTE_VALUE
    conditions: dict[tuple[Any, ...], tuple[Any, tuple[str, ...], tuple[str, ...]]] = {}

    class _ValueSlot(str):
        """Stands for ``ExpressionAttributeValues[<name>]`` in a cached tree."""

    def parse_cached(self: Any) -> Any:
        text, names, values = self.condition_expression, self.expression_attribute_names, self.expression_attribute_values
        if not text or (values is not None and not isinstance(values, dict)) or (names is not None and not isinstance(names, dict)):
            return parse_condition(self)
        key = (text, tuple(sorted(names.items())) if names else None, tuple(sorted(values)) if values else None)

        def build() -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
            self.expression_attribute_values = {k: _ValueSlot(k) for k in values} if values else values
            try:
                tree = _condition_tree(self)  # raises as moto does: nothing cached
            finally:
                self.expression_attribute_values = values
            return tree, tuple(self._find_literals(tree)), tuple(self._find_expr_attr_values(tree))

        tree, names_found, values_found = _remembered(conditions, key, build, _MAX_EXPRESSIONS)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return self._make_op_condition(tree)

    def operand(self: Any, node: Any) -> Any:
        if node.kind == value_kind and isinstance(node.value, _ValueSlot):
            return comparisons.AttributeValue(self.expression_attribute_values[node.value])
        return make_operand(self, node)

    parser_class.parse = parse_cached  # type: ignore[method-assign]
    parser_class._make_operand = operand  # type: ignore[method-assign]


def fast_moto_item_sizes() -> None:
    """The 400 KB item-size check, with each scalar's size computed once.

    On every attribute it sets, moto re-sums the size of every attribute the item already has
    (O(n²) per item: ~120 ``size()`` calls for a usage-ledger row). The sum and the limit are
    unchanged; a scalar's size depends only on its (type, value), so it is looked up, and so is
    an attribute name's. Lists, maps and sets are still measured on every call (they can change
    in place).
    """
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(LimitedSizeDict.__setitem__, "_bytespike", False):
        return
    measure = DynamoType.size
    scalar_sizes: dict[tuple[str, Any], int] = {}
    name_sizes: dict[str, int] = {}
    scalars = {"S", "N", "B", "BOOL", "NULL"}

    def size(value: Any) -> int:
        if type(value) is not DynamoType:
            text = str(value)
            return int(_remembered(name_sizes, text, lambda: bytesize(text), _MAX_SIZES))
        kind, raw = value.type, value.value
        if kind in scalars and isinstance(raw, (str, bytes, bool)):
            return int(_remembered(scalar_sizes, (kind, raw), lambda: measure(value), _MAX_SIZES))
        return measure(value)

    def __setitem__(self: Any, key: str, value: Any) -> None:
        current_item_size = sum(size(k) for k in list(self.keys())) + sum(size(v) for v in list(self.values()))
        if current_item_size + size(key) + size(value) > 405000:  # moto's limit (DynamoDB's 400 KB, measured)
            raise dynamo_type.ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    __setitem__._bytespike = True  # type: ignore[attr-defined]
    LimitedSizeDict.__setitem__ = __setitem__  # type: ignore[method-assign]


ITERATOR_LIFETIME = 900.0  # seconds: DynamoDB Streams' shard iterators expire 15 minutes after they are issued


def fast_moto_stream_records() -> None:
    """Stream records kept as their JSON text, GetRecords answered from it, shard iterators that expire.

    moto serialises a GetRecords answer by walking botocore's output shape down to every attribute
    value of every old and new image, looking each value up under several candidate key spellings:
    ~170 CPU-ms per read of 100 records (4 with ``json.dumps``), so the release poller's reads were
    more than half of the local DynamoDB's CPU under load (yappi, 1,000 requests on ``make dev``'s
    stack) and, holding moto's lock, the 100 ms+ stalls behind the gateway's p99. The records are
    already the wire's JSON (plus datetimes, bytes and DynamoType values, encoded here as moto's
    serializer and its DynamoDB encoder encode them), so each is encoded once, when it is written,
    and kept as that text: ~1.6 KB per reservation record instead of ~10 KB of dicts (moto keeps
    every record for the life of the process; the local stack grew ~42 KB per request).

    moto also keeps every shard iterator it ever issued, and the release poller takes a new one on
    every read (5 a second per stream, idle or not): they expire here as on DynamoDB, 15 minutes
    after issue (``ExpiredIteratorException``; the poller then asks for a new one from where it
    was). ``tests/unit/test_moto_speed.py`` compares the answers with moto's own, paged and whole.
    """
    from moto.core.serialize import TimestampSerializer
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodbstreams import models as stream_models
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler.get_records, "_bytespike", False):
        return
    import base64
    import datetime
    import json

    def encode(value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return TimestampSerializer._timestamp_unixtimestamp(value)  # epoch seconds, ms precision
        if hasattr(value, "to_json"):
            return value.to_json()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("utf-8")
        raise TypeError(f"cannot encode {type(value).__name__} in a GetRecords answer")

    record_init = StreamRecord.__init__

    def compact_init(self: Any, table: Any, stream_type: str, event_name: str, old: Any, new: Any, seq: int) -> None:
        record_init(self, table, stream_type, event_name, old, new, seq)
        self.seq = seq
        self.text = json.dumps(self.record, default=encode)
        del self.record

    def to_json(self: Any) -> dict[str, Any]:  # for any reader of moto's own (none in the local stack)
        return json.loads(self.text)

    StreamRecord.__init__ = compact_init  # type: ignore[method-assign]
    StreamRecord.to_json = to_json  # type: ignore[method-assign]

    iterator_init = stream_models.ShardIterator.__init__

    def stamped_init(self: Any, *args: Any, **kwargs: Any) -> None:
        iterator_init(self, *args, **kwargs)
        self.issued_at = time.monotonic()

    stream_models.ShardIterator.__init__ = stamped_init  # type: ignore[method-assign]

    def expired(iterator: Any) -> bool:
        return bool(iterator.issued_at < time.monotonic() - ITERATOR_LIFETIME)

    def issue(backend: Any, iterator: Any) -> None:
        """Register a new iterator; drop those issued more than ITERATOR_LIFETIME ago (oldest first)."""
        live = backend.shard_iterators
        live[iterator.arn] = iterator
        while live and expired(oldest := next(iter(live.values()))):
            del live[oldest.arn]

    def get_records(self: Any) -> tuple[str, dict[str, Any]]:
        """moto's ``ShardIterator.get`` over the kept texts (same records, same next iterator)."""
        headers: dict[str, Any] = {"Content-Type": "application/x-amz-json-1.0"}
        limit = self._get_param("Limit")
        current = self.backend.shard_iterators.get(self._get_param("ShardIterator"))
        if current is None or expired(current):  # an unknown one: moto itself would raise KeyError (a 500)
            return json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException",
                "message": "Iterator expired. The iterator was created over 15 minutes ago."}), {**headers, "status": 400}
        shard = current.stream_shard
        start = current.sequence_number - shard.starting_sequence_number
        assert start >= 0
        records = shard.items[start:start + (1000 if limit is None else limit)]
        if records:
            after = stream_models.ShardIterator(self.backend, shard, "AFTER_SEQUENCE_NUMBER", records[-1].seq)
        else:
            after = stream_models.ShardIterator(self.backend, shard, "AT_SEQUENCE_NUMBER", current.sequence_number)
        issue(self.backend, after)
        return '{"NextShardIterator": ' + json.dumps(after.arn) + ', "Records": [' + ", ".join(r.text for r in records) + "]}", headers

    get_records._bytespike = True  # type: ignore[attr-defined]
    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign,assignment]


def _condition_tree(parser: Any) -> Any:
    """moto's ``ConditionExpressionParser.parse`` up to the syntax tree (the same passes, in order)."""
    nodes = parser._lex_condition_expression()
    nodes = parser._parse_paths(nodes)
    nodes = parser._apply_functions(nodes)
    nodes = parser._apply_comparator(nodes)
    nodes = parser._apply_in(nodes)
    nodes = parser._apply_between(nodes)
    nodes = parser._apply_parens_and_booleans(nodes)
    node = nodes[0]
    parser._assert_no_redundant_parentheses(node)
    return node


def debug_off(create: Callable[[str], Any]) -> Callable[[str], Any]:
    """moto's Flask apps run in debug mode, in which Flask builds a class on every request
    (``flask.debughelpers.attach_enctype_error_multidict``): ~4 % of a call's CPU for nothing."""

    def create_backend_app(service: str) -> Any:
        app = create(service)
        app.debug = False
        app.config["PROPAGATE_EXCEPTIONS"] = True  # as in debug mode: moto's own errors reach the server's handler
        return app

    return create_backend_app


def dynamodb_direct() -> Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]]:
    """A DynamoDB call (``X-Amz-Target: DynamoDB_20120810.*``) straight to moto's handler.

    moto's WSGI path adds, per call, a Flask app and request context, CORS, the request recorder
    and a Flask response object around the same ``DynamoHandler.dispatch`` (~15 % of a call's
    CPU). This calls the handler as moto's ``convert_to_flask_response`` does and returns
    (status line, headers, body).
    """
    from botocore.exceptions import ClientError
    from moto.core.request import Request
    from moto.dynamodb.responses import DynamoHandler
    from werkzeug.http import HTTP_STATUS_CODES

    def call(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        request = Request(environ)
        # moto's raw_url, without werkzeug's url_root machinery (a DynamoDB call's path is "/")
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        query = environ.get("QUERY_STRING")
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{request.raw_path}" + (f"?{query}" if query else "")
        try:
            result = DynamoHandler.dispatch(request, url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        body = content.encode() if isinstance(content, str) else bytes(content or b"")
        code = int(status)
        out = [(str(k), str(v)) for k, v in _header_items(headers)
               if str(k).lower() not in ("content-length", "status")]
        if not any(k.lower() == "content-type" for k, _ in out):
            out.append(("Content-Type", "text/html; charset=utf-8"))
        return f"{code} {HTTP_STATUS_CODES.get(code, 'Unknown').upper()}", out, body

    return call


def _header_items(headers: Any) -> Iterable[tuple[Any, Any]]:
    return headers.items() if hasattr(headers, "items") else headers


def moto_answer(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of moto's WSGI app for one environ (the reference path)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        started[:] = [status, headers]

    body = b"".join(app(environ, start_response))
    return started[0], list(started[1]), body


__all__ = ["apply_all", "debug_off", "dynamodb_direct", "fast_moto_dispatch", "fast_moto_expressions",
           "fast_moto_item_sizes", "fast_moto_stream_records", "fast_moto_transactions", "moto_answer"]
