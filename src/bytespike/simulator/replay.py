"""Replay real provider traffic as the upstream's answer (directive ``replay=DIR/NAME``).

The recordings (``tests/fixtures/recorded/upstream``: 149 responses from the real Anthropic,
Gemini, OpenAI and DeepSeek APIs, see its README) are the judge of the translators, not the
simulator's own planner: a test asks the simulator for ``replay=gemini/google-tool-call`` and the
gateway's wire adapter gets exactly the bytes Gemini sent. A ``.chunks.txt`` holds one SSE data
payload per line and is re-framed in the provider's own SSE framing (Anthropic's ``event:`` names
are each payload's ``type``; OpenAI-format streams end with ``data: [DONE]``, which the recorder
did not keep). A non-streaming request gets the ``.json`` body, or, when there is none or the test
asks ``replay_source=chunks``, the stream's chunks accumulated the way the provider's own
non-streaming answer carries them, so stream and non-stream can be compared on the same content.
An error recording (``*error*.json``) is sent with the status its body names.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bytespike.simulator.wire import RawResponse, SimError, json_response

# Which recording folders each simulated wire can answer with.
WIRE_DIRS = {"anthropic": ("anthropic",), "openai": ("openai-chat", "deepseek"), "gemini": ("gemini",),
             "openai-responses": ("openai-responses",)}
# The event that ends one response of a recorded stream (Anthropic's, OpenAI Responses').
_LAST_EVENTS = frozenset({"message_stop", "response.completed", "response.incomplete", "response.failed"})
_NAME = re.compile(r"^[a-z0-9-]+/[A-Za-z0-9._-]+$")
_ANTHROPIC_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                     "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                     "overloaded_error": 529}


def recordings_dir() -> Path:
    configured = os.environ.get("BYTESPIKE_SIM_RECORDINGS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "recorded" / "upstream"


@dataclass(frozen=True, slots=True)
class Recording:
    name: str
    lines: tuple[str, ...] | None  # the SSE data payloads as received (one recording has malformed JSON)
    body: Any  # the .json body, if recorded

    @property
    def chunks(self) -> tuple[Any, ...] | None:
        """The payloads parsed (a line that is not JSON stays a string)."""
        return None if self.lines is None else tuple(_parse(line) for line in self.lines)

    def parts(self) -> list[tuple[str, ...]]:
        """The stream split into the responses it holds. Some recordings are a multi-step exchange
        saved as one file (several Anthropic messages, each ending in ``message_stop``; several
        OpenAI responses, each ending in its terminal event); a real upstream sends one per HTTP
        response, so each part is replayed on its own."""
        if self.lines is None:
            return []
        parts: list[list[str]] = [[]]
        for line in self.lines:
            parts[-1].append(line)
            if _event_name(line) in _LAST_EVENTS:
                parts.append([])
        return [tuple(p) for p in parts if p]

    @property
    def body_is_error(self) -> bool:
        """The non-streamed body is an error body (a Responses answer carries ``"error": null``)."""
        body = self.body
        return isinstance(body, dict) and isinstance(body.get("error"), dict) \
            and not any(k in body for k in ("candidates", "choices", "content", "output"))

    @property
    def is_error(self) -> bool:
        """The recording is only an error body (no stream beside it)."""
        return self.lines is None and self.body_is_error


@lru_cache(maxsize=512)
def load(name: str) -> Recording:
    if not _NAME.match(name) or ".." in name:
        raise SimError(400, f"replay: {name!r} is not a recording name (DIR/NAME)", "invalid_request_error")
    base = recordings_dir() / name
    chunks_path, json_path = base.with_name(base.name + ".chunks.txt"), base.with_name(base.name + ".json")
    lines = tuple(line for line in chunks_path.read_text().splitlines() if line.strip()) \
        if chunks_path.exists() else None
    body = json.loads(json_path.read_text()) if json_path.exists() else None
    if lines is None and body is None:
        raise SimError(404, f"replay: no recording {name!r} under {recordings_dir()}", "not_found_error")
    return Recording(name, lines, body)


def _parse(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return line


def replay_response(name: str, wire: str, *, stream: bool, source: str | None, part: int = 1) -> RawResponse:
    """The recording as this wire's HTTP answer (stream or body)."""
    folder = name.split("/", 1)[0]
    if folder not in WIRE_DIRS.get(wire, ()):
        raise SimError(400, f"replay: {name!r} is {folder} traffic; this upstream speaks {wire}", "invalid_request_error")
    rec = load(name)
    if rec.is_error:
        return json_response(error_status(wire, rec.body), rec.body, [])
    parts = rec.parts()
    if rec.lines is not None and not 1 <= part <= len(parts):
        raise SimError(404, f"replay: {name!r} has {len(parts)} part(s), not {part}", "not_found_error")
    lines = parts[part - 1] if parts else None
    if stream:
        if lines is None:
            raise SimError(404, f"replay: {name!r} has no recorded stream", "not_found_error")
        return RawResponse(200, b"".join(frames(wire, lines)), [], "text/event-stream; charset=utf-8")
    if rec.body is not None and (source != "chunks" or lines is None) and part == 1:
        # an error body recorded beside a stream comes with its error status, as it did upstream
        return json_response(error_status(wire, rec.body) if rec.body_is_error else 200, rec.body, [])
    if wire == "openai-responses":
        failure = _responses_failure(tuple(_parse(line) for line in lines or ()))
        if failure is not None:  # the same failure, as the non-streamed request gets it
            return json_response(error_status(wire, failure), failure, [])
    return json_response(200, accumulate(wire, tuple(_parse(line) for line in lines or ())), [])


