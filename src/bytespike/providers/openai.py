"""OpenAI-format upstream adapter: OpenAI, DeepSeek and Doubao/Ark all speak Chat Completions;
OpenAI also speaks Responses (``/responses``), which carries its reasoning across turns.

Each base URL already ends where the provider's API root is (``…/v1``, ``api.deepseek.com``,
``…/api/v3``), so the paths are ``/chat/completions`` and ``/responses``.
"""

from __future__ import annotations

from bytespike.errors import GatewayError, Kind
from bytespike.providers import Account, UpstreamResponse, send_post


async def post(account: Account, body: bytes, path: str = "/chat/completions") -> UpstreamResponse:
    headers = {"authorization": f"Bearer {account.api_key}", "content-type": "application/json",
               "accept": "application/json"}
    return await send_post(account, account.base_url + path, body, headers)


def error_from_chunk(data: dict) -> GatewayError:
    err = data.get("error") or {}
    message = err.get("message") if isinstance(err, dict) else str(err)
    return GatewayError(Kind.UPSTREAM, f"Upstream: {message or 'stream error'}")
