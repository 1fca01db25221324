"""The Gemini API surface (``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent``) on any model.

Gemini CLI and Google's SDKs speak it. Gemini models answer it by byte pass-through
(``GeminiPassthrough`` in lanes/passthrough.py: thought signatures untouched); every other model
through the hub: ``gemini_request_to_anthropic`` in, ``AnthropicToGeminiStream`` /
``anthropic_response_to_gemini`` out (translate/gemini_surface.py). The model and whether to stream
are in the URL, not the body; ``alt=sse`` picks Server-Sent Events, its absence one JSON array
(``sse.GeminiFrames``). The keep-alive is a bare newline, the only thing Google's SDKs tolerate
between chunks (``sse.GEMINI_PING``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from bytespike.billing import BYTES_PER_TOKEN_UPPER, estimate_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind, gemini_body
from bytespike.gateway import precheck
from bytespike.gateway.lanes.base import Event, HubSink, Parsed, Surface, message_id_of, translation_error
from bytespike.gateway.pipeline import Call
from bytespike.http import access
from bytespike.protocols import SurfaceName, WireName
from bytespike.providers import pool
from bytespike.sse import GEMINI_PING, GeminiFrames, dumps, gemini_json
from bytespike.translate import (
    AnthropicToGeminiStream,
    GeminiSurfaceContext,
    HubTarget,
    TranslationError,
    anthropic_response_to_gemini,
    gemini_request_to_anthropic,
)
from bytespike.translate.gemini_types import check_gemini_request_types

STREAM_METHOD = ":streamGenerateContent"
log = logging.getLogger("bytespike.gemini")


def not_found(model_id: Any, method: str = "generateContent") -> GatewayError:
    """Google's own 404 for a model it does not serve (its SDKs show the message as is)."""
    return GatewayError(Kind.NOT_FOUND, f"models/{model_id} is not found for API version v1beta, or is not supported "
                                        f"for {method}. Call ListModels to see the list of available models and their "
                                        "supported methods.", param="model")


def resolve_model(model_id: Any, modality: str = "chat", method: str = "generateContent") -> Model:
    """A catalog model from the URL's ``models/{model}`` (or a body's ``model``: ``models/x`` or ``x``)."""
    name = model_id.removeprefix("models/") if isinstance(model_id, str) else None
    model = catalog().model(name) if name else None
    if model is None or model.modality != modality:
        raise not_found(name or model_id, method)
    return model


def speaks_gemini(model: Model) -> bool:
    """The model's provider answers generateContent itself (then the lane is a pass-through)."""
    return WireName.GEMINI.value in catalog().provider_of(model).wires


def _positive_int(value: Any) -> int | None:
    """An int64 as proto3 JSON takes it (a number or a decimal string), when positive."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _field(obj: Any, name: str) -> Any:
    """camelCase or snake_case, as Google's JSON parser takes both."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get("".join("_" + c.lower() if c.isupper() else c for c in name))


@dataclass(slots=True)
class GeminiAnswer:
    """What answering a Gemini client needs: the translator's context (None on a pass-through the
    translator could not read) and the stream framing the client asked for."""

    ctx: GeminiSurfaceContext | None
    sse: bool


class GeminiSink(HubSink):
    def __init__(self, answer: GeminiAnswer, call: Call) -> None:
        assert answer.ctx is not None
        self.machine = AnthropicToGeminiStream(answer.ctx, response_id=message_id_of(call))
        self.frames = GeminiFrames(sse=answer.sse)

    def _out(self, chunks: list[dict[str, Any]]) -> bytes:
        return b"".join(self.frames.chunk(gemini_json(c)) for c in chunks)

    def feed(self, events: list[Event]) -> bytes:
        return self._out([c for name, data in events for c in self.machine.feed(name, data)])

    def finish(self, events: list[Event], cost: int) -> bytes:
        chunks = [c for name, data in events for c in self.machine.feed(name, data)]
        return self._out(chunks + self.machine.finish(credits=cost)) + self.frames.close()

    def fail(self, err: GatewayError) -> bytes:
        """Google's error object as the stream's last chunk (google-genai raises it as an APIError)."""
        return self.frames.chunk(gemini_json(gemini_body(err))) + self.frames.close()


