"""OpenAI models upstream through ``POST /v1/responses``: hub (Anthropic) ⇄ Responses.

Chat Completions carries no reasoning items, so an OpenAI model reached that way forgets
its reasoning between turns. Through Responses it keeps it: each ``reasoning`` item becomes
a hub thinking block whose signature is an OpenAI origin marker carrying the item's id and
``encrypted_content`` (see :mod:`.responses_common`), and the marker turns back into the
exact item on the next request (``include: ["reasoning.encrypted_content"]``, ``store:
false``: the gateway stays stateless). Claude's thinking and other providers' reasoning are
never sent to OpenAI.

``anthropic_request_to_responses`` builds the body; ``ResponsesToAnthropicStream`` turns
Responses SSE events into hub events one at a time; ``responses_to_anthropic`` runs that same
machine over a whole ``response`` object, so streamed and non-streamed answers are the same
blocks. Mid-stream failures (``error``, ``response.failed``) become the gateway's error
vocabulary through :func:`responses_error`. See docs/MAPPING.md ("OpenAI Responses").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import hub_events
from . import hub_request as hub
from .content import data_uri, dump_arguments
from .errors import TranslationError
from .errors_map import UpstreamError, openai_error
from .hub_events import Event
from .hub_request import message_param as _param
from .hub_request import text_or_empty as _s
from .invariants import assemble_anthropic_events
from .names import ToolNameMap, safe_tool_id
from .requests import OPENAI_TOOL_CHOICE, _strict_compatible, budget_to_effort
from .responses import anthropic_message_id
from .responses_common import (
    openai_reasoning_signature,
    read_openai_reasoning_signature,
    responses_usage_to_anthropic,
    split_summary,
    status_to_stop,
)

WRAPPER_NAMES = frozenset({"parallel", "multi_tool_use.parallel"})

MIN_OUTPUT_TOKENS = 16
"""OpenAI refuses ``max_output_tokens`` below 16 ("integer below minimum value")."""

_EFFORT = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}
_MAX_IDENTIFIER = 64


@dataclass(slots=True)
class ResponsesWireContext:
    """What translating the answer needs to know about the request.

    ``thinking``: the client enabled thinking, so reasoning items become thinking blocks
    (without it they are left out, as Claude sends no thinking unasked). ``stop_sequences``:
    Responses has no ``stop``, so the stream translator ends the text at the first match.
    ``declared``: the upstream names of the request's tools (a call to an undeclared
    ``parallel`` wrapper is unwrapped, see :class:`ResponsesToAnthropicStream`).
    """

    model: str
    names: ToolNameMap = field(default_factory=ToolNameMap)
    thinking: bool = False
    stop_sequences: list[str] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


# =====================================================================================
# Request: hub → Responses
# =====================================================================================


def _media_part(block: dict, param: str) -> dict:
    """A hub image/document block → a Responses input content part."""
    source = block.get("source")
    if not isinstance(source, dict):
        raise TranslationError(f"{block.get('type')} block needs a source", param)
    stype = source.get("type")
    if block.get("type") == "image":
        if stype == "base64":
            url = data_uri(_s(source.get("media_type")) or "image/png", _s(source.get("data")))
        elif stype == "url":
            url = _s(source.get("url"))
        else:
            raise TranslationError(f"image source type {stype!r} is not supported by this model", param)
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    title = block.get("title")
    if stype == "text":
        text = _s(source.get("data"))
        return {"type": "input_text", "text": f"{title}\n\n{text}" if title else text}
    if stype == "content":
        texts = [_s(c.get("text")) for c in source.get("content") or () if isinstance(c, dict)]
        text = "\n\n".join(t for t in texts if t)
        return {"type": "input_text", "text": f"{title}\n\n{text}" if title else text}
    filename = title if isinstance(title, str) and title else "document.pdf"
    if stype == "base64":
        media = _s(source.get("media_type")) or "application/pdf"
        return {
            "type": "input_file",
            "filename": filename,
            "file_data": data_uri(media, _s(source.get("data"))),
        }
    if stype == "url":
        return {"type": "input_file", "file_url": _s(source.get("url"))}
    raise TranslationError(f"document source type {stype!r} is not supported by this model", param)


def _search_result_text(block: dict) -> str:
    parts = [_s(block.get("title")), _s(block.get("source"))]
    parts += [_s(c.get("text")) for c in block.get("content") or () if isinstance(c, dict)]
    return "\n".join(p for p in parts if p)


def _tool_output(block: dict, param: str) -> str | list[dict]:
    """A tool_result's content → ``function_call_output.output`` (string, or parts with media)."""
    content = block.get("content")
    parts: list[dict] = []
    if isinstance(content, str):
        parts.append({"type": "input_text", "text": content})
    elif isinstance(content, list):
        for k, c in enumerate(content):
            if not isinstance(c, dict):
                raise TranslationError("tool_result content entries must be objects", f"{param}.content[{k}]")
            ctype = c.get("type")
            if ctype == "text":
                parts.append({"type": "input_text", "text": _s(c.get("text"))})
            elif ctype in ("image", "document"):
                parts.append(_media_part(c, f"{param}.content[{k}]"))
            elif ctype == "search_result":
                parts.append({"type": "input_text", "text": _search_result_text(c)})
    elif content is not None:
        raise TranslationError("tool_result content must be a string or an array", param + ".content")
    error = block.get("is_error") is True  # Responses has no error flag: say it in the text
    if all(p["type"] == "input_text" for p in parts):
        text = "\n\n".join(p["text"] for p in parts)
        return ("Error: " + text if text else "Error") if error else text
    if error:
        parts.insert(0, {"type": "input_text", "text": "Error:"})
    return parts


