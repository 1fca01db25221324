"""Same-protocol lanes: the client's bytes go upstream, the upstream's bytes come back.

Anthropic clients on Claude, Chat Completions and Responses clients on OpenAI(-format) models and
Gemini clients on Gemini models pass through: frames are forwarded as received, and only those
carrying usage, errors or the model's name are decoded (the final usage gets the credits). Each
is an explicit override of the (surface, wire) pair in the registry.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.billing import Usage
from bytespike.catalog import Model, catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind, anthropic_body, gemini_body, openai_body, redact
from bytespike.gateway.lanes.base import SSE_HEADERS, Lane, Parsed, Surface
from bytespike.gateway.pipeline import (
    Call,
    StreamTranslator,
    billed_json,
    call_headers,
    credits_for,
    hold_and_open,
    merge_usage,
    open_pooled,
    read_json,
    relay,
)
from bytespike.providers import anthropic as claude
from bytespike.providers import gemini
from bytespike.providers import openai as oai
from bytespike.providers.anthropic import error_from_event
from bytespike.providers.openai import error_from_chunk
from bytespike.sse import (
    GEMINI_PING,
    OPENAI_DONE,
    GeminiFrames,
    SSEEvent,
    anthropic_frame,
    dumps,
    gemini_json,
    openai_frame,
)
from bytespike.translate import (
    gemini_usage_to_anthropic,
    openai_usage_to_anthropic,
    responses_error,
    responses_usage_to_anthropic,
    restore_deepseek_reasoning,
    strip_foreign_thinking,
    strip_hub_markers,
)
from bytespike.translate.responses_common import (
    COMPACTION_PREFIX,
    ENVELOPE_PREFIX,
    compaction_context,
    decode_compaction,
)

# The output text of a content_block_delta, sized for abort billing without decoding the frame.
_DELTA_TEXT = re.compile(rb'"(?:text|thinking|partial_json)":\s*"((?:[^"\\]|\\.)*)"')


class MessageStarts:
    """Claude sends ``message_start`` once, but real traffic has repeats (recorded: the same start
    twice; a stream that restarts with a new message after a cut-off tool call). A repeat that
    restates the message before any content is dropped; a new message after content ends the
    stream as the upstream's failure (the client cannot un-receive the first one's blocks, and
    an SDK that resets on it would silently lose them). Shared by both surfaces' Claude lanes."""

    def __init__(self) -> None:
        self.message_id: str | None = None
        self.content = False

    def admit(self, data: dict[str, Any]) -> bool | GatewayError:
        """True: forward this message_start; False: drop it; an error: end the stream with it."""
        message_id = (data.get("message") or {}).get("id")
        if self.message_id is None:
            self.message_id = message_id or ""
            return True
        if not self.content or message_id == self.message_id:
            return False
        return GatewayError(Kind.UPSTREAM, "Upstream: the answer restarted mid-stream (a second message_start).")


