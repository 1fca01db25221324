"""Request translation: OpenAI Chat Completions ↔ Anthropic Messages (canonical).

Pure functions on parsed JSON. Everything the target can carry is carried; what it
cannot is either dropped (documented in docs/MAPPING.md) or, when dropping would change
what the client asked for, rejected with :class:`TranslationError` (→ 400).
"""

from __future__ import annotations

from typing import Any

from . import hub_request as hub
from .content import (
    b64_to_text,
    data_uri,
    dump_arguments,
    mid_conversation_system_text,
    parse_data_uri,
    parse_tool_arguments,
)
from .errors import TranslationError
from .hub_request import message_param as _param
from .hub_request import text_or_empty as _s
from .names import ToolNameMap
from .signatures import is_claude_signature, signature_origin

DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires ``max_tokens``; used when an OpenAI request has neither limit."""

TARGETS = ("openai", "deepseek", "ark")

JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

# reasoning_effort → Claude thinking budget ("budget" style, Claude ≤ 4.5)
EFFORT_TO_BUDGET = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 63999,
}
# reasoning_effort → Claude output_config.effort ("adaptive" style, Claude ≥ 4.6)
EFFORT_TO_CLAUDE = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "max",
}
_CLAUDE_EFFORTS = frozenset(EFFORT_TO_CLAUDE.values())


def budget_to_effort(budget: Any) -> str:
    """Claude ``budget_tokens`` → OpenAI ``reasoning_effort`` bucket (inverse of EFFORT_TO_BUDGET)."""
    if not isinstance(budget, int) or isinstance(budget, bool):
        return "medium"
    if budget <= 2048:
        return "low"
    if budget <= 8192:
        return "medium"
    return "high"


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


# =====================================================================================
# OpenAI → Anthropic
# =====================================================================================


def _cache_control_of(part: dict) -> dict | None:
    """``cache_control`` on an OpenAI part (non-standard, new-api #5335) or the official
    ``prompt_cache_breakpoint`` — both become a Claude cache breakpoint."""
    cc = part.get("cache_control")
    if isinstance(cc, dict):
        return cc
    if isinstance(part.get("prompt_cache_breakpoint"), dict):
        return {"type": "ephemeral"}
    return None


def _image_url_to_block(part: dict, param: str) -> dict:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise TranslationError("image_url.url must be a non-empty string", param)
    parsed = parse_data_uri(url)
    if parsed is not None:
        media, data = parsed
        if not media.startswith("image/"):
            raise TranslationError(f"image_url data URI has media type {media!r}, expected image/*", param)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    if url.startswith("data:"):
        raise TranslationError("image data URIs must be base64-encoded", param)
    return {"type": "image", "source": {"type": "url", "url": url}}


def _file_to_block(part: dict, param: str) -> dict:
    f = part.get("file")
    if not isinstance(f, dict):
        raise TranslationError("file part must carry a 'file' object", param)
    if f.get("file_id") and not f.get("file_data"):
        raise TranslationError(
            "file_id references cannot be resolved by this model's provider; send the content as file_data",
            param,
        )
    raw = f.get("file_data")
    if not isinstance(raw, str) or not raw:
        raise TranslationError("file.file_data must be a non-empty string", param)
    parsed = parse_data_uri(raw)
    media, data = parsed if parsed is not None else ("application/pdf", raw)
    filename = f.get("filename")
    if media == "application/pdf":
        block: dict = {"type": "document", "source": {"type": "base64", "media_type": media, "data": data}}
    elif media == "text/plain":
        text = b64_to_text(data, param)
        block = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
    elif media.startswith("image/"):
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    else:
        raise TranslationError(
            f"file type {media!r} is not supported by this model (PDF, text or images)", param
        )
    if isinstance(filename, str) and filename:
        block["title"] = filename
    return block


def _openai_parts_to_blocks(content: Any, param: str, *, role: str) -> list[dict]:
    """OpenAI message content (string or parts) → Anthropic blocks; empty text is skipped
    because Claude rejects empty text blocks (claude-code #53473)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content parts", param)
    blocks: list[dict] = []
    for j, part in enumerate(content):
        p = f"{param}[{j}]"
        if isinstance(part, str):
            part = {"type": "text", "text": part}
        if not isinstance(part, dict):
            raise TranslationError("content parts must be objects", p)
        t = part.get("type")
        if t == "text" or (t == "refusal" and role == "assistant"):
            text = part.get("text") if t == "text" else part.get("refusal")
            if not isinstance(text, str):
                raise TranslationError(f"{t} part must carry a string", p)
            if not text:
                continue
            block: dict = {"type": "text", "text": text}
        elif t == "image_url" and role != "assistant":
            block = _image_url_to_block(part, p)
        elif t == "file" and role != "assistant":
            block = _file_to_block(part, p)
        elif t == "input_audio":
            raise TranslationError("audio input is not supported by this model", p)
        elif t in ("image", "document") and role != "assistant":
            # An Anthropic-native block inside an OpenAI request: carry it verbatim.
            block = {k: v for k, v in part.items() if k != "cache_control"}
        else:
            raise TranslationError(f"content part type {t!r} is not supported here", p)
        cc = _cache_control_of(part)
        if cc is not None:
            block["cache_control"] = cc
        blocks.append(block)
    return blocks


def _assistant_thinking(msg: dict) -> list[dict]:
    """Thinking the client echoed back, kept only when Claude can verify it.

    ``thinking_blocks`` (verbatim blocks, as our non-streaming responses emit them) or
    ``reasoning_content`` + ``reasoning_signature`` (+ ``redacted_thinking``), as a
    client accumulating our stream deltas would echo them.
    Reasoning without a Claude signature cannot be sent to Claude and is dropped.
    """
    blocks = msg.get("thinking_blocks")
    out: list[dict] = []
    if isinstance(blocks, list):
        for b in blocks:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "thinking" and is_claude_signature(b.get("signature")):
                out.append(
                    {"type": "thinking", "thinking": b.get("thinking") or "", "signature": b["signature"]}
                )
            elif b.get("type") == "redacted_thinking" and isinstance(b.get("data"), str):
                out.append({"type": "redacted_thinking", "data": b["data"]})
        return out
    text = msg.get("reasoning_content")
    sig = msg.get("reasoning_signature")
    if isinstance(text, str) and is_claude_signature(sig):
        out.append({"type": "thinking", "thinking": text, "signature": sig})
    redacted = msg.get("redacted_thinking")
    if isinstance(redacted, str) and redacted:
        out.append({"type": "redacted_thinking", "data": redacted})
    return out


class _Turn:
    """An Anthropic turn being assembled from one or more OpenAI messages."""

    __slots__ = ("blocks", "plain", "role")

    def __init__(self, role: str, blocks: list[dict], plain: str | None) -> None:
        self.role = role
        self.blocks = blocks
        self.plain = plain  # the original string content, while the turn is one plain message


def _push(turns: list[_Turn], role: str, blocks: list[dict], plain: str | None = None) -> None:
    if not blocks:
        return
    if turns and turns[-1].role == role:
        turns[-1].blocks.extend(blocks)
        turns[-1].plain = None
    else:
        turns.append(_Turn(role, blocks, plain))


def _apply_message_cache_control(msg: dict, blocks: list[dict]) -> None:
    """A message-level ``cache_control`` (non-standard) goes on the message's last block."""
    cc = msg.get("cache_control")
    if isinstance(cc, dict) and blocks:
        blocks[-1]["cache_control"] = cc


def _tool_result_content(content: Any, param: str) -> str | list[dict] | None:
    if content is None or content == "":
        return None
    if isinstance(content, str):
        return content
    blocks = _openai_parts_to_blocks(content, param, role="tool")
    return blocks or None


def _convert_openai_messages(
    messages: list, names: ToolNameMap, extra_system: str | None
) -> tuple[str | list[dict] | None, list[dict]]:
    system: list[dict] = []
    system_plain: list[str] = []
    system_msgs = 0
    turns: list[_Turn] = []
    legacy_ids: dict[str, list[str]] = {}
    legacy_counter = 0

    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise TranslationError("each message must be an object", _param(i))
        role = msg.get("role")
        content = msg.get("content")
        if role in ("system", "developer"):
            system_msgs += 1
            blocks = _openai_parts_to_blocks(content, _param(i, "content"), role="system")
            for b in blocks:
                if b.get("type") != "text":
                    raise TranslationError("system messages may only contain text", _param(i, "content"))
            _apply_message_cache_control(msg, blocks)
            system.extend(blocks)
            if isinstance(content, str):
                system_plain.append(content)
        elif role == "user":
            blocks = _openai_parts_to_blocks(content, _param(i, "content"), role="user")
            _apply_message_cache_control(msg, blocks)
            plain = content if isinstance(content, str) and "cache_control" not in msg else None
            _push(turns, "user", blocks, plain)
        elif role == "assistant":
            blocks = _assistant_thinking(msg)
            blocks.extend(_openai_parts_to_blocks(content, _param(i, "content"), role="assistant"))
            refusal = msg.get("refusal")
            if isinstance(refusal, str) and refusal:
                blocks.append({"type": "text", "text": refusal})
            tool_calls = msg.get("tool_calls")
            if tool_calls is not None and not isinstance(tool_calls, list):
                raise TranslationError("tool_calls must be an array", _param(i, "tool_calls"))
            for j, tc in enumerate(tool_calls or ()):
                p = _param(i, "tool_calls", j)
                if not isinstance(tc, dict):
                    raise TranslationError("tool_calls entries must be objects", p)
                fn = tc.get("function")
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                    raise TranslationError("tool call needs function.name", p + ".function.name")
                tc_id = tc.get("id")
                if not isinstance(tc_id, str) or not tc_id:
                    raise TranslationError("tool call needs an id", p + ".id")
                block = {
                    "type": "tool_use",
                    "id": names.upstream_id(tc_id),
                    "name": names.upstream_name(fn["name"]),
                    "input": parse_tool_arguments(fn.get("arguments"), p + ".function.arguments"),
                }
                if isinstance(tc.get("cache_control"), dict):
                    block["cache_control"] = tc["cache_control"]
                blocks.append(block)
            fc = msg.get("function_call")
            if isinstance(fc, dict) and isinstance(fc.get("name"), str):
                legacy_counter += 1
                lid = f"call_legacy_{legacy_counter}"
                legacy_ids.setdefault(fc["name"], []).append(lid)
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": lid,
                        "name": names.upstream_name(fc["name"]),
                        "input": parse_tool_arguments(
                            fc.get("arguments"), _param(i, "function_call", "arguments")
                        ),
                    }
                )
            _apply_message_cache_control(msg, blocks)
            _push(turns, "assistant", blocks)
        elif role == "tool":
            tc_id = msg.get("tool_call_id")
            if not isinstance(tc_id, str) or not tc_id:
                raise TranslationError("tool messages need tool_call_id", _param(i, "tool_call_id"))
            block = {"type": "tool_result", "tool_use_id": names.upstream_id(tc_id)}
            result = _tool_result_content(content, _param(i, "content"))
            if result is not None:
                block["content"] = result
            if isinstance(msg.get("cache_control"), dict):
                block["cache_control"] = msg["cache_control"]
            _push(turns, "user", [block])
        elif role == "function":
            fname = msg.get("name")
            queue = legacy_ids.get(fname) if isinstance(fname, str) else None
            if not queue:
                raise TranslationError("function message does not answer a function_call", _param(i, "name"))
            block = {"type": "tool_result", "tool_use_id": queue.pop(0)}
            result = _tool_result_content(content, _param(i, "content"))
            if result is not None:
                block["content"] = result
            _push(turns, "user", [block])
        else:
            raise TranslationError(f"message role {role!r} is not supported", _param(i, "role"))

    out_messages: list[dict] = []
    for turn in turns:
        if turn.role == "user":
            # Claude requires tool_result blocks first in their user turn.
            results = [b for b in turn.blocks if b.get("type") == "tool_result"]
            if results and len(results) != len(turn.blocks) and turn.blocks[0].get("type") != "tool_result":
                turn.blocks = results + [b for b in turn.blocks if b.get("type") != "tool_result"]
        content_out: str | list[dict] = turn.plain if turn.plain is not None else turn.blocks
        out_messages.append({"role": turn.role, "content": content_out})

    # A final assistant turn is a prefill; Claude rejects trailing whitespace there.
    if out_messages and out_messages[-1]["role"] == "assistant":
        blocks = out_messages[-1]["content"]
        if isinstance(blocks, list) and blocks and blocks[-1].get("type") == "text":
            stripped = blocks[-1]["text"].rstrip()
            if stripped:
                blocks[-1] = {**blocks[-1], "text": stripped}
            else:
                blocks.pop()
            if not blocks:
                out_messages.pop()

    if extra_system:
        system.append({"type": "text", "text": extra_system})
        system_plain = []
    sys_out: str | list[dict] | None
    if not system:
        sys_out = None
    elif (
        system_msgs == 1 and len(system_plain) == 1 and len(system) == 1 and "cache_control" not in system[0]
    ):
        sys_out = system_plain[0]
    else:
        sys_out = system
    return sys_out, out_messages