def _user_items(msg: dict, i: int, names: ToolNameMap, items: list[dict]) -> None:
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            items.append(
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": content}]}
            )
        return
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    parts: list[dict] = []

    def flush() -> None:
        if parts:
            items.append({"type": "message", "role": "user", "content": list(parts)})
            parts.clear()

    for j, block in enumerate(content):
        p = _param(i, "content", j)
        if not isinstance(block, dict):
            raise TranslationError("content blocks must be objects", p)
        btype = block.get("type")
        if btype == "text":
            if _s(block.get("text")):
                parts.append({"type": "input_text", "text": block["text"]})
        elif btype in ("image", "document"):
            parts.append(_media_part(block, p))
        elif btype == "search_result":
            parts.append({"type": "input_text", "text": _search_result_text(block)})
        elif btype == "tool_result":
            tool_use_id = block.get("tool_use_id")
            if not isinstance(tool_use_id, str) or not tool_use_id:
                raise TranslationError("tool_result needs tool_use_id", p + ".tool_use_id")
            flush()
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": names.upstream_id(tool_use_id),
                    "output": _tool_output(block, p),
                }
            )
        elif btype in ("thinking", "redacted_thinking"):
            continue
        else:
            raise TranslationError(f"content block type {btype!r} is not supported by this model", p)
    flush()


def _assistant_items(msg: dict, i: int, names: ToolNameMap, items: list[dict]) -> None:
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": content}],
                }
            )
        return
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    turn: list[dict] = []
    texts: list[dict] = []

    def flush() -> None:
        if texts:
            turn.append({"type": "message", "role": "assistant", "content": list(texts)})
            texts.clear()

    for j, block in enumerate(content):
        p = _param(i, "content", j)
        if not isinstance(block, dict):
            raise TranslationError("content blocks must be objects", p)
        btype = block.get("type")
        if btype == "text":
            if _s(block.get("text")):
                texts.append({"type": "output_text", "text": block["text"]})
        elif btype == "tool_use":
            name, tid = block.get("name"), block.get("id")
            if not isinstance(name, str) or not name or not isinstance(tid, str) or not tid:
                raise TranslationError("tool_use blocks need id and name", p)
            flush()
            turn.append(
                {
                    "type": "function_call",
                    "call_id": names.upstream_id(tid),
                    "name": names.upstream_name(name),
                    "arguments": dump_arguments(block.get("input")),
                }
            )
        elif btype == "thinking":
            marker = read_openai_reasoning_signature(block.get("signature"))
            if marker is None or not isinstance(marker.get("e"), str):
                continue  # Claude's or another provider's reasoning: never sent to OpenAI
            flush()
            summary = [
                {"type": "summary_text", "text": t}
                for t in split_summary(_s(block.get("thinking")), marker.get("s"))
            ]
            item: dict[str, Any] = {"type": "reasoning", "summary": summary, "encrypted_content": marker["e"]}
            if isinstance(marker.get("i"), str):
                item["id"] = marker["i"]
            turn.append(item)
        # redacted_thinking, server tools and their results: nothing OpenAI can read
    flush()
    # OpenAI refuses a reasoning item without the item it led to ("... provided without its
    # required following item"): a turn that ends in reasoning (cut off) drops that tail.
    while turn and turn[-1]["type"] == "reasoning":
        turn.pop()
    items.extend(turn)


