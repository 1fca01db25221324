"""Free runs: check a request against the free rules, estimate it, and run it on the house key.

A free run is an ordinary gateway request: the page sends the exact body it would send to
``/v1/messages`` or ``/v1/chat/completions``; after the checks here it runs through the
same handler (auth, hold, relay, settle) with the house key in place of a client key, so
the answer streams in the surface's own wire format and ``usage.credits`` is the real bill.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from bytespike.billing import (
    cache_ttl_hint,
    estimate_input_tokens,
    estimate_openai_input_tokens,
    hold_credits,
)
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind

from .settings import free_models, playground_settings

log = logging.getLogger("bytespike.playground")

SURFACES = ("anthropic", "openai")
ANTHROPIC_VERSION = "2023-06-01"

# What a free run may carry. Everything else (metadata, service tiers, n > 1, …) is refused rather
# than silently dropped; cache_control is refused anywhere in the body (``_cache_breakpoint``).
_ALLOWED = {
    "anthropic": frozenset({"model", "max_tokens", "messages", "system", "stream", "thinking", "tools",
                            "tool_choice", "temperature", "stop_sequences"}),
    "openai": frozenset({"model", "max_tokens", "max_completion_tokens", "messages", "stream", "stream_options",
                         "reasoning_effort", "thinking", "tools", "tool_choice", "temperature", "stop"}),
}


@dataclass(frozen=True, slots=True)
class FreeRequest:
    surface: str
    model: Model
    body: dict[str, Any]
    raw: bytes

    @property
    def path(self) -> str:
        return "/v1/messages" if self.surface == "anthropic" else "/v1/chat/completions"


def parse_envelope(raw: bytes) -> tuple[str, dict[str, Any]]:
    """``{"surface": "anthropic"|"openai", "request": {...}}`` -> (surface, request)."""
    from bytespike.http.render import parse_json

    envelope = parse_json(raw)  # malformed JSON and lone surrogates are 400s, as on the API itself
    if not isinstance(envelope, dict):
        raise GatewayError(Kind.INVALID_REQUEST, "Request body must be a JSON object.")
    surface = envelope.get("surface", "anthropic")
    if surface not in SURFACES:
        raise GatewayError(Kind.INVALID_REQUEST, "surface: must be 'anthropic' or 'openai'", param="surface")
    body = envelope.get("request")
    if not isinstance(body, dict):
        raise GatewayError(Kind.INVALID_REQUEST, "request: must be a JSON object (the body of the API call)",
                           param="request")
    return surface, body


def surface_of(raw: bytes) -> str:
    """Best effort, for rendering an error in the shape the page asked for."""
    try:
        surface = json.loads(raw).get("surface")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "anthropic"
    return surface if surface in SURFACES else "anthropic"


def _max_tokens(surface: str, body: dict[str, Any]) -> Any:
    if surface == "openai":
        return body.get("max_completion_tokens") or body.get("max_tokens")
    return body.get("max_tokens")


def check(surface: str, body: dict[str, Any]) -> FreeRequest:
    """The free rules, checked before a run is counted (a refused request costs no run)."""
    cfg = playground_settings()
    extra = sorted(set(body) - _ALLOWED[surface])
    if extra:
        raise GatewayError(Kind.INVALID_REQUEST,
                           f"Free runs do not accept {', '.join(extra)}; paste your own API key to send them.",
                           param=extra[0])
    where = _cache_breakpoint(body)
    if where is not None:
        raise GatewayError(Kind.INVALID_REQUEST,
                           f"Free runs do not accept cache_control (found at {where}): they would write the house "
                           "key's prompt cache at the cache-write rate; paste your own API key to cache.",
                           param=where)
    model_id = body.get("model")
    model = catalog().model(model_id) if isinstance(model_id, str) else None
    free = free_models()
    if model is None or model not in free:
        names = ", ".join(sorted(m.id for m in free))
        raise GatewayError(
            Kind.PERMISSION,
            f"'{model_id}' is not available for free runs (free models: {names}). "
            "Paste your own API key to use any model.",
            param="model",
        )
    max_tokens = _max_tokens(surface, body)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise GatewayError(Kind.INVALID_REQUEST, "max_tokens: free runs must set max_tokens (a positive integer).",
                           param="max_tokens")
    if max_tokens > cfg.max_tokens:
        raise GatewayError(Kind.INVALID_REQUEST,
                           f"max_tokens: free runs allow at most {cfg.max_tokens}; paste your own API key for more.",
                           param="max_tokens")
    _validate_wire(surface, body)
    body = {**body, "stream": True}
    if surface == "openai":
        body["stream_options"] = {"include_usage": True}  # the bill arrives in the usage chunk
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if len(raw) > cfg.max_body_bytes:
        raise GatewayError(Kind.TOO_LARGE,
                           f"Free runs accept prompts up to {cfg.max_body_bytes} bytes; paste your own API key for more.")
    return FreeRequest(surface, model, body, raw)


def _cache_breakpoint(body: Any) -> str | None:
    """The path of the first ``cache_control`` key anywhere in the request (system blocks, message
    blocks, tool results, tools, the top level), else None. A prompt that merely mentions the word
    is fine: only object keys count."""
    stack: list[tuple[Any, str]] = [(body, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if "cache_control" in node:
                return f"{where}.cache_control" if where else "cache_control"
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}.{i}") for i, v in enumerate(node))
    return None


def _validate_wire(surface: str, body: dict[str, Any]) -> None:
    """The surface's own request validation, so an estimate answers what the run would (a 400)."""
    from pydantic import ValidationError

    from bytespike.wire.anthropic import MessagesRequest
    from bytespike.wire.openai import ChatRequest
    from bytespike.wire.strict import first_error

    try:
        (MessagesRequest if surface == "anthropic" else ChatRequest).model_validate(body)
    except ValidationError as exc:
        param, message = first_error(exc)
        raise GatewayError(Kind.INVALID_REQUEST, message, param=param) from exc


