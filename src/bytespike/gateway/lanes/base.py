"""What a surface codec and a wire adapter are, and the relay that joins them through the hub.

A request crosses two protocols: its client's (the *surface*) and its upstream's (the *wire*).
The hub between them is the Anthropic Messages shape. A surface turns its client's request
into a hub request and hub events into its client's bytes; a wire turns a hub request into its
upstream's request and the upstream's answer into hub events. ``run_lane`` (lanes/run.py) does
the money and the plumbing once for every (surface, wire) pair; a same-protocol pair may
override the whole lane to keep the client's bytes (lanes/passthrough.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import Usage
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind
from bytespike.gateway.pipeline import Call, StreamTranslator, anthropic_delta_chars
from bytespike.protocols import SurfaceName, WireName
from bytespike.providers import Account, UpstreamResponse
from bytespike.sse import SSEEvent
from bytespike.store.keys import KeyRecord
from bytespike.translate import TranslationError
from bytespike.wire.strict import first_error

Event = tuple[str, dict[str, Any]]  # a hub (Anthropic Messages) stream event: (name, data)
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def translation_error(exc: TranslationError) -> GatewayError:
    """A request a translator cannot carry: the client's mistake, in its own protocol."""
    return GatewayError(Kind.INVALID_REQUEST, exc.message, param=exc.param)


def validated[M: BaseModel](schema: type[M], body: dict[str, Any]) -> M:
    """The request's typed wire model: handlers read only its values (a ``"100"`` never reaches a comparison)."""
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        param, message = first_error(exc)
        raise GatewayError(Kind.INVALID_REQUEST, message, param=param) from exc


def chat_model(model_id: Any, missing: str) -> Model:
    """The catalog chat model ``model_id`` names, or a 404 worded in the surface's own way
    (``missing`` with ``{model}`` filled in)."""
    model = catalog().model(model_id) if isinstance(model_id, str) else None
    if model is None or model.modality != "chat":
        raise GatewayError(Kind.NOT_FOUND, missing.format(model=model_id), param="model")
    return model


@dataclass(slots=True)
class Parsed:
    """A client request as its surface understood it: validated, its model resolved, its hold sized."""

    model: Model
    body: dict[str, Any]  # the client's JSON, as sent (a pass-through may forward it)
    raw: bytes
    stream: bool
    input_tokens: int = 0  # the upper-leaning estimate the hold is sized with
    max_output: int = 0  # the output budget the hold covers (all choices)
    session: str | None = None  # the upstream pool's stickiness key
    validated: Any = None  # the surface's typed wire model of the request
    hub: dict[str, Any] | None = None  # the hub request, when sizing the hold already translated it
    answer: Any = None  # with it, what answering needs (the surface's context)
    state: Any = None  # what the surface's ``resolve`` loaded for it (a stored conversation it continues)


class HubSource(Protocol):
    """An upstream's stream, one SSE event at a time, as hub events; with what billing needs."""

    usage: Usage
    usage_final: bool  # the upstream's final usage was seen (after all content)
    completed: bool
    error: GatewayError | None

    def feed(self, ev: SSEEvent) -> list[Event]: ...

    def finish(self) -> list[Event]:
        """Hub events that close the message after the upstream ended cleanly."""
        ...

    def on_eof(self) -> None:
        """The upstream closed its stream (protocols without a terminal event decide here)."""
        ...


class HubSink(Protocol):
    """Hub events, as they come, into the client's bytes."""

    def feed(self, events: list[Event]) -> bytes: ...

    def finish(self, events: list[Event], cost: int) -> bytes:
        """The closing events and the client's final frames, which carry ``cost`` as credits."""
        ...