def _tools(tools: Any, names: ToolNameMap, declared: set[str]) -> list[dict]:
    out: list[dict] = []
    for tool in hub.function_tools(tools):
        fn: dict[str, Any] = {"type": "function", "name": names.upstream_name(tool.name)}
        if tool.description:
            fn["description"] = tool.description
        fn["parameters"] = (
            tool.input_schema if tool.input_schema is not None else {"type": "object", "properties": {}}
        )
        # Responses makes a compatible schema strict when `strict` is omitted; Anthropic tools
        # are not strict unless asked, so say so (a strict schema changes what the model may send).
        fn["strict"] = tool.strict is True
        out.append(fn)
        declared.add(fn["name"])
    return out


def _identifier(value: str) -> str:
    """A caller id fit for ``safety_identifier`` / ``prompt_cache_key`` (at most 64 characters)."""
    if len(value) <= _MAX_IDENTIFIER:
        return value
    return hashlib.sha256(value.encode()).hexdigest()


def anthropic_request_to_responses(
    req: dict, target_model: str, *, reasoning_model: bool = True
) -> tuple[dict, ResponsesWireContext]:
    """Hub (Anthropic Messages) request → ``POST /v1/responses`` body for ``target_model``.

    ``reasoning_model``: the target rejects sampling parameters (OpenAI's reasoning models
    answer ``Unsupported parameter: 'temperature' is not supported with this model.``), so
    ``temperature``/``top_p`` are dropped.
    """
    raw_messages = hub.hub_messages(req)
    ctx = ResponsesWireContext(model=target_model)
    names = ctx.names

    body: dict[str, Any] = {"model": target_model}
    system = hub.system_texts(req)
    if system:
        body["instructions"] = "\n\n".join(system)

    items: list[dict] = []
    for i, msg in enumerate(raw_messages):
        if not isinstance(msg, dict):
            raise hub.not_an_object(i)
        role = msg.get("role")
        if role == "user":
            _user_items(msg, i, names, items)
        elif role == "assistant":
            _assistant_items(msg, i, names, items)
        elif role == "system":  # a mid-conversation system turn (Claude's beta): a developer message in place
            text = msg.get("content")
            if isinstance(text, list):
                text = "\n\n".join(_s(b.get("text")) for b in text if isinstance(b, dict))
            if _s(text):
                items.append(
                    {
                        "type": "message",
                        "role": "developer",
                        "content": [{"type": "input_text", "text": text}],
                    }
                )
        else:
            raise hub.unsupported_role(role, i)
    body["input"] = items

    max_tokens = hub.max_tokens(req)
    if max_tokens is not None:
        if max_tokens < MIN_OUTPUT_TOKENS:
            ctx.warnings.append(f"max_tokens {max_tokens} raised to OpenAI's minimum {MIN_OUTPUT_TOKENS}")
        body["max_output_tokens"] = max(max_tokens, MIN_OUTPUT_TOKENS)

    stops = req.get("stop_sequences")
    if isinstance(stops, list):
        ctx.stop_sequences = [s for s in stops if isinstance(s, str) and s]
    if not reasoning_model:
        for key in ("temperature", "top_p"):
            if req.get(key) is not None:
                body[key] = req[key]
    metadata = req.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id:
        body["safety_identifier"] = _identifier(user_id)
        body["prompt_cache_key"] = _identifier(user_id)  # one caller's prefixes land on one cache
    body["stream"] = req.get("stream") is True
    body["store"] = False

    tools = _tools(req["tools"], names, ctx.declared) if req.get("tools") is not None else []
    choice = hub.tool_choice(req, has_tools=bool(tools))
    if tools:
        body["tools"] = tools
    if choice is not None:
        if choice.type == "tool":
            body["tool_choice"] = {"type": "function", "name": names.upstream_name(choice.name or "")}
        else:
            body["tool_choice"] = OPENAI_TOOL_CHOICE[choice.type]
        if choice.disable_parallel and choice.type != "none":
            body["parallel_tool_calls"] = False

    output_config = hub.output_config(req)
    schema = hub.json_schema_format(req)
    if schema is not None:
        body["text"] = {"format": {"type": "json_schema", "name": "structured_output", "schema": schema,
                                   "strict": _strict_compatible(schema)}}  # fmt: skip
    effort = output_config.get("effort")
    if effort is not None and effort not in _EFFORT:
        raise TranslationError(f"unsupported output_config.effort {effort!r}", "output_config.effort")
    thinking = req.get("thinking")
    ttype = thinking.get("type") if isinstance(thinking, dict) else None
    reasoning: dict[str, Any] = {}
    if ttype == "enabled":
        reasoning["effort"] = _EFFORT[effort] if effort else budget_to_effort(thinking.get("budget_tokens"))  # type: ignore[union-attr]
    elif ttype == "adaptive":
        reasoning["effort"] = _EFFORT[effort] if effort else "medium"
    elif ttype is None and effort:
        reasoning["effort"] = _EFFORT[effort]
    if ttype in ("enabled", "adaptive") and (thinking or {}).get("display") != "omitted":
        ctx.thinking = True
        reasoning["summary"] = "auto"
    elif ttype in ("enabled", "adaptive"):
        ctx.thinking = True  # omitted display: reasoning kept (encrypted), no summary text
    if reasoning:
        body["reasoning"] = reasoning
    if ctx.thinking:
        body["include"] = ["reasoning.encrypted_content"]
    return body, ctx