class GeminiSurface(Surface):
    name = SurfaceName.GEMINI
    ping = GEMINI_PING

    def parse_request(self, request: Request, body: dict[str, Any], raw: bytes) -> Parsed:
        model_id = request.path_params.get("model")
        access.note(model=model_id)
        alt = request.query_params.get("alt", "json")
        if alt not in ("sse", "json"):
            raise GatewayError(Kind.INVALID_REQUEST, f"alt={alt} is not supported: use alt=sse (Server-Sent Events) "
                                                     "or alt=json.", param="alt")
        stream = request.url.path.endswith(STREAM_METHOD)
        method = STREAM_METHOD[1:] if stream else "generateContent"
        model = resolve_model(model_id, method=method)
        try:  # Google's own type checks, on every lane, before anything is held
            check_gemini_request_types(body)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        return Parsed(model=model, body=body, raw=raw, stream=stream, answer=GeminiAnswer(None, sse=alt == "sse"))

    def parse(self, body: dict[str, Any], raw: bytes) -> Parsed:
        """A request that names its model in the body (``model``: countTokens' generateContentRequest)."""
        return Parsed(model=resolve_model(body.get("model")), body=body, raw=raw, stream=False,
                      answer=GeminiAnswer(None, sse=False))

    def stream_media_type(self, parsed: Parsed) -> str:
        return GeminiFrames(sse=parsed.answer.sse).media_type

    def size(self, parsed: Parsed) -> None:
        model, body = parsed.model, parsed.body
        native = speaks_gemini(model)
        try:
            hub, ctx = gemini_request_to_anthropic(body, model.id, target=HubTarget.of(model), stream=parsed.stream)
        except TranslationError as exc:
            if not native:
                raise translation_error(exc) from exc
            # Never stricter than the upstream: what Gemini takes and the translator does not know
            # (built-in tools, candidateCount, cachedContent ...) passes through, held by its size.
            hub, ctx = None, None
        gen = _field(body, "generationConfig")
        candidates = (_positive_int(_field(gen, "candidateCount")) or 1) if native else 1
        if hub is not None:
            requested = hub["max_tokens"]
            if requested > model.max_output_tokens and not native:
                # Google's own refusal of the same request (Vertex AI / Gemini API wording).
                raise GatewayError(Kind.INVALID_REQUEST, f"Unable to submit request because it has a maxOutputTokens "
                                   f"value of {requested} but the supported range is from 1 (inclusive) to "
                                   f"{model.max_output_tokens + 1} (exclusive). Update the value and try again.",
                                   param="generationConfig.maxOutputTokens")
            if not native:
                precheck.hub_images(hub, model, catalog().provider_of(model))
            parsed.input_tokens = estimate_input_tokens(hub)
        else:
            requested = _positive_int(_field(gen, "maxOutputTokens")) or model.max_output_tokens
            parsed.input_tokens = int(len(parsed.raw) / BYTES_PER_TOKEN_UPPER) + 16
        parsed.max_output = min(requested, model.max_output_tokens) * candidates
        prefix = [_field(body, "systemInstruction"), _field(body, "tools")]
        parsed.session = pool.session_key(None, dumps(prefix).encode() if any(prefix) else None)
        if ctx is not None and ctx.warnings:  # what the hub lane drops (safetySettings on Claude ...): logged
            log.info("gemini surface on %s: %s", model.id, "; ".join(ctx.warnings))
        parsed.hub = hub
        parsed.answer = GeminiAnswer(ctx, sse=parsed.answer.sse)

    def to_hub(self, parsed: Parsed, call: Call) -> tuple[dict[str, Any], Any]:
        if parsed.hub is None:  # sized from its bytes for the pass-through: no hub lane can carry it
            raise GatewayError(Kind.INVALID_REQUEST, f"This request can only be served by Gemini models, not "
                                                     f"models/{parsed.model.id}.")
        return parsed.hub, parsed.answer

    def sink(self, ctx: GeminiAnswer, call: Call) -> HubSink:
        return GeminiSink(ctx, call)

    def document(self, message: dict[str, Any], ctx: GeminiAnswer, call: Call) -> dict[str, Any]:
        assert ctx.ctx is not None
        document = anthropic_response_to_gemini(message, ctx.ctx)
        document["responseId"] = message_id_of(call)  # the stream's too
        return document

    def with_credits(self, document: dict[str, Any], cost: int) -> None:
        """``usageMetadata.credits``: where Gemini clients read usage (google-genai ignores the field)."""
        document.setdefault("usageMetadata", {})["credits"] = cost

    def error_frame(self, err: GatewayError, call: Call) -> bytes:
        return b"data: " + gemini_json(gemini_body(err)) + b"\r\n\r\n"
