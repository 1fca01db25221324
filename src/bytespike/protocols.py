"""The protocols a request crosses: its client's (the surface) and its upstream's (the wire).

Enums, matched exhaustively wherever behaviour depends on them (``assert_never``), so a new
surface or wire cannot silently borrow another's error shape or framing: the type checker and
the tests that walk every member find the places it must be handled.
"""

from __future__ import annotations

from enum import StrEnum


class SurfaceName(StrEnum):
    """The protocol a client speaks to the gateway. The values are stored on reservations and usage rows."""

    ANTHROPIC = "anthropic"  # Anthropic Messages (the hub shape)
    OPENAI_CHAT = "openai"  # OpenAI Chat Completions
    OPENAI_RESPONSES = "responses"  # OpenAI Responses
    GEMINI = "gemini"  # Google's generateContent


class WireName(StrEnum):
    """The protocol the gateway speaks to an upstream (a catalog provider's ``wires``)."""

    ANTHROPIC = "anthropic"
    OPENAI_CHAT = "openai"
    OPENAI_RESPONSES = "openai-responses"
    GEMINI = "gemini"
