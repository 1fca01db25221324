"""Gemini upstream adapter: ``generateContent`` / ``streamGenerateContent?alt=sse``.

The key goes in the ``x-goog-api-key`` header (never the URL, where it would be logged).
"""

from __future__ import annotations

import httpx

from bytespike.errors import GatewayError, Kind
from bytespike.providers import HTTP, Account, upstream_error
from bytespike.translate import gemini_path


async def post(account: Account, model: str, body: bytes, *, stream: bool) -> httpx.Response:
    client = HTTP.get()
    request = client.build_request(
        "POST",
        account.base_url + gemini_path(model, stream=stream),
        content=body,
        headers={"x-goog-api-key": account.api_key, "content-type": "application/json"},
    )
    try:
        response = await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise GatewayError(Kind.TIMEOUT, "The upstream did not answer in time.", retry_after="2") from exc
    except httpx.HTTPError as exc:
        raise GatewayError(Kind.UPSTREAM, f"Could not reach the upstream ({type(exc).__name__}).", retry_after="1") from exc
    if response.status_code >= 400:
        raw = await response.aread()
        await response.aclose()
        raise upstream_error(account.provider, response.status_code, raw, response.headers)
    return response


def error_from_chunk(data: dict) -> GatewayError:
    err = data.get("error") or {}
    return GatewayError(Kind.UPSTREAM, f"Upstream: {err.get('message') or 'stream error'}")