def _openai_tools_to_anthropic(tools: Any, names: ToolNameMap) -> list[dict]:
    if not isinstance(tools, list):
        raise TranslationError("tools must be an array", "tools")
    out: list[dict] = []
    for k, tool in enumerate(tools):
        p = f"tools[{k}]"
        if not isinstance(tool, dict):
            raise TranslationError("tools entries must be objects", p)
        if tool.get("type", "function") != "function":
            raise TranslationError(
                f"tool type {tool.get('type')!r} is not supported by this model", p + ".type"
            )
        fn = tool.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise TranslationError("function tools need function.name", p + ".function.name")
        out.append(_function_to_tool(fn, names, tool.get("cache_control") or fn.get("cache_control")))
    return out


def _function_to_tool(fn: dict, names: ToolNameMap, cache_control: Any = None) -> dict:
    schema = fn.get("parameters")
    if not isinstance(schema, dict) or not schema:
        schema = {"type": "object", "properties": {}}
    elif "type" not in schema:
        schema = {"type": "object", **schema}
    tool: dict = {"name": names.upstream_name(fn["name"])}
    if isinstance(fn.get("description"), str) and fn["description"]:
        tool["description"] = fn["description"]
    tool["input_schema"] = schema
    if isinstance(fn.get("strict"), bool):
        tool["strict"] = fn["strict"]
    if isinstance(cache_control, dict):
        tool["cache_control"] = cache_control
    return tool


