"""Stop/finish reason mapping (protocols.md §3 table).

The rule that matters most: if the message contains a tool call, the reason is
``tool_use``/``tool_calls`` whatever the upstream said (litellm #34692), and it is
never ``tool_use``/``tool_calls`` when there is no tool call (CLIProxyAPI #3799).
"""

from __future__ import annotations

_A2O = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}

_O2A = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def anthropic_stop_to_openai(stop_reason: str | None, has_tool_use: bool) -> str:
    """Anthropic ``stop_reason`` → OpenAI ``finish_reason``."""
    if has_tool_use:
        return "tool_calls"
    return _A2O.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def openai_finish_to_anthropic(finish_reason: str | None, has_tool_use: bool) -> str:
    """OpenAI ``finish_reason`` → Anthropic ``stop_reason`` (unknown values → ``end_turn``)."""
    if has_tool_use:
        return "tool_use"
    return _O2A.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"
