"""Hub (Anthropic Messages) stream events, built in one place.

Every upstream → hub stream translator (Chat Completions, Responses, Gemini) emits the same
event shapes; building them here keeps the shape one definition, so a field added to
``message_start`` or ``message_delta`` reaches every lane. Pure constructors, no state.
"""

from __future__ import annotations

Event = tuple[str, dict]


def message_start(message_id: str, model: str, usage: dict, *, output_tokens: int = 0) -> Event:
    """The opening event: an empty assistant message with the input usage known so far."""
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage["input_tokens"],
                    "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                    "cache_read_input_tokens": usage["cache_read_input_tokens"],
                    "output_tokens": output_tokens,
                },
            },
        },
    )


def block_start(index: int, block: dict) -> Event:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def block_delta(index: int, delta: dict) -> Event:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def block_stop(index: int) -> Event:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def message_end(stop_reason: str | None, stop_sequence: str | None, usage: dict) -> list[Event]:
    """The closing pair: stop reason with the final usage, then ``message_stop``."""
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": dict(usage),
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