def _openai_tool_choice(
    choice: Any, names: ToolNameMap, tools: list[dict], param: str = "tool_choice"
) -> tuple[dict | None, list[dict]]:
    """OpenAI ``tool_choice`` → Anthropic ``tool_choice`` (and the tools, which
    ``allowed_tools`` may narrow)."""
    if choice is None:
        return None, tools
    if choice == "none":
        return {"type": "none"}, tools
    if choice == "auto":
        return {"type": "auto"}, tools
    if choice == "required":
        return {"type": "any"}, tools
    if isinstance(choice, dict):
        t = choice.get("type")
        fn = choice.get("function")
        if t == "function" and isinstance(fn, dict) and isinstance(fn.get("name"), str):
            return {"type": "tool", "name": names.upstream_name(fn["name"])}, tools
        if t is None and isinstance(choice.get("name"), str):  # legacy function_call {"name"}
            return {"type": "tool", "name": names.upstream_name(choice["name"])}, tools
        if t == "allowed_tools" and isinstance(choice.get("allowed_tools"), dict):
            spec = choice["allowed_tools"]
            allowed = {
                names.upstream_name(a["function"]["name"])
                for a in _list(spec.get("tools"))
                if isinstance(a, dict)
                and isinstance(a.get("function"), dict)
                and isinstance(a["function"].get("name"), str)
            }
            narrowed = [tl for tl in tools if tl["name"] in allowed]
            return ({"type": "any"} if spec.get("mode") == "required" else {"type": "auto"}), narrowed
    raise TranslationError("unsupported tool_choice", param)


