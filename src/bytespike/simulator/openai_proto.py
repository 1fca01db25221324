"""Simulated OpenAI Chat Completions under ``/openai/v1`` (the gateway's OpenAI base URL).

Serves every OpenAI-format upstream (OpenAI itself, and OpenAI-compatible providers that
return ``reasoning_content``). Faithful where gateways break: ``data:``-only chunks with
``[DONE]``, tool-call chunks that always carry ``index``, the usage-only final chunk with
``include_usage``, ``prompt_tokens`` that include cached tokens, tool-message pairing
checks, and the ``{"error": {...}}`` body both before the first byte and mid-stream.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import strict
from bytespike.simulator.directives import Directives, parse_directives
from bytespike.simulator.replay import replay_response
from bytespike.simulator.reply import (
    ReplyPlan,
    SimRequest,
    ToolResult,
    ToolSpec,
    UserTurn,
    plan_reply,
    split_fragments,
)
from bytespike.simulator.state import PrefixCache, SimState
from bytespike.simulator.timing import nonstream_wait_ms, openai_chunk, paced
from bytespike.simulator.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD, canonical_json, tokens
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

PREFIX = "/openai"
INVALID_KEY = "sk-sim-invalid"
CACHE_MIN_TOKENS = 1024
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Simulated invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "permission_denied", "You are not allowed to access this resource."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached for requests (simulated)."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    529: ("server_error", None, "The server is overloaded (simulated 529)."),
}

MID_STREAM_ERROR = (
    b"data: "
    + dumps(
        {
            "error": {
                "message": "The server had an error while processing your request. (simulated mid-stream failure)",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )
    + b"\n\n"
)
_DONE = b"data: [DONE]\n\n"


def error_body(
    status: int,
    message: str | None = None,
    etype: str | None = None,
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}`` with OpenAI's type/code for the status."""
    default_type, default_code, default_message = ERRORS.get(
        status,
        ("server_error", None, "Internal server error.")
        if status >= 500
        else ("invalid_request_error", None, "Bad request."),
    )
    return {
        "error": {
            "message": message or default_message,
            "type": etype or default_type,
            "param": param,
            "code": code if code is not None or etype is not None else default_code,
        }
    }


# ---------------------------------------------------------------- request inspection


def _content_text(content: Any) -> tuple[str, int]:
    """Text and image count of a message ``content`` (string or parts)."""
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    images = 0
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url":
                images += 1
    return "\n".join(texts), images


def last_user_turn(messages: Any) -> UserTurn:
    """Tolerant: user and tool messages after the last assistant turn (prefill skipped)."""
    if not isinstance(messages, list):
        return UserTurn()
    end = len(messages)
    while end > 0 and isinstance(messages[end - 1], dict) and messages[end - 1].get("role") == "assistant":
        end -= 1
    start = end
    while start > 0:
        m = messages[start - 1]
        if not isinstance(m, dict) or m.get("role") == "assistant":
            break
        start -= 1
    texts: list[str] = []
    images = 0
    results: list[ToolResult] = []
    for m in messages[start:end]:
        role = m.get("role")
        if role not in ("user", "tool"):
            continue
        text, imgs = _content_text(m.get("content"))
        texts.append(text)
        images += imgs
        if role == "tool":
            results.append(ToolResult(str(m.get("tool_call_id", "")), text))
    return UserTurn("\n".join(texts), images, results or None)


