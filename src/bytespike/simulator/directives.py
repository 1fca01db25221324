"""In-band test directives: ``[[sim key=value flag ...]]`` inside the last user turn.

Tests steer the simulator through the request text itself, so the directive survives
every hop the gateway makes (translation, failover, retries) without a side channel.
The "last user turn" is the trailing run of user messages (Anthropic, including text in
``tool_result`` blocks) or of user + ``tool`` messages after the last assistant message
(OpenAI). Several directives may appear; later keys win. Unknown keys are ignored, which
lets a test add a uniquifier (``[[sim status=503 fail_times=1 id=t42]]``) so
``fail_times`` counters of different tests never collide. Directives are stripped from
the text the reply quotes.

Keys (all optional):

* ``status=N``          fail before the first byte with N and the provider's error body.
* ``retry_after=S``     add ``retry-after: S`` to that error (429 also gets rate-limit headers).
* ``error_body=html``   error body is ``<html>502 Bad Gateway</html>`` (status 502 unless given).
* ``fail_times=N``      with ``status``/``error_body``: only the first N requests carrying this
                        exact directive text fail; later ones succeed (reset by ``/_sim/reset``).
* ``error_after=N``     stream: after N content deltas (text, thinking or tool-argument
                        fragments; at end of content if fewer) emit the provider's mid-stream
                        error and end. Non-streaming: 529 (Anthropic) / 500 (OpenAI).
* ``drop_after=N``      stream: after N content deltas abort the connection (no final event).
* ``delay_ms=N``        wait before the first byte (headers included).
* ``first_token_ms=N``  stream: headers + ``message_start``/role chunk at once, then wait N
                        before the first content delta. Non-streaming: added to the delay.
* ``interval_ms=N``     sleep between content deltas (non-streaming: N × (deltas − 1)).
* ``deltas=N``          split the reply text into exactly N deltas (text padded if shorter).
* ``words=N``           reply text is exactly N words.
* ``text=W``            reply text is W repeated ``words`` (default 8) times.
* ``oversize=N``        reply text of N bytes (still capped by max_tokens; 1 KiB deltas).
* ``tools=N``           N parallel tool calls (cycling through the request's tools).
* ``tool=NAME``         call only the request's tool NAME (with ``tools=N``; how client tests pick
                        a real tool of a real client, e.g. Claude Code's ``Read``).
* ``tool_input=B64``    the call's arguments: base64url of a JSON object (default: an example
                        built from the tool's schema).
* ``think``             produce thinking / ``reasoning_content`` even when not requested.
* ``stop=R``            force the stop reason (``max_tokens``, ``stop_sequence``, ``refusal``,
                        ``end_turn``, ``tool_use``…; OpenAI maps to length/stop/content_filter…).
* ``cached=N``          report N cached prompt tokens (OpenAI ``cached_tokens``; Anthropic
                        ``cache_read_input_tokens``).

Real-world timing (``simulator/timing.py``; production lengths are minutes, tests shorten them):

* ``think_ms=N``        stream: headers and the head at once, then N ms of silence before the first
                        content, as a reasoning model thinks (non-streaming: added to the wait).
* ``tool_arg_ms=N``     stream: N ms before each tool-argument fragment (slow argument streams).
* ``ping_ms=N``         during any such pause the upstream sends its own keep-alive every N ms, where
                        the provider does (Anthropic ``event: ping``, DeepSeek ``: keep-alive``).
* ``timing=realistic``  production-length defaults for the three: think 90 s, tool arguments 400 ms
                        a fragment, pings every 15 s (explicit keys override).

Recorded traffic (``simulator/replay.py``):

* ``replay=DIR/NAME``   answer with a recording of the real provider (``tests/fixtures/recorded/upstream``,
                        or ``BYTESPIKE_SIM_RECORDINGS``): ``NAME.chunks.txt`` for a stream, ``NAME.json``
                        (or the chunks accumulated) otherwise; an error recording is sent with its status.
* ``replay_part=K``     a recording of several responses (a multi-step exchange saved as one file,
                        split after each ``message_stop``): answer with the K-th (default 1).
* ``replay_source=chunks``  non-streaming: build the body from the stream's chunks even when a
                        ``.json`` exists (so stream and non-stream carry the same content).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DIRECTIVE_RE = re.compile(r"\[\[sim(?:\s+([^\[\]]*?))?\s*\]\]")

_INT_KEYS = frozenset(
    {"status", "fail_times", "error_after", "drop_after", "deltas", "words", "tools", "oversize", "cached",
     "replay_part"}
)
_MS_KEYS = frozenset({"delay_ms", "first_token_ms", "interval_ms", "think_ms", "tool_arg_ms", "ping_ms"})
_STR_KEYS = frozenset({"retry_after", "error_body", "stop", "text", "tool", "tool_input", "timing", "replay",
                       "replay_source"})
_FLAG_KEYS = frozenset({"think"})


@dataclass(slots=True)
class Directives:
    """Parsed directives; ``None`` means "not given" so defaults stay with the planner."""

    raw: str = ""
    status: int | None = None
    retry_after: str | None = None
    error_body: str | None = None
    fail_times: int | None = None
    error_after: int | None = None
    drop_after: int | None = None
    delay_ms: float = 0.0
    first_token_ms: float = 0.0
    interval_ms: float = 0.0
    deltas: int | None = None
    words: int | None = None
    tools: int | None = None
    think: bool = False
    stop: str | None = None
    text: str | None = None
    oversize: int | None = None
    cached: int | None = None
    tool: str | None = None
    tool_input: str | None = None
    think_ms: float | None = None
    tool_arg_ms: float | None = None
    ping_ms: float | None = None
    timing: str | None = None
    replay: str | None = None
    replay_source: str | None = None
    replay_part: int = 1
    unknown: dict[str, str] = field(default_factory=dict)

    @property
    def wants_failure(self) -> bool:
        """True when the request is asked to fail before the first byte."""
        return self.status is not None or self.error_body is not None


EMPTY = Directives()


def parse_directives(text: str) -> Directives:
    """Collect every ``[[sim ...]]`` in ``text``; later occurrences override earlier ones."""
    if "[[sim" not in text:
        return EMPTY
    matches = list(DIRECTIVE_RE.finditer(text))
    if not matches:
        return EMPTY
    d = Directives(raw=" ".join(m.group(0) for m in matches))
    for m in matches:
        for token in (m.group(1) or "").split():
            key, sep, value = token.partition("=")
            key = key.strip().lower()
            if key in _FLAG_KEYS:
                setattr(d, key, (not sep) or value.lower() not in ("0", "false", "no", "off"))
            elif key in _INT_KEYS:
                try:
                    setattr(d, key, int(value))
                except ValueError:
                    d.unknown[key] = value
            elif key in _MS_KEYS:
                try:
                    setattr(d, key, max(0.0, float(value)))
                except ValueError:
                    d.unknown[key] = value
            elif key in _STR_KEYS and sep:
                setattr(d, key, value)
            else:
                d.unknown[key] = value
    return d


def strip_directives(text: str) -> str:
    """The text a "model" would see: directives removed, whitespace collapsed."""
    if "[[sim" not in text:
        return text.strip()
    return " ".join(DIRECTIVE_RE.sub(" ", text).split())