def _number(req: dict, key: str) -> float | int | None:
    value = req.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranslationError(f"{key} must be a number", key)
    return value


def _int_field(req: dict, key: str) -> int | None:
    value = req.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TranslationError(f"{key} must be a non-negative integer", key)
    return value


def apply_reasoning_effort(
    out: dict[str, Any],
    output_config: dict[str, Any],
    effort: Any,
    *,
    thinking_style: str,
    param: str = "reasoning_effort",
) -> None:
    """An OpenAI-style reasoning effort → Claude thinking on an assembled Anthropic request.

    Shared by the Chat Completions and Responses surfaces. ``out`` already holds
    ``messages``, ``max_tokens`` and any ``tool_choice``; ``output_config`` receives the
    adaptive effort. Thinking is left off where Claude would reject it (a forcing
    tool_choice, or a tool-use continuation whose assistant turn lost its thinking block),
    and sampling parameters Claude refuses alongside thinking are dropped.
    """
    if not isinstance(effort, str) or effort not in EFFORT_TO_BUDGET:
        raise TranslationError(f"unsupported {param} {effort!r}", param)
    thinking_ok = True
    tool_choice = out.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("any", "tool"):
        thinking_ok = False  # Claude: thinking may not be enabled when tool_choice forces tool use
    last_assistant = next((m for m in reversed(out["messages"]) if m["role"] == "assistant"), None)
    if last_assistant is not None and isinstance(last_assistant["content"], list):
        blocks = last_assistant["content"]
        if any(b.get("type") == "tool_use" for b in blocks) and blocks[0].get("type") not in (
            "thinking",
            "redacted_thinking",
        ):
            thinking_ok = False  # Claude: a tool-use continuation must start with its thinking block
    if thinking_ok and thinking_style == "adaptive":
        out["thinking"] = {"type": "adaptive"}
        output_config["effort"] = EFFORT_TO_CLAUDE[effort]
    elif thinking_ok:
        budget = min(EFFORT_TO_BUDGET[effort], out["max_tokens"] - 1)
        if budget >= 1024:
            out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if "thinking" in out:
        # Claude with thinking: temperature must be 1, top_p ≥ 0.95, no top_k.
        if out.get("temperature", 1) != 1:
            del out["temperature"]
        if out.get("top_p", 1) < 0.95:
            del out["top_p"]
        out.pop("top_k", None)