def _bad(message: str, param: str | None = None, code: str | None = None) -> SimError:
    return SimError(400, message, "invalid_request_error", param, code)


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """``max_completion_tokens`` wins over the deprecated ``max_tokens``."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None:
            return value
    return None


def validate(body: dict[str, Any]) -> None:
    """Reject what the real Chat Completions API rejects (subset that matters to a gateway)."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _bad("you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        raise _bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list):
        raise _bad("Invalid type for 'messages': expected an array.", "messages", "invalid_type")
    if not messages:
        raise _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    strict.openai(body)  # types, content parts, tool calls, output limit (issue #15)
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise _bad(
                f"Invalid '{key}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
                key,
                "integer_below_min_value",
            )
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise _bad(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _bad(
                    f"Invalid type for 'tools[{j}]': expected an object.", f"tools[{j}]", "invalid_type"
                )
            if tool.get("type") == "function":
                fn = tool.get("function")
                name = fn.get("name") if isinstance(fn, dict) else None
                if not isinstance(name, str):
                    raise _bad(
                        f"Missing required parameter: 'tools[{j}].function.name'.",
                        f"tools[{j}].function.name",
                        "missing_required_parameter",
                    )
                if len(name) > 64:
                    raise _bad(
                        f"Invalid 'tools[{j}].function.name': string too long. Expected a string with maximum "
                        f"length 64, but got a string with length {len(name)} instead.",
                        f"tools[{j}].function.name",
                        "string_above_max_length",
                    )
                if not _TOOL_NAME_RE.match(name):
                    raise _bad(
                        f"Invalid 'tools[{j}].function.name': string does not match pattern. Expected a string "
                        "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                        f"tools[{j}].function.name",
                        "invalid_value",
                    )
    if body.get("tool_choice") is not None and not tools:
        raise _bad(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            "tool_choice",
        )

    pending: set[str] | None = None
    pending_at = 0
    answered_ids: set[str] = set()

    def unanswered() -> SimError:
        missing = ", ".join(sorted(pending or ()))
        return _bad(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {missing}",
            f"messages.[{pending_at}].role",
        )

    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(
                f"Invalid type for 'messages[{i}]': expected an object.", f"messages[{i}]", "invalid_type"
            )
        role = message.get("role")
        if role not in _ROLES:
            raise _bad(
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', "
                "'tool', and 'developer'.",
                f"messages[{i}].role",
                "invalid_value",
            )
        if role in ("user", "system", "developer", "tool") and "content" not in message:
            raise _bad(
                f"Missing required parameter: 'messages[{i}].content'.",
                f"messages[{i}].content",
                "missing_required_parameter",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if pending is None or call_id not in answered_ids:
                raise _bad(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            pending.discard(call_id)
            continue
        if pending:
            raise unanswered()
        pending = None
        calls = message.get("tool_calls") if role == "assistant" else None
        if calls:
            ids = [c.get("id") for c in calls if isinstance(c, dict)]
            pending = {x for x in ids if isinstance(x, str)}
            answered_ids = set(pending)
            pending_at = i
    if pending:
        raise unanswered()


# ---------------------------------------------------------------- usage


def _message_tokens(message: dict[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, str):
        n = tokens(content)
    elif isinstance(content, list):
        n = 0
        for part in content:
            if isinstance(part, dict):
                kind = part.get("type")
                if kind == "text":
                    n += tokens(part.get("text") or "")
                elif kind == "image_url":
                    n += IMAGE_TOKENS
                else:
                    n += tokens(canonical_json(part))
    else:
        n = 0
    for call in message.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            n += tokens(str(fn.get("arguments") or ""))
    return MESSAGE_OVERHEAD + n


def prompt_usage(body: dict[str, Any], cache: PrefixCache | None) -> tuple[int, int]:
    """``(prompt_tokens, cached_tokens)``; prompt_tokens includes the cached part, as OpenAI reports.

    Implicit caching: every message boundary of ≥ ``CACHE_MIN_TOKENS`` is remembered; the
    longest remembered boundary before the last message counts as cached.
    """
    tools = body.get("tools") or []
    tool_tokens = sum(tokens(canonical_json(t)) for t in tools)
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    counts = [_message_tokens(m) for m in messages]
    total = tool_tokens + sum(counts)
    if cache is None or total < CACHE_MIN_TOKENS:
        return total, 0
    hasher = hashlib.sha256(f"{body.get('model')}\n{canonical_json(tools)}\n".encode())
    cumulative = tool_tokens
    cached = 0
    for k, (message, n) in enumerate(zip(messages, counts, strict=True)):
        cumulative += n
        hasher.update(canonical_json(message).encode())
        hasher.update(b"\x1e")
        if cumulative < CACHE_MIN_TOKENS:
            continue
        digest = hasher.hexdigest()
        if k < len(messages) - 1 and digest in cache:
            cached = cumulative
        cache.add(digest)
    return total, cached


def usage_json(prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": plan.output_tokens,
        "total_tokens": prompt + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.thinking_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


# ---------------------------------------------------------------- n choices
# OpenAI generates ``n`` completions (1-128) for one prompt and bills them all: the prompt once,
# completion_tokens summed over the choices (platform.openai.com API reference, chat `n`).
MAX_CHOICES = 128


def choice_count(body: dict[str, Any]) -> int:
    n = body.get("n")
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool):
        raise _bad(f"Invalid type for 'n': expected an integer, but got {type(n).__name__} instead.", "n", "invalid_type")
    if not 1 <= n <= MAX_CHOICES:
        raise _bad(f"Invalid 'n': integer {'below minimum' if n < 1 else 'above maximum'} value. Expected a value "
                   f"{'>= 1' if n < 1 else f'<= {MAX_CHOICES}'}, but got {n} instead.", "n",
                   "integer_below_min_value" if n < 1 else "integer_above_max_value")
    return n


def usage_for_choices(usage: dict[str, Any], n: int) -> dict[str, Any]:
    """The usage of ``n`` identical choices: the prompt once, every choice's completion tokens."""
    if n == 1:
        return usage
    out = {**usage, "completion_tokens": usage["completion_tokens"] * n}
    out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict):
        out["completion_tokens_details"] = {**details, "reasoning_tokens": details.get("reasoning_tokens", 0) * n}
    return out


def completion_choices(document: dict[str, Any], n: int) -> dict[str, Any]:
    if n > 1:
        document["choices"] = [{**document["choices"][0], "index": i} for i in range(n)]
    return document


def stream_choices(frames: Iterator[Frame], n: int) -> Iterator[Frame]:
    """Each choice's frames in turn (index 0..n-1), then the usage chunk and [DONE] once."""
    if n == 1:
        yield from frames
        return
    body, tail = [], []
    for frame in frames:
        (tail if b'"choices":[]' in frame.data or frame.data == _DONE else body).append(frame)
    for i in range(n):
        marker = b'"choices":[{"index":' + str(i).encode() + b","
        for frame in body:
            yield Frame(frame.kind, frame.data.replace(b'"choices":[{"index":0,', marker))
    yield from tail


# ---------------------------------------------------------------- rendering


def tool_call_id(plan_hash: str) -> str:
    return f"call_sim_{plan_hash}"


def render_completion(
    plan: ReplyPlan, completion_id: str, model: str, created: int, usage: dict[str, Any]
) -> dict[str, Any]:
    """Non-streaming ``chat.completion`` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": plan.text if plan.text or not plan.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if plan.thinking:
        message["reasoning_content"] = plan.thinking
    if plan.tool_calls:
        message["tool_calls"] = [
            {
                "id": tool_call_id(c.id_hash),
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in plan.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH_REASONS[plan.stop_reason],
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_sim",
    }


def stream_frames(
    plan: ReplyPlan, completion_id: str, model: str, created: int, usage: dict[str, Any], include_usage: bool
) -> Iterator[Frame]:
    """``chat.completion.chunk`` frames; the envelope is pre-serialised once per stream."""
    head = dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model})
    envelope = b"data: " + head[:-1] + b',"system_fingerprint":"fp_sim","choices":[{"index":0,"delta":'
    end = b',"usage":null}\n\n' if include_usage else b"}\n\n"
    open_tail = b',"logprobs":null,"finish_reason":null}]' + end

    def chunk(delta: dict[str, Any]) -> bytes:
        return envelope + dumps(delta) + open_tail

    def text_chunk(key: bytes, piece: str) -> bytes:
        return (
            envelope + b'{"' + key + b'":' + json.dumps(piece, ensure_ascii=False).encode() + b"}" + open_tail
        )

    yield Frame(FrameKind.HEAD, chunk({"role": "assistant", "content": "", "refusal": None}))
    for piece in plan.thinking_deltas:
        yield Frame(FrameKind.DELTA, text_chunk(b"reasoning_content", piece))
    for piece in plan.text_deltas:
        yield Frame(FrameKind.DELTA, text_chunk(b"content", piece))
    for i, call in enumerate(plan.tool_calls):
        first = {"index": i, "id": tool_call_id(call.id_hash), "type": "function",
                 "function": {"name": call.name, "arguments": ""}}  # fmt: skip
        yield Frame(FrameKind.OTHER, chunk({"tool_calls": [first]}))
        for piece in split_fragments(call.arguments):
            yield Frame(
                FrameKind.DELTA, chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            )
    finish = FINISH_REASONS[plan.stop_reason]
    yield Frame(
        FrameKind.TAIL, envelope + b'{},"logprobs":null,"finish_reason":"' + finish.encode() + b'"}]' + end
    )
    if include_usage:
        yield Frame(FrameKind.TAIL, b"data: " + head[:-1] + b',"system_fingerprint":"fp_sim","choices":[],"usage":'
                    + dumps(usage) + b"}\n\n")  # fmt: skip
    yield Frame(FrameKind.TAIL, _DONE)


# ---------------------------------------------------------------- request building


def build_request(body: dict[str, Any], turn: UserTurn, directives: Directives) -> SimRequest:
    """Normalise a validated Chat Completions request for the planner."""
    tools = []
    for t in body.get("tools") or ():
        fn = t.get("function") if t.get("type") == "function" else None
        if isinstance(fn, dict):
            params = fn.get("parameters")
            tools.append(ToolSpec(fn["name"], params if isinstance(params, dict) else {"type": "object"}))
    choice = body.get("tool_choice")
    mode, forced = "auto", None
    if choice == "none":
        mode = "none"
    elif choice == "required":
        mode = "any"
    elif isinstance(choice, dict):
        fn = choice.get("function")
        forced = fn.get("name") if isinstance(fn, dict) else None
        mode = "tool" if forced else "auto"
    effort = body.get("reasoning_effort")
    thinking = body.get("thinking")
    thinking_on = (isinstance(effort, str) and effort != "none") or (
        isinstance(thinking, dict) and thinking.get("type") == "enabled"
    )
    stop = body.get("stop")
    stops = (
        [stop]
        if isinstance(stop, str)
        else [s for s in stop if isinstance(s, str)]
        if isinstance(stop, list)
        else []
    )
    limit = max_tokens_of(body)
    return SimRequest(
        model=body["model"],
        user_text=turn.text,
        images=turn.images,
        tool_results=turn.tool_results or [],
        tools=tools,
        tool_mode=mode,
        forced_tool=forced,
        parallel=body.get("parallel_tool_calls") is not False,
        thinking=thinking_on,
        max_tokens=limit if isinstance(limit, int) else 1 << 20,
        stop_sequences=stops,
        turn_count=len(body["messages"]),
        directives=directives,
        json_schema=_response_schema(body.get("response_format")),
    )


def _response_schema(fmt: Any) -> dict[str, Any] | None:
    """``response_format: {type: json_schema, json_schema: {schema}}`` -> the schema to satisfy."""
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return {"type": "object"}
    return None


class OpenAISimulator:
    """Route handlers for the OpenAI Chat Completions surface."""

    namespace = "openai"
    KEEPALIVE: bytes | None = None  # OpenAI sends nothing while a model thinks (timing.py)

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route(PREFIX + "/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]

    @staticmethod
    def _error(
        status: int,
        request_id: str,
        message: str | None = None,
        etype: str | None = None,
        param: str | None = None,
        code: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> RawResponse:
        headers = [("x-request-id", request_id), *(extra or [])]
        return json_response(status, error_body(status, message, etype, param, code), headers)

    @staticmethod
    def _auth_error(request: Request, request_id: str) -> RawResponse | None:
        key = bearer_token(request.headers)
        if not key:
            return OpenAISimulator._error(
                401,
                request_id,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
            )
        if key == INVALID_KEY:
            return OpenAISimulator._error(
                401,
                request_id,
                "Incorrect API key provided: sk-sim-i*****alid. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                code="invalid_api_key",
            )
        return None

    def _forced_failure(self, d: Directives, request_id: str, model: str) -> RawResponse:
        status = d.status if d.status is not None else 502
        extra: list[tuple[str, str]] = []
        if d.retry_after is not None:
            extra.append(("retry-after", d.retry_after))
        if status == 429:
            reset = f"{d.retry_after or 1}s"
            extra += [
                ("x-ratelimit-limit-requests", "500"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", reset),
                ("x-ratelimit-limit-tokens", "30000"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", reset),
            ]
        if d.error_body == "html":
            return html_error(status, [("x-request-id", request_id), *extra])
        message = (
            f"The model `{model}` does not exist or you do not have access to it." if status == 404 else None
        )
        return self._error(status, request_id, message, extra=extra)

    # -- hooks: OpenAI-compatible providers (DeepSeek, Ark) subclass this surface and
    #    override only what differs on their wire; the request flow below is shared.

    INVALID_JSON_MESSAGE = (
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload.)"
    )
    ID_PREFIX = "chatcmpl-sim"
    REQUEST_ID_HEADER = "x-request-id"

    def _pre_validate(self, body: dict[str, Any], request_id: str) -> Response | None:
        """A provider-specific rejection that comes before ordinary validation (none for OpenAI)."""
        return None

    def _validate(self, body: dict[str, Any]) -> None:
        validate(body)
        self._choices(body)

    def _choices(self, body: dict[str, Any]) -> int:
        """How many choices to generate (``n``); providers without ``n`` override this."""
        return choice_count(body)

    def _sim_request(self, body: dict[str, Any], turn: UserTurn, d: Directives) -> SimRequest:
        return build_request(body, turn, d)

    def _usage(self, prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
        return usage_json(prompt, cached, plan)

    def _render(
        self, plan: ReplyPlan, completion_id: str, model: str, created: int, usage: dict[str, Any]
    ) -> dict[str, Any]:
        return render_completion(plan, completion_id, model, created, usage)

    def _frames(
        self,
        plan: ReplyPlan,
        completion_id: str,
        model: str,
        created: int,
        usage: dict[str, Any],
        include_usage: bool,
    ) -> Iterator[Frame]:
        return stream_frames(plan, completion_id, model, created, usage, include_usage)

    def _mid_stream_error(self, request_id: str) -> bytes:
        return MID_STREAM_ERROR

    def _late_failure(self, request_id: str) -> Response:
        """``error_after`` on a non-streaming request: the provider's 5xx."""
        return self._error(500, request_id)

    async def chat_completions(self, request: Request) -> Response:
        """``POST /v1/chat/completions``: JSON or SSE, with directive-driven faults."""
        body = await read_recorded(request, self.state)
        request_id = new_id("req_sim_")
        denied = self._auth_error(request, request_id)
        if denied is not None:
            return denied
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(400, request_id, self.INVALID_JSON_MESSAGE)
        turn = last_user_turn(body.get("messages"))
        d = parse_directives(turn.text)
        await sleep_ms(d.delay_ms)
        if self.state.should_fail(d):
            return self._forced_failure(d, request_id, str(body.get("model")))
        early = self._pre_validate(body, request_id)
        if early is not None:
            return early
        try:
            self._validate(body)
        except SimError as exc:
            return self._error(exc.status, request_id, exc.message, exc.etype, exc.param, exc.code)
        stream = body.get("stream") is True
        if d.replay:
            try:
                return replay_response(d.replay, "openai", stream=stream, source=d.replay_source, part=d.replay_part)
            except SimError as exc:
                return self._error(exc.status, request_id, exc.message, exc.etype, exc.param, exc.code)
        if not stream and d.error_after is not None:
            return self._late_failure(request_id)
        model = body["model"]
        plan = plan_reply(self._sim_request(body, turn, d))
        prompt, cached = prompt_usage(body, self.state.cache(self.namespace))
        if d.cached is not None:
            cached = max(0, min(d.cached, prompt))
        choices = self._choices(body)
        usage = usage_for_choices(self._usage(prompt, cached, plan), choices)
        completion_id = new_id(self.ID_PREFIX)
        created = int(time.time())
        headers = [(self.REQUEST_ID_HEADER, request_id)]
        if stream:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            frames = stream_choices(self._frames(plan, completion_id, model, created, usage, include_usage), choices)
            return StreamResponse(paced(drive_stream(frames, d, self._mid_stream_error(request_id)), d, openai_chunk,
                                        self.KEEPALIVE), headers)
        await sleep_ms(d.first_token_ms + d.interval_ms * max(0, plan.delta_count - 1)
                       + nonstream_wait_ms(d, len(plan.tool_calls)))
        document = completion_choices(self._render(plan, completion_id, model, created, usage), choices)
        return json_response(200, document, headers)

    async def not_found(self, request: Request) -> Response:
        """Unknown OpenAI path: OpenAI's 404 shape."""
        await read_recorded(request, self.state)
        return self._error(
            404,
            new_id("req_sim_"),
            f"Invalid URL ({request.method} {request.url.path})",
            "invalid_request_error",
        )
