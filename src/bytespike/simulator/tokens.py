"""Deterministic token arithmetic shared by every simulated provider.

Real tokenizers are model-specific and unavailable offline, so the simulator uses one
documented rule that tests (and the gateway's own estimator) can predict exactly:

* ``tokens(s) = 0`` for the empty string, else ``max(1, ceil(len(s.encode("utf-8")) / 4))``,
  applied to each text piece separately (a piece = one text block, one tool_use input
  JSON, one tool_result text, one tool definition JSON, one system string ...).
* every message costs ``MESSAGE_OVERHEAD`` (3) tokens on top of its content;
* every image (base64 or URL, Anthropic ``image`` or OpenAI ``image_url``) costs
  ``IMAGE_TOKENS`` (1600); a non-text ``document`` block costs the same;
* a tool definition costs ``tokens(compact_json(definition without cache_control))``;
* prior ``thinking`` / ``redacted_thinking`` blocks cost nothing (the real API drops
  them from the context window);
* output tokens = tokens(emitted thinking) + tokens(emitted text) + tokens(each tool
  call's arguments JSON).
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_OVERHEAD = 3
IMAGE_TOKENS = 1600


def tokens(text: str) -> int:
    """Token count of one text piece (see module docstring for the rule)."""
    if not text:
        return 0
    return max(1, -(-len(text.encode("utf-8")) // 4))


def compact_json(value: Any) -> str:
    """Serialize the way real providers emit tool arguments: no spaces, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Stable serialization (sorted keys) used for hashing and token counting of definitions."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def without_cache_control(block: dict[str, Any]) -> dict[str, Any]:
    """Copy of a block minus its cache_control marker (markers do not change content)."""
    if "cache_control" not in block:
        return block
    return {k: v for k, v in block.items() if k != "cache_control"}


def truncate_to_tokens(text: str, budget: int) -> str:
    """Longest prefix of ``text`` whose token count fits ``budget`` (cut on a UTF-8 boundary)."""
    if budget <= 0:
        return ""
    if tokens(text) <= budget:
        return text
    raw = text.encode("utf-8")[: budget * 4]
    return raw.decode("utf-8", errors="ignore")
