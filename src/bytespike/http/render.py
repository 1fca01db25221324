"""Rendering: request bodies in, errors and JSON out, identically on every function."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bytespike.config import settings
from bytespike.errors import GatewayError, Kind, error_body, error_headers, error_status
from bytespike.http.access import note
from bytespike.protocols import SurfaceName
from bytespike.sse import dumps

ESTIMATE_HEADER = "estimated_credits"


def base_headers(request_id: str, estimated: int | None) -> dict[str, str]:
    headers = {"request-id": request_id, "x-request-id": request_id}
    if estimated is not None:
        headers[ESTIMATE_HEADER] = str(estimated)
    return headers


def error_response(err: GatewayError, surface: str, request_id: str, estimated: int | None = 0) -> Response:
    """``err`` in the caller's protocol: its shape and status (``surface`` is a ``SurfaceName`` value)."""
    name = SurfaceName(surface)
    note(kind=err.kind.value, surface=name.value)  # for the rejected request's log record
    headers = {**base_headers(request_id, estimated), **error_headers(err)}
    return Response(dumps(error_body(err, name, request_id)), status_code=error_status(err, name), headers=headers,
                    media_type="application/json")


def json_response(body: Any, request_id: str, estimated: int | None, status: int = 200,
                  extra: dict[str, str] | None = None) -> Response:
    headers = base_headers(request_id, estimated)
    if extra:
        headers.update(extra)
    return Response(dumps(body), status_code=status, headers=headers, media_type="application/json")


def surface_for_shared_path(request: Request) -> str:
    """Shared paths (/v1/models, /v1/usage): Anthropic's shape for Anthropic SDK callers, Google's for
    Google's (``x-goog-api-key``, or a Gemini method: ``/v1/models/{model}:generateContent``)."""
    h, path = request.headers, request.url.path
    gemini_method = request.method == "POST" and path.startswith("/v1/models/") and ":" in path.rsplit("/", 1)[-1]
    if "x-goog-api-key" in h or gemini_method:  # a GET of a model id with a colon is not a Gemini method
        return "gemini"
    return "anthropic" if ("anthropic-version" in h or "x-api-key" in h) else "openai"


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused (413) past ``limit`` bytes: the function's payload limit
    (``MAX_BODY_BYTES``) unless an endpoint passes a smaller one. Checked on the declared
    length first, then counted as it streams (chunked bodies declare nothing)."""
    limit = min(limit, settings().max_body_bytes) if limit is not None else settings().max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise GatewayError(Kind.TOO_LARGE, f"Request body exceeds the {limit}-byte limit.")
        except ValueError as exc:
            raise GatewayError(Kind.INVALID_REQUEST, "Invalid Content-Length header.") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise GatewayError(Kind.TOO_LARGE, f"Request body exceeds the {limit}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Any JSON value, refused (400) when it is not JSON the providers parse: malformed, nested
    too deeply, or holding a lone surrogate. Python's parser accepts ``"\\ud800"`` alone; Anthropic
    answers "The request body is not valid JSON: no low surrogate in string" (claude-code #6508,
    #5324) and the gateway's own UTF-8 encoding of it would fail later (issue #15)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GatewayError(Kind.INVALID_REQUEST, f"Request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise GatewayError(Kind.INVALID_REQUEST, "Request body is nested too deeply.") from exc
    where = lone_surrogate(raw, body)
    if where is not None:
        raise GatewayError(Kind.INVALID_REQUEST, "Request body is not valid JSON: a lone surrogate (\\ud800-"
                           f"\\udfff without its pair) in the string at {where or 'the top level'}.",
                           param=where or None)
    return body


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise GatewayError(Kind.INVALID_REQUEST, "Request body is empty; expected a JSON object.")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise GatewayError(Kind.INVALID_REQUEST, "Request body must be a JSON object.")
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate(raw: bytes, body: Any) -> str | None:
    """Where parsed JSON holds an unpaired surrogate (``""`` for the top level), else None. A cheap
    scan of the raw bytes for a surrogate escape comes first; the walk runs only when there is one."""
    if not _SURROGATE_ESCAPE.search(raw):
        return None
    return _lone_surrogate(body, "")


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding an unpaired surrogate, else None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(node, dict):
            for key, item in node.items():
                child = f"{where}.{key}" if where else str(key)
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return where or "a key"
                stack.append((item, child))
        elif isinstance(node, list):
            stack.extend((item, f"{where}.{i}") for i, item in enumerate(node))
    return None
