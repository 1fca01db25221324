"""Origin markers for thinking that did not come from Claude.

Reasoning from OpenAI-format upstreams (DeepSeek, Ark, ...) has no Anthropic
signature. We still surface it as a ``thinking`` block, signed with a marker
``"bsx:" + base64url(json{"p": provider})`` so that later hops can tell where it came
from: it is echoed back as ``reasoning_content`` to the same provider, and stripped
before anything is sent to Claude (which would reject it: "Invalid signature").

Client surfaces with no thinking block of their own (Gemini's) carry whole hub thinking blocks
in one opaque *byte* string (:func:`pack_marker_bytes`: a magic prefix and zlib-compressed JSON),
read back with a decompression cap so a client cannot send a zip bomb.
"""

from __future__ import annotations

import base64
import json
import zlib
from functools import lru_cache
from typing import Any

MARKER_PREFIX = "bsx:"
BYTES_MAGIC = b"bsx\x00"
MAX_MARKER_BYTES = 16 * 1024 * 1024
"""A byte marker never inflates past this (request bodies are smaller than that anyway)."""


def pack_marker_bytes(payload: dict[str, Any]) -> bytes:
    """``payload`` as a byte marker: ``BYTES_MAGIC`` + zlib-compressed compact JSON."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return BYTES_MAGIC + zlib.compress(raw, 9)


def unpack_marker_bytes(data: bytes) -> dict[str, Any] | None:
    """The payload of a byte marker; None for anything else, garbage, or a zip bomb."""
    if not data.startswith(BYTES_MAGIC):
        return None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data[len(BYTES_MAGIC) :], MAX_MARKER_BYTES)
        if inflater.unconsumed_tail:
            return None  # larger than any request could be: refuse to inflate it
        payload = json.loads(raw)
    except (ValueError, zlib.error):
        return None
    return payload if isinstance(payload, dict) else None


@lru_cache(maxsize=64)
def origin_signature(provider: str) -> str:
    """The marker signature for thinking produced by ``provider``."""
    payload = json.dumps({"p": provider}, separators=(",", ":")).encode()
    return MARKER_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def signature_origin(signature: Any) -> str | None:
    """The provider a marker signature names; None for Claude's own (or missing) signatures,
    "" for a marker we cannot read."""
    if not isinstance(signature, str) or not signature.startswith(MARKER_PREFIX):
        return None
    return _marker_provider(signature)


@lru_cache(maxsize=256)
def _marker_provider(signature: str) -> str:
    raw = signature[len(MARKER_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError):
        return ""
    if isinstance(data, dict) and isinstance(data.get("p"), str):
        return data["p"]
    return ""


def is_claude_signature(signature: Any) -> bool:
    """True when a thinking signature may be valid for Claude (non-empty, not our marker)."""
    return isinstance(signature, str) and bool(signature) and not signature.startswith(MARKER_PREFIX)


def strip_foreign_thinking(req: dict) -> dict:
    """Copy of an Anthropic request without thinking blocks Claude would reject.

    For the Anthropic-client → Claude path (protocols.md assertion 6): thinking blocks
    whose signature is empty or one of our origin markers are removed; Claude's own
    ``thinking`` and ``redacted_thinking`` blocks are kept unmodified and in order. An
    assistant turn left empty is dropped (Anthropic merges the adjacent user turns).
    The input is returned as-is when nothing needs stripping.
    """
    messages = req.get("messages")
    if not isinstance(messages, list):
        return req
    changed = False
    out: list[Any] = []
    for msg in messages:
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, list) or msg.get("role") != "assistant":
            out.append(msg)
            continue
        kept = [
            b
            for b in content
            if not (
                isinstance(b, dict)
                and b.get("type") == "thinking"
                and not is_claude_signature(b.get("signature"))
            )
        ]
        if len(kept) == len(content):
            out.append(msg)
            continue
        changed = True
        if kept:
            out.append({**msg, "content": kept})
    if not changed:
        return req
    return {**req, "messages": out}