# =====================================================================================
# Response: Responses → hub
# =====================================================================================

_CODE_STATUS = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "vector_store_timeout": 504,
    "timeout": 504,
}


def responses_error(data: Any) -> UpstreamError:
    """An ``error`` event, a ``response.failed`` event or a failed ``response`` → the gateway's
    classification. The code says what the HTTP status would have said (a quota is the
    gateway's account, a context overflow the caller's request, a server error OpenAI's)."""
    if not isinstance(data, dict):
        data = {}
    response = data.get("response") if isinstance(data.get("response"), dict) else data
    err = response.get("error") if isinstance(response.get("error"), dict) else None
    if err is None:
        err = {k: data.get(k) for k in ("code", "message", "param", "type") if data.get(k) is not None}
    code = _s(err.get("code")) or _s(err.get("type"))
    if code in _CODE_STATUS:
        status = _CODE_STATUS[code]
    elif code.startswith(("invalid", "image_", "context_length", "unsupported", "empty_")) or code in (
        "bio_policy", "misalignment_policy_violation", "data_residency_mismatch", "failed_to_download_image",
    ):  # fmt: skip
        status = 400
    else:
        status = 500
    return openai_error(status, {"error": {**err, "code": code or None}})


class _Open:
    """The state of one output item while it streams."""

    __slots__ = ("block", "call_id", "json_sent", "kind", "parts", "sent", "started")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # reasoning | message | function | custom | wrapper | skip
        self.call_id: Any = None
        self.block: int | None = None  # hub block index once opened
        self.sent: dict[int, str] = {}  # text sent per part (summary_index / content_index)
        self.parts: list[int] = []  # summary part lengths (reasoning)
        self.json_sent = ""  # tool arguments / custom input JSON sent so far
        self.started = False  # a custom tool's '{"input":"' was sent


