"""The paid-request pipeline shared by every surface: hold, open upstream, relay, settle.

The credit hold and the upstream connection run concurrently; no byte reaches the
client before the hold has committed, so the datastore adds nothing to time to first
token. If the hold fails, the upstream call is cancelled before it produced output.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import Usage, typical_input_tokens, usage_credits
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import budget, observe
from bytespike.gateway.auth import may_use
from bytespike.http.render import base_headers
from bytespike.providers import Account, UpstreamResponse, pool
from bytespike.sse import SSEEvent, SSEParser, dumps
from bytespike.store import ledger
from bytespike.store.keys import KeyRecord

log = logging.getLogger("bytespike.pipeline")

# Holds that must run before the upstream call for a while (monotonic deadline): an org whose
# ledger stayed throttled past its retries (5 s: clients retrying into it start no upstream
# work), and a key whose quota (or a limited master's) refused a hold (30 s). A wallet that
# cannot pay is the budget view's business (gateway/budget.py).
_HOLD_FIRST: dict[str, float] = {}
_THROTTLED_SECONDS = 5.0
_QUOTA_SPENT_SECONDS = 30.0


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


@dataclass(slots=True)
class Call:
    """One paid request's state as it moves through the pipeline."""

    request_id: str
    surface: str  # "anthropic" | "openai"
    key: KeyRecord
    model: Model
    hold: int
    reservation_id: str
    idempotent: bool = False
    held: bool = False
    started: float = field(default_factory=time.perf_counter)
    first_byte_at: float | None = None
    settled: bool = False
    cost: int = 0
    account: str = ""  # the upstream account that served the call (logs only, never sent to clients)
    fallback_from: str | None = None  # the model asked for, when the catalog's fallback served it
    input_estimate: int = 0  # the local (upper-leaning) input-token estimate the hold was sized with
    at: float = field(default_factory=time.time)  # when the request started: its prices are those of this moment
    request: Request | None = field(default=None, repr=False)  # the client's connection, watched for a hang-up
    aborted: bool = False  # the client hung up before its answer was sent
    claimed: bool = False  # the hold overlaps the upstream call on credits the budget view counted (budget.claim)
    session_id: str | None = None  # the client's session id header, recorded on the usage row

    @property
    def slots(self) -> tuple[ledger.SlotCharge, ...]:
        """The concurrency slots a hold takes: the key's own cap, and its capped master's."""
        key = self.key
        own = (ledger.SlotCharge(key.key_id, key.max_concurrency, "key"),) if key.max_concurrency else ()
        return own + tuple(ledger.SlotCharge(up.key_id, up.max_concurrency, "master key") for up in key.slots_above)

    def hold_record(self, modality: str = "chat") -> ledger.Hold:
        """The hold, charging the key's own quota and every limited ancestor's (hierarchical quotas)."""
        key = self.key
        quotas = [ledger.QuotaCharge(key.member_id, key.quota, ledger.period_label(key.quota_period), "key")
                  ] if key.quota is not None and key.quota_period else []
        quotas += [ledger.QuotaCharge(up.member_id, up.quota, ledger.period_label(up.period), "master key")
                   for up in key.limits_above]
        return ledger.Hold(
            slots=self.slots,
            reservation_id=self.reservation_id,
            request_id=self.request_id,
            org_id=self.key.org_id,
            key_id=self.key.key_id,
            member_id=self.key.member_id,
            model=self.model.id,
            provider=self.model.provider,
            surface=self.surface,
            amount=self.hold,
            quotas=tuple(quotas),
            modality=modality,
            session_id=self.session_id,
        )


def request_id_for(key: KeyRecord, idempotency_key: str | None) -> tuple[str, bool]:
    """The request id, which is also the reservation id.

    With an ``Idempotency-Key`` it is derived from that key (scoped to the API key), so a
    retried request maps onto the same reservation and can never hold or bill twice.
    """
    if not idempotency_key:
        return new_request_id(), False
    if len(idempotency_key) > 256:
        raise GatewayError(Kind.INVALID_REQUEST, "Idempotency-Key is longer than 256 characters.", param="Idempotency-Key")
    h = hashlib.sha256(f"{key.digest}\n{idempotency_key}".encode()).hexdigest()[:24]
    return f"req_idem_{h}", True


