"""``POST /v1/rerank`` in the Cohere/Jina shape, on Cohere (search units) and Jina (tokens).

Request: ``{model, query, documents: [str | {text}], top_n?, return_documents?}``.
Response: ``{id, model, results[{index, relevance_score, document?{text}}], usage{..., credits},
meta{billed_units}}``. Cohere bills search units (one query with up to 100 documents; a
document over ~500 tokens with the query counts once per chunk): the hold counts chunks with
the upper-bound token estimate, the settle uses ``meta.billed_units.search_units``. Jina bills
tokens: held at the estimate of (query + document) per document, settled at ``usage.total_tokens``.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.catalog import Model
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.media import common as c
from bytespike.providers import media as up

MODALITY = "rerank"
MAX_DOC_CHARS = 200_000


def _documents(body: dict[str, Any], model: Model) -> list[str]:
    docs = body.get("documents")
    if not isinstance(docs, list) or not docs:
        raise c.bad("'documents' must be a non-empty array of strings or {text} objects.", "documents")
    limit = model.media.max_documents
    if len(docs) > limit:
        raise c.bad(f"'documents' has {len(docs)} items; {model.id} takes at most {limit}.", "documents")
    out = []
    for i, doc in enumerate(docs):
        text = doc.get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            raise c.bad(f"'documents[{i}]' must be a string or an object with a string 'text'.", f"documents[{i}]")
        if len(text) > MAX_DOC_CHARS:
            raise c.bad(f"'documents[{i}]' is longer than {MAX_DOC_CHARS} characters.", f"documents[{i}]")
        out.append(text)
    return out


def held_units(model: Model, query: str, docs: list[str]) -> int:
    """Upper bound of what the upstream will bill, in the model's unit."""
    q = c.est_tokens(query)
    if c.unit_price(model).unit == "search":
        chunk = model.media.chunk_tokens
        chunks = sum(max(1, math.ceil((q + c.est_tokens(d)) / chunk)) for d in docs)
        return math.ceil(chunks / 100)
    return sum(q + c.est_tokens(d) for d in docs)


async def rerank(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        body = await c.read_json(request)
        model = c.resolve(body.get("model"), MODALITY)
        c.authorize(key, model, MODALITY)
        query = c.as_str(body, "query", required=True, max_len=20_000) or ""
        docs = _documents(body, model)
        top_n = c.as_int(body.get("top_n"), "top_n", 1, 100_000, default=len(docs))
        top_n = min(top_n, len(docs))
        return_documents = body.get("return_documents", False)
        if not isinstance(return_documents, bool):
            raise c.bad("'return_documents' must be a boolean.", "return_documents")
        price = c.unit_price(model)
        held = held_units(model, query, docs)
        ctx.estimated = price.cost(held)
        call = c.new_call(request, key, model, ctx.estimated)
        ctx.request_id = call.request_id
        provider, account = c.provider_of(model)
        upstream_body: dict[str, Any] = {"model": model.upstream_model, "query": query, "documents": docs, "top_n": top_n}
        path = "/v2/rerank" if provider.wire == "cohere" else "/v1/rerank"
        if provider.wire == "jina":
            upstream_body["return_documents"] = False
        response = await c.overlap_open(call, lambda: up.open_(account, provider.wire, "POST", path,
                                                               json_body=upstream_body), MODALITY)
        try:
            answer = await up.read_json(response)
            ranked = [(int(r["index"]), float(r["relevance_score"])) for r in answer["results"]]
        except (GatewayError, KeyError, TypeError, ValueError) as exc:
            await c.fail(call, exc)
            raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable rerank response.") from exc
        if price.unit == "search":
            billed = ((answer.get("meta") or {}).get("billed_units") or {}).get("search_units")
            units = int(billed) if isinstance(billed, int) else held
            usage_out: dict[str, Any] = {"search_units": units}
        else:
            total = (answer.get("usage") or {}).get("total_tokens")
            units = int(total) if isinstance(total, int) else held
            usage_out = {"total_tokens": units}
        cost = await c.settle_units(call, price.cost(units), c.units_usage(model, units))
        results = []
        for index, score in ranked:
            item: dict[str, Any] = {"index": index, "relevance_score": score}
            if return_documents and 0 <= index < len(docs):
                item["document"] = {"text": docs[index]}
            results.append(item)
        return ctx.json({"id": answer.get("id") or str(uuid.uuid4()), "model": model.id, "results": results,
                         "usage": {**usage_out, "credits": cost}, "meta": {"billed_units": usage_out}})
    except GatewayError as err:
        return ctx.error(err)
