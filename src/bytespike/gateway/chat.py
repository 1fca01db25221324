"""The OpenAI Chat Completions surface: /v1/chat/completions for every catalog model.

OpenAI-format upstreams pass through (only ``model`` and the usage chunk are touched);
Claude models are translated both ways by the pure translators.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.billing import Usage, cache_ttl_hint, estimate_openai_input_tokens, hold_credits
from bytespike.catalog import Model, catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth, precheck
from bytespike.gateway.crossing import SSE_HEADERS, translation_error
from bytespike.gateway.pipeline import (
    Call,
    billed_json,
    call_headers,
    hold_and_open,
    new_request_id,
    open_pooled,
    read_json,
    relay,
    request_id_for,
    session_id_of,
)
from bytespike.gateway.streams import AnthropicToOpenAI, OpenAIPassthrough, dumps_bytes
from bytespike.http import access
from bytespike.http.render import error_response, parse_json_object, read_body
from bytespike.providers import anthropic as claude
from bytespike.providers import openai as oai
from bytespike.providers import pool
from bytespike.sse import dumps
from bytespike.translate import (
    TranslationError,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
    openai_usage_to_anthropic,
    restore_deepseek_reasoning,
)
from bytespike.wire.anthropic import first_error
from bytespike.wire.openai import ChatRequest

SURFACE = "openai"


def _resolve(model_id: Any) -> Model:
    model = catalog().model(model_id) if isinstance(model_id, str) else None
    if model is None or model.modality != "chat":
        raise GatewayError(Kind.NOT_FOUND, f"The model '{model_id}' does not exist or you do not have access to it.",
                           param="model")
    return model


def _max_output(req: ChatRequest, model: Model) -> int:
    """The output the hold covers; every limit the client set must be within the model's maximum
    (OpenAI checks each of max_tokens and max_completion_tokens, whichever it then uses)."""
    for field, requested in (("max_completion_tokens", req.max_completion_tokens), ("max_tokens", req.max_tokens)):
        if requested is not None and requested > model.max_output_tokens:
            raise GatewayError(Kind.INVALID_REQUEST,
                               f"{field} is too large: {requested}. This model supports at most "
                               f"{model.max_output_tokens} completion tokens.", param=field)
    return int(req.max_completion_tokens or req.max_tokens or model.max_output_tokens)


MAX_CHOICES = 128  # OpenAI's bound on `n`


def _choices(body: dict[str, Any]) -> int:
    """``n``: how many completions the upstream generates, each up to the output budget.

    The hold covers all of them (``n`` x the output budget); lanes that cannot produce more
    than one (Claude and Gemini, translated) refuse ``n`` > 1 in their translators.
    """
    n = body.get("n")
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
        raise GatewayError(Kind.INVALID_REQUEST, f"Invalid 'n': must be an integer from 1 to {MAX_CHOICES}.", param="n")
    return n


def _session(body: dict[str, Any]) -> str | None:
    """Stickiness: the caller's user / prompt_cache_key, or a hash of the system prompt."""
    user = body.get("prompt_cache_key") or body.get("user")
    system = [m.get("content") for m in body.get("messages", []) if isinstance(m, dict) and m.get("role") in ("system", "developer")]
    return pool.session_key(user if isinstance(user, str) else None, dumps(system).encode() if system else None)


async def chat_completions(request: Request) -> Response:
    request_id = new_request_id()
    estimated: int | None = 0
    try:
        key = await auth.authenticate(request)
        raw = await read_body(request)
        body = parse_json_object(raw)
        access.note(model=body.get("model"))
        try:
            req = ChatRequest.model_validate(body)  # the handlers read its typed values from here on
        except ValidationError as exc:
            param, message = first_error(exc)
            raise GatewayError(Kind.INVALID_REQUEST, message, param=param) from exc
        model = _resolve(req.model)
        auth.authorize(key, model)
        precheck.chat(req, model, catalog().provider_of(model))
        max_out = _max_output(req, model)
        input_tokens = estimate_openai_input_tokens(body)
        at = time.time()
        estimated = hold_credits(model, {"max_tokens": max_out * _choices(body)}, input_tokens=input_tokens,
                                 cache_ttl=cache_ttl_hint(raw), at=at)
        request_id, idempotent = request_id_for(key, request.headers.get("idempotency-key"))
        call = Call(request_id=request_id, surface=SURFACE, key=key, model=model, hold=estimated,
                    reservation_id=request_id, idempotent=idempotent, input_estimate=input_tokens, at=at,
                    request=request, session_id=session_id_of(request.headers))
        provider = catalog().provider_of(model)
        if provider.wire == "openai":
            if provider.name == "deepseek":  # clients that do not echo reasoning_content (issue #16)
                body = restore_deepseek_reasoning(body)
            return await _passthrough(call, body)
        wire = provider.wire
        if wire == "anthropic":
            return await _via_claude(request, call, body, max_out)
        from bytespike.gateway.gemini_lane import chat_via_gemini  # issue #4

        return await chat_via_gemini(request, call, body, max_out)
    except GatewayError as err:
        return error_response(err, SURFACE, request_id, estimated)


async def _passthrough(call: Call, body: dict[str, Any]) -> Response:
    stream = bool(body.get("stream"))
    client_wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    body["model"] = call.model.upstream_model
    if stream:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    upstream = await hold_and_open(call, lambda: open_pooled(
        call, lambda account, model: oai.post(account, dumps_bytes({**body, "model": model.upstream_model})),
        _session(body)))
    headers = call_headers(call)
    if stream:
        translator = OpenAIPassthrough(call, client_wants_usage=client_wants_usage)
        return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                 media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
    completion, usage = await read_json(
        call, upstream, lambda c: (c, Usage.from_anthropic(openai_usage_to_anthropic(c.get("usage") or {}))))
    completion["model"] = call.model.id if completion.get("model") == call.model.upstream_model else completion.get("model")
    return await billed_json(call, usage, completion, headers)


async def _via_claude(request: Request, call: Call, body: dict[str, Any], max_out: int) -> Response:
    style = "adaptive" if call.model.thinking == "adaptive" else "budget"
    try:
        upstream_body, names = openai_request_to_anthropic(body, default_max_tokens=max_out, thinking_style=style)
    except TranslationError as exc:
        raise translation_error(exc) from exc
    upstream_body["model"] = call.model.upstream_model
    stream = bool(body.get("stream"))
    upstream_body["stream"] = stream
    upstream = await hold_and_open(call, lambda: open_pooled(
        call, lambda account, model: claude.post(
            account, "/v1/messages", dumps_bytes({**upstream_body, "model": model.upstream_model}), {}),
        _session(body)))
    headers = call_headers(call)
    completion_id = "chatcmpl-" + call.request_id.removeprefix("req_")
    created = int(time.time())
    if stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        translator = AnthropicToOpenAI(call, completion_id=completion_id, created=created, include_usage=include_usage,
                                       names=names)
        return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                 media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
    completion, usage = await read_json(call, upstream, lambda m: (
        anthropic_response_to_openai(m, model=call.model.id, names=names, created=created),
        Usage.from_anthropic(m.get("usage"))))
    completion["id"] = completion_id
    return await billed_json(call, usage, completion, headers)
