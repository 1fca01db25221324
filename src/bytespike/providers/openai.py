"""OpenAI-format upstream adapter: OpenAI, DeepSeek and Doubao/Ark all speak Chat Completions.

Each base URL already ends where the provider's API root is (``…/v1``, ``api.deepseek.com``,
``…/api/v3``), so the path is always ``/chat/completions``.
"""

from __future__ import annotations

import httpx

from bytespike.errors import GatewayError, Kind, kind_for_upstream_status
from bytespike.providers import HTTP, Account, retry_after_of, upstream_message

_CODE_KIND = {
    "insufficient_quota": Kind.UPSTREAM,  # the gateway's provider account, not the caller's wallet
    "invalid_api_key": Kind.UPSTREAM,
    "rate_limit_exceeded": Kind.RATE_LIMIT,
    "context_length_exceeded": Kind.INVALID_REQUEST,
    "model_not_found": Kind.INVALID_REQUEST,
}


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
        raise error_from_response(response.status_code, raw, response.headers)
    return response


def error_from_response(status: int, raw: bytes, headers: httpx.Headers) -> GatewayError:
    message, parsed = upstream_message(raw)
    code = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        code = parsed["error"].get("code") or parsed["error"].get("type")
    kind = _CODE_KIND.get(str(code), kind_for_upstream_status(status))
    if status in (401, 403) or (status == 402):
        kind = Kind.UPSTREAM
        text = "The upstream provider rejected the gateway's account (credentials or balance)."
    elif message:
        text = f"Upstream: {message}"
    else:
        text = f"The upstream answered HTTP {status} with a non-JSON body."
    keep_status = status if kind is Kind.INVALID_REQUEST and status in (400, 404, 422) else None
    return GatewayError(kind, text, retry_after=retry_after_of(headers), status=keep_status)


def error_from_chunk(data: dict) -> GatewayError:
    err = data.get("error") or {}
    message = err.get("message") if isinstance(err, dict) else str(err)
    return GatewayError(Kind.UPSTREAM, f"Upstream: {message or 'stream error'}")
