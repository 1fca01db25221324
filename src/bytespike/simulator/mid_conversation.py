"""Anthropic's mid-conversation ``role: "system"`` turns, as the real Messages API checks them.

Kept apart from ``anthropic_proto.validate`` (which checks everything else) so the rule has one
home. What the API does (platform docs, "Mid-conversation system messages"): Claude Opus 4.8 and
later accept a ``system`` turn inside ``messages``; it must follow a user turn, be the last entry
or be followed by an assistant turn, never be first, never follow another system turn, and hold
only text. Older models refuse it with ``role 'system' is not supported on this model`` — the
wording Claude Code's fallback looks for before it resends the turn as a ``<system-reminder>``.
"""

from __future__ import annotations

from typing import Any

from bytespike.simulator.wire import SimError

# Models that predate mid-conversation system turns (substring match, as model ids carry dates).
_UNSUPPORTED = ("claude-3", "claude-haiku-4", "claude-sonnet-4", "claude-opus-4-0", "claude-opus-4-1",
                "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7")


def supports_mid_conversation_system(model: str) -> bool:
    return not any(p in model for p in _UNSUPPORTED)


def check_system_turn(model: str, messages: list[Any], i: int) -> None:
    """Raise the API's 400 for ``messages[i]`` (a ``system`` turn) when the API would refuse it."""
    def bad(message: str) -> SimError:
        return SimError(400, message, "invalid_request_error")

    if not supports_mid_conversation_system(model):
        raise bad(f"messages.{i}.role: role 'system' is not supported on this model")
    previous = messages[i - 1] if i > 0 and isinstance(messages[i - 1], dict) else None
    following = messages[i + 1] if i + 1 < len(messages) and isinstance(messages[i + 1], dict) else None
    if previous is None:
        raise bad(f"messages.{i}: a system message cannot be the first message; use the top-level `system` parameter")
    if previous.get("role") == "system":
        raise bad(f"messages.{i}: consecutive system messages are not allowed")
    if previous.get("role") != "user":
        raise bad(f"messages.{i}: a system message must follow a user message")
    if following is not None and following.get("role") != "assistant":
        raise bad(f"messages.{i}: a system message must be the last message or be followed by an assistant message")
    content = messages[i].get("content")
    blocks = [content] if isinstance(content, str) else content if isinstance(content, list) else None
    if not blocks:
        raise bad(f"messages.{i}.content: system messages must have non-empty content")
    for j, block in enumerate(blocks):
        if isinstance(block, str):
            if not block.strip():
                raise bad(f"messages.{i}.content: text content blocks must contain non-whitespace text")
        elif not isinstance(block, dict) or block.get("type") != "text" or not str(block.get("text") or "").strip():
            raise bad(f"messages.{i}.content.{j}: system messages may only contain non-empty text blocks")
