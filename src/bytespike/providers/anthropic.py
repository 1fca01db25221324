"""Claude upstream adapter: the real Anthropic API or the simulator speaking its protocol.

The client's body is forwarded as sent (only ``model`` is rewritten when the public id
differs from the provider's), so thinking signatures and cache_control are untouched;
``anthropic-version`` and ``anthropic-beta`` are passed through.
"""

from __future__ import annotations

from collections.abc import Mapping

from bytespike.errors import GatewayError
from bytespike.providers import Account, UpstreamResponse, send_post

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


async def post(account: Account, path: str, body: bytes, client_headers: Mapping[str, str]) -> UpstreamResponse:
    """POST and return the response with headers read; raise a GatewayError for an error status."""
    return await send_post(account, account.base_url + path, body, _headers(account, client_headers))


def error_from_event(data: dict) -> GatewayError:
    """A mid-stream ``event: error`` (e.g. overloaded_error after the HTTP 200)."""
    from bytespike.translate.errors_map import anthropic_error

    err = data.get("error") or {}
    kind = anthropic_error(529 if err.get("type") == "overloaded_error" else 500, data).kind
    return GatewayError(kind, f"Upstream: {err.get('message') or 'stream error'}")