class AnthropicPassthrough(StreamTranslator):
    def __init__(self, call: Call) -> None:
        self.call = call
        self.usage = Usage()
        self._usage_raw: dict[str, Any] = {}
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._rename = call.model.upstream_model != call.model.id
        self._starts = MessageStarts()
        self._delta_seen = False
        self._stop_reason: str | None = None

    def on_event(self, ev: SSEEvent) -> bytes:
        name = ev.event
        if name == "content_block_start":
            self._starts.content = True
        if name == "content_block_delta":
            self.delivered(sum(len(t) for t in _DELTA_TEXT.findall(ev.raw)))
            return ev.raw + b"\n\n"
        if name == "message_start":
            data = json.loads(ev.data)
            admitted = self._starts.admit(data)
            if admitted is not True:
                if isinstance(admitted, GatewayError):
                    self.upstream_error = admitted
                return b""
            message = data.get("message") or {}
            self._stop_reason = message.get("stop_reason")
            merge_usage(self._usage_raw, message.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            if self._rename:
                message["model"] = self.call.model.id
                return anthropic_frame("message_start", data)
            return ev.raw + b"\n\n"
        if name == "message_delta":
            self._delta_seen = True
            data = json.loads(ev.data)
            merge_usage(self._usage_raw, data.get("usage"))
            self.usage = Usage.from_anthropic(self._usage_raw)
            self.usage_final = True
            usage_out = data.setdefault("usage", {})
            usage_out["credits"] = credits_for(self.call, self.usage)
            return anthropic_frame("message_delta", data)
        if name == "message_stop":
            self.completed = True
            if not self._delta_seen and self._stop_reason is not None:
                # Claude answered whole in message_start (programmatic tool calling) and sent no
                # message_delta: one is added, so the client still gets the cumulative usage and
                # ``usage.credits`` every answer carries.
                usage = {**self._usage_raw, "credits": credits_for(self.call, self.usage)}
                delta = {"type": "message_delta", "delta": {"stop_reason": self._stop_reason, "stop_sequence": None},
                         "usage": usage}
                return anthropic_frame("message_delta", delta) + ev.raw + b"\n\n"
            return ev.raw + b"\n\n"
        if name == "error":
            try:
                data = json.loads(ev.data)
            except ValueError:
                data = {}
            self.upstream_error = error_from_event(data)
            return b""
        return ev.raw + b"\n\n"

    def finish(self, cost: int) -> bytes:
        return b""

    def error_frame(self, err: GatewayError) -> bytes:
        return anthropic_frame("error", anthropic_body(err, self.call.request_id))

    def ping_frame(self) -> bytes:
        return b'event: ping\ndata: {"type":"ping"}\n\n'


_NONEMPTY_CONTENT = re.compile(rb'"(?:reasoning_)?content":\s*"[^"]')
_DELTA_TEXT_OPENAI = re.compile(rb'"(?:reasoning_content|content|arguments)":\s*"((?:[^"\\]|\\.)*)"')


class OpenAIPassthrough(StreamTranslator):
    """OpenAI-format upstream -> OpenAI client: chunks forwarded as received.

    Only the usage chunk is decoded (to bill and add ``usage.credits``); it is withheld
    when the client did not ask for ``include_usage`` (the gateway always asks upstream).
    """

    def __init__(self, call: Call, *, client_wants_usage: bool) -> None:
        self.call = call
        self.client_wants_usage = client_wants_usage
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._rename = (f'"model":"{call.model.upstream_model}"'.encode(), f'"model":"{call.model.id}"'.encode()) \
            if call.model.upstream_model != call.model.id else None
        self._usage_chunk: dict[str, Any] | None = None

    def on_event(self, ev: SSEEvent) -> bytes:
        data = ev.data
        if data == "[DONE]":
            self.completed = True
            return b""
        raw = ev.raw
        if b'"choices":[]' in raw and b'"usage":{' not in raw and b'"error"' not in raw:
            return b""  # a metadata-only chunk (Azure's prompt_filter_results, empty id and object)
        if b'"usage":{' in raw or b'"error"' in raw:
            chunk = json.loads(data)
            if "error" in chunk and not chunk.get("choices"):
                self.upstream_error = error_from_chunk(chunk)
                return b""
            if chunk.get("usage"):
                self.usage = Usage.from_anthropic(openai_usage_to_anthropic(chunk["usage"]))
                self.usage_final = True
                if not chunk.get("choices"):
                    self._usage_chunk = chunk  # sent by finish(), with credits
                    return b""
                # DeepSeek puts the usage on its last content chunk; OpenAI's contract (and the
                # credits) is one final ``choices: []`` chunk, so the usage moves there.
                self._usage_chunk = {**{k: v for k, v in chunk.items() if k != "choices"}, "choices": []}
                chunk["usage"] = None
                self._delivered_from(raw)
                if self._rename is not None:
                    chunk["model"] = self.call.model.id
                return openai_frame(chunk)
        else:
            self._delivered_from(raw)
        if self._rename is not None:
            raw = raw.replace(*self._rename)
        return raw + b"\n\n"

    def _delivered_from(self, raw: bytes) -> None:
        if _NONEMPTY_CONTENT.search(raw) or b'"tool_calls"' in raw:  # not the role chunk's "content":""
            # Estimate from the delta text itself (the chunk's JSON envelope is not output).
            self.delivered(sum(len(t) for t in _DELTA_TEXT_OPENAI.findall(raw)))

    def finish(self, cost: int) -> bytes:
        out = b""
        if self.client_wants_usage and self._usage_chunk is not None:
            self._usage_chunk["usage"]["credits"] = cost
            if self._rename is not None:
                self._usage_chunk["model"] = self.call.model.id
            out = openai_frame(self._usage_chunk)
        return out + OPENAI_DONE

    def error_frame(self, err: GatewayError) -> bytes:
        return openai_frame(openai_body(err))

    def ping_frame(self) -> bytes:
        return b": ping\n\n"


class ClaudePassthrough(Lane):
    """Anthropic Messages clients on Claude: the client's bytes as sent (re-encoded only when the
    model name must change or foreign thinking must go), its beta headers forwarded."""

    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response:
        body, raw = parsed.body, parsed.raw
        if b"bsx:" in raw:  # thinking produced by another provider cannot be replayed to Claude
            body = strip_foreign_thinking(body)
            raw = dumps(body).encode()

        def payload(model: Model) -> bytes:
            return raw if body["model"] == model.upstream_model else dumps({**body, "model": model.upstream_model}).encode()

        upstream = await hold_and_open(call, lambda: open_pooled(
            call, lambda account, model: claude.post(account, "/v1/messages", payload(model), request.headers),
            parsed.session))
        headers = call_headers(call)
        if parsed.stream:
            return StreamingResponse(relay(call, upstream, AnthropicPassthrough(call), ping_interval=settings().ping_interval),
                                     media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
        message, usage = await read_json(call, upstream, lambda m: (m, Usage.from_anthropic(m.get("usage"))))
        if call.model.upstream_model != call.model.id:
            message["model"] = call.model.id
        return await billed_json(call, usage, message, headers)


class ChatPassthrough(Lane):
    """Chat Completions clients on OpenAI-format models: only ``model`` and the usage chunk are touched."""

    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response:
        body = dict(parsed.body)
        if catalog().provider_of(call.model).name == "deepseek":  # clients that do not echo reasoning_content (#16)
            body = restore_deepseek_reasoning(body)
        client_wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if parsed.stream:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        upstream = await hold_and_open(call, lambda: open_pooled(
            call, lambda account, model: oai.post(account, dumps({**body, "model": model.upstream_model}).encode()),
            parsed.session))
        headers = call_headers(call)
        if parsed.stream:
            translator = OpenAIPassthrough(call, client_wants_usage=client_wants_usage)
            return StreamingResponse(relay(call, upstream, translator, ping_interval=settings().ping_interval),
                                     media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
        completion, usage = await read_json(
            call, upstream, lambda c: (c, Usage.from_anthropic(openai_usage_to_anthropic(c.get("usage") or {}))))
        if completion.get("model") == call.model.upstream_model:
            completion["model"] = call.model.id
        return await billed_json(call, usage, completion, headers)


# ------------------------------------------------------------------ Responses clients on OpenAI models
_RESPONSES_DELTA = re.compile(rb'"delta":\s*"((?:[^"\\]|\\.)*)"')
_TERMINAL = (b'"type":"response.completed"', b'"type":"response.incomplete"')
_OPENING = (b'"type":"response.created"', b'"type":"response.in_progress"', b'"type":"response.queued"')
_FAILURE = (b'"type":"response.failed"', b'"type":"error"')


def _replayable(item: Any) -> bool:
    """An input item OpenAI can take back with ``store: false``: not another model's reasoning (our
    ``bsxr:`` envelopes, from Claude or Gemini earlier in a Codex session: OpenAI would refuse the
    whole request, ``invalid_encrypted_content``), and no reasoning item without its encrypted
    content (only a stored reasoning item can be referred to by id, and OpenAI stores none here)."""
    if not isinstance(item, dict) or item.get("type") != "reasoning":
        return True
    encrypted = item.get("encrypted_content")
    return isinstance(encrypted, str) and bool(encrypted) and not encrypted.startswith(ENVELOPE_PREFIX)


def _for_openai(item: Any) -> Any:
    """Our compaction items (a conversation compacted on another model) as the user context they
    stand for: OpenAI reads only its own compaction items."""
    if isinstance(item, dict) and item.get("type") == "compaction":
        summary = decode_compaction(item.get("encrypted_content"))
        if summary is not None:
            return {"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": compaction_context(summary)}]}
    return item


def openai_responses_body(body: dict[str, Any], history: list[Any], *, store: bool,
                          compact: bool = False) -> dict[str, Any]:
    """A Responses request as an OpenAI upstream gets it when the gateway owns the conversation's state.

    The stored ``previous_response_id`` conversation is sent as input items (the pool's OpenAI
    accounts are separate orgs: a response stored in one is unknown to the next); ``store`` is always
    false upstream (what the client asked to keep, the gateway keeps); a kept answer asks for its
    reasoning's encrypted content, so its reasoning items can be replayed statelessly later; what
    another model left in the conversation is made readable (_replayable, _for_openai). ``compact``:
    a ``/responses/compact`` body (it has no store or include). Returns ``body`` itself when nothing
    changes (its bytes then go upstream as sent).
    """
    own = body.get("input")
    items = [{"type": "message", "role": "user", "content": own}] if isinstance(own, str) and history else own
    changes: dict[str, Any] = {}
    if history:
        changes["input"] = [*history, *(items or ())]
    if "previous_response_id" in body:
        changes["previous_response_id"] = None
    if not compact:
        if body.get("store") is not False:
            changes["store"] = False
        include = body.get("include") if isinstance(body.get("include"), list) else []
        if store and "reasoning.encrypted_content" not in include:
            changes["include"] = [*include, "reasoning.encrypted_content"]
    input_items = changes.get("input", body.get("input"))
    if isinstance(input_items, list) and (not all(_replayable(i) for i in input_items)
                                          or COMPACTION_PREFIX.encode() in dumps(input_items).encode()):
        changes["input"] = [_for_openai(i) for i in input_items if _replayable(i)]
    if not changes:
        return body
    out = {**body, **changes}
    if out.get("previous_response_id") is None:
        out.pop("previous_response_id", None)
    return out


def echo_state(response: dict[str, Any], echo: dict[str, Any] | None) -> None:
    """Put back what the client asked in the response object's echo (``store``, ``previous_response_id``):
    the upstream saw the gateway-owned version of the request (openai_responses_body)."""
    if echo:
        response.update(echo)


class ResponsesPassthroughStream(StreamTranslator):
    """OpenAI's Responses events forwarded as received; the terminal event's usage gets the credits.

    ``echo`` (when the upstream request was reshaped for gateway-owned state) is put back on the
    response objects the events carry; ``response`` is the terminal event's, for storing."""

    def __init__(self, call: Call, echo: dict[str, Any] | None = None) -> None:
        self.call = call
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self.response: dict[str, Any] | None = None
        self._echo = echo
        self._failure_sent = False
        self._rename = (f'"model":"{call.model.upstream_model}"'.encode(), f'"model":"{call.model.id}"'.encode()) \
            if call.model.upstream_model != call.model.id else None

    def on_event(self, ev: SSEEvent) -> bytes:
        raw = ev.raw
        if any(marker in raw for marker in _TERMINAL):
            data = json.loads(ev.data)
            response = data.get("response") or {}
            self.usage = Usage.from_anthropic(responses_usage_to_anthropic(response.get("usage") or {}))
            self.usage_final = self.completed = True
            if isinstance(response.get("usage"), dict):
                response["usage"]["credits"] = credits_for(self.call, self.usage)
            if self._rename is not None:
                response["model"] = self.call.model.id
            echo_state(response, self._echo)
            self.response = response
            return b"event: " + str(data.get("type")).encode() + b"\ndata: " + dumps(data).encode() + b"\n\n"
        if self._echo and any(marker in raw for marker in _OPENING):
            data = json.loads(ev.data)
            if isinstance(data.get("response"), dict):
                echo_state(data["response"], self._echo)
                if self._rename is not None:
                    data["response"]["model"] = self.call.model.id
            return b"event: " + str(data.get("type")).encode() + b"\ndata: " + dumps(data).encode() + b"\n\n"
        if any(marker in raw for marker in _FAILURE):
            self.upstream_error = responses_error(json.loads(ev.data)).to_gateway_error(None)
            self._failure_sent = True  # the client gets OpenAI's own failure events
        elif b'.delta"' in raw:
            self.delivered(sum(len(t) for t in _RESPONSES_DELTA.findall(raw)))
        if self._rename is not None:
            raw = raw.replace(*self._rename)
        return raw + b"\n\n"

    def finish(self, cost: int) -> bytes:
        return b""

    def error_frame(self, err: GatewayError) -> bytes:
        if self._failure_sent:
            return b""
        from bytespike.gateway.lanes.responses_surface import error_code, frames

        return frames([{"type": "error", "sequence_number": 0, "code": error_code(err), "message": redact(err.message),
                        "param": err.param}])

    def ping_frame(self) -> bytes:
        return b": ping\n\n"


class ResponsesPassthrough(Lane):
    """Responses clients on OpenAI models: the client's request as sent (its built-in tools: OpenAI's
    own), only ``model`` renamed, and the conversation state the gateway's (openai_responses_body)."""

    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response:
        from bytespike.gateway.lanes.responses_surface import ResponsesState, keep_response

        state = parsed.state
        assert isinstance(state, ResponsesState)
        path = getattr(surface, "upstream_path", "/responses")  # the compaction surface: /responses/compact
        compact = path != "/responses"
        body = openai_responses_body(parsed.body, state.history, store=state.store, compact=compact)
        raw = parsed.raw if body is parsed.body and body.get("model") == call.model.upstream_model else None
        echo = {"store": state.store, "previous_response_id": state.previous} if not compact and \
            body is not parsed.body and (state.store or state.previous or "store" in parsed.body) else None

        def payload(model: Model) -> bytes:
            if raw is not None and model.upstream_model == call.model.upstream_model:
                return raw
            return dumps({**body, "model": model.upstream_model}).encode()

        upstream = await hold_and_open(call, lambda: open_pooled(
            call, lambda account, model: oai.post(account, payload(model), path), parsed.session))
        headers = call_headers(call)
        if parsed.stream:
            translator = ResponsesPassthroughStream(call, echo)
            frames = relay(call, upstream, translator, ping_interval=settings().ping_interval)
            return StreamingResponse(_kept(frames, translator, state, parsed.body), media_type="text/event-stream",
                                     headers={**headers, **SSE_HEADERS})
        document, usage = await read_json(
            call, upstream, lambda d: (d, Usage.from_anthropic(responses_usage_to_anthropic(d.get("usage") or {}))))
        if document.get("model") == call.model.upstream_model:
            document["model"] = call.model.id
        echo_state(document, echo)
        response = await billed_json(call, usage, document, headers)
        await keep_response(state, parsed.body, document)
        return response


async def _kept(frames: Any, translator: ResponsesPassthroughStream, state: Any, body: dict[str, Any]) -> Any:
    """The relayed stream; a kept response is stored before its terminal event reaches the client."""
    from bytespike.gateway.lanes.responses_surface import keep_response

    kept = False
    try:
        async for chunk in frames:
            if not kept and translator.response is not None:
                kept = True
                await keep_response(state, body, translator.response)
            yield chunk
    finally:
        await frames.aclose()


# ------------------------------------------------------------------ Gemini clients on Gemini models
_GEMINI_TEXT = re.compile(rb'"text":\s*"((?:[^"\\]|\\.)*)"')
_USAGE_METADATA = re.compile(rb'"usageMetadata"\s*:\s*\{\s*')
_HUB_MARKER = b"YnN4A"  # base64 of the hub marker's magic (translate/gemini_surface.py): our thinking markers


def with_gemini_credits(data: bytes, credits: int) -> bytes:
    """A chunk's bytes with ``"credits": n`` first in its ``usageMetadata``, every other byte as it came
    (signatures included). Checked by parsing; a chunk where the insertion would land elsewhere (a
    ``usageMetadata`` key inside function-call arguments) is re-encoded instead."""
    for match in reversed(list(_USAGE_METADATA.finditer(data))):
        at = match.end()
        comma = b"" if data[at:at + 1] == b"}" else b","
        out = data[:at] + b'"credits":' + str(credits).encode() + comma + data[at:]
        try:
            if json.loads(out)["usageMetadata"]["credits"] == credits:
                return out
        except (ValueError, KeyError, TypeError):
            pass
        break
    document = json.loads(data)
    document.setdefault("usageMetadata", {})["credits"] = credits
    return gemini_json(document)


class GeminiPassthroughStream(StreamTranslator):
    """Gemini's chunks forwarded as received, in the framing the client asked for (``alt=sse`` or the
    JSON array: Gemini is always asked for SSE). Every chunk is read for usage (cumulative, final
    with the ``finishReason``) and errors; the chunks after the finish get ``usageMetadata.credits``."""

    def __init__(self, call: Call, frames: GeminiFrames) -> None:
        self.call = call
        self.frames = frames
        self.usage = Usage()
        self.completed = False
        self.upstream_error: GatewayError | None = None
        self._finished = False
        self._rename = (f'"modelVersion":"{call.model.upstream_model}"'.encode(),
                        f'"modelVersion":"{call.model.id}"'.encode()) \
            if call.model.upstream_model != call.model.id else None

    def on_event(self, ev: SSEEvent) -> bytes:
        data = ev.data.encode()
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise ValueError("a Gemini stream chunk is a JSON object")
        if "error" in chunk and "candidates" not in chunk:
            self.upstream_error = gemini.error_from_chunk(chunk)
            return b""
        self._finished = self._finished or any(
            isinstance(c, dict) and c.get("finishReason") for c in chunk.get("candidates") or ())
        if b'"text"' in data or b'"functionCall"' in data:
            self.delivered(sum(len(t) for t in _GEMINI_TEXT.findall(data)))
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage = Usage.from_anthropic(gemini_usage_to_anthropic(chunk["usageMetadata"]))
            if self._finished:  # cumulative counts: final once the candidate has finished
                self.usage_final = True
                data = with_gemini_credits(data, credits_for(self.call, self.usage))
        if self._rename is not None:
            data = data.replace(*self._rename)
        return self.frames.chunk(data)

    def on_eof(self) -> None:
        # Gemini ends a stream by closing it; a finishReason before that means it finished.
        self.completed = self._finished

    def finish(self, cost: int) -> bytes:
        return self.frames.close()

    def error_frame(self, err: GatewayError) -> bytes:
        return self.frames.chunk(gemini_json(gemini_body(err))) + self.frames.close()

    def ping_frame(self) -> bytes:
        return GEMINI_PING


class GeminiPassthrough(Lane):
    """Gemini clients on Gemini models: the client's request bytes as sent (the model is in the URL),
    thought signatures and all; only our own thinking markers, from a chat that began on another
    model, are taken out (Gemini would refuse them as corrupted signatures)."""

    async def run(self, surface: Surface, parsed: Parsed, call: Call, request: Request) -> Response:
        raw = parsed.raw
        if _HUB_MARKER in raw:
            body, removed = strip_hub_markers(parsed.body)
            if removed:
                raw = dumps(body).encode()
        upstream = await hold_and_open(call, lambda: open_pooled(
            call, lambda account, model: gemini.post(account, model.upstream_model, raw, stream=parsed.stream),
            parsed.session))
        headers = call_headers(call)
        if parsed.stream:
            frames = GeminiFrames(sse=parsed.answer.sse)
            return StreamingResponse(relay(call, upstream, GeminiPassthroughStream(call, frames),
                                           ping_interval=settings().ping_interval),
                                     media_type=frames.media_type, headers={**headers, **SSE_HEADERS})
        document, usage = await read_json(
            call, upstream, lambda d: (d, Usage.from_anthropic(gemini_usage_to_anthropic(d.get("usageMetadata")))))
        if document.get("modelVersion") == call.model.upstream_model:
            document["modelVersion"] = call.model.id
        return await billed_json(call, usage, document, headers, surface.with_credits)
