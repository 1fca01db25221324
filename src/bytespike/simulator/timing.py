"""Real-world upstream timing: silent reasoning, slow tool-argument streams, upstream pings.

The last review found every stream that paused 10 s died: the simulator answered at once, so no
test ever waited. Real upstreams do not: a reasoning model sends its headers, then nothing for
minutes while it thinks (OpenAI reasoning models, Claude with ``display: omitted``, DeepSeek);
tool arguments stream a fragment at a time, slowly when they are long; and some providers fill
the silence with their own keep-alive (Anthropic ``event: ping``, DeepSeek ``: keep-alive``
comments), others send nothing at all (OpenAI, Gemini, Ark). Selectable per request by directive
(``think_ms``, ``tool_arg_ms``, ``ping_ms``, ``timing=realistic``; ``directives.py``).

``paced`` wraps a protocol's finished byte stream (after ``drive_stream``), so protocol modules
stay descriptions of frames; each protocol passes a classifier saying which chunk is the first
content and which carries tool arguments.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import Enum

from bytespike.simulator.directives import Directives


class Chunk(Enum):
    OTHER = 0  # head, structure, tail
    CONTENT = 1  # text, thinking or the start of a block: the model has started answering
    TOOL_ARGS = 2  # a fragment of a tool call's arguments (also content)


# Production lengths (``timing=realistic``): a long think, a slow argument stream, pings as
# Anthropic spaces them when idle. Tests pass explicit, shorter values.
REALISTIC_THINK_MS = 90_000.0
REALISTIC_TOOL_ARG_MS = 400.0
REALISTIC_PING_MS = 15_000.0


@dataclass(frozen=True, slots=True)
class Timing:
    think_ms: float = 0.0
    tool_arg_ms: float = 0.0
    ping_ms: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.think_ms or self.tool_arg_ms)


def timing_of(d: Directives) -> Timing:
    realistic = d.timing == "realistic"

    def pick(explicit: float | None, default: float) -> float:
        return explicit if explicit is not None else (default if realistic else 0.0)

    return Timing(pick(d.think_ms, REALISTIC_THINK_MS), pick(d.tool_arg_ms, REALISTIC_TOOL_ARG_MS),
                  pick(d.ping_ms, REALISTIC_PING_MS))


async def _pause(ms: float, ping_ms: float, ping: bytes | None) -> AsyncIterator[bytes]:
    """Wait ``ms``; where the provider pings, send its keep-alive every ``ping_ms`` meanwhile."""
    remaining = ms / 1000.0
    step = ping_ms / 1000.0 if ping is not None and ping_ms > 0 else remaining
    while remaining > 0:
        wait = min(step, remaining)
        await asyncio.sleep(wait)
        remaining -= wait
        if ping is not None and ping_ms > 0 and remaining > 0:
            yield ping


async def paced(chunks: AsyncIterator[bytes], d: Directives, classify: Callable[[bytes], Chunk],
                ping: bytes | None) -> AsyncIterator[bytes]:
    """``chunks`` with the directive's silences put where a real upstream has them."""
    timing = timing_of(d)
    if not timing.active:
        async for chunk in chunks:
            yield chunk
        return
    thought = False
    async for chunk in chunks:
        kind = classify(chunk)
        if kind is not Chunk.OTHER and not thought:
            thought = True
            async for keepalive in _pause(timing.think_ms, timing.ping_ms, ping):
                yield keepalive
        if kind is Chunk.TOOL_ARGS and timing.tool_arg_ms:
            async for keepalive in _pause(timing.tool_arg_ms, timing.ping_ms, ping):
                yield keepalive
        yield chunk


def nonstream_wait_ms(d: Directives, tool_fragments: int = 0) -> float:
    """What the same timing costs a non-streaming caller: the whole silence before the body."""
    timing = timing_of(d)
    return timing.think_ms + timing.tool_arg_ms * tool_fragments


# ------------------------------------------------------------------ classifiers per wire
def anthropic_chunk(chunk: bytes) -> Chunk:
    if b'"input_json_delta"' in chunk:
        return Chunk.TOOL_ARGS
    if chunk.startswith((b"event: content_block_start", b"event: content_block_delta")):
        return Chunk.CONTENT
    return Chunk.OTHER


def openai_chunk(chunk: bytes) -> Chunk:
    if b'"arguments":"' in chunk and b'"arguments":""' not in chunk:
        return Chunk.TOOL_ARGS
    if b'"tool_calls"' in chunk or b'"reasoning_content":"' in chunk or (
            b'"content":"' in chunk and b'"content":""' not in chunk):
        return Chunk.CONTENT
    return Chunk.OTHER


def gemini_chunk(chunk: bytes) -> Chunk:
    if b'"functionCall"' in chunk:
        return Chunk.TOOL_ARGS  # Gemini sends a call whole: the pause comes before it
    return Chunk.CONTENT if b'"parts"' in chunk else Chunk.OTHER
