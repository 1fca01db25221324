"""Simulated rerank upstreams: Cohere ``/cohere/v2/rerank`` and Jina ``/jina/v1/rerank``.

Scores are deterministic: word overlap between query and document, with a hash tiebreak.
Cohere v2 returns ``results[{index, relevance_score}]`` and bills
``meta.billed_units.search_units`` (one unit = one query with up to 100 documents; a
document whose query+text exceeds 500 tokens counts once per 500-token chunk). Jina returns
``results[{index, relevance_score, document{text}}]`` and ``usage.total_tokens``.
Errors: Cohere ``{"id", "message"}``, Jina ``{"detail"}``.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import media_common as mc
from bytespike.simulator.state import SimState
from bytespike.simulator.tokens import tokens
from bytespike.simulator.wire import INVALID_JSON, json_response, read_recorded

CHUNK_TOKENS = 500
_WORD = re.compile(r"\w+")


def score(query: str, doc: str) -> float:
    q = set(_WORD.findall(query.lower()))
    d = set(_WORD.findall(doc.lower()))
    overlap = len(q & d) / (len(q) or 1)
    tiebreak = int(hashlib.sha256(f"{query}\n{doc}".encode()).hexdigest()[:6], 16) / 0xFFFFFF / 100
    return round(min(1.0, 0.05 + 0.9 * overlap + tiebreak), 6)


def _doc_text(doc: Any) -> str:
    return doc if isinstance(doc, str) else str((doc or {}).get("text", "")) if isinstance(doc, dict) else ""


def ranked(query: str, texts: list[str], top_n: int | None) -> list[tuple[int, float]]:
    out = sorted(((i, score(query, t)) for i, t in enumerate(texts)), key=lambda p: (-p[1], p[0]))
    return out[:top_n] if top_n else out


class RerankSimulator:
    """Cohere and Jina rerank, deterministic."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/cohere/v2/rerank", self.cohere, methods=["POST"]),
            Route("/jina/v1/rerank", self.jina, methods=["POST"]),
        ]

    async def _body(self, request: Request) -> tuple[dict[str, Any] | None, str | None, int]:
        body = await read_recorded(request, self.state)
        if not mc.has_key(request):
            return None, "invalid api token", 401
        if body is INVALID_JSON or not isinstance(body, dict):
            return None, "invalid request: body is not valid JSON", 400
        if not isinstance(body.get("query"), str) or not isinstance(body.get("documents"), list) or not body["documents"]:
            return None, "invalid request: query and a non-empty documents list are required", 400
        status = mc.forced_status(self.state, body["query"])
        if status:
            return None, "simulated upstream failure", status
        return body, None, 200

    async def cohere(self, request: Request) -> Response:
        body, message, status = await self._body(request)
        if body is None:
            return json_response(status, {"id": str(uuid.uuid4()), "message": message}, [])
        query = body["query"]
        texts = [_doc_text(d) for d in body["documents"]]
        chunks = sum(max(1, math.ceil((tokens(query) + tokens(t)) / CHUNK_TOKENS)) for t in texts)
        results = [{"index": i, "relevance_score": s} for i, s in ranked(query, texts, body.get("top_n"))]
        return json_response(200, {"id": str(uuid.uuid4()), "results": results,
                                   "meta": {"api_version": {"version": "2"},
                                            "billed_units": {"search_units": math.ceil(chunks / 100)}}}, [])

    async def jina(self, request: Request) -> Response:
        body, message, status = await self._body(request)
        if body is None:
            return json_response(status, {"detail": message}, [])
        query = body["query"]
        texts = [_doc_text(d) for d in body["documents"]]
        used = sum(tokens(query) + tokens(t) for t in texts)
        results = []
        for i, s in ranked(query, texts, body.get("top_n")):
            item: dict[str, Any] = {"index": i, "relevance_score": s}
            if body.get("return_documents", True):
                item["document"] = {"text": texts[i]}
            results.append(item)
        return json_response(200, {"model": body.get("model"), "usage": {"total_tokens": used}, "results": results}, [])