def openai_request_to_anthropic(
    req: dict,
    *,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    thinking_style: str = "budget",
) -> tuple[dict, ToolNameMap]:
    """Chat Completions request → Anthropic Messages request for a Claude upstream.

    ``model`` is kept as given (the caller replaces it). ``default_max_tokens`` fills
    Anthropic's required ``max_tokens`` when the client sent no limit (the gateway may
    pass the catalog's max output). ``thinking_style`` picks how ``reasoning_effort``
    becomes Claude thinking: ``"budget"`` (``{type:"enabled", budget_tokens}``, Claude
    ≤ 4.5) or ``"adaptive"`` (``{type:"adaptive"}`` + ``output_config.effort``, 4.6+).
    """
    if not isinstance(req, dict):
        raise TranslationError("request body must be a JSON object")
    names = ToolNameMap()

    n = req.get("n")
    if n is not None and n != 1:
        raise TranslationError("n > 1 is not supported by this model; send one request per completion", "n")
    if req.get("logprobs") or req.get("top_logprobs"):
        raise TranslationError("logprobs are not supported by this model", "logprobs")
    modalities = req.get("modalities")
    if isinstance(modalities, list) and any(m != "text" for m in modalities):
        raise TranslationError("only text output is supported by this model", "modalities")
    if req.get("audio") is not None:
        raise TranslationError("audio output is not supported by this model", "audio")
    if req.get("web_search_options") is not None:
        raise TranslationError("web_search_options is not supported by this model", "web_search_options")

    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TranslationError("messages must be a non-empty array", "messages")

    extra_system = None
    rf = req.get("response_format")
    output_format: dict | None = None
    if isinstance(rf, dict):
        rft = rf.get("type")
        if rft == "json_schema":
            js = rf.get("json_schema")
            schema = js.get("schema") if isinstance(js, dict) else None
            if not isinstance(schema, dict):
                raise TranslationError(
                    "response_format.json_schema.schema must be an object", "response_format"
                )
            output_format = {"type": "json_schema", "schema": schema}
        elif rft == "json_object":
            extra_system = JSON_OBJECT_INSTRUCTION
        elif rft not in (None, "text"):
            raise TranslationError(f"response_format type {rft!r} is not supported", "response_format")
    elif rf is not None:
        raise TranslationError("response_format must be an object", "response_format")

    system, out_messages = _convert_openai_messages(messages, names, extra_system)
    if not out_messages:
        raise TranslationError(
            "messages must contain at least one non-system message with content", "messages"
        )

    max_tokens = _int_field(req, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _int_field(req, "max_tokens")
    if max_tokens is None:
        max_tokens = default_max_tokens

    out: dict[str, Any] = {"model": req.get("model"), "max_tokens": max_tokens}
    if system is not None:
        out["system"] = system
    out["messages"] = out_messages

    stop = req.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise TranslationError("stop must be a string or an array of strings", "stop")
        stop = [s for s in stop if s]
        if stop:
            out["stop_sequences"] = stop

    temperature = _number(req, "temperature")
    if temperature is not None:
        if temperature < 0:
            raise TranslationError("temperature must be >= 0", "temperature")
        out["temperature"] = min(temperature, 1)  # Claude's range is 0–1; clamp, see MAPPING.md
    top_p = _number(req, "top_p")
    if top_p is not None:
        out["top_p"] = top_p
    top_k = req.get("top_k")  # non-standard, but Claude supports it
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        out["top_k"] = top_k

    user = req.get("user") or req.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if req.get("stream") is not None:
        out["stream"] = bool(req.get("stream"))

    # tools ---------------------------------------------------------------------------
    tools: list[dict] = []
    if req.get("tools") is not None:
        tools = _openai_tools_to_anthropic(req["tools"], names)
    legacy_fns = req.get("functions")
    if isinstance(legacy_fns, list):
        for k, fn in enumerate(legacy_fns):
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise TranslationError("functions entries need a name", f"functions[{k}].name")
            tools.append(_function_to_tool(fn, names))
    choice_raw = req.get("tool_choice")
    param = "tool_choice"
    if choice_raw is None and req.get("function_call") is not None:
        choice_raw, param = req.get("function_call"), "function_call"
    tool_choice, tools = _openai_tool_choice(choice_raw, names, tools, param)
    if tools:
        out["tools"] = tools
        if req.get("parallel_tool_calls") is False and (tool_choice is None or tool_choice["type"] != "none"):
            tool_choice = {**(tool_choice or {"type": "auto"}), "disable_parallel_tool_use": True}
        if tool_choice is not None:
            out["tool_choice"] = tool_choice
    elif tool_choice is not None and tool_choice["type"] != "none":
        raise TranslationError("tool_choice requires tools", param)

    # thinking ------------------------------------------------------------------------
    output_config: dict[str, Any] = {}
    if output_format is not None:
        output_config["format"] = output_format
    effort = req.get("reasoning_effort")
    if effort is None and isinstance(req.get("reasoning"), dict):
        effort = req["reasoning"].get("effort")
    if isinstance(req.get("thinking"), dict):  # Anthropic-style switch sent via extra_body
        out["thinking"] = req["thinking"]
    elif effort is not None and effort != "none":
        apply_reasoning_effort(out, output_config, effort, thinking_style=thinking_style)
    if output_config:
        out["output_config"] = output_config
    if isinstance(req.get("cache_control"), dict):  # Anthropic automatic caching, passed through
        out["cache_control"] = req["cache_control"]
    return out, names


# =====================================================================================
# Anthropic → OpenAI
# =====================================================================================


def _source_to_part(block: dict, param: str, target: str) -> dict:
    """Anthropic image/document block → OpenAI content part."""
    src = block.get("source")
    if not isinstance(src, dict):
        raise TranslationError(f"{block.get('type')} block needs a source", param)
    st = src.get("type")
    if block.get("type") == "image":
        if target == "deepseek":
            raise TranslationError("image input is not supported by this model", param)
        if st == "base64":
            url = data_uri(_s(src.get("media_type")) or "image/png", _s(src.get("data")))
        elif st == "url":
            url = _s(src.get("url"))
        else:
            raise TranslationError(f"image source type {st!r} is not supported by this model", param)
        return {"type": "image_url", "image_url": {"url": url}}
    # document
    title = block.get("title")
    if st == "text":
        text = _s(src.get("data"))
        return {"type": "text", "text": f"{title}\n\n{text}" if title else text}
    if st == "content":
        texts = [
            _s(c.get("text"))
            for c in _list(src.get("content"))
            if isinstance(c, dict) and c.get("type") == "text"
        ]
        text = "\n\n".join(t for t in texts if t)
        return {"type": "text", "text": f"{title}\n\n{text}" if title else text}
    if target == "deepseek":
        raise TranslationError("document input is not supported by this model", param)
    if st == "base64":
        media = _s(src.get("media_type")) or "application/pdf"
        f: dict = {"file_data": data_uri(media, _s(src.get("data")))}
        f["filename"] = title if isinstance(title, str) and title else "document.pdf"
        return {"type": "file", "file": f}
    if st == "url":
        raise TranslationError("URL documents are not supported by this model; send the PDF as base64", param)
    raise TranslationError(f"document source type {st!r} is not supported by this model", param)


def _search_result_text(block: dict) -> str:
    parts = [_s(block.get("title")), _s(block.get("source"))]
    for c in _list(block.get("content")):
        if isinstance(c, dict) and c.get("type") == "text":
            parts.append(c.get("text") or "")
    return "\n".join(p for p in parts if p)


def _flatten(parts: list[dict], target: str, sep: str = "\n\n") -> str | list[dict]:
    """DeepSeek takes string content; others keep the text parts (block boundaries)."""
    if target == "deepseek" and all(p.get("type") == "text" for p in parts):
        return sep.join(p["text"] for p in parts)
    return parts


def _tool_result_to_message(
    block: dict, names: ToolNameMap, moved: list[dict], param: str, target: str
) -> dict:
    """``tool_result`` → ``role:"tool"`` message. Images/documents cannot ride in a tool
    message, so they are moved to ``moved`` (a user message right after the tool messages)."""
    tool_use_id = block.get("tool_use_id")
    if not isinstance(tool_use_id, str) or not tool_use_id:
        raise TranslationError("tool_result needs tool_use_id", param + ".tool_use_id")
    upstream_id = names.upstream_id(tool_use_id)
    content = block.get("content")
    is_error = block.get("is_error") is True
    result: str | list[dict]
    if content is None:
        result = ""
    elif isinstance(content, str):
        result = content
    elif isinstance(content, list):
        texts: list[dict] = []
        attached: list[dict] = []
        for k, c in enumerate(content):
            if not isinstance(c, dict):
                raise TranslationError("tool_result content entries must be objects", f"{param}.content[{k}]")
            ct = c.get("type")
            if ct == "text":
                texts.append({"type": "text", "text": _s(c.get("text"))})
            elif ct in ("image", "document"):
                part = _source_to_part(c, f"{param}.content[{k}]", target)
                (texts if part["type"] == "text" else attached).append(part)
            elif ct == "search_result":
                texts.append({"type": "text", "text": _search_result_text(c)})
            # tool_reference and unknown server blocks carry nothing a chat model can read
        if attached:
            moved.append({"type": "text", "text": f"[attachments returned by tool call {upstream_id}]"})
            moved.extend(attached)
            texts.append({"type": "text", "text": "[attachments follow in the next user message]"})
        result = _flatten(texts, target) if texts else ""
    else:
        raise TranslationError("tool_result content must be a string or an array", param + ".content")
    if is_error:
        if isinstance(result, str):
            result = "Error: " + result if result else "Error"
        elif result:
            result = [{"type": "text", "text": "Error: " + result[0]["text"]}, *result[1:]]
        else:
            result = "Error"
    return {"role": "tool", "tool_call_id": upstream_id, "content": result}


def _anthropic_user_to_openai(msg: dict, i: int, names: ToolNameMap, target: str) -> list[dict]:
    content = msg.get("content")
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    tool_msgs: list[dict] = []
    moved: list[dict] = []
    parts: list[dict] = []
    for j, b in enumerate(content):
        p = _param(i, "content", j)
        if not isinstance(b, dict):
            raise TranslationError("content blocks must be objects", p)
        t = b.get("type")
        if t == "text":
            text = b.get("text")
            if not isinstance(text, str):
                raise TranslationError("text block needs text", p)
            parts.append({"type": "text", "text": text})
        elif t in ("image", "document"):
            parts.append(_source_to_part(b, p, target))
        elif t == "tool_result":
            tool_msgs.append(_tool_result_to_message(b, names, moved, p, target))
        elif t == "search_result":
            parts.append({"type": "text", "text": _search_result_text(b)})
        elif t in ("thinking", "redacted_thinking"):
            continue
        else:
            raise TranslationError(f"content block type {t!r} is not supported by this model", p)
    out = tool_msgs
    user_parts = moved + parts
    if user_parts:
        out.append({"role": "user", "content": _flatten(user_parts, target)})
    return out


_ECHO_REASONING = {"openai": False, "deepseek": True, "ark": True}


def _anthropic_assistant_to_openai(msg: dict, i: int, names: ToolNameMap, target: str) -> dict | None:
    content = msg.get("content")
    if isinstance(content, str):
        return {"role": "assistant", "content": content} if content else None
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict] = []
    for j, b in enumerate(content):
        p = _param(i, "content", j)
        if not isinstance(b, dict):
            raise TranslationError("content blocks must be objects", p)
        t = b.get("type")
        if t == "text":
            if isinstance(b.get("text"), str):
                texts.append(b["text"])
        elif t == "tool_use":
            name, tid = b.get("name"), b.get("id")
            if not isinstance(name, str) or not name or not isinstance(tid, str) or not tid:
                raise TranslationError("tool_use blocks need id and name", p)
            tool_calls.append(
                {
                    "id": names.upstream_id(tid),
                    "type": "function",
                    "function": {
                        "name": names.upstream_name(name),
                        "arguments": dump_arguments(b.get("input")),
                    },
                }
            )
        elif t == "thinking" and _ECHO_REASONING[target] and signature_origin(b.get("signature")) == target:
            # Only reasoning this provider produced goes back (assertion 6); Claude's own
            # thinking and other providers' reasoning are stripped.
            reasoning.append(_s(b.get("thinking")))
        # redacted_thinking, server tool blocks, etc.: nothing an OpenAI-format model can read
    text = "".join(texts)
    if not text and not tool_calls:
        return None
    out: dict[str, Any] = {"role": "assistant", "content": text or None}
    if reasoning or (target == "deepseek" and tool_calls):
        # DeepSeek 400s ("Missing reasoning_content") on tool-call turns without it (ccr #1050).
        out["reasoning_content"] = "".join(reasoning)
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def _anthropic_tools_to_openai(tools: Any, names: ToolNameMap) -> list[dict]:
    out: list[dict] = []
    for tool in hub.function_tools(tools):
        fn: dict[str, Any] = {"name": names.upstream_name(tool.name)}
        if tool.description:
            fn["description"] = tool.description
        fn["parameters"] = (
            tool.input_schema if tool.input_schema is not None else {"type": "object", "properties": {}}
        )
        if tool.strict is not None:
            fn["strict"] = tool.strict
        out.append({"type": "function", "function": fn})
    return out


