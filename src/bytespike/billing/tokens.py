"""A typical input-token count for ``count_tokens`` where the upstream has no counting endpoint.

Not the hold's estimate (``estimate_input_tokens`` leans high on purpose, 2.5 bytes a token plus
fixed overheads, so a hold is never short): a count answers "how big is this prompt", and the
same prompt must not count 5 tokens on Claude and 26 elsewhere (issue #16, finding 5). The rule is
the common one for BPE tokenizers on English and code, ~4 UTF-8 bytes a token per text piece,
plus a few tokens a message for the role framing, images at Anthropic's ~1,600 ceiling; it is the
rule the upstream simulator counts with, so offline every provider agrees.
"""

from __future__ import annotations

import json
from typing import Any

BYTES_PER_TOKEN = 4
MESSAGE_FRAMING = 3
IMAGE_TOKENS = 1600


def _piece(text: str) -> int:
    return max(1, -(-len(text.encode()) // BYTES_PER_TOKEN)) if text else 0


def _block(block: Any) -> int:
    if isinstance(block, str):
        return _piece(block)
    if not isinstance(block, dict):
        return 0
    kind = block.get("type")
    if kind in ("thinking", "redacted_thinking"):
        return 0  # earlier turns' thinking is dropped from the context window
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source") if isinstance(block.get("source"), dict) else {}
        return _piece(source["data"]) if source.get("type") == "text" and isinstance(source.get("data"), str) else IMAGE_TOKENS
    if kind == "tool_use":
        return _piece(json.dumps(block.get("input"), separators=(",", ":"), ensure_ascii=False))
    if kind == "tool_result":
        content = block.get("content")
        return sum(_block(b) for b in content) if isinstance(content, list) else _block(content if isinstance(content, str) else "")
    text = block.get("text")
    return _piece(text) if isinstance(text, str) else 0


def count_input_tokens(request: dict[str, Any]) -> int:
    """Input tokens of an Anthropic-shaped request: system, messages, tool definitions."""
    total = 0
    system = request.get("system")
    if isinstance(system, str):
        total += _piece(system)
    elif isinstance(system, list):
        total += sum(_block(b) for b in system)
    for message in request.get("messages") or ():
        if not isinstance(message, dict):
            continue
        total += MESSAGE_FRAMING
        content = message.get("content")
        total += sum(_block(b) for b in content) if isinstance(content, list) else _block(content)
    for tool in request.get("tools") or ():
        if isinstance(tool, dict):
            clean = {k: v for k, v in tool.items() if k != "cache_control"}
            total += _piece(json.dumps(clean, separators=(",", ":"), ensure_ascii=False, sort_keys=True))
    return total
