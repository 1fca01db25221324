"""Simulated Anthropic Messages API under ``/anthropic`` (the gateway's Claude base URL).

Mirrors what the real API checks and emits so the gateway's Claude adapter is exercised
honestly offline: request validation (required fields, empty text blocks, thinking
budget, thinking signatures, tool_use/tool_result pairing, cache breakpoint limit), the
exact SSE event sequence with contiguous block indices, prompt-cache usage accounting,
and Anthropic-shaped errors before the first byte or mid-stream.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import strict
from bytespike.simulator.directives import Directives, parse_directives
from bytespike.simulator.mid_conversation import check_system_turn
from bytespike.simulator.replay import replay_response
from bytespike.simulator.reply import (
    ReplyPlan,
    SimRequest,
    ToolResult,
    ToolSpec,
    UserTurn,
    plan_reply,
    sign_thinking,
    split_fragments,
    verify_thinking,
)
from bytespike.simulator.state import PrefixCache, SimState
from bytespike.simulator.timing import anthropic_chunk, nonstream_wait_ms, paced
from bytespike.simulator.tokens import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    canonical_json,
    compact_json,
    tokens,
    without_cache_control,
)
from bytespike.simulator.wire import (
    INVALID_JSON,
    Frame,
    FrameKind,
    RawResponse,
    SimError,
    StreamResponse,
    bearer_token,
    drive_stream,
    dumps,
    html_error,
    json_response,
    new_id,
    read_recorded,
    sleep_ms,
)

PREFIX = "/anthropic"
INVALID_KEY = "sk-sim-invalid"
MAX_CACHE_BREAKPOINTS = 4
_ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Simulated invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    409: ("conflict_error", "Conflict."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization (simulated)."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def error_type(status: int) -> tuple[str, str]:
    """Anthropic ``error.type`` and a default message for an HTTP status."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return (
        ("api_error", "Internal server error") if status >= 500 else ("invalid_request_error", "Bad request.")
    )


def error_body(status: int, message: str | None, request_id: str, etype: str | None = None) -> dict[str, Any]:
    default_type, default_message = error_type(status)
    return {
        "type": "error",
        "error": {"type": etype or default_type, "message": message or default_message},
        "request_id": request_id,
    }


