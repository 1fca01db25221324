"""The Gemini surface's two lanes, byte level: what goes on the wire, read by Google's own parsers.

- Hub lane (``GeminiSink``, Claude / OpenAI-format models): any hub answer, its deltas split
  anywhere, in either framing (``alt=sse`` or the JSON array), cut into network reads anywhere
  and with keep-alives between frames, is read by google-genai's SSE reader and by Gemini CLI's
  (@google/genai 1.30's ``responseLineRE``) as chunks that hold the stream invariants
  (``check_gemini_chunks``) and assemble to the non-streamed answer with the billed credits;
  the array framing is one JSON array of the same chunks.
- Pass-through (``GeminiPassthroughStream``, Gemini models): any Gemini stream comes out with
  each chunk's bytes exactly as Gemini sent them (thought signatures and all) except the credits
  inserted into the final ``usageMetadata``; usage is read for billing, completion decided at EOF.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from google.genai._api_client import _iter_sse_lines, _RawJsonLineBuffer
from hypothesis import given
from hypothesis import strategies as st
from tests.property.test_gemini_surface_properties import (
    CLAUDE,
    DEEPSEEK,
    GEMINI,
    SETTINGS,
    _ctx,
    gemini_answers,
    hub_messages,
    splitters,
)
from tests.support.hub_events import message_events

from bytespike.billing import Usage
from bytespike.catalog import catalog
from bytespike.gateway.lanes.gemini_surface import GeminiAnswer, GeminiSink
from bytespike.gateway.lanes.passthrough import GeminiPassthroughStream, with_gemini_credits
from bytespike.gateway.pipeline import Call, credits_for
from bytespike.sse import GEMINI_PING, GeminiFrames, SSEParser, dumps
from bytespike.store.keys import KeyRecord
from bytespike.translate import (
    anthropic_response_to_gemini,
    assemble_gemini_chunks,
    check_gemini_chunks,
    gemini_usage_to_anthropic,
)

KEY = KeyRecord(digest="d", key_id="key_1", org_id="org", kind="master", member_id="m")
# @google/genai 1.30 (Gemini CLI 0.61): ``/^\s*data: (.*)(?:\n\n|\r\r|\r\n\r\n)/``; JavaScript's ``.``
# stops at \n, \r, U+2028 and U+2029.
JS_DATA_LINE = re.compile("^\\s*data: ([^\n\r\u2028\u2029]*)(?:\n\n|\r\r|\r\n\r\n)")


def _call(model: str) -> Call:
    m = catalog().model(model)
    assert m is not None
    return Call(request_id="req_prop", surface="gemini", key=KEY, model=m, hold=10**12, reservation_id="req_prop")


def google_genai_reads(reads: list[bytes]) -> list[dict[str, Any]]:
    """The chunks google-genai 3.6.1 yields for these network reads (its own line reader and buffer)."""
    out: list[dict[str, Any]] = []
    raw_buffer, data_buffer = _RawJsonLineBuffer(), []
    for line in _iter_sse_lines(iter(reads)):
        if not line:
            if data_buffer:
                out.append(json.loads("\n".join(data_buffer)))
                data_buffer = []
            continue
        if line.startswith("data: "):
            data_buffer.append(line[len("data: "):])
            continue
        chunk = raw_buffer.add_line(line)
        if chunk is not None:
            out.append(json.loads(chunk))  # what the SDK does with any other line: a JSON object, or it raises
    if data_buffer:
        out.append(json.loads("\n".join(data_buffer)))
    return out


def gemini_cli_reads(reads: list[bytes]) -> list[dict[str, Any]]:
    """The chunks @google/genai 1.30 yields: its buffer must start with a data line, whatever arrives."""
    out: list[dict[str, Any]] = []
    buffer = ""
    for read in reads:
        buffer += read.decode()
        while (match := JS_DATA_LINE.match(buffer)) is not None:
            out.append(json.loads(match.group(1)))
            buffer = buffer[match.end():]
    assert not buffer.strip(), f"Incomplete JSON segment at the end: {buffer[:80]!r}"
    return out


@st.composite
def network(draw: st.DrawFn, frames: list[bytes], *, pings: bool = True) -> list[bytes]:
    """The frames (with keep-alives between some of them), cut into reads anywhere."""
    stream = b"".join(f + (GEMINI_PING * draw(st.integers(0, 2)) if pings else b"") for f in frames)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=6)))
    bounds = [0, *[c for c in cuts if c < len(stream)], len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@SETTINGS
@given(st.data(), st.sampled_from([("anthropic", CLAUDE), ("deepseek", DEEPSEEK)]), st.booleans(), st.booleans())
def test_hub_lane_bytes_read_by_googles_parsers(data: st.DataObject, target: tuple[str, str], thoughts: bool,
                                                sse: bool) -> None:
    provider, model = target
    message = data.draw(hub_messages(provider))
    call = _call(model)
    sink = GeminiSink(GeminiAnswer(_ctx(model, thoughts), sse=sse), call)
    frames = [sink.feed([event]) for event in message_events(message, data.draw(splitters()))]
    frames.append(sink.finish([], 7))
    reads = data.draw(network([f for f in frames if f]))
    if sse:
        chunks = google_genai_reads(reads)
        assert gemini_cli_reads(reads) == chunks
    else:
        chunks = json.loads(b"".join(reads))
        assert isinstance(chunks, list)
    check_gemini_chunks(chunks)
    whole = anthropic_response_to_gemini(message, _ctx(model, thoughts), credits=7)
    whole["responseId"] = "msg_prop"
    assert assemble_gemini_chunks(chunks) == whole


@SETTINGS
@given(st.data(), gemini_answers(), st.booleans())
def test_pass_through_keeps_geminis_bytes(data: st.DataObject, answer: tuple[dict, list[dict]], sse: bool) -> None:
    _, chunks = answer
    call = _call(GEMINI)
    relay = GeminiPassthroughStream(call, GeminiFrames(sse=sse))
    upstream = b"".join(b"data: " + dumps(c).encode() + b"\r\n\r\n" for c in chunks)  # as Gemini frames them
    parser = SSEParser()
    out = b""
    for read in data.draw(network([upstream], pings=False)):
        out += b"".join(relay.on_event(ev) for ev in parser.feed(read))
    relay.on_eof()
    assert relay.completed and relay.usage_final
    usage = Usage.from_anthropic(gemini_usage_to_anthropic(chunks[-1]["usageMetadata"]))
    assert relay.final_usage() == usage
    out += relay.finish(credits_for(call, usage))
    got = google_genai_reads([out]) if sse else json.loads(out)
    assert len(got) == len(chunks)
    for sent, received in zip(chunks, got, strict=True):
        if "usageMetadata" in sent:  # the final chunk: the credits first in its usage, nothing else touched
            assert received["usageMetadata"].pop("credits") == credits_for(call, usage)
            assert with_gemini_credits(dumps(sent).encode(), credits_for(call, usage)).replace(
                f'"credits":{credits_for(call, usage)},'.encode(), b"") == dumps(sent).encode()
        assert received == sent
    if sse:  # byte-exact: each frame is Gemini's own JSON (the final one with the credits inserted)
        frames = [f for f in out.split(b"\r\n\r\n") if f]
        assert [f.removeprefix(b"data: ") for f in frames[:-1]] == [dumps(c).encode() for c in chunks[:-1]]


def test_line_separators_in_text_reach_gemini_cli() -> None:
    """U+2028/U+2029 in an answer (JSON may carry them raw) would end @google/genai's ``data: (.*)``
    early and stall Gemini CLI's stream; the hub lane sends them escaped."""
    text = "one\u2028two\u2029three"
    message = {"id": "msg_x", "type": "message", "role": "assistant", "content": [{"type": "text", "text": text}],
               "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 4}}
    sink = GeminiSink(GeminiAnswer(_ctx(CLAUDE, False), sse=True), _call(CLAUDE))
    out = b"".join(sink.feed([e]) for e in message_events(message)) + sink.finish([], 1)
    assert "\u2028".encode() not in out
    chunks = gemini_cli_reads([out])
    assert "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]) == text