def _strict_compatible(schema: Any) -> bool:
    """OpenAI strict mode needs every object closed and every property required."""
    if isinstance(schema, list):
        return all(_strict_compatible(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        if not isinstance(props, dict) or not isinstance(required, list):
            return False
        if schema.get("additionalProperties") is not False:
            return False
        if sorted(map(str, required)) != sorted(props):
            return False
    return all(_strict_compatible(v) for k, v in schema.items() if k not in ("required", "enum", "const"))


# Hub tool_choice types other than "tool", as OpenAI (Chat Completions and Responses) names them.
OPENAI_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_request_to_openai(req: dict, *, target: str = "openai") -> tuple[dict, ToolNameMap]:
    """Anthropic Messages request → Chat Completions request for an OpenAI-format upstream.

    ``target`` ∈ {"openai", "deepseek", "ark"} selects small dialect differences: the
    thinking switch (``reasoning_effort`` vs ``thinking{type}``), the max-tokens field,
    echoing ``reasoning_content``, and string-only content for DeepSeek.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    raw_messages = hub.hub_messages(req)
    names = ToolNameMap()

    messages: list[dict] = []
    system = hub.system_texts(req)
    if system:
        parts = [{"type": "text", "text": text} for text in system]
        messages.append({"role": "system", "content": _flatten(parts, target)})

    for i, msg in enumerate(raw_messages):
        if not isinstance(msg, dict):
            raise hub.not_an_object(i)
        role = msg.get("role")
        if role == "user":
            messages.extend(_anthropic_user_to_openai(msg, i, names, target))
        elif role == "assistant":
            converted = _anthropic_assistant_to_openai(msg, i, names, target)
            if converted is not None:
                messages.append(converted)
        elif role == "system":
            # A mid-conversation system turn: Chat Completions takes system messages anywhere.
            text = mid_conversation_system_text(msg, i)
            if text:
                messages.append({"role": "system", "content": text})
        else:
            raise hub.unsupported_role(role, i)

    out: dict[str, Any] = {"model": req.get("model"), "messages": messages}
    max_tokens = hub.max_tokens(req)
    if max_tokens is not None:
        out["max_completion_tokens" if target == "openai" else "max_tokens"] = max_tokens

    stops = req.get("stop_sequences")
    if isinstance(stops, list) and stops:
        out["stop"] = list(stops)
    for key in ("temperature", "top_p"):
        if req.get(key) is not None:
            out[key] = req[key]
    metadata = req.get("metadata")
    if target != "deepseek" and isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    if req.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # usage is how we bill
    elif req.get("stream") is not None:
        out["stream"] = False

    # tools ---------------------------------------------------------------------------
    tools = _anthropic_tools_to_openai(req["tools"], names) if req.get("tools") is not None else []
    choice = hub.tool_choice(req, has_tools=bool(tools))
    if tools:
        out["tools"] = tools
    if choice is not None:
        if choice.type == "tool":
            out["tool_choice"] = {
                "type": "function",
                "function": {"name": names.upstream_name(choice.name or "")},
            }
        else:
            out["tool_choice"] = OPENAI_TOOL_CHOICE[choice.type]
        if choice.disable_parallel and choice.type != "none":
            out["parallel_tool_calls"] = False

    # structured output & thinking -----------------------------------------------------
    output_config = hub.output_config(req)
    schema = hub.json_schema_format(req)
    if schema is not None:
        js: dict[str, Any] = {"name": "structured_output", "schema": schema}
        if _strict_compatible(schema):
            js["strict"] = True
        out["response_format"] = {"type": "json_schema", "json_schema": js}
    effort = output_config.get("effort")
    if effort is not None and (not isinstance(effort, str) or effort not in _CLAUDE_EFFORTS):
        raise TranslationError(f"unsupported output_config.effort {effort!r}", "output_config.effort")
    thinking = req.get("thinking")
    ttype = thinking.get("type") if isinstance(thinking, dict) else None
    if target == "openai":
        if ttype == "enabled":
            out["reasoning_effort"] = effort or budget_to_effort(thinking.get("budget_tokens"))
        elif ttype == "adaptive":
            out["reasoning_effort"] = effort or "medium"
        elif ttype is None and effort:
            out["reasoning_effort"] = effort
    elif target == "deepseek":
        if ttype in ("enabled", "adaptive"):
            out["thinking"] = {"type": "enabled"}
            if effort:
                out["reasoning_effort"] = effort
            elif ttype == "enabled":
                out["reasoning_effort"] = budget_to_effort(thinking.get("budget_tokens"))
        elif ttype == "disabled":
            out["thinking"] = {"type": "disabled"}
    else:  # ark
        if ttype == "enabled":
            out["thinking"] = {"type": "enabled"}
        elif ttype == "adaptive":
            out["thinking"] = {"type": "auto"}
        elif ttype == "disabled":
            out["thinking"] = {"type": "disabled"}
    return out, names


def restore_deepseek_reasoning(req: dict) -> dict:
    """An OpenAI-surface request for DeepSeek, with ``reasoning_content`` on every assistant
    tool-call turn that lacks it (``""``; what the Anthropic surface sends too).

    DeepSeek 400s ("Missing `reasoning_content` field in the assistant message") on a tool-call
    turn without it while thinking is on (its default); most OpenAI clients never echo the
    field. Returns ``req`` itself when nothing is missing, else a copy (the input is not mutated).
    """
    messages = req.get("messages")
    if not isinstance(messages, list):
        return req
    missing = [
        i
        for i, m in enumerate(messages)
        if isinstance(m, dict)
        and m.get("role") == "assistant"
        and m.get("tool_calls")
        and not isinstance(m.get("reasoning_content"), str)
    ]
    if not missing:
        return req
    patched = list(messages)
    for i in missing:
        patched[i] = {**messages[i], "reasoning_content": ""}
    return {**req, "messages": patched}