class Surface(ABC):
    """One client protocol: its requests to the hub, hub answers and events to its client, its errors."""

    name: ClassVar[SurfaceName]
    ping: ClassVar[bytes]  # a keep-alive its clients ignore

    @abstractmethod
    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        """Validate (typed: never a 5xx on junk) and resolve the model; before authorisation."""

    def stream_media_type(self, parsed: Parsed) -> str:
        """The streamed answer's content type (Gemini's array framing is JSON, not SSE)."""
        return "text/event-stream"

    def parse_request(self, request: Request, body: dict[str, Any], raw: bytes) -> Parsed:
        """``parse``, for a protocol whose URL says part of the request (Gemini: the model and
        whether to stream are in the path, the framing in ``alt``); the body alone elsewhere."""
        return self.parse(body, raw)

    async def resolve(self, parsed: Parsed, key: KeyRecord) -> None:
        """State the request refers to and the gateway keeps (a stored conversation it continues),
        loaded after authorisation and before sizing; nothing by default."""
        return None

    @abstractmethod
    def size(self, parsed: Parsed) -> None:
        """Checks that depend on the model (limits, requests certain to fail upstream) and the hold's sizes."""

    @abstractmethod
    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        """The hub request, and what answering needs to remember (tool names, ids...)."""

    @abstractmethod
    def sink(self, ctx: Any, call: Call) -> HubSink: ...

    @abstractmethod
    def document(self, message: dict[str, Any], ctx: Any, call: Call) -> dict[str, Any]:
        """A whole hub message as the client's JSON answer."""

    def with_credits(self, document: dict[str, Any], cost: int) -> None:
        """Put the billed credits where this protocol's clients read usage."""
        document.setdefault("usage", {})["credits"] = cost

    @abstractmethod
    def error_frame(self, err: GatewayError, call: Call) -> bytes:
        """A failure after the stream started, in the protocol's in-band error form."""

    def keep_stream(self, parsed: Parsed, call: Call, sink: HubSink, frames: AsyncIterator[bytes]
                    ) -> AsyncIterator[bytes]:
        """The relayed stream, with whatever the surface keeps of a finished answer written before its
        last frame reaches the client (a stored response); unchanged by default."""
        return frames

    async def keep(self, parsed: Parsed, call: Call, document: dict[str, Any]) -> None:
        """Keep what a later request may refer to of a whole answer, before it is sent; nothing by default."""
        return None


class Wire(ABC):
    """One upstream protocol: hub requests to it, its answers and events back to the hub."""

    name: ClassVar[WireName]

    @abstractmethod
    def prepare(self, hub: dict[str, Any], call: Call, stream: bool) -> Any:
        """Translate the hub request once; the returned context sends it and reads the answer."""

    @abstractmethod
    async def send(self, ctx: Any, account: Account, model: Model, stream: bool) -> UpstreamResponse:
        """Post to one account for ``model`` (the catalog fallback may change it); headers in, body unread."""

    @abstractmethod
    def source(self, ctx: Any, call: Call) -> HubSource: ...

    @abstractmethod
    def message(self, document: Any, ctx: Any, call: Call) -> dict[str, Any]:
        """The upstream's whole JSON answer as a hub message (with Anthropic usage)."""


class Lane(ABC):
    """How one (surface, wire) pair answers a paid call; ``HubLane`` unless a pair overrides it."""

    @abstractmethod
    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response: ...


def message_id_of(call: Call) -> str:
    return "msg_" + call.request_id.removeprefix("req_")


class HubRelay(StreamTranslator):
    """The relay's translator for a hub lane: the wire's source feeding the surface's sink.

    Two small state machines in a row, one event at a time; the billing bookkeeping (usage,
    completion, errors, what reached the client) is read off the hub events in between.
    """

    def __init__(self, call: Call, source: HubSource, sink: HubSink, surface: Surface) -> None:
        self.call = call
        self.source = source
        self.out = sink
        self.surface = surface
        self.usage = Usage()

    @property
    def completed(self) -> bool:  # type: ignore[override]
        return self.source.completed

    @property
    def upstream_error(self) -> GatewayError | None:  # type: ignore[override]
        return self.source.error

    @property
    def usage_final(self) -> bool:  # type: ignore[override]
        return self.source.usage_final

    def on_event(self, ev: SSEEvent) -> bytes:
        events = self.source.feed(ev)
        self.usage = self.source.usage
        for name, data in events:
            if name == "content_block_delta":
                self.delivered(anthropic_delta_chars(data.get("delta") or {}))
        return self.out.feed(events) if events else b""

    def on_eof(self) -> None:
        self.source.on_eof()

    def finish(self, cost: int) -> bytes:
        return self.out.finish(self.source.finish(), cost)

    def final_usage(self) -> Usage:
        return self.source.usage

    def error_frame(self, err: GatewayError) -> bytes:
        fail = getattr(self.out, "fail", None)  # a sink whose protocol numbers its events ends its own stream
        return fail(err) if fail is not None else self.surface.error_frame(err, self.call)

    def ping_frame(self) -> bytes:
        return self.surface.ping
