"""Upstream calls for the modality endpoints (embeddings, rerank, images, audio, video).

Every modality provider speaks plain HTTP + JSON (or multipart) with its own auth header
and error body; this module owns those differences so the gateway handlers stay thin:
``open_`` sends a request on the shared pooled client and returns the streaming response
(errors raised as ``GatewayError`` before any byte reaches the client), ``call_json``
reads a JSON answer, ``download`` streams a result file from an absolute URL.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from bytespike.errors import GatewayError, Kind, kind_for_upstream_status
from bytespike.http.fetch_guard import Fetched, FetchRefused, fetch
from bytespike.providers import HTTP, Account, retry_after_of, upstream_message

# Upstream error codes that are the gateway's own account problem, or a client mistake.
_CODE_KIND = {
    "insufficient_quota": Kind.UPSTREAM,
    "invalid_api_key": Kind.UPSTREAM,
    "rate_limit_exceeded": Kind.RATE_LIMIT,
    "RESOURCE_EXHAUSTED": Kind.RATE_LIMIT,
    "model_not_found": Kind.INVALID_REQUEST,
}

log = logging.getLogger("bytespike.media")

Files = list[tuple[str, tuple[str, bytes, str]]]


def auth_headers(account: Account, wire: str) -> dict[str, str]:
    """Gemini takes ``x-goog-api-key``; OpenAI, Ark, Cohere and Jina take a bearer token."""
    if wire == "gemini":
        return {"x-goog-api-key": account.api_key}
    return {"authorization": f"Bearer {account.api_key}"}


def error_from_response(status: int, raw: bytes, headers: httpx.Headers) -> GatewayError:
    """Any modality provider's error body -> the gateway's vocabulary (client faults stay 4xx)."""
    message, parsed = upstream_message(raw)
    code: Any = None
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict):
            code = err.get("status") or err.get("code") or err.get("type")
        if message is None and isinstance(parsed.get("detail"), str):
            message = parsed["detail"]  # Jina / FastAPI-style bodies
    kind = _CODE_KIND.get(str(code), kind_for_upstream_status(status))
    if status in (401, 402, 403):
        kind = Kind.UPSTREAM
        text = "The upstream provider rejected the gateway's account (credentials or balance)."
    elif message:
        text = f"Upstream: {message}"
    else:
        text = f"The upstream answered HTTP {status}."
    keep_status = status if kind is Kind.INVALID_REQUEST and status in (400, 404, 422) else None
    return GatewayError(kind, text, retry_after=retry_after_of(headers), status=keep_status)


async def open_(
    account: Account,
    wire: str,
    method: str,
    path_or_url: str,
    *,
    json_body: Any = None,
    data: dict[str, Any] | None = None,
    files: Files | None = None,
    accept: str = "application/json",
) -> httpx.Response:
    """Send one request and return the (streaming) response; >= 400 raises ``GatewayError``."""
    client = HTTP.get()
    url = path_or_url if path_or_url.startswith("http") else account.base_url + path_or_url
    headers = {**auth_headers(account, wire), "accept": accept}
    kwargs: dict[str, Any] = {}
    if json_body is not None:
        kwargs["content"] = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        headers["content-type"] = "application/json"
    elif files is not None or data is not None:
        kwargs["data"] = data or {}
        kwargs["files"] = files or []
    request = client.build_request(method, url, headers=headers, **kwargs)
    try:
        response = await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise GatewayError(Kind.TIMEOUT, "The upstream did not answer in time.", retry_after="2") from exc
    except httpx.HTTPError as exc:
        raise GatewayError(Kind.UPSTREAM, f"Could not reach the upstream ({type(exc).__name__}).", retry_after="1") from exc
    if response.status_code >= 400:
        raw = await response.aread()
        await response.aclose()
        raise error_from_response(response.status_code, raw, response.headers)
    return response


async def read_json(response: httpx.Response) -> dict[str, Any]:
    """The whole body of an opened response as a JSON object (closing it either way)."""
    try:
        body = json.loads(await response.aread())
    except (ValueError, httpx.HTTPError) as exc:
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable response.") from exc
    finally:
        await response.aclose()
    if not isinstance(body, dict):
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unexpected response.")
    return body


async def call_json(account: Account, wire: str, method: str, path_or_url: str, **kwargs: Any) -> dict[str, Any]:
    return await read_json(await open_(account, wire, method, path_or_url, **kwargs))


async def download(url: str, account: Account | None, wire: str) -> Fetched:
    """Open a result file for streaming, through the SSRF guard (``http/fetch_guard.py``).

    The URL comes from the upstream, so it is checked like any untrusted URL: http(s) only,
    public addresses only (the provider's own configured origin excepted), redirects
    re-checked, size and time capped. Provider-hosted URLs (Gemini files) need the key;
    pre-signed URLs (Ark TOS) must not get it, so it is only sent to the provider's own
    origin (same scheme, host and port as its base URL), never across a redirect.
    """
    trusted = account.base_url if account is not None else None
    headers = auth_headers(account, wire) if account is not None else None
    try:
        response = await fetch(url, trusted_origin=trusted, headers=headers)
    except FetchRefused as exc:
        log.warning("refused to fetch a %s result URL on host %s: %s", wire, exc.host or "?", exc.reason)
        raise GatewayError(Kind.UPSTREAM, "The upstream named a result URL outside the gateway's fetch policy; "
                                          "it was not fetched.") from exc
    except httpx.HTTPError as exc:
        raise GatewayError(Kind.UPSTREAM, f"Could not fetch the result ({type(exc).__name__}).", retry_after="1") from exc
    if response.status_code >= 400:
        try:
            raw = await response.aread()
        except FetchRefused:
            raw = b""
        finally:
            await response.aclose()
        err = error_from_response(response.status_code, raw, response.headers)
        if response.status_code in (403, 404, 410):
            err = GatewayError(Kind.NOT_FOUND, "The result file is no longer available upstream (expired).")
        raise err
    if response.status_code >= 300:  # a redirect without a Location, or 304: nothing to stream
        await response.aclose()
        raise GatewayError(Kind.UPSTREAM, f"The upstream answered HTTP {response.status_code} for the result file.")
    return response
