"""Claude upstream adapter: the real Anthropic API or the simulator speaking its protocol.

The client's body is forwarded as sent (only ``model`` is rewritten when the public id
differs from the provider's), so thinking signatures and cache_control are untouched;
``anthropic-version`` and ``anthropic-beta`` are passed through.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bytespike.errors import GatewayError, Kind
from bytespike.providers import HTTP, Account, retry_after_of, upstream_message

PASSTHROUGH_HEADERS = ("anthropic-version", "anthropic-beta")
DEFAULT_VERSION = "2023-06-01"


def _headers(account: Account, client_headers: Mapping[str, str]) -> dict[str, str]:
    headers = {
        "x-api-key": account.api_key,
        "anthropic-version": client_headers.get("anthropic-version") or DEFAULT_VERSION,
        "content-type": "application/json",
        "accept": "application/json",
    }
    beta = client_headers.get("anthropic-beta")
    if beta:
        headers["anthropic-beta"] = beta
    return headers


async def post(account: Account, path: str, body: bytes, client_headers: Mapping[str, str]) -> httpx.Response:
    """POST and return the response with headers read; raise a GatewayError for an error status."""
    client = HTTP.get()
    request = client.build_request("POST", account.base_url + path, content=body, headers=_headers(account, client_headers))
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


_TYPE_KIND = {
    "invalid_request_error": Kind.INVALID_REQUEST,
    "authentication_error": Kind.UPSTREAM,  # the gateway's provider key, not the caller's
    "permission_error": Kind.UPSTREAM,
    "not_found_error": Kind.INVALID_REQUEST,
    "request_too_large": Kind.TOO_LARGE,
    "rate_limit_error": Kind.RATE_LIMIT,
    "api_error": Kind.API,
    "overloaded_error": Kind.OVERLOADED,
    "timeout_error": Kind.TIMEOUT,
    "billing_error": Kind.UPSTREAM,  # the gateway's provider account ran dry, not the caller's wallet
}


def error_kind(error_type: str | None, status: int) -> Kind:
    if error_type in _TYPE_KIND:
        return _TYPE_KIND[error_type]
    from bytespike.errors import kind_for_upstream_status

    return kind_for_upstream_status(status)


def error_from_response(status: int, raw: bytes, headers: httpx.Headers) -> GatewayError:
    message, parsed = upstream_message(raw)
    etype = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        etype = parsed["error"].get("type")
    kind = error_kind(etype, status)
    if kind is Kind.UPSTREAM and status in (401, 403):
        text = "The upstream provider rejected the gateway's credentials."
    elif message:
        text = f"Upstream: {message}"
    else:
        text = f"The upstream answered HTTP {status} with a non-JSON body."
    keep_status = status if kind is Kind.INVALID_REQUEST and status in (400, 404, 422) else None
    return GatewayError(kind, text, retry_after=retry_after_of(headers), status=keep_status)


def error_from_event(data: dict) -> GatewayError:
    err = data.get("error") or {}
    kind = error_kind(err.get("type"), 500)
    return GatewayError(kind, f"Upstream: {err.get('message') or 'stream error'}")
