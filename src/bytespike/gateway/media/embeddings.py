"""``POST /v1/embeddings`` (OpenAI shape) on OpenAI, Gemini and Ark embedding models.

Priced per token. The hold is the local upper-bound count (bytes / 2.5; token-array input
is exact); the settle uses the upstream's ``usage.prompt_tokens`` where it reports one
(OpenAI, Ark) and the hold's count where it does not (Gemini's batchEmbedContents).
``dimensions`` and ``encoding_format=base64`` are native on OpenAI and done by the gateway
elsewhere (truncate + re-normalise, float32 little-endian base64), so every model answers
the same request shape.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.catalog import Model
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.media import common as c
from bytespike.providers import media as up
from bytespike.store.keys import KeyRecord

MODALITY = "embeddings"


def _inputs(body: dict[str, Any], model: Model) -> tuple[list[str] | None, list[list[int]] | None]:
    """(texts, token arrays): exactly one is set; validated against the model's limits."""
    raw = body.get("input")
    if raw is None:
        raise c.bad("Missing required parameter: 'input'.", "input")
    max_inputs = model.media.max_inputs
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise c.bad("'input' must be a non-empty string or array.", "input")
    if len(raw) > max_inputs:
        raise c.bad(f"'input' has {len(raw)} items; {model.id} takes at most {max_inputs} per request.", "input")
    if all(isinstance(x, str) for x in raw):
        for i, text in enumerate(raw):
            if not text:
                raise c.bad(f"'input[{i}]' is empty; every input must contain text.", f"input[{i}]")
        return raw, None
    if all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
        raw = [raw]
    if all(isinstance(x, list) and x and all(isinstance(t, int) and not isinstance(t, bool) for t in x) for x in raw):
        if model.provider != "openai":
            raise c.bad(f"Token-array input is only accepted by OpenAI models; send text to {model.id}.", "input")
        return None, raw
    raise c.bad("'input' must be a string, an array of strings, or token arrays.", "input")


def _dimensions(body: dict[str, Any], model: Model) -> int | None:
    if body.get("dimensions") is None:
        return None
    native = model.media.dimensions
    return c.as_int(body.get("dimensions"), "dimensions", model.media.min_dimensions, native)


async def create_embeddings(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        body = await c.read_json(request)
        model = c.resolve(body.get("model"), MODALITY)
        return ctx.json(await embed(request, key, model, body, ctx))
    except GatewayError as err:
        return ctx.error(err)


async def embed(request: Request, key: KeyRecord, model: Model, body: dict[str, Any], ctx: c.Ctx,
                gemini_fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The embeddings of an OpenAI-shaped body, held, called and settled: the answer with its usage
    and credits. Also the Gemini surface's embedContent / batchEmbedContents (``ctx.surface``), whose
    per-input ``taskType`` / ``title`` (``gemini_fields``) reach a Gemini model and no other."""
    c.authorize(key, model, MODALITY)
    texts, token_arrays = _inputs(body, model)
    dims = _dimensions(body, model)
    fmt = c.one_of(body.get("encoding_format"), "encoding_format", ("float", "base64"), "float")
    c.as_str(body, "user", max_len=256)
    count = len(texts or token_arrays or [])
    width = dims or model.media.dimensions
    if count * width * (6 if fmt == "base64" else 12) > c.BUFFERED_RESPONSE_LIMIT:
        raise c.bad(f"{count} embeddings of {width} dimensions exceed the 6 MB response limit; split the batch "
                    "or use encoding_format=base64 / fewer dimensions.", "input")
    held_tokens = sum(c.est_tokens(t) for t in texts) if texts else sum(len(t) for t in token_arrays or [])
    ctx.estimated = c.unit_price(model).cost(held_tokens)
    call = c.new_call(request, key, model, ctx.estimated, ctx.surface)
    ctx.request_id = call.request_id
    provider, account = c.provider_of(model)
    if provider.wire == "gemini":
        result, used = await _gemini(call, account, model, texts or [], dims, gemini_fields)
    else:
        result, used = await _openai_like(call, account, provider.wire, model, body, texts, token_arrays, dims, fmt)
    if used is None:
        used = held_tokens
    cost = await c.settle_units(call, c.unit_price(model).cost(used), c.units_usage(model, used, input_tokens=used))
    return {"object": "list", "data": _encode(result, fmt, dims, provider.wire, body), "model": model.id,
            "usage": {"prompt_tokens": used, "total_tokens": used, "credits": cost}}


def _encode(vectors: list[Any], fmt: str, dims: int | None, wire: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's data[] items; non-OpenAI vectors are truncated, re-normalised and encoded here."""
    out = []
    for i, vec in enumerate(vectors):
        if wire != "openai":
            if dims and len(vec) > dims:
                vec = c.normalize(vec[:dims])
            elif dims:
                vec = c.normalize(vec)
            if fmt == "base64":
                vec = c.floats_b64(vec)
        out.append({"object": "embedding", "index": i, "embedding": vec})
    return out


async def _openai_like(call: Any, account: Any, wire: str, model: Model, body: dict[str, Any], texts: list[str] | None,
                       token_arrays: list[list[int]] | None, dims: int | None,
                       fmt: str) -> tuple[list[Any], int | None]:
    if wire == "openai":  # pass-through: OpenAI does dimensions and base64 itself
        upstream_body = {k: v for k, v in body.items()
                         if k in ("input", "dimensions", "encoding_format", "user") and v is not None}
        upstream_body["model"] = model.upstream_model
    else:  # Ark: float only, no dimensions
        upstream_body = {"model": model.upstream_model, "input": texts, "encoding_format": "float"}
    response = await c.overlap_open(call, lambda: up.open_(account, wire, "POST", "/embeddings", json_body=upstream_body),
                                    MODALITY)
    try:
        answer = await up.read_json(response)
        vectors = [item["embedding"] for item in sorted(answer["data"], key=lambda d: d["index"])]
    except (GatewayError, KeyError, TypeError) as exc:
        await c.fail(call, exc)
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable embeddings response.") from exc
    usage = answer.get("usage") or {}
    used = usage.get("prompt_tokens") or usage.get("total_tokens")
    return vectors, int(used) if isinstance(used, int) else None


async def _gemini(call: Any, account: Any, model: Model, texts: list[str], dims: int | None,
                  fields: list[dict[str, Any]] | None = None) -> tuple[list[Any], None]:
    name = f"models/{model.upstream_model}"
    requests = [{"model": name, "content": {"parts": [{"text": t}]}, **({"outputDimensionality": dims} if dims else {}),
                 **(fields[i] if fields and i < len(fields) else {})} for i, t in enumerate(texts)]
    response = await c.overlap_open(
        call, lambda: up.open_(account, "gemini", "POST", f"/{name}:batchEmbedContents", json_body={"requests": requests}),
        MODALITY)
    try:
        answer = await up.read_json(response)
        vectors = [e["values"] for e in answer["embeddings"]]
    except (GatewayError, KeyError, TypeError) as exc:
        await c.fail(call, exc)
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable embeddings response.") from exc
    return vectors, None  # no usage reported: billed at the held (upper-bound) count