# Headers naming the client's session; the first present wins. Claude Code and Codex CLI send their
# session id on every request (Codex: ``session-id``, its thread id), so a team can read cost per
# coding session from the usage API.
SESSION_HEADERS = ("x-claude-code-session-id", "x-session-id", "session-id")
_SESSION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def session_id_of(headers: Any) -> str | None:
    """The client's session id, or None (an unusable value is ignored, never refused)."""
    for name in SESSION_HEADERS:
        value = headers.get(name)
        if value and _SESSION_ID.match(value):
            return str(value)
    return None


class Upstream(Protocol):
    """An upstream response whose body is still to be read (chat: aiohttp's; media: httpx's)."""

    async def aclose(self) -> None: ...


class ClientGone(GatewayError):
    """The client hung up before its answer was sent; the response goes nowhere (499 in the logs)."""

    def __init__(self) -> None:
        super().__init__(Kind.API, "The client disconnected before the answer was sent.", status=499)


async def _until_disconnect(request: Request) -> None:
    """Returns once the client has gone. The body is read by now, so only a disconnect can come."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def while_connected[T](call: Call, work: Awaitable[T]) -> T:
    """``work``, unless the client hangs up first: then ``work`` is cancelled (the upstream request
    with it) and :class:`ClientGone` raised. A non-streaming answer is only sent at its end, so
    without this a hang-up would leave the upstream running and the answer billed in full."""
    if call.request is None:
        return await work
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_until_disconnect(call.request))
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        raise
    finally:
        watch.cancel()
    if task.done():
        return task.result()
    call.aborted = True
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    raise ClientGone()


async def hold_and_open[R: Upstream](
    call: Call, open_upstream: Callable[[], Awaitable[R]], modality: str = "chat"
) -> R:
    """Place the hold and open the upstream, overlapped when it is safe to (see :func:`_overlap`);
    a client that hangs up meanwhile cancels both, and nothing is billed."""
    return await while_connected(call, _hold_and_open(call, open_upstream, modality))


async def _hold_and_open[R: Upstream](call: Call, open_upstream: Callable[[], Awaitable[R]], modality: str) -> R:
    if not _overlap(call):
        await hold(call, modality)
        try:
            return await open_upstream()
        except BaseException as exc:
            await settle_failure(call, exc)
            raise
    # The upstream request is scheduled first: its bytes leave before the hold's signing and
    # serialising run, so the hold's CPU time is not added to the time to first token.
    upstream_task = asyncio.ensure_future(open_upstream())
    try:
        await hold(call, modality)
    except BaseException:
        upstream_task.cancel()
        await _close_quietly(upstream_task)
        raise
    try:
        return await upstream_task
    except BaseException as exc:
        await settle_failure(call, exc)
        raise


async def hold(call: Call, modality: str) -> None:
    """Place the hold; a cancellation (the client went away) does not abandon a hold in flight:
    it is waited for and, if it committed, settled as failed, so no credits stay locked until
    the sweeper."""
    task = asyncio.ensure_future(_place(call, modality))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        await settle_failure(call)
        raise


async def read_json[T](call: Call, upstream: Upstream, convert: Callable[[Any], T]) -> T:
    """A non-streaming answer: read, parsed and converted, or the call settled as failed.

    An unreadable or unconvertible body is an upstream failure (billed 0); a client that hangs
    up while the upstream is still answering cancels it and is billed 0 too: nothing reached it.
    """
    try:
        raw = await while_connected(call, upstream.aread())  # type: ignore[attr-defined]
        return convert(json.loads(raw))
    except ClientGone:
        await settle_failure(call)
        raise
    except Exception as exc:
        await settle_failure(call, exc)
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable response.") from exc
    finally:
        await upstream.aclose()


async def open_pooled(
    call: Call, send: Callable[[Account, Model], Awaitable[UpstreamResponse]], session: str | None = None
) -> UpstreamResponse:
    """Open the upstream through the model's account pool (failover before the first byte).

    If that fails for a reason another model could avoid and the catalog names a
    ``fallback`` (same wire protocol, checked when the catalog loads) that the key may use,
    the call moves to it: billed at the fallback's prices (still capped by the hold) and
    announced in ``x-bytespike-fallback``. A key scoped away from the fallback gets the
    original error.
    """
    model = call.model
    try:
        response, account = await pool.open_with_failover(catalog().provider_of(model), lambda a: send(a, model),
                                                          session=session)
    except GatewayError as err:
        fallback = _fallback_for(call.key, model, err)
        if fallback is None:
            raise
        log.warning("%s: %s failed (%s); falling back to %s", call.request_id, model.id, err.kind, fallback.id)
        call.fallback_from, call.model = model.id, fallback
        response, account = await pool.open_with_failover(catalog().provider_of(fallback), lambda a: send(a, fallback),
                                                          session=session)
    call.account = account.name
    return response


_FALLBACK_KINDS = {Kind.OVERLOADED, Kind.RATE_LIMIT, Kind.UPSTREAM, Kind.TIMEOUT, Kind.API}


def _fallback_for(key: KeyRecord, model: Model, err: GatewayError) -> Model | None:
    if not model.fallback or err.kind not in _FALLBACK_KINDS:
        return None
    fallback = catalog().model(model.fallback)
    return fallback if fallback is not None and may_use(key, fallback) else None


def call_headers(call: Call) -> dict[str, str]:
    """Response headers of a call that reached the upstream."""
    headers = base_headers(call.request_id, call.hold)
    if call.fallback_from:
        headers["x-bytespike-fallback"] = f"{call.fallback_from} -> {call.model.id}"
    return headers


def _overlap(call: Call) -> bool:
    """May the hold run beside the upstream call? Not for an idempotent request (a duplicate must
    never reach the upstream), not for a key with a concurrency cap, not while the org's ledger or the key's quota is refusing, and only
    when this process knows the wallet covers the hold: a broke wallet never reaches the provider."""
    now = time.monotonic()
    org, key = call.key.org_id, call.key.digest
    # A capped key holds first: a request over its concurrency cap never reaches the provider (whose
    # rate limits a fan-out of agents would otherwise drain before the refusal).
    call.claimed = (not call.idempotent and not call.slots and _HOLD_FIRST.get(org, 0.0) <= now and _HOLD_FIRST.get(key, 0.0) <= now
                    and budget.claim(org, call.hold))
    return call.claimed


async def _place(call: Call, modality: str) -> None:
    org = call.key.org_id
    try:
        await ledger.place_hold(call.hold_record(modality))
    except ledger.InsufficientCredit as err:
        budget.refused(org, err.balance)
        raise
    except BaseException as err:
        if call.claimed:
            budget.give_back(org, call.hold)
        if not isinstance(err, GatewayError):
            raise
        if err.kind is Kind.OVERLOADED:
            _HOLD_FIRST[org] = time.monotonic() + _THROTTLED_SECONDS
        elif err.kind is Kind.BILLING:  # a quota: this key's, or its master's
            _HOLD_FIRST[call.key.digest] = time.monotonic() + _QUOTA_SPENT_SECONDS
        raise
    _HOLD_FIRST.pop(org, None)
    call.held = True
    budget.held(org, call.hold, claimed=call.claimed)


async def _close_quietly(task: asyncio.Future[Any]) -> None:
    try:
        resp = await task
    except BaseException:
        return
    await resp.aclose()


async def settle_failure(call: Call, exc: BaseException | None = None) -> None:
    """Failures don't bill: HELD -> FAILED with cost 0 (the release function refunds).

    So does a client that hung up before any content reached it (``call.aborted``)."""
    if not call.held or call.settled:
        return
    if call.aborted:
        detail = "client_aborted"
    else:
        detail = f"failed: {exc.kind}" if isinstance(exc, GatewayError) else "failed"
    with anyio.CancelScope(shield=True):
        call.settled = True
        if await _record_settle(call, cost=0, usage={}, status="failed", detail=detail):  # issue #10: never raises
            budget.give_back(call.key.org_id, call.hold)
    observe.record(call, detail)


def credits_for(call: Call, usage: Usage) -> int:
    """What ``usage`` costs this call at its own prices, capped at the hold (estimated_credits is a ceiling)."""
    return min(usage_credits(call.model, usage, at=call.at), call.hold)


def billed_credits(call: Call, usage: Usage | None, cost: int | None = None) -> int:
    """The priced cost (or the given one), capped at the hold (estimated_credits is a ceiling)."""
    if cost is None:
        cost = usage_credits(call.model, usage or Usage(), at=call.at)
    if cost > call.hold:
        log.warning("cost %s above hold %s for %s; billed the hold", cost, call.hold, call.request_id)
        cost = call.hold
    call.cost = cost
    return cost


async def settle_success(call: Call, usage: Usage, *, outcome: str = "ok", cost: int | None = None) -> int:
    """HELD -> SETTLED at the priced cost (capped at the hold: estimated_credits is a ceiling)."""
    cost = billed_credits(call, usage, cost)
    await settle_ok(call, cost, usage.as_dict(), outcome)
    return cost


async def settle_ok(call: Call, cost: int, usage: dict[str, Any], outcome: str = "ok") -> None:
    """The success settle of every surface (chat and media). Never raises: if the write is lost
    the client still gets its answer, the hold stays HELD and the sweeper expires it at cost 0."""
    if call.held and not call.settled:
        with anyio.CancelScope(shield=True):
            call.settled = True
            if await _record_settle(call, cost=cost, usage=usage, status="ok", detail=outcome):
                budget.give_back(call.key.org_id, call.hold - cost)
            else:
                call.cost, outcome = 0, "settle_failed"
        observe.record(call, outcome)


async def _record_settle(call: Call, *, cost: int, usage: dict[str, Any], status: str, detail: str) -> bool:
    """The settle write, or False when the ledger could not take it (issue #10, DynamoDB faults).

    A settle that still fails after ``with_retries`` must not turn a finished answer into an error
    (or cut a stream without its error frame): the reservation stays HELD and the sweeper expires it
    past its deadline at cost 0, the path DESIGN.md gives a function that died ("failures don't bill").
    """
    try:
        await ledger.settle(call.reservation_id, cost=cost, usage=usage, status=status, detail=detail,
                            slots=tuple(c.key_id for c in call.slots), org_id=call.key.org_id)
        return True
    except Exception as exc:  # the retry budget ran out (GatewayError), or anything unexpected (with its trace)
        log.error("settle of %s (%s) failed: %s; left HELD for the sweeper, billed 0", call.request_id, status, exc,
                  exc_info=not isinstance(exc, GatewayError))
        return False


def _usage_credits(document: dict[str, Any], cost: int) -> None:
    document.setdefault("usage", {})["credits"] = cost


async def billed_json(call: Call, usage: Usage, document: dict[str, Any], headers: dict[str, str],
                      credit: Callable[[dict[str, Any], int], None] = _usage_credits) -> Response:
    """The upstream's finished answer with its credits (``credit`` puts them where the client's
    protocol reads usage: ``usage.credits`` unless told), settled before it is sent.

    Settling after the body (with the response ended only after the write, as Lambda
    requires) was measured and dropped: uvicorn serves one request per connection at a
    time, so a keep-alive client's next request waited for the settle instead, and behind
    API Gateway the body is re-framed as chunks, so no client saw the answer earlier.
    ``settle_ok`` never raises: a lost settle still answers, unbilled (the sweeper).
    """
    cost = await settle_success(call, usage)
    credit(document, cost)
    return Response(dumps(document).encode(), headers=headers, media_type="application/json")


# ------------------------------------------------------------------ streaming relay
class StreamTranslator:
    """Turns upstream SSE events into client bytes and tracks what billing needs.

    Subclasses are small state machines fed one event at a time.
    """

    usage: Usage
    usage_final: bool = False  # the upstream's final usage was seen (after all content, in every protocol)
    completed: bool
    delivered_content: bool = False
    delivered_chars: int = 0  # characters of delta text relayed to the client (sizes abort billing)
    upstream_error: GatewayError | None

    def delivered(self, chars: int) -> None:
        """A content delta went to the client, ``chars`` characters of text (0 for e.g. a tool call's head)."""
        self.delivered_content = True
        self.delivered_chars += chars

    @property
    def delivered_output_tokens(self) -> int:
        return delivered_tokens(self.delivered_chars)

    def on_event(self, ev: SSEEvent) -> bytes:
        raise NotImplementedError

    def finish(self, cost: int) -> bytes:
        """Frames after a clean upstream end (``cost`` is the billed credits)."""
        raise NotImplementedError

    def final_usage(self) -> Usage:
        return self.usage

    def on_eof(self) -> None:
        """The upstream closed the stream (protocols without a terminal event decide here)."""

    def error_frame(self, err: GatewayError) -> bytes:
        raise NotImplementedError

    def ping_frame(self) -> bytes:
        raise NotImplementedError


_EOF = object()


class UpstreamReader:
    """Reads an upstream body in its own task, so that no timer ever cancels a read.

    The keep-alive ping waits on the queue, never on the socket: a silent upstream (a model
    thinking for minutes, a slow tool-argument stream) keeps its read open until the idle
    limit (``UPSTREAM_IDLE_TIMEOUT``, enforced by the HTTP client) or the stream's end. The
    queue is bounded, so a slow client still slows the upstream read (backpressure).
    """

    __slots__ = ("_queue", "_task")

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=32)
        self._task = asyncio.ensure_future(self._run(chunks))

    async def _run(self, chunks: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in chunks:
                await self._queue.put(chunk)
        except Exception as exc:  # a body failure (the gateway's kinds, from UpstreamResponse) ends the stream
            await self._queue.put(exc)
        else:
            await self._queue.put(_EOF)

    async def next(self, wait: float) -> Any:
        """The next chunk, ``_EOF``, the read's exception, or None when ``wait`` seconds passed first."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if wait <= 0:
            return await self._queue.get()
        try:
            return await asyncio.wait_for(self._queue.get(), wait)  # cancels only the queue wait
        except TimeoutError:
            return None

    async def close(self) -> None:
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task


async def relay(
    call: Call, upstream: UpstreamResponse, translator: StreamTranslator, *, ping_interval: float
) -> AsyncIterator[bytes]:
    """Relay upstream SSE to the client; settle exactly once however the stream ends.

    While the upstream is silent the client gets a ping every ``ping_interval`` seconds, for
    as long as the upstream's idle limit allows; the read itself is never interrupted.
    """
    parser = SSEParser()
    outcome: str | None = None
    reader = UpstreamReader(upstream.aiter_raw())
    try:
        while True:
            chunk = await reader.next(ping_interval)
            if chunk is None:
                yield translator.ping_frame()
                continue
            if chunk is _EOF:
                translator.on_eof()
                break
            if isinstance(chunk, BaseException):
                raise chunk
            try:
                out = b"".join([translator.on_event(ev) for ev in parser.feed(chunk)])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:  # malformed upstream SSE
                raise GatewayError(Kind.UPSTREAM, "The upstream sent a malformed event stream.") from exc
            if out:
                if call.first_byte_at is None:
                    call.first_byte_at = time.perf_counter()
                yield out
            if translator.upstream_error is not None or translator.completed:
                break
        if translator.upstream_error is not None:
            outcome = "upstream_error"
            await settle_failure(call, translator.upstream_error)
            yield translator.error_frame(translator.upstream_error)
            return
        if not translator.completed:
            raise GatewayError(Kind.UPSTREAM, "The upstream closed the stream before it finished.")
        usage = translator.final_usage()
        cost = billed_credits(call, usage)
        tail = translator.finish(cost)
        await settle_ok(call, cost, usage.as_dict())
        outcome = "ok"
        if tail:
            yield tail
    except GatewayError as err:  # the upstream's body failures arrive as the gateway's kinds (UpstreamResponse)
        outcome = "upstream_error"
        await settle_failure(call, err)
        yield translator.error_frame(err)
    finally:
        with anyio.CancelScope(shield=True):
            await reader.close()
            await upstream.aclose()
            if outcome is None and not call.settled:
                # The client went away: bill only the output it received (nothing if no content).
                await _settle_client_abort(call, translator)


async def _settle_client_abort(call: Call, translator: StreamTranslator) -> None:
    """Bill an aborted stream for what the client received (nothing if no content).

    Output: the upstream's final count when it was seen (it comes after all content), else
    the tokens delivered, sized from the delta text the client got (``delivered_tokens``);
    the usage seen before the end is a placeholder (Claude's ``message_start`` says 1).
    Input: the upstream's count when it reported one (Claude does at the start), else the
    local estimate at a typical 4 bytes per token (OpenAI-format upstreams report the
    prompt only in the final chunk), never above the hold's estimate.
    """
    if not translator.delivered_content:
        call.aborted = True
        await settle_failure(call)
        return
    seen = translator.usage
    output = seen.output if translator.usage_final and seen.output else translator.delivered_output_tokens
    usage = Usage(
        input=seen.input or typical_input_tokens(call.input_estimate),
        output=output,
        cache_write_5m=seen.cache_write_5m,
        cache_write_1h=seen.cache_write_1h,
        cache_read=seen.cache_read,
    )
    await settle_success(call, usage, outcome="client_aborted")


def delivered_tokens(chars: int) -> int:
    """Output tokens for ``chars`` characters of delivered delta text (~4 per token, at least 1)."""
    return max(1, -(-chars // 4))


def anthropic_delta_chars(delta: dict[str, Any]) -> int:
    """Characters of output in one Anthropic ``content_block_delta`` delta (text, thinking, tool JSON)."""
    return sum(len(v) for k in ("text", "thinking", "partial_json") if isinstance(v := delta.get(k), str))


def merge_usage(base: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    """Anthropic's message_delta usage is cumulative; fields it omits keep message_start's values."""
    if update:
        for k, v in update.items():
            if v is not None:
                base[k] = v
    return base