class ResponsesToAnthropicStream:
    """Responses SSE events (parsed ``data`` objects) → hub ``(event, data)`` pairs.

    ``reasoning`` → a thinking block (summary text as ``thinking_delta``s, the item's id and
    encrypted content in the closing ``signature_delta``) when the client enabled thinking;
    ``message`` → a text block per item (refusals included, stop_reason ``refusal``);
    ``function_call`` → tool_use with ``input_json_delta``s; ``custom_tool_call`` → tool_use
    whose input is ``{"input": <text>}``. Content that only arrives in a ``.done`` event or in
    ``output_item.done`` is sent then, so a stream without deltas (or a whole response)
    yields the same blocks. Server-tool items (web search, file search, code interpreter,
    image generation, MCP, shell, apply_patch, compaction …) have no hub block and are
    dropped (``warnings``). ``error`` / ``response.failed`` set :attr:`error` and end the
    stream. ``finish()`` sends stop reason + usage and ``message_stop``.
    """

    def __init__(
        self, *, model: str, message_id: str, ctx: ResponsesWireContext, input_tokens_hint: int = 0
    ) -> None:
        self.model = model
        self.message_id = message_id
        self.ctx = ctx
        self.usage: dict = {
            "input_tokens": input_tokens_hint,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
        self.usage_reported = False
        self.completed = False  # a terminal event (completed / incomplete) arrived
        self.error: UpstreamError | None = None
        self.status: str | None = None
        self.incomplete: dict | None = None
        self.stop_sequence: str | None = None
        self.response_id: str | None = None
        self.warnings: list[str] = []
        self._started = False
        self._finished = False
        self._items: dict[int, _Open] = {}
        self._next_index = 0
        self._open: _Open | None = None  # the item whose hub block is open
        self._tool_ids: set[str] = set()
        self._refusal = False
        self._hold = ""  # text held back while it may be the start of a stop sequence
        self._hold_state: _Open | None = None  # the message item that text belongs to
        self._hold_max = max((len(s) for s in ctx.stop_sequences), default=0) - 1

    # -- helpers ----------------------------------------------------------------------
    def _message_start(self) -> Event:
        self._started = True
        return hub_events.message_start(self.message_id, self.model, self.usage)

    @staticmethod
    def _delta(index: int, delta: dict) -> Event:
        return hub_events.block_delta(index, delta)

    def _open_block(self, state: _Open, block: dict, out: list[Event]) -> None:
        self._close(out)
        state.block = self._next_index
        self._next_index += 1
        self._open = state
        out.append(hub_events.block_start(state.block, block))

    def _close(self, out: list[Event], signature: str | None = None) -> None:
        state = self._open
        if state is None or state.block is None:
            return
        if state.kind == "reasoning":
            sig = signature if signature is not None else openai_reasoning_signature(None, None)
            out.append(self._delta(state.block, {"type": "signature_delta", "signature": sig}))
        elif state.kind == "function" and not state.json_sent:
            out.append(self._delta(state.block, {"type": "input_json_delta", "partial_json": "{}"}))
        elif state.kind == "custom":
            tail = '"}' if state.started else json.dumps({"input": ""})
            out.append(self._delta(state.block, {"type": "input_json_delta", "partial_json": tail}))
        out.append(hub_events.block_stop(state.block))
        self._open = None

    def _tool_id(self, call_id: Any, output_index: int) -> str:
        if isinstance(call_id, str) and call_id:
            tid = self.ctx.names.client_id(call_id)
        else:
            tid = safe_tool_id(f"toolu_{self.message_id}_{output_index}")
        if tid in self._tool_ids:
            tid = safe_tool_id(f"{tid}_{output_index}")
        self._tool_ids.add(tid)
        return tid

    # -- text (with stop-sequence emulation) ------------------------------------------
    def _emit_text(self, state: _Open, text: str, out: list[Event]) -> None:
        if not text:
            return
        if state.block is None or self._open is not state:
            self._open_block(state, {"type": "text", "text": ""}, out)
        out.append(self._delta(state.block, {"type": "text_delta", "text": text}))  # type: ignore[arg-type]

    def _text(self, state: _Open, text: str, out: list[Event]) -> None:
        if not self.ctx.stop_sequences:
            self._emit_text(state, text, out)
            return
        held = self._hold + text
        hits = [(held.find(s), s) for s in self.ctx.stop_sequences if s in held]
        if hits:
            pos, seq = min(hits)
            self._hold = ""
            self._emit_text(state, held[:pos], out)
            self.stop_sequence = seq
            self._close(out)
            return
        keep = min(self._hold_max, len(held))
        self._hold = held[len(held) - keep :] if keep else ""
        self._hold_state = state if self._hold else None
        self._emit_text(state, held[: len(held) - keep], out)

    def _flush_hold(self, out: list[Event]) -> None:
        """The text held back for a stop sequence that never came: it is the client's after all."""
        state, text = self._hold_state, self._hold
        self._hold, self._hold_state = "", None
        if state is not None and text:
            self._emit_text(state, text, out)

    # -- items ------------------------------------------------------------------------
    def _added(self, index: int, item: dict, out: list[Event]) -> _Open:
        self._flush_hold(out)
        itype = item.get("type")
        if itype == "reasoning" and self.ctx.thinking:
            state = _Open("reasoning")
            self._open_block(state, {"type": "thinking", "thinking": "", "signature": ""}, out)
        elif itype == "message":
            state = _Open("message")
            self._close(out)
        elif (
            itype == "function_call"
            and item.get("name") in WRAPPER_NAMES
            and item["name"] not in self.ctx.declared
        ):
            state = _Open("wrapper")  # held until done: it may be the parallel wrapper
            state.call_id = item.get("call_id")
            self._close(out)
        elif itype in ("function_call", "custom_tool_call"):
            state = _Open("function" if itype == "function_call" else "custom")
            block = {"type": "tool_use", "id": self._tool_id(item.get("call_id"), index),
                     "name": self.ctx.names.client_name(_s(item.get("name")) or "unknown_tool"), "input": {}}  # fmt: skip
            self._open_block(state, block, out)
        else:
            state = _Open("skip")
            if itype != "reasoning":
                self.warnings.append(f"dropped a {itype} item: no Anthropic block carries it")
        self._items[index] = state
        return state

    def _state(self, data: dict, out: list[Event]) -> _Open | None:
        index = data.get("output_index")
        if not isinstance(index, int):
            return None
        state = self._items.get(index)
        if state is None and isinstance(data.get("item"), dict):
            state = self._added(index, data["item"], out)
        return state

    def _summary(self, state: _Open, summary_index: int, text: str, out: list[Event]) -> None:
        """Summary text of part ``summary_index`` (parts are joined with a blank line)."""
        if not text or state.block is None or self._open is not state:
            return
        emitted = text
        if summary_index not in state.sent:
            if state.sent:  # a new part after earlier ones
                emitted = "\n\n" + text
            state.sent[summary_index] = ""
            state.parts.append(0)
        state.sent[summary_index] += text
        state.parts[-1] = len(state.sent[summary_index])
        out.append(self._delta(state.block, {"type": "thinking_delta", "thinking": emitted}))

    def _catch_up(self, state: _Open, key: int, full: Any, out: list[Event]) -> None:
        """Send what a ``.done`` holds beyond what its deltas sent (all of it if none came)."""
        if not isinstance(full, str) or not full:
            return
        sent = state.sent.get(key, "")
        if full.startswith(sent) and len(full) > len(sent):
            rest = full[len(sent) :]
            if state.kind == "reasoning":
                self._summary(state, key, rest, out)
            else:
                state.sent[key] = full
                self._text(state, rest, out)
        elif not full.startswith(sent):
            self.warnings.append("a .done event disagrees with its deltas; kept what was streamed")

    def _tool_json(self, state: _Open, fragment: str, out: list[Event]) -> None:
        if not fragment or state.block is None or self._open is not state:
            return
        state.json_sent += fragment
        out.append(self._delta(state.block, {"type": "input_json_delta", "partial_json": fragment}))

    def _custom_input(self, state: _Open, text: str, out: list[Event]) -> None:
        if not text or state.block is None or self._open is not state:
            return
        fragment = json.dumps(text, ensure_ascii=False)[1:-1]
        if not state.started:
            state.started = True
            fragment = '{"input":"' + fragment
        state.sent[0] = state.sent.get(0, "") + text
        state.json_sent += fragment
        out.append(self._delta(state.block, {"type": "input_json_delta", "partial_json": fragment}))

    def _done(self, state: _Open, item: dict, out: list[Event]) -> None:
        kind = state.kind
        if kind == "message":
            for k, part in enumerate(item.get("content") or ()):
                if isinstance(part, dict):
                    if part.get("type") == "refusal":
                        self._refusal = True
                    self._catch_up(
                        state,
                        k,
                        part.get("text") if part.get("type") != "refusal" else part.get("refusal"),
                        out,
                    )
            self._flush_hold(out)
            if self._open is state:
                self._close(out)
        elif kind == "reasoning":
            if self._open is not state:
                return
            for k, part in enumerate(item.get("summary") or ()):
                if isinstance(part, dict):
                    self._catch_up(state, k, part.get("text"), out)
            signature = openai_reasoning_signature(item.get("id"), item.get("encrypted_content"), state.parts)
            self._close(out, signature)
        elif kind == "function":
            if not state.json_sent:
                self._tool_json(state, _s(item.get("arguments")), out)
            if self._open is state:
                self._close(out)
        elif kind == "custom":
            if not state.sent:
                self._custom_input(state, _s(item.get("input")), out)
            if self._open is state:
                self._close(out)
        elif kind == "wrapper":
            self._unwrap(state, item, out)

    def _unwrap(self, state: _Open, item: dict, out: list[Event]) -> None:
        """OpenAI models sometimes call an undeclared ``parallel`` tool (the internal
        ``multi_tool_use.parallel``) whose arguments list the real calls
        (``{"tool_uses": [{"recipient_name": "functions.x", "parameters": {...}}]}``): each
        becomes its own tool_use (ids ``<call_id>_<n>``). Anything else stays one call."""
        arguments = state.json_sent or _s(item.get("arguments"))
        call_id = _s(state.call_id) or _s(item.get("call_id"))
        try:
            uses = json.loads(arguments).get("tool_uses")
        except (ValueError, AttributeError):
            uses = None
        calls: list[tuple[str, str, str]] = []
        if isinstance(uses, list) and uses:
            for n, use in enumerate(uses):
                name = _s(use.get("recipient_name")) if isinstance(use, dict) else ""
                params = use.get("parameters") if isinstance(use, dict) else None
                if not name or not isinstance(params, dict):
                    calls = []
                    break
                calls.append(
                    (
                        f"{call_id}_{n}",
                        name.removeprefix("functions."),
                        json.dumps(params, ensure_ascii=False),
                    )
                )
        if not calls:
            calls = [(call_id, _s(item.get("name")), arguments or "{}")]
        else:
            self.warnings.append(f"unwrapped a parallel tool-call wrapper into {len(calls)} calls")
        for tid, name, args in calls:
            call = _Open("function")
            block = {"type": "tool_use", "id": self._tool_id(tid, len(self._tool_ids)),
                     "name": self.ctx.names.client_name(name or "unknown_tool"), "input": {}}  # fmt: skip
            self._open_block(call, block, out)
            self._tool_json(call, args, out)
            self._close(out)
        state.kind = "skip"

    # -- public -----------------------------------------------------------------------
    def feed(self, event: dict) -> list[Event]:
        """One Responses event (its parsed ``data``) → the hub events it implies."""
        if self._finished or self.error is not None or not isinstance(event, dict):
            return []
        out: list[Event] = []
        etype = event.get("type")
        if etype == "error":
            self.error = responses_error(event)
            return out
        if etype == "response.failed":
            self.error = responses_error(event)
            return out
        response = event.get("response")
        if isinstance(response, dict):
            if isinstance(response.get("id"), str) and self.response_id is None:
                self.response_id = response["id"]
            if isinstance(response.get("usage"), dict):
                self.usage = responses_usage_to_anthropic(response["usage"])
                self.usage_reported = True
        if not self._started:
            out.append(self._message_start())
        if self.stop_sequence is not None and etype not in ("response.completed", "response.incomplete"):
            return out  # the text hit a stop sequence: the rest is not the client's
        if etype == "response.output_item.added":
            index, item = event.get("output_index"), event.get("item")
            if isinstance(index, int) and isinstance(item, dict) and index not in self._items:
                self._added(index, item, out)
        elif etype == "response.output_item.done":
            state = self._state(event, out)
            if state is not None and isinstance(event.get("item"), dict):
                self._done(state, event["item"], out)
        elif etype in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            state = self._state(event, out)
            if state is not None and state.kind == "reasoning":
                key = event.get("summary_index", event.get("content_index", 0))
                self._summary(state, key if isinstance(key, int) else 0, _s(event.get("delta")), out)
        elif etype in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            state = self._state(event, out)
            if state is not None and state.kind == "reasoning":
                key = event.get("summary_index", event.get("content_index", 0))
                self._catch_up(state, key if isinstance(key, int) else 0, event.get("text"), out)
        elif etype in ("response.output_text.delta", "response.refusal.delta"):
            state = self._state(event, out)
            if state is not None and state.kind == "message":
                if etype == "response.refusal.delta":
                    self._refusal = True
                key = event.get("content_index", 0)
                key = key if isinstance(key, int) else 0
                delta = _s(event.get("delta"))
                state.sent[key] = state.sent.get(key, "") + delta
                self._text(state, delta, out)
        elif etype in ("response.output_text.done", "response.refusal.done"):
            state = self._state(event, out)
            if state is not None and state.kind == "message":
                key = event.get("content_index", 0)
                full = event.get("text") if etype == "response.output_text.done" else event.get("refusal")
                self._catch_up(state, key if isinstance(key, int) else 0, full, out)
        elif etype == "response.function_call_arguments.delta":
            state = self._state(event, out)
            if state is not None and state.kind == "function":
                self._tool_json(state, _s(event.get("delta")), out)
            elif state is not None and state.kind == "wrapper":
                state.json_sent += _s(event.get("delta"))
        elif etype == "response.function_call_arguments.done":
            state = self._state(event, out)
            if state is not None and state.kind == "function" and not state.json_sent:
                self._tool_json(state, _s(event.get("arguments")), out)
            elif state is not None and state.kind == "wrapper" and not state.json_sent:
                state.json_sent = _s(event.get("arguments"))
        elif etype == "response.custom_tool_call_input.delta":
            state = self._state(event, out)
            if state is not None and state.kind == "custom":
                self._custom_input(state, _s(event.get("delta")), out)
        elif etype == "response.custom_tool_call_input.done":
            state = self._state(event, out)
            if state is not None and state.kind == "custom" and not state.sent:
                self._custom_input(state, _s(event.get("input")), out)
        elif etype in ("response.completed", "response.incomplete"):
            assert isinstance(response, dict) or response is None
            self.completed = True
            self.status = _s((response or {}).get("status")) or (
                "completed" if etype == "response.completed" else "incomplete"
            )
            incomplete = (response or {}).get("incomplete_details")
            self.incomplete = incomplete if isinstance(incomplete, dict) else None
        elif etype == "response.output_text.annotation.added" and "dropped annotations" not in self.warnings:
            self.warnings.append("dropped annotations")
        return out

    def finish(self) -> list[Event]:
        """The upstream ended: close the open block, stop reason + usage, ``message_stop``."""
        if self._finished:
            return []
        out: list[Event] = []
        if not self._started:
            out.append(self._message_start())
        if self.stop_sequence is None:
            self._flush_hold(out)
        self._close(out)
        if self.stop_sequence is not None:
            stop = "stop_sequence"
        else:
            stop = status_to_stop(
                self.status, self.incomplete, has_tool_use=bool(self._tool_ids), refusal=self._refusal
            )
        out += hub_events.message_end(stop, self.stop_sequence, self.usage)
        self._finished = True
        return out


def response_events(response: dict) -> list[dict]:
    """A whole ``response`` object as the event stream that would have carried it (items whole,
    no deltas): what :func:`responses_to_anthropic` feeds the stream machine."""
    events: list[dict] = [{"type": "response.created", "response": {**response, "output": [], "usage": None}}]
    for index, item in enumerate(response.get("output") or ()):
        if isinstance(item, dict):
            events.append({"type": "response.output_item.added", "output_index": index, "item": item})
            events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    status = response.get("status")
    terminal = {"failed": "response.failed", "incomplete": "response.incomplete"}.get(
        status, "response.completed"
    )  # type: ignore[arg-type]
    events.append({"type": terminal, "response": response})
    return events


def responses_to_anthropic(resp: dict, *, ctx: ResponsesWireContext, model: str | None = None) -> dict:
    """A whole Responses ``response`` object → hub Message (same blocks as the stream).

    A failed response raises nothing here: check ``resp["status"] == "failed"`` first and
    classify it with :func:`responses_error`.
    """
    if not isinstance(resp, dict):
        resp = {}
    machine = ResponsesToAnthropicStream(
        model=model or ctx.model, message_id=anthropic_message_id(resp.get("id")), ctx=ctx
    )
    events: list[Event] = []
    for event in response_events(resp):
        if event["type"] == "response.failed":
            event = {**event, "type": "response.completed"}
        events.extend(machine.feed(event))
    events.extend(machine.finish())
    message = assemble_anthropic_events(events)
    message["usage"] = dict(machine.usage)
    return message


__all__ = [
    "MIN_OUTPUT_TOKENS",
    "ResponsesToAnthropicStream",
    "ResponsesWireContext",
    "anthropic_request_to_responses",
    "response_events",
    "responses_error",
    "responses_to_anthropic",
]
