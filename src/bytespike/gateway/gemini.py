"""The Gemini function's endpoints beside generateContent (a lane: gateway/lanes/gemini_surface.py).

- ``GET /v1beta/models`` and ``/v1beta/models/{model}``: the catalog in Google's ``Model`` shape
  (chat and embedding models; pageSize / pageToken as Google pages), ByteSpike's prices and
  capabilities under ``bytespike``.
- ``POST /v1beta/models/{model}:countTokens``: Gemini's own count for a Gemini model (the client's
  request forwarded), Claude's for Claude, a typical local count elsewhere, as ``count_tokens``
  does; with ``estimatedCredits``, the hold generateContent would place for the same request.
- ``POST /v1beta/models/{model}:embedContent`` / ``:batchEmbedContents``: the embeddings modality
  (gateway/media/embeddings.py: held, billed per token, failures free) in Google's shapes.

Every error is Google's ``{"error": {code, message, status}}``; a key in the query string
(``?key=``, as Google's curl examples send it) is refused on every path.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.billing import BYTES_PER_TOKEN_UPPER, estimate_input_tokens, hold_credits
from bytespike.billing.tokens import count_input_tokens
from bytespike.catalog import Model, catalog
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.lanes.base import translation_error
from bytespike.gateway.lanes.gemini_surface import resolve_model, speaks_gemini
from bytespike.gateway.pipeline import new_request_id
from bytespike.http import access
from bytespike.http.render import error_response, json_response, parse_json_object, read_body
from bytespike.protocols import SurfaceName
from bytespike.translate import (
    HubTarget,
    TranslationError,
    anthropic_count_to_gemini,
    gemini_count_request_to_anthropic,
    gemini_embed_request_to_openai,
    gemini_model,
    gemini_models_page,
    openai_embeddings_to_gemini,
)
from bytespike.translate.gemini_types import check_gemini_request_types

SURFACE = SurfaceName.GEMINI.value


# ------------------------------------------------------------------ models
def list_models(request: Request) -> Response:
    from bytespike.gateway.messages import _bytespike_extras, _ordered_models

    request_id = new_request_id()
    try:
        auth.refuse_url_credentials(request)
        q = request.query_params
        page = gemini_models_page(_ordered_models(), page_size=q.get("pageSize", q.get("page_size")),
                                  page_token=q.get("pageToken", q.get("page_token")), extras=_bytespike_extras)
        return json_response(page, request_id, 0)
    except TranslationError as exc:
        return error_response(translation_error(exc), SURFACE, request_id)
    except GatewayError as err:
        return error_response(err, SURFACE, request_id)


def get_model(request: Request, model: str) -> Response:
    from bytespike.gateway.messages import _bytespike_extras

    request_id = new_request_id()
    try:
        auth.refuse_url_credentials(request)
        found = catalog().model(model.removeprefix("models/"))
        body = gemini_model(found, extras=_bytespike_extras(found)) if found is not None else None
        if body is None:
            raise GatewayError(Kind.NOT_FOUND, f"models/{model} is not found for API version v1beta. Call ListModels "
                                               "to see the list of available models.")
        return json_response(body, request_id, 0)
    except GatewayError as err:
        return error_response(err, SURFACE, request_id)


# ------------------------------------------------------------------ countTokens
def _max_output(request: dict[str, Any], model: Model) -> int:
    from bytespike.gateway.lanes.gemini_surface import _field, _positive_int

    requested = _positive_int(_field(_field(request, "generationConfig"), "maxOutputTokens"))
    return min(requested or model.max_output_tokens, model.max_output_tokens)


async def count_tokens(request: Request, model_id: str) -> Response:
    """``{"totalTokens", "promptTokensDetails", "estimatedCredits"}`` (and the estimated_credits header)."""
    request_id = new_request_id()
    estimated: int | None = 0
    try:
        key = await auth.authenticate(request)
        access.note(model=model_id)
        raw = await read_body(request)
        body = parse_json_object(raw)
        name = model_id.removeprefix("models/")
        found = catalog().model(name)
        if found is not None and found.modality == "embeddings":
            return await _count_embedding(request_id, key, found, body)
        model = resolve_model(model_id, method="countTokens")
        auth.authorize(key, model)
        inner = body.get("generateContentRequest")
        generate = inner if isinstance(inner, dict) else body
        try:
            check_gemini_request_types(generate)  # Google's own type checks, on every model
        except TranslationError as exc:
            raise translation_error(exc) from exc
        try:
            hub = gemini_count_request_to_anthropic(body, model.id, target=HubTarget.of(model))
        except TranslationError as exc:
            if not speaks_gemini(model):
                raise translation_error(exc) from exc
            hub = None  # Gemini counts what the translator cannot read (never stricter than Gemini)
        local = estimate_input_tokens(hub) if hub else int(len(raw) / BYTES_PER_TOKEN_UPPER) + 16
        estimated = hold_credits(model, {"max_tokens": _max_output(generate, model)}, input_tokens=local,
                                 cache_ttl=None, at=time.time())
        count = await _upstream_count(model, generate, hub, request)
        if count is None:
            count = count_input_tokens(hub) if hub else local
        out = anthropic_count_to_gemini(count)
        out["estimatedCredits"] = estimated
        return json_response(out, request_id, estimated)
    except GatewayError as err:
        return error_response(err, SURFACE, request_id, estimated)


async def _upstream_count(model: Model, generate: dict[str, Any], hub: dict[str, Any] | None,
                          request: Request) -> int | None:
    """The provider's own count where it has one (Gemini: the client's request itself; Claude: the
    translated one); None for OpenAI-format models (no counting endpoint) or when it failed."""
    from bytespike.gateway.messages import _count_upstream
    from bytespike.gateway.messages import _upstream_count as claude_count

    wire = catalog().provider_of(model).wire
    if wire == "gemini":
        from bytespike.providers import gemini

        fields = {k: v for k, v in generate.items() if k in ("contents", "systemInstruction", "system_instruction",
                                                             "tools", "toolConfig", "tool_config", "generationConfig",
                                                             "generation_config", "cachedContent", "cached_content")}
        return await _count_upstream(model, "totalTokens",
                                     lambda account: gemini.count_tokens(account, model.upstream_model, fields))
    if wire == "anthropic" and hub is not None:
        return await claude_count(model, hub, request)
    return None


async def _count_embedding(request_id: str, key: Any, model: Model, body: dict[str, Any]) -> Response:
    """countTokens of an embedding model: the local count of the text it would embed."""
    from bytespike.gateway.media import common

    common.authorize(key, model, "embeddings")
    inner = body.get("generateContentRequest")
    contents = (inner if isinstance(inner, dict) else body).get("contents")
    texts = [p.get("text") for c in contents if isinstance(c, dict) for p in c.get("parts") or ()
             if isinstance(p, dict) and isinstance(p.get("text"), str)] if isinstance(contents, list) else []
    if not texts:
        raise GatewayError(Kind.INVALID_REQUEST, "* CountTokensRequest.contents: contents is not specified",
                           param="contents")
    tokens = sum(common.est_tokens(t) for t in texts)
    estimated = common.unit_price(model).cost(tokens)
    out = anthropic_count_to_gemini(tokens)
    out["estimatedCredits"] = estimated
    return json_response(out, request_id, estimated)


# ------------------------------------------------------------------ embedContent / batchEmbedContents
async def embed(request: Request, model_id: str, *, batch: bool) -> Response:
    """Google's embed methods on any embedding model, billed as ``POST /v1/embeddings`` is."""
    from bytespike.gateway.media import common
    from bytespike.gateway.media.embeddings import MODALITY
    from bytespike.gateway.media.embeddings import embed as embed_openai

    ctx = common.Ctx(surface=SURFACE)
    method = "batchEmbedContents" if batch else "embedContent"
    try:
        key = await auth.authenticate(request)
        access.note(model=model_id)
        body = parse_json_object(await read_body(request))
        model = common.resolve(resolve_model(model_id, modality=MODALITY, method=method).id, MODALITY)
        try:
            hub, fields = gemini_embed_request_to_openai(body, model.id, batch=batch)
        except TranslationError as exc:
            raise translation_error(exc) from exc
        gemini_fields = fields if speaks_gemini(model) else None
        answer = await embed_openai(request, key, model, hub, ctx, gemini_fields)
        return ctx.json(openai_embeddings_to_gemini(answer, batch=batch))
    except GatewayError as err:
        return ctx.error(err)
