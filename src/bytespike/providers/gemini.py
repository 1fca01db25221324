"""Gemini upstream adapter: ``generateContent`` / ``streamGenerateContent?alt=sse``.

The key goes in the ``x-goog-api-key`` header (never the URL, where it would be logged).
"""

from __future__ import annotations

import json

from bytespike.errors import GatewayError, Kind
from bytespike.providers import Account, UpstreamResponse, send_post
from bytespike.translate import gemini_path


async def post(account: Account, model: str, body: bytes, *, stream: bool) -> UpstreamResponse:
    headers = {"x-goog-api-key": account.api_key, "content-type": "application/json"}
    return await send_post(account, account.base_url + gemini_path(model, stream=stream), body, headers)


async def count_tokens(account: Account, model: str, request: dict) -> UpstreamResponse:
    """``models/{m}:countTokens`` for a translated generateContent body (system and tools count too)."""
    headers = {"x-goog-api-key": account.api_key, "content-type": "application/json"}
    body = json.dumps({"generateContentRequest": {"model": f"models/{model}", **request}}).encode()
    return await send_post(account, f"{account.base_url}/models/{model}:countTokens", body, headers)


def error_from_chunk(data: dict) -> GatewayError:
    err = data.get("error") or {}
    return GatewayError(Kind.UPSTREAM, f"Upstream: {err.get('message') or 'stream error'}")