_TYPE = re.compile(r'"type"\s*:\s*"([A-Za-z_.]+)"')


def frames(wire: str, lines: tuple[str, ...]) -> list[bytes]:
    """Each payload, byte for byte as recorded, in the provider's SSE framing."""
    data = [line.encode() for line in lines]
    if wire in ("anthropic", "openai-responses"):  # named events (Responses: no [DONE] either)
        return [b"event: " + _event_name(line).encode() + b"\ndata: " + raw + b"\n\n" for line, raw in zip(lines, data, strict=True)]
    if wire == "gemini":
        return [b"data: " + raw + b"\r\n\r\n" for raw in data]
    return [*(b"data: " + raw + b"\n\n" for raw in data), b"data: [DONE]\n\n"]


def _event_name(line: str) -> str:
    parsed = _parse(line)
    if isinstance(parsed, dict) and isinstance(parsed.get("type"), str):
        return parsed["type"]
    match = _TYPE.search(line)  # malformed JSON: its first "type" is most likely its own
    return match.group(1) if match else "message"


def _responses_failure(events: tuple[Any, ...]) -> dict[str, Any] | None:
    """A Responses stream's failure as an error body (``{"error": {...}}``), or None."""
    for e in events:
        if not isinstance(e, dict):
            continue
        if e.get("type") == "error":
            nested = e.get("error") if isinstance(e.get("error"), dict) else e
            return {"error": {k: nested.get(k) for k in ("message", "type", "param", "code")}}
        if e.get("type") == "response.failed":
            error = (e.get("response") or {}).get("error") or {}
            return {"error": {"message": error.get("message"), "type": "server_error", "param": None,
                              "code": error.get("code")}}
    return None


def error_status(wire: str, body: Any) -> int:
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    if wire == "gemini" and isinstance(err.get("code"), int):
        return int(err["code"])
    if wire == "anthropic":
        return _ANTHROPIC_STATUS.get(str(err.get("type")), 400)
    return {"insufficient_quota": 429, "rate_limit_exceeded": 429}.get(str(err.get("code")), 400)