def estimate(req: FreeRequest) -> dict[str, int]:
    """The hold the run will place: the same arithmetic ``count_tokens`` and the surface's handler use."""
    body, model = req.body, req.model
    ttl = cache_ttl_hint(req.raw)
    if req.surface == "anthropic":
        input_tokens = estimate_input_tokens(body)
        credits = hold_credits(model, body, input_tokens=input_tokens, cache_ttl=ttl, at=time.time())
        max_out = int(body["max_tokens"])
    else:
        input_tokens = estimate_openai_input_tokens(body)
        max_out = int(_max_tokens("openai", body))
        credits = hold_credits(model, {"max_tokens": max_out}, input_tokens=input_tokens, cache_ttl=ttl, at=time.time())
    return {"input_tokens": input_tokens, "max_output_tokens": max_out, "estimated_credits": credits}


def inner_request(outer: Request, req: FreeRequest, key: str) -> Request:
    """The same ASGI connection, re-addressed to the surface's path with the house key.

    Only the headers the gateway needs are kept: nothing the client sent (idempotency keys,
    betas, its own auth) reaches the pipeline. After the body, ``receive`` is the real
    connection's, so a client that goes away is seen and billed as an abort.
    """
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": req.raw, "more_body": False}
        return await outer.receive()

    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                          (b"content-length", str(len(req.raw)).encode())]
    if req.surface == "anthropic":
        headers += [(b"x-api-key", key.encode()), (b"anthropic-version", ANTHROPIC_VERSION.encode())]
    else:
        headers.append((b"authorization", b"Bearer " + key.encode()))
    scope = {**outer.scope, "method": "POST", "path": req.path, "raw_path": req.path.encode(), "query_string": b"",
             "headers": headers}
    return Request(scope, receive)


def handler_for(surface: str) -> Callable[[Request], Awaitable[Response]]:
    from bytespike.gateway.lanes.run import run_lane
    from bytespike.protocols import SurfaceName

    name = SurfaceName(surface)
    return lambda request: run_lane(request, name)
