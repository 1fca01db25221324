"""Anthropic Messages clients on OpenAI-format models (OpenAI, DeepSeek, Doubao/Ark)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.billing import Usage
from bytespike.catalog import catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.gateway.pipeline import (
    Call,
    billed_json,
    call_headers,
    hold_and_open,
    open_pooled,
    read_json,
    relay,
)
from bytespike.gateway.streams import OpenAIToAnthropic, dumps_bytes
from bytespike.providers import openai as oai
from bytespike.providers import pool
from bytespike.translate import (
    TARGETS,
    TranslationError,
    anthropic_request_to_openai,
    openai_response_to_anthropic,
)

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def translation_error(exc: TranslationError) -> GatewayError:
    return GatewayError(Kind.INVALID_REQUEST, exc.message, param=exc.param)


async def messages_via_openai(request: Request, call: Call, body: dict[str, Any], input_tokens: int) -> Response:
    provider = catalog().provider_of(call.model)
    target = provider.name if provider.name in TARGETS else "openai"
    try:
        upstream_body, names = anthropic_request_to_openai(body, target=target)
    except TranslationError as exc:
        raise translation_error(exc) from exc
    upstream_body["model"] = call.model.upstream_model
    if target in ("deepseek", "ark") and "thinking" not in body:
        # Anthropic semantics: no `thinking` means none; DeepSeek (and Ark's auto mode) would think and bill for it.
        upstream_body["thinking"] = {"type": "disabled"}
    stream = bool(body.get("stream"))
    session = pool.session_key((body.get("metadata") or {}).get("user_id"), None)
    upstream = await hold_and_open(call, lambda: open_pooled(
        call, lambda account, model: oai.post(account, dumps_bytes({**upstream_body, "model": model.upstream_model})),
        session))
    headers = call_headers(call)
    message_id = "msg_" + call.request_id.removeprefix("req_")
    if stream:
        translator = OpenAIToAnthropic(call, message_id=message_id, names=names, input_tokens=input_tokens,
                                       provider=provider.name)
        return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                 media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
    message = await read_json(call, upstream, lambda c: openai_response_to_anthropic(
        c, model=call.model.id, names=names, provider=provider.name))
    message["id"] = message_id
    return await billed_json(call, Usage.from_anthropic(message.get("usage")), message, headers)