def _sse(event: str, payload: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


_PING = _sse("ping", {"type": "ping"})
_STOP = _sse("message_stop", {"type": "message_stop"})


# ---------------------------------------------------------------- request inspection


def _result_text(content: Any) -> tuple[str, int]:
    """Text and image count inside a tool_result's content (string or block list)."""
    if isinstance(content, str):
        return content, 0
    parts: list[str] = []
    images = 0
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "image":
                    images += 1
    return "\n".join(parts), images


def last_user_turn(messages: Any) -> UserTurn:
    """Tolerant extraction (runs before validation so fault directives always apply)."""
    if not isinstance(messages, list):
        return UserTurn()
    end = len(messages)
    while end > 0 and not (isinstance(messages[end - 1], dict) and messages[end - 1].get("role") == "user"):
        end -= 1
    start = end
    while start > 0 and isinstance(messages[start - 1], dict) and messages[start - 1].get("role") == "user":
        start -= 1
    texts: list[str] = []
    images = 0
    results: list[ToolResult] = []
    for message in messages[start:end]:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "image":
                images += 1
            elif kind == "tool_result":
                text, imgs = _result_text(block.get("content"))
                images += imgs
                texts.append(text)
                results.append(ToolResult(str(block.get("tool_use_id", "")), text))
    return UserTurn("\n".join(texts), images, results or None)


def _bad(message: str) -> SimError:
    return SimError(400, message, "invalid_request_error")


def _check_text(text: Any, where: str) -> None:
    if not isinstance(text, str):
        raise _bad(f"{where}.text.text: Input should be a valid string")  # simonw/llm-anthropic#23
    if not text:
        raise _bad("messages: text content blocks must be non-empty")
    if not text.strip():
        raise _bad("messages: text content blocks must contain non-whitespace text")


def validate(body: dict[str, Any], *, count_only: bool = False) -> None:
    """Reject what the real Messages API rejects (subset that matters to a gateway)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required")
    messages = body.get("messages")
    if messages is None:
        raise _bad("messages: Field required")
    if not isinstance(messages, list):
        raise _bad("messages: Input should be a valid list")
    if not messages:
        raise _bad("messages: at least one message is required")
    max_tokens = body.get("max_tokens")
    if not count_only:
        if max_tokens is None:
            raise _bad("max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
            raise _bad("max_tokens: Input should be a valid integer greater than or equal to 0")
    breakpoints = 0

    system = body.get("system")
    if isinstance(system, list):
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise _bad(f"system.{j}: Input tag does not match the expected tag 'text'")
            if not isinstance(block.get("text"), str) or not block["text"]:
                raise _bad("system: text content blocks must be non-empty")
            breakpoints += "cache_control" in block
    elif system is not None and not isinstance(system, str):
        raise _bad("system: Input should be a valid string or list of text blocks")

    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools: Input should be a valid list")
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _bad(f"tools.{j}: Input should be a valid dictionary")
            if tool.get("type") in (None, "custom"):
                name = tool.get("name")
                if not isinstance(name, str) or not _TOOL_NAME_RE.match(name):
                    raise _bad(
                        f"tools.{j}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                    )
                if not isinstance(tool.get("input_schema"), dict):
                    raise _bad(f"tools.{j}.custom.input_schema: Field required")
            breakpoints += "cache_control" in tool

    choice = body.get("tool_choice")
    choice_type = choice.get("type") if isinstance(choice, dict) else None
    if choice is not None and choice_type not in ("auto", "any", "tool", "none"):
        raise _bad(
            "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if choice_type == "tool" and not isinstance(choice.get("name"), str):
        raise _bad("tool_choice.tool.name: Field required")

    thinking = body.get("thinking")
    thinking_on = False
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool):
                raise _bad("thinking.enabled.budget_tokens: Field required")
            if budget < 1024:
                raise _bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
            if not count_only and isinstance(max_tokens, int) and budget >= max_tokens:
                raise _bad(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                    "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
                )
            thinking_on = True
        elif kind == "adaptive":
            thinking_on = True
        elif kind != "disabled":
            raise _bad(
                "thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
            )
    if thinking_on:
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise _bad(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation "
                "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
            )
        if choice_type in ("any", "tool"):
            raise _bad("Thinking may not be enabled when tool_choice forces tool use.")

    # Per-message checks, then tool_use/tool_result pairing across merged turns.
    turns: list[tuple[str, list[int]]] = []
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            check_system_turn(model, messages, i)
            continue
        if role not in ("user", "assistant"):
            raise _bad(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
        if turns and turns[-1][0] == role:
            turns[-1][1].append(i)
        else:
            turns.append((role, [i]))
        content = message.get("content")
        final_assistant = i == last and role == "assistant"
        if content is None:
            raise _bad(f"messages.{i}.content: Field required")
        if isinstance(content, str):
            if not content and not final_assistant:
                raise _bad(
                    f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
                )
            if final_assistant and content and content != content.rstrip():
                raise _bad("final assistant content cannot end with trailing whitespace")
            continue
        if not isinstance(content, list):
            raise _bad(f"messages.{i}.content: Input should be a valid string or list")
        if not content and not final_assistant:
            raise _bad(
                f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            )
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise _bad(f"{where}: Input should be a valid dictionary with a 'type'")
            breakpoints += "cache_control" in block
            kind = block["type"]
            if kind == "text":
                _check_text(block.get("text"), where)
            elif kind == "thinking":
                if role != "assistant":
                    raise _bad(f"{where}: thinking blocks may only appear in assistant messages")
                if not verify_thinking(model, str(block.get("thinking", "")), block.get("signature")):
                    raise _bad(f"{where}: Invalid `signature` in `thinking` block")
            elif kind == "tool_use":
                if role != "assistant":
                    raise _bad(f"{where}: tool_use blocks may only appear in assistant messages")
                tid = block.get("id")
                if not isinstance(tid, str) or not _ID_RE.match(tid):
                    raise _bad(f"{where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
                if not isinstance(block.get("name"), str):
                    raise _bad(f"{where}.tool_use.name: Field required")
                if not isinstance(block.get("input"), dict):
                    raise _bad(f"{where}.tool_use.input: Input should be a valid dictionary")
            elif kind == "tool_result":
                if role != "user":
                    raise _bad(f"{where}: tool_result blocks may only appear in user messages")
                if not isinstance(block.get("tool_use_id"), str):
                    raise _bad(f"{where}.tool_result.tool_use_id: Field required")
            elif kind == "image":
                source = block.get("source")
                stype = source.get("type") if isinstance(source, dict) else None
                if stype == "base64":
                    if source.get("media_type") not in _IMAGE_TYPES:
                        raise _bad(
                            f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', "
                            "'image/png', 'image/gif' or 'image/webp'"
                        )
                    if not isinstance(source.get("data"), str) or not source["data"]:
                        raise _bad(f"{where}.image.source.base64.data: Field required")
                elif stype == "url":
                    if not isinstance(source.get("url"), str):
                        raise _bad(f"{where}.image.source.url.url: Field required")
                elif stype != "file":
                    raise _bad(f"{where}.image.source: Input tag does not match any of the expected tags")
        if final_assistant and content:
            tail = content[-1]
            if tail.get("type") == "text" and tail.get("text", "") != tail.get("text", "").rstrip():
                raise _bad("final assistant content cannot end with trailing whitespace")

    strict.anthropic(body, count_only=count_only)  # types, block types, image bytes, output limit (issue #15)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise _bad(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
        )

    def blocks(turn: list[int], kind: str) -> list[tuple[int, int, dict[str, Any]]]:
        out = []
        for i in turn:
            content = messages[i].get("content")
            if isinstance(content, list):
                out.extend((i, j, b) for j, b in enumerate(content) if b.get("type") == kind)
        return out

    # Unknown tool_result ids are reported before unanswered tool_use ids.
    for t, (role, idxs) in enumerate(turns):
        if role != "user":
            continue
        allowed = {b.get("id") for _, _, b in blocks(turns[t - 1][1], "tool_use")} if t > 0 else set()
        for i, j, b in blocks(idxs, "tool_result"):
            if b.get("tool_use_id") not in allowed:
                raise _bad(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{b.get('tool_use_id')}. Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message."
                )
    for t, (role, idxs) in enumerate(turns[:-1]):
        if role != "assistant":
            continue
        wanted = [b["id"] for _, _, b in blocks(idxs, "tool_use")]
        answered = {b.get("tool_use_id") for _, _, b in blocks(turns[t + 1][1], "tool_result")}
        missing = [w for w in wanted if w not in answered]
        if missing:
            raise _bad(
                f"messages.{turns[t + 1][1][0]}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )


# ---------------------------------------------------------------- token + cache accounting


@dataclass(slots=True)
class InputUsage:
    """Input-side usage; ``total = input_tokens + cache_read + cache_5m + cache_1h``."""

    total: int
    cache_read: int = 0
    cache_5m: int = 0
    cache_1h: int = 0

    @property
    def input_tokens(self) -> int:
        return self.total - self.cache_read - self.cache_5m - self.cache_1h

    @property
    def cache_creation(self) -> int:
        return self.cache_5m + self.cache_1h


def _block_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return tokens(block.get("text") or "")
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text":
            return tokens(str(source.get("data", "")))
        return IMAGE_TOKENS
    if kind == "tool_use":
        return tokens(compact_json(block.get("input", {})))
    if kind == "tool_result":
        content = block.get("content")
        text, images = _result_text(content)
        return tokens(text) + images * IMAGE_TOKENS
    if kind in ("thinking", "redacted_thinking"):
        return 0
    return tokens(canonical_json(without_cache_control(block)))


def input_usage(body: dict[str, Any], cache: PrefixCache | None) -> InputUsage:
    """Count input tokens (tools → system → messages) and apply prompt-cache breakpoints.

    Each block carrying ``cache_control`` (or the end of the prompt for a top-level
    ``cache_control``) is a breakpoint. The longest breakpoint prefix seen before is read
    from cache; the segments after it are written, split by each breakpoint's ``ttl``.
    """
    units: list[tuple[int, Any, Any]] = []  # (tokens, content to hash, cache_control or None)
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            clean = without_cache_control(tool)
            units.append((tokens(canonical_json(clean)), clean, tool.get("cache_control")))
    system = body.get("system")
    if isinstance(system, str):
        units.append((tokens(system), system, None))
    elif isinstance(system, list):
        for block in system:
            if isinstance(block, dict):
                units.append(
                    (
                        tokens(block.get("text") or ""),
                        without_cache_control(block),
                        block.get("cache_control"),
                    )
                )
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        units.append((MESSAGE_OVERHEAD, message.get("role"), None))
        content = message.get("content")
        if isinstance(content, str):
            units.append((tokens(content), content, None))
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    units.append(
                        (_block_tokens(block), without_cache_control(block), block.get("cache_control"))
                    )
    total = sum(u[0] for u in units)
    usage = InputUsage(total)
    top = body.get("cache_control")
    if cache is None or not (top or any(u[2] for u in units)):
        return usage

    hasher = hashlib.sha256(f"{body.get('model')}\n".encode())
    breakpoints: list[tuple[int, str, str]] = []  # (cumulative tokens, prefix hash, ttl)
    cumulative = 0
    for n, content, marker in units:
        cumulative += n
        hasher.update(canonical_json(content).encode())
        hasher.update(b"\x1e")
        if isinstance(marker, dict):
            breakpoints.append((cumulative, hasher.copy().hexdigest(), str(marker.get("ttl") or "5m")))
    if isinstance(top, dict) and (not breakpoints or breakpoints[-1][0] != cumulative):
        breakpoints.append((cumulative, hasher.hexdigest(), str(top.get("ttl") or "5m")))
    hit = -1
    for k, (_, digest, _) in enumerate(breakpoints):
        if digest in cache:
            hit = k
    previous = breakpoints[hit][0] if hit >= 0 else 0
    usage.cache_read = previous
    for cum, _, ttl in breakpoints[hit + 1 :]:
        if ttl == "1h":
            usage.cache_1h += cum - previous
        else:
            usage.cache_5m += cum - previous
        previous = cum
    for _, digest, _ in breakpoints:
        cache.add(digest)
    return usage


# ---------------------------------------------------------------- rendering


def _usage_json(usage: InputUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_5m,
            "ephemeral_1h_input_tokens": usage.cache_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def tool_use_id(plan_hash: str) -> str:
    return f"toolu_sim_{plan_hash}"


def render_message(plan: ReplyPlan, msg_id: str, model: str, usage: InputUsage) -> dict[str, Any]:
    """Non-streaming Message object."""
    content: list[dict[str, Any]] = []
    if plan.has_thinking:
        content.append(
            {"type": "thinking", "thinking": plan.thinking, "signature": sign_thinking(model, plan.thinking)}
        )
    if plan.text:
        content.append({"type": "text", "text": plan.text})
    for call in plan.tool_calls:
        content.append(
            {"type": "tool_use", "id": tool_use_id(call.id_hash), "name": call.name, "input": call.input}
        )
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": _usage_json(usage, plan.output_tokens),
    }


def _delta(index: int, kind: str, field: str, value: str) -> bytes:
    return (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
        + str(index).encode()
        + b',"delta":{"type":"'
        + kind.encode()
        + b'","'
        + field.encode()
        + b'":'
        + json.dumps(value, ensure_ascii=False).encode()
        + b"}}\n\n"
    )


def _block_stop(index: int) -> bytes:
    return (
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":'
        + str(index).encode()
        + b"}\n\n"
    )


def stream_frames(plan: ReplyPlan, msg_id: str, model: str, usage: InputUsage) -> Iterator[Frame]:
    """The exact event sequence of a real Messages stream."""
    start = {
        "type": "message_start",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage_json(usage, 1),
        },
    }
    yield Frame(FrameKind.HEAD, _sse("message_start", start))
    yield Frame(FrameKind.HEAD, _PING)
    index = 0
    if plan.has_thinking:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        yield Frame(
            FrameKind.OTHER,
            _sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            ),
        )
        for piece in plan.thinking_deltas:
            yield Frame(FrameKind.DELTA, _delta(index, "thinking_delta", "thinking", piece))
        yield Frame(
            FrameKind.OTHER,
            _delta(index, "signature_delta", "signature", sign_thinking(model, plan.thinking)),
        )
        yield Frame(FrameKind.OTHER, _block_stop(index))
        index += 1
    if plan.text:
        block = {"type": "text", "text": ""}
        yield Frame(
            FrameKind.OTHER,
            _sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            ),
        )
        for piece in plan.text_deltas:
            yield Frame(FrameKind.DELTA, _delta(index, "text_delta", "text", piece))
        yield Frame(FrameKind.OTHER, _block_stop(index))
        index += 1
    for call in plan.tool_calls:
        block = {"type": "tool_use", "id": tool_use_id(call.id_hash), "name": call.name, "input": {}}
        yield Frame(
            FrameKind.OTHER,
            _sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            ),
        )
        for piece in split_fragments(call.arguments):
            yield Frame(FrameKind.DELTA, _delta(index, "input_json_delta", "partial_json", piece))
        yield Frame(FrameKind.OTHER, _block_stop(index))
        index += 1
    final_usage = {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": plan.output_tokens,
    }
    delta = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
    yield Frame(
        FrameKind.TAIL, _sse("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage})
    )
    yield Frame(FrameKind.TAIL, _STOP)


# ---------------------------------------------------------------- request building


def _output_schema(config: Any) -> dict[str, Any] | None:
    """``output_config.format: {type: json_schema, schema}`` -> the schema to satisfy."""
    fmt = config.get("format") if isinstance(config, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {"type": "object"}
    return None


def build_request(body: dict[str, Any], turn: UserTurn, directives: Directives) -> SimRequest:
    """Normalise a validated Messages request for the planner."""
    tools = [
        ToolSpec(t["name"], t["input_schema"])
        for t in body.get("tools") or ()
        if t.get("type") in (None, "custom") and isinstance(t.get("input_schema"), dict)
    ]
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    mode = choice.get("type", "auto")
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    thinking_on = thinking.get("type") in ("enabled", "adaptive")
    stops = body.get("stop_sequences")
    return SimRequest(
        model=body["model"],
        user_text=turn.text,
        images=turn.images,
        tool_results=turn.tool_results or [],
        tools=tools,
        tool_mode=mode,
        forced_tool=choice.get("name") if mode == "tool" else None,
        parallel=not choice.get("disable_parallel_tool_use", False),
        thinking=thinking_on,
        thinking_budget=thinking.get("budget_tokens") if thinking.get("type") == "enabled" else None,
        thinking_omitted=thinking.get("display") == "omitted",
        max_tokens=body["max_tokens"],
        stop_sequences=[s for s in stops if isinstance(s, str)] if isinstance(stops, list) else [],
        turn_count=len(body["messages"]),
        directives=directives,
        json_schema=_output_schema(body.get("output_config")),
    )


class AnthropicSimulator:
    """Route handlers for the Anthropic surface; one instance per app (shares ``SimState``)."""

    namespace = "anthropic"

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/v1/messages", self.messages, methods=["POST"]),
            Route(f"{PREFIX}/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
            Route(PREFIX + "/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]

    # -- helpers

    @staticmethod
    def _error(
        status: int,
        request_id: str,
        message: str | None = None,
        etype: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> RawResponse:
        headers = [("request-id", request_id), *(extra or [])]
        return json_response(status, error_body(status, message, request_id, etype), headers)

    @staticmethod
    def _auth_problem(request: Request) -> str | None:
        headers = request.headers
        key = headers.get("x-api-key") or bearer_token(headers)
        if not key:
            return "x-api-key header is required"
        if key == INVALID_KEY:
            return "invalid x-api-key"
        return None

    def _forced_failure(self, d: Directives, request_id: str, model: str) -> RawResponse:
        status = d.status if d.status is not None else 502
        extra: list[tuple[str, str]] = []
        if d.retry_after is not None:
            extra.append(("retry-after", d.retry_after))
        if status == 429:
            extra += [
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", "1970-01-01T00:00:00Z"),
            ]
        if d.error_body == "html":
            return html_error(status, [("request-id", request_id), *extra])
        message = f"model: {model}" if status == 404 else None
        return self._error(status, request_id, message, extra=extra)

    # -- endpoints

    async def messages(self, request: Request) -> Response:
        """``POST /v1/messages``: JSON or SSE, with directive-driven faults."""
        body = await read_recorded(request, self.state)
        request_id = new_id("req_sim_")
        problem = self._auth_problem(request)
        if problem:
            return self._error(401, request_id, problem, "authentication_error")
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(
                400, request_id, "There was an error parsing the body of your request as JSON."
            )
        turn = last_user_turn(body.get("messages"))
        d = parse_directives(turn.text)
        await sleep_ms(d.delay_ms)
        if self.state.should_fail(d):
            return self._forced_failure(d, request_id, str(body.get("model")))
        try:
            validate(body)
        except SimError as exc:
            return self._error(exc.status, request_id, exc.message, exc.etype)
        stream = body.get("stream") is True
        if d.replay:
            try:
                return replay_response(d.replay, "anthropic", stream=stream, source=d.replay_source, part=d.replay_part)
            except SimError as exc:
                return self._error(exc.status, request_id, exc.message, exc.etype)
        if not stream and d.error_after is not None:
            return self._error(529, request_id, "Overloaded", "overloaded_error")
        model = body["model"]
        plan = plan_reply(build_request(body, turn, d))
        usage = input_usage(body, self.state.cache(self.namespace))
        if d.cached is not None:  # force a cache hit of N tokens (mirrors the OpenAI directive)
            usage.cache_read = max(0, min(d.cached, usage.total))
            usage.cache_5m = usage.cache_1h = 0
        msg_id = new_id("msg_sim_")
        headers = [("request-id", request_id)]
        if stream:
            error_frame = _sse("error", error_body(529, "Overloaded", request_id, "overloaded_error"))
            frames = stream_frames(plan, msg_id, model, usage)
            return StreamResponse(paced(drive_stream(frames, d, error_frame), d, anthropic_chunk, _PING), headers)
        await sleep_ms(d.first_token_ms + d.interval_ms * max(0, plan.delta_count - 1)
                       + nonstream_wait_ms(d, sum(len(split_fragments(c.arguments)) for c in plan.tool_calls)))
        return json_response(200, render_message(plan, msg_id, model, usage), headers)

    async def count_tokens(self, request: Request) -> Response:
        """``POST /v1/messages/count_tokens`` → ``{"input_tokens": n}`` (no cache effects)."""
        body = await read_recorded(request, self.state)
        request_id = new_id("req_sim_")
        problem = self._auth_problem(request)
        if problem:
            return self._error(401, request_id, problem, "authentication_error")
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(
                400, request_id, "There was an error parsing the body of your request as JSON."
            )
        try:
            validate(body, count_only=True)
        except SimError as exc:
            return self._error(exc.status, request_id, exc.message, exc.etype)
        return json_response(
            200, {"input_tokens": input_usage(body, None).total}, [("request-id", request_id)]
        )

    async def not_found(self, request: Request) -> Response:
        """Unknown Anthropic path: the real API's 404 shape, so misrouted calls are obvious."""
        await read_recorded(request, self.state)
        return self._error(404, new_id("req_sim_"), f"Not found: {request.url.path}", "not_found_error")
