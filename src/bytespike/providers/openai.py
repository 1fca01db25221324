"""OpenAI-format upstream adapter: OpenAI, DeepSeek and Doubao/Ark all speak Chat Completions.

Each base URL already ends where the provider's API root is (``…/v1``, ``api.deepseek.com``,
``…/api/v3``), so the path is always ``/chat/completions``.
"""

from __future__ import annotations

import httpx

from bytespike.errors import GatewayError, Kind
from bytespike.providers import HTTP, Account, upstream_error


async def post(account: Account, body: bytes) -> httpx.Response:
    client = HTTP.get()
    request = client.build_request(
        "POST",
        account.base_url + "/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {account.api_key}", "content-type": "application/json",
                 "accept": "application/json"},
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
    message = err.get("message") if isinstance(err, dict) else str(err)
    return GatewayError(Kind.UPSTREAM, f"Upstream: {message or 'stream error'}")