# ------------------------------------------------------------------ stream -> the provider's own body
def accumulate(wire: str, chunks: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    if wire == "anthropic":
        return _anthropic_message(chunks)
    if wire == "openai-responses":
        return _openai_response(chunks)
    if wire == "gemini":
        return _gemini_response(chunks)
    return _openai_completion(chunks)


def _anthropic_message(events: Any) -> dict[str, Any]:
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for ev in events:
        kind = ev.get("type")
        if kind == "message_start":
            message = dict(ev.get("message", {}))
            blocks = dict(enumerate(message.get("content") or ()))  # whole blocks, when sent there
        elif kind == "content_block_start":
            blocks[ev["index"]] = dict(ev.get("content_block") or {})
        elif kind == "content_block_delta":
            block, delta = blocks.setdefault(ev["index"], {}), ev.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "input_json_delta":
                partial[ev["index"]] = partial.get(ev["index"], "") + str(delta.get("partial_json") or "")
            elif dtype == "citations_delta":
                block.setdefault("citations", []).append(delta.get("citation"))
            else:
                for key, value in delta.items():
                    if key == "type":
                        continue
                    block[key] = (block.get(key) or "") + value if isinstance(value, str) and key != "signature" else value
        elif kind == "content_block_stop" and ev.get("index") in partial:
            raw = partial.pop(ev["index"])
            blocks[ev["index"]]["input"] = json.loads(raw) if raw.strip() else {}
        elif kind == "message_delta":
            message.update({k: v for k, v in (ev.get("delta") or {}).items()})
            usage = message.setdefault("usage", {})
            usage.update({k: v for k, v in (ev.get("usage") or {}).items() if v is not None})
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def _openai_response(events: Any) -> dict[str, Any]:
    """What OpenAI's non-streamed answer to the same response is: the terminal event's response
    object, its ``output`` the items the stream finished (hand-trimmed recordings leave it empty)."""
    done = [e["item"] for e in events if isinstance(e, dict) and e.get("type") == "response.output_item.done"]
    terminal = next((e["response"] for e in reversed(events) if isinstance(e, dict) and isinstance(e.get("response"), dict)
                     and e.get("type") in ("response.completed", "response.incomplete")), None)
    if terminal is None:
        first = next((e["response"] for e in events if isinstance(e, dict) and isinstance(e.get("response"), dict)), {})
        terminal = {**first, "status": "completed"}
    return {**terminal, "output": terminal.get("output") or done}


def _openai_completion(chunks: Any) -> dict[str, Any]:
    first = next((c for c in chunks if isinstance(c, dict) and c.get("id")), {})
    message: dict[str, Any] = {"role": "assistant", "content": None}
    calls: list[dict[str, Any]] = []
    at: dict[int, int] = {}  # a delta's index -> the call it continues (a new id there is a new call)
    finish, usage = None, None
    for c in chunks:
        if c.get("usage"):
            usage = c["usage"]
        for choice in c.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content", "refusal"):
                if isinstance(delta.get(key), str) and (delta[key] or message.get(key) is not None):
                    message[key] = (message.get(key) or "") + delta[key]
            for tc in delta.get("tool_calls") or ():
                index = int(tc.get("index", len(calls)))
                slot = calls[at[index]] if index in at else None
                if slot is None or (tc.get("id") and slot["id"] and tc["id"] != slot["id"]):
                    slot = {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
                    at[index] = len(calls)
                    calls.append(slot)
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    if calls:
        message["tool_calls"] = calls
    body: dict[str, Any] = {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
                            "model": first.get("model"),
                            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return body


def _gemini_response(chunks: Any) -> dict[str, Any]:
    parts: list[Any] = []
    out: dict[str, Any] = {}
    finish = None
    for c in chunks:
        for cand in c.get("candidates") or ():
            if cand.get("index", 0) != 0:
                continue
            parts.extend((cand.get("content") or {}).get("parts") or ())
            finish = cand.get("finishReason") or finish
        for key in ("usageMetadata", "modelVersion", "responseId", "promptFeedback"):
            if key in c:
                out[key] = c[key]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **out}
