"""The Anthropic Messages function's other endpoints: /v1/messages/count_tokens and /v1/models.

``POST /v1/messages`` itself is a lane (gateway/lanes: the Anthropic surface on every wire).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import cache_ttl_hint, estimate_input_tokens, hold_credits
from bytespike.billing.tokens import count_input_tokens
from bytespike.catalog import Model, Price, catalog
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.lanes.anthropic_surface import resolve_model
from bytespike.gateway.lanes.base import validated
from bytespike.gateway.pipeline import (
    new_request_id,
)
from bytespike.http import access
from bytespike.http.render import error_response, json_response, parse_json_object, read_body
from bytespike.providers import accounts_for
from bytespike.providers import anthropic as claude
from bytespike.sse import dumps
from bytespike.wire.anthropic import CountTokensRequest

log = logging.getLogger("bytespike.messages")
SURFACE = "anthropic"


async def count_tokens(request: Request) -> Response:
    """{input_tokens, estimated_credits}: the upstream's count where it has one, and the hold
    /v1/messages would place for the same body (``max_tokens`` defaults to the model's maximum)."""
    request_id = new_request_id()
    try:
        key = await auth.authenticate(request)
        raw = await read_body(request)
        body = parse_json_object(raw)
        access.note(model=body.get("model"))
        req = validated(CountTokensRequest, body)
        model = resolve_model(req.model)
        auth.authorize(key, model)
        local = estimate_input_tokens(body)
        sized = {**body, "max_tokens": req.max_tokens if req.max_tokens is not None else model.max_output_tokens}
        estimated = hold_credits(model, sized, input_tokens=local, cache_ttl=cache_ttl_hint(raw), at=time.time())
        wire = catalog().provider_of(model).wire
        input_tokens = await _upstream_count(model, body, request) if wire == "anthropic" else \
            await _gemini_count(model, body) if wire == "gemini" else None
        # No counting endpoint (Chat Completions), or it failed: the typical count, never the
        # hold's deliberately high estimate (the same prompt counted 5 on Claude, 26 elsewhere).
        return json_response(
            {"input_tokens": input_tokens if input_tokens is not None else count_input_tokens(body),
             "estimated_credits": estimated},
            request_id, estimated)
    except GatewayError as err:
        return error_response(err, SURFACE, request_id, 0)


async def _upstream_count(model: Model, body: dict[str, Any], request: Request) -> int | None:
    upstream_body = {k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
    upstream_body["model"] = model.upstream_model
    return await _count_upstream(model, "input_tokens", lambda account: claude.post(
        account, "/v1/messages/count_tokens", dumps(upstream_body).encode(), request.headers))


async def _gemini_count(model: Model, body: dict[str, Any]) -> int | None:
    """Gemini's own ``countTokens`` for the translated request (None: use the local count)."""
    from bytespike.providers import gemini
    from bytespike.translate import TranslationError, anthropic_request_to_gemini

    try:
        translated, _ = anthropic_request_to_gemini({**body, "model": model.upstream_model,
                                                     "max_tokens": body.get("max_tokens") or model.max_output_tokens})
    except TranslationError as exc:
        raise GatewayError(Kind.INVALID_REQUEST, exc.message, param=exc.param) from exc
    return await _count_upstream(model, "totalTokens",
                                 lambda account: gemini.count_tokens(account, model.upstream_model, translated))


async def _count_upstream(model: Model, field: str, send: Callable[[Any], Awaitable[Any]]) -> int | None:
    """The upstream's own count (``field`` of its answer); None when it cannot give one (the
    caller uses the local count), a client mistake the upstream found raised as such."""
    try:
        resp = await send(accounts_for(catalog().provider_of(model))[0])
        try:
            return int(json.loads(await resp.aread())[field])
        finally:
            await resp.aclose()
    except GatewayError as err:
        if err.kind is Kind.INVALID_REQUEST:
            raise
        log.warning("upstream token count failed (%s); using the local count", err.kind)
        return None
    except (ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------ models (both shapes)
def _anthropic_model(m: Model) -> dict[str, Any]:
    """Anthropic's model object, every field from the catalog: ``max_input_tokens`` (the context
    window clients size compaction with), ``max_tokens``, and ``capabilities`` in Anthropic's own
    shape (an object; the SDKs type it so), with the catalog's flat list kept as ``features``."""
    return {
        "id": m.id,
        "type": "model",
        "display_name": m.display_name,
        "description": f"{m.display_name} via ByteSpike ({m.provider})",
        "created_at": m.created_at,
        "max_input_tokens": m.input_limit,
        "max_tokens": m.max_output_tokens,
    }


def _anthropic_capabilities(m: Model) -> dict[str, Any]:
    def has(feature: str) -> dict[str, bool]:
        return {"supported": feature in m.capabilities}

    thinking = "thinking" in m.capabilities
    efforts = {e: {"supported": m.thinking in ("adaptive", "effort")} for e in ("low", "medium", "high", "xhigh", "max")}
    return {
        "batch": {"supported": False},
        "citations": {"supported": m.provider == "anthropic"},
        "code_execution": {"supported": False},
        "context_management": {"supported": False},
        "effort": {"supported": m.thinking in ("adaptive", "effort"), **efforts},
        "image_input": has("vision"),
        "pdf_input": has("pdf"),
        "server_tools": {"supported": False, "code_execution": {"supported": False}, "web_search": {"supported": False}},
        "structured_outputs": has("json_schema"),
        "thinking": {"supported": thinking, "types": {
            "adaptive": {"supported": thinking and m.thinking in ("adaptive", "effort")},
            "enabled": {"supported": thinking and m.thinking in ("budget", "switch", "effort")},
            "disabled": {"supported": not m.thinking_always_on},
            "between_tools": {"supported": thinking}}},
    }


def _created_epoch(m: Model) -> int:
    try:
        return int(time.mktime(time.strptime(m.created_at[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return 0


def _openai_model(m: Model) -> dict[str, Any]:
    return {"id": m.id, "object": "model", "created": _created_epoch(m), "owned_by": m.provider}


def _rates(price: Price) -> dict[str, int]:
    return {"input": price.input, "output": price.output, "cache_write_5m": price.cache_write_5m,
            "cache_write_1h": price.cache_write_1h, "cache_read": price.cache_read}


def _pricing(m: Model) -> dict[str, Any]:
    """Every price rule the gateway bills this model by, with where the numbers come from."""
    pricing: dict[str, Any] = {"unit": "credits per million tokens (1 credit = 1 micro-USD)"}
    if m.modality == "chat":
        pricing.update(_rates(m.price))
    if m.price_long is not None:
        pricing["long_context"] = {"prompt_tokens_over": m.price_long.threshold, **_rates(m.price_long.price)}
    if m.price_offpeak is not None:
        pricing["off_peak"] = {"peak_hours_utc": [w.label for w in m.price_offpeak.peak],
                               **_rates(m.price_offpeak.price)}
    if m.price_next is not None:
        effective = time.strftime("%Y-%m-%d", time.gmtime(m.price_next.effective))
        pricing["next"] = {"effective": effective, **_rates(m.price_next.price)}
    if m.unit_price is not None:
        pricing["per_unit"] = {"unit": m.unit_price.unit, "per": m.unit_price.per, "credits": dict(m.unit_price.rates)}
    if m.provenance is not None:
        pricing.update(source=m.provenance.source, as_of=m.provenance.as_of)
        if m.provenance.crosscheck:
            pricing["crosscheck"] = m.provenance.crosscheck
    return pricing


def _bytespike_extras(m: Model) -> dict[str, Any]:
    """ByteSpike's additions to both shapes: provider, status, capabilities and the catalog's prices."""
    extras: dict[str, Any] = {
        "provider": m.provider,
        "modality": m.modality,
        "status": m.status,
        "capabilities": sorted(m.capabilities),
        "thinking": m.thinking,
        "thinking_always_on": m.thinking_always_on,
        "free_tier": m.free_tier,
        "context_window": m.context_window,
        "pricing": _pricing(m),
        "catalog_as_of": catalog().as_of,
    }
    if m.fallback:
        extras["fallback"] = m.fallback
    if m.retires_at:
        extras["retires_at"] = m.retires_at
    if m.provenance is not None:
        if m.provenance.unverified:
            extras["unverified"] = list(m.provenance.unverified)
        if m.provenance.notes:
            extras["notes"] = m.provenance.notes
    return extras


def _ordered_models() -> list[Model]:
    return sorted(catalog().models.values(), key=lambda m: (m.created_at, m.id), reverse=True)


def list_models(request: Request, surface: str) -> Response:
    request_id = new_request_id()
    models = _ordered_models()
    if surface == "openai":
        data = [{**_openai_model(m), **_bytespike_extras(m)} for m in models]
        return json_response({"object": "list", "data": data}, request_id, 0)
    q = request.query_params
    try:
        limit = max(1, min(1000, int(q.get("limit", "20"))))
    except ValueError:
        return error_response(GatewayError(Kind.INVALID_REQUEST, "limit: must be an integer", param="limit"),
                              surface, request_id)
    ids = [m.id for m in models]
    start, end = 0, len(models)
    if q.get("after_id") in ids:
        start = ids.index(q["after_id"]) + 1
    if q.get("before_id") in ids:
        end = ids.index(q["before_id"])
        start = max(start, end - limit)
    page = models[start:end][:limit]
    data = [_anthropic_shape(m) for m in page]
    return json_response(
        {
            "data": data,
            "has_more": start + len(page) < end,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        },
        request_id,
        0,
    )


def get_model(request: Request, surface: str, model_id: str) -> Response:
    request_id = new_request_id()
    model = catalog().model(model_id)
    if model is None:
        return error_response(GatewayError(Kind.NOT_FOUND, f"model: '{model_id}' not found"), surface, request_id)
    shape = {**_openai_model(model), **_bytespike_extras(model)} if surface == "openai" else _anthropic_shape(model)
    return json_response(shape, request_id, 0)


def _anthropic_shape(m: Model) -> dict[str, Any]:
    extras = _bytespike_extras(m)
    extras["features"] = extras.pop("capabilities")
    return {**_anthropic_model(m), **extras, "capabilities": _anthropic_capabilities(m)}
