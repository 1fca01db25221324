"""The OpenAI Responses API as a client surface: a Responses client on any model.

``responses_request_to_anthropic`` turns a ``POST /v1/responses`` body into a hub
(Anthropic Messages) request plus a :class:`ResponsesContext`; ``AnthropicToResponsesStream``
turns hub events into Responses SSE events, one at a time; ``anthropic_response_to_responses``
builds the non-streamed ``response`` object by running that same machine, so a streamed
and a non-streamed answer are the same items. See docs/MAPPING.md ("OpenAI Responses").

Tools: function tools keep their names; custom (freeform) tools become a function with one
string parameter ``input`` (the grammar, if any, goes in its description) and come back as
``custom_tool_call`` items; namespaced tools (Codex's ``additional_tools`` item) are
flattened to ``<namespace>__<name>`` (the default namespace ``functions`` keeps bare names)
and come back with their ``namespace`` (none for ``functions``, as OpenAI sends them). Built-in tools (web search, file search, computer
use, code interpreter, image generation, MCP, shell, apply_patch, ...) have no hub
equivalent: they are refused in OpenAI's own wording, and listed on the context, so the
gateway can send a Responses client on an OpenAI model through the same-protocol
pass-through instead (the only lane that can honour them).

Reasoning: a hub thinking block becomes a ``reasoning`` item whose ``encrypted_content``
carries the exact block (see :mod:`.responses_common`); replayed, it restores the block, so
Claude sees its own signed thinking again. The summary text is shown only when the client
asked for one (``reasoning.summary``), as OpenAI does.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .content import parse_tool_arguments
from .errors import TranslationError
from .names import ToolNameMap, safe_tool_name
from .requests import (
    DEFAULT_MAX_TOKENS,
    JSON_OBJECT_INSTRUCTION,
    _file_to_block,
    _image_url_to_block,
    apply_reasoning_effort,
)
from .responses_common import (
    BUILTIN_TOOL_TYPES,
    CLIENT_BUILTIN_ITEM_TYPES,
    SERVER_ITEM_TYPES,
    anthropic_usage_to_responses,
    compaction_context,
    compaction_request,
    decode_compaction,
    decode_envelope,
    encode_compaction,
    encode_envelope,
    openai_reasoning_signature,
    read_openai_reasoning_signature,
    split_summary,
    stop_to_status,
)
from .usage import merge_anthropic_usage

Event = dict[str, Any]

DEFAULT_NAMESPACE = "functions"
"""OpenAI's namespace of plain function tools (Codex declares its own tools in it)."""

CUSTOM_INPUT = "input"
"""The one parameter a custom (freeform) tool has on the hub."""

_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_SUMMARIES = ("auto", "concise", "detailed")
_SERVER_TOOL_CHOICES = frozenset(
    {"file_search", "web_search", "web_search_preview", "computer", "computer_use", "computer_use_preview",
     "code_interpreter", "image_generation", "mcp", "apply_patch", "shell", "local_shell",
     "programmatic_tool_calling"}
)  # fmt: skip


@dataclass(slots=True)
class ClientTool:
    """Where a hub tool came from, so its calls go back in the client's own shape."""

    name: str
    kind: str  # "function" | "custom"
    namespace: str | None = None


@dataclass(slots=True)
class ResponsesContext:
    """What answering a Responses request needs to know about it.

    ``tools`` maps hub tool names to the client's tools; ``echo`` holds the request fields a
    ``response`` object repeats; ``builtin_tools`` lists the built-in tool types the request
    named (non-empty only with ``builtin_tools="list"``: the gateway then routes to OpenAI's
    pass-through or refuses); ``warnings`` what was dropped (for logs).
    """

    model: str
    names: ToolNameMap = field(default_factory=ToolNameMap)
    tools: dict[str, ClientTool] = field(default_factory=dict)
    summary: bool = False
    stream: bool = False
    echo: dict[str, Any] = field(default_factory=dict)
    builtin_tools: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    compaction: bool = False  # the input ended in a compaction_trigger: the answer is one compaction item
    _by_client: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def hub_tool(self, namespace: str | None, name: str) -> str:
        """The hub name of the client's tool ``namespace.name`` (registered on first use)."""
        ns = None if namespace in (None, "", DEFAULT_NAMESPACE) else namespace
        key = (ns, name)
        hub = self._by_client.get(key)
        if hub is not None:
            return hub
        hub = safe_tool_name(name if ns is None else f"{ns}__{name}")
        if hub in self.tools:  # two client tools flatten to one name: keep both apart
            hub = safe_tool_name(f"{ns or DEFAULT_NAMESPACE}__{name}__x")
        self._by_client[key] = hub
        return hub

    def client_tool(self, hub_name: str) -> ClientTool:
        """The client's tool for a hub tool name (a plain function when unknown)."""
        tool = self.tools.get(hub_name)
        return tool if tool is not None else ClientTool(self.names.client_name(hub_name), "function")


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _builtin_refusal(tool_type: str, model: str, param: str) -> TranslationError:
    """OpenAI's own wording for a hosted tool a model does not support."""
    return TranslationError(f"Hosted tool '{tool_type}' is not supported with {model}.", param)


# =====================================================================================
# Request: Responses → hub
# =====================================================================================


def _custom_tool_schema(tool: dict) -> tuple[dict, str]:
    """A custom tool's hub ``input_schema`` and description (its grammar spelled out)."""
    description = _s(tool.get("description"))
    fmt = tool.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar" and _s(fmt.get("definition")):
        syntax = _s(fmt.get("syntax")) or "lark"
        grammar = (
            f"The `{CUSTOM_INPUT}` string is the tool's raw input, given verbatim; it must match "
            f"this {syntax} grammar:\n{fmt['definition']}"
        )
        description = f"{description}\n\n{grammar}" if description else grammar
    param_doc = "Freeform input passed unchanged to the tool."
    schema = {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": param_doc}},
        "required": [CUSTOM_INPUT],
        "additionalProperties": False,
    }
    return schema, description


def _add_tool(
    tool: Any, param: str, ctx: ResponsesContext, out: list[dict], namespace: str | None, *, builtins: str
) -> None:
    if not isinstance(tool, dict):
        raise TranslationError("tools entries must be objects", param)
    ttype = tool.get("type")
    if ttype == "namespace" and namespace is None:
        ns = tool.get("name")
        if not isinstance(ns, str) or not ns:
            raise TranslationError("namespace tools need a name", param + ".name")
        inner = tool.get("tools")
        if not isinstance(inner, list):
            raise TranslationError("namespace tools need a tools array", param + ".tools")
        ns_doc = _s(tool.get("description"))
        for k, sub in enumerate(inner):
            before = len(out)
            _add_tool(sub, f"{param}.tools[{k}]", ctx, out, ns, builtins=builtins)
            if ns_doc and len(out) > before:
                added = out[-1]
                added["description"] = f"[{ns}: {ns_doc}]\n{added.get('description', '')}".rstrip()
        return
    if ttype in ("function", "custom"):
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError(f"{ttype} tools need a name", param + ".name")
        hub = ctx.hub_tool(namespace, name)
        if hub in ctx.tools:
            return  # the same tool declared twice (e.g. again in a later additional_tools item)
        ctx.tools[hub] = ClientTool(name, ttype, namespace)
        if ttype == "function":
            schema = tool.get("parameters")
            if schema is not None and not isinstance(schema, dict):  # OpenAI: "expected an object"
                raise TranslationError("function tools' parameters must be an object", param + ".parameters")
            if not schema:
                schema = {"type": "object", "properties": {}}
            elif "type" not in schema:
                schema = {"type": "object", **schema}
            description = _s(tool.get("description"))
        else:
            schema, description = _custom_tool_schema(tool)
        hub_tool: dict[str, Any] = {"name": hub}
        if description:
            hub_tool["description"] = description
        hub_tool["input_schema"] = schema
        if ttype == "function" and tool.get("strict") is True:
            hub_tool["strict"] = True
        out.append(hub_tool)
        return
    if isinstance(ttype, str) and (
        ttype in BUILTIN_TOOL_TYPES or ttype.startswith(("web_search", "computer"))
    ):
        if builtins == "refuse":
            raise _builtin_refusal(ttype, ctx.model, "tools")
        ctx.builtin_tools.append(ttype)
        return
    raise TranslationError(f"tool type {ttype!r} is not supported", param + ".type")


def _tool_choice(choice: Any, ctx: ResponsesContext, tools: list[dict]) -> tuple[dict | None, list[dict]]:
    """Responses ``tool_choice`` → hub ``tool_choice`` (``allowed_tools`` narrows ``tools``)."""
    if choice is None:
        return None, tools
    if choice == "auto":
        return {"type": "auto"}, tools
    if choice == "none":
        return {"type": "none"}, tools
    if choice == "required":
        return {"type": "any"}, tools
    if isinstance(choice, dict):
        ctype = choice.get("type")
        if ctype in ("function", "custom") and isinstance(choice.get("name"), str):
            return {"type": "tool", "name": ctx.hub_tool(choice.get("namespace"), choice["name"])}, tools
        if ctype == "allowed_tools":
            allowed = set()
            for k, t in enumerate(choice.get("tools") or ()):
                if not isinstance(t, dict):
                    continue
                if t.get("type") in ("function", "custom") and isinstance(t.get("name"), str):
                    allowed.add(ctx.hub_tool(t.get("namespace"), t["name"]))
                elif t.get("type") in _SERVER_TOOL_CHOICES:
                    raise _builtin_refusal(str(t["type"]), ctx.model, f"tool_choice.tools[{k}]")
            narrowed = [t for t in tools if t["name"] in allowed]
            return ({"type": "any"} if choice.get("mode") == "required" else {"type": "auto"}), narrowed
        if ctype in _SERVER_TOOL_CHOICES or (isinstance(ctype, str) and ctype.startswith("web_search")):
            raise _builtin_refusal(str(ctype), ctx.model, "tool_choice")
    raise TranslationError("unsupported tool_choice", "tool_choice")


def _text_part(part: dict, param: str) -> dict | None:
    text = part.get("text")
    if not isinstance(text, str):
        raise TranslationError(f"{part.get('type')} parts must carry a string text", param)
    return {"type": "text", "text": text} if text else None


def _input_part(part: Any, param: str, *, role: str) -> dict | None:
    """One Responses content part → one hub block (None when it carries nothing)."""
    if isinstance(part, str):
        return {"type": "text", "text": part} if part else None
    if not isinstance(part, dict):
        raise TranslationError("content parts must be objects", param)
    ptype = part.get("type")
    if ptype in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
        return _text_part(part, param)
    if ptype == "refusal":
        refusal = part.get("refusal")
        return {"type": "text", "text": refusal} if isinstance(refusal, str) and refusal else None
    if role == "assistant":
        raise TranslationError(f"content part type {ptype!r} is not allowed in assistant messages", param)
    if ptype == "input_image":
        if part.get("file_id") and not part.get("image_url"):
            raise TranslationError(
                "file_id references cannot be resolved by this model's provider; send the image as image_url",
                param,
            )
        return _image_url_to_block({"image_url": part.get("image_url")}, param)
    if ptype == "input_file":
        url = part.get("file_url")
        if isinstance(url, str) and url and not part.get("file_data"):
            block: dict[str, Any] = {"type": "document", "source": {"type": "url", "url": url}}
            if _s(part.get("filename")):
                block["title"] = part["filename"]
            return block
        return _file_to_block(
            {"file": {k: part.get(k) for k in ("file_data", "file_id", "filename") if part.get(k)}}, param
        )
    if ptype == "input_audio":
        raise TranslationError("audio input is not supported by this model", param)
    raise TranslationError(f"content part type {ptype!r} is not supported", param)


def _content_blocks(content: Any, param: str, *, role: str) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content parts", param)
    blocks = []
    for j, part in enumerate(content):
        block = _input_part(part, f"{param}[{j}]", role=role)
        if block is not None:
            blocks.append(block)
    return blocks


def _tool_output(output: Any, param: str) -> str | list[dict] | None:
    """``function_call_output.output`` (a string or content parts) → tool_result content."""
    if output is None or output == "":
        return None
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return _content_blocks(output, param, role="tool") or None
    return json.dumps(output, ensure_ascii=False)  # some clients send the JSON value itself


class _Turns:
    """Hub turns being assembled from Responses items (same-role items merge)."""

    def __init__(self) -> None:
        self.turns: list[dict] = []

    def push(self, role: str, blocks: list[dict]) -> None:
        if not blocks:
            return
        if self.turns and self.turns[-1]["role"] == role:
            self.turns[-1]["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": list(blocks)})

    def finish(self) -> list[dict]:
        for turn in self.turns:
            blocks = turn["content"]
            if turn["role"] == "user":
                # Claude requires a user turn's tool_result blocks first.
                results = [b for b in blocks if b.get("type") == "tool_result"]
                if results and blocks[0].get("type") != "tool_result":
                    turn["content"] = results + [b for b in blocks if b.get("type") != "tool_result"]
            else:
                # ... and an assistant turn's thinking before its text and tool calls.
                thinking = [b for b in blocks if b.get("type") in ("thinking", "redacted_thinking")]
                if thinking and blocks[: len(thinking)] != thinking:
                    turn["content"] = thinking + [
                        b for b in blocks if b.get("type") not in ("thinking", "redacted_thinking")
                    ]
        # A final assistant turn is a prefill; Claude rejects trailing whitespace there.
        if self.turns and self.turns[-1]["role"] == "assistant":
            blocks = self.turns[-1]["content"]
            if blocks and blocks[-1].get("type") == "text":
                stripped = blocks[-1]["text"].rstrip()
                if stripped:
                    blocks[-1] = {**blocks[-1], "text": stripped}
                else:
                    blocks.pop()
            if not blocks:
                self.turns.pop()
        return self.turns


def _reasoning_blocks(item: dict, param: str) -> list[dict]:
    """A replayed ``reasoning`` item → the hub block(s) it stands for."""
    restored = decode_envelope(item.get("encrypted_content"))
    if restored is not None:
        return [restored]
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str) or not encrypted:
        return []  # a summary alone can be verified by no one: nothing to replay
    parts = [
        p.get("text")
        for p in item.get("summary") or ()
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]
    signature = openai_reasoning_signature(item.get("id"), encrypted, [len(p) for p in parts])
    return [{"type": "thinking", "thinking": "\n\n".join(parts), "signature": signature}]


def _history_items(
    items: list, ctx: ResponsesContext, system: list[dict], tools: list[dict], *, builtins: str
) -> list[dict]:
    turns = _Turns()
    leading = True  # system/developer messages before any conversation item go to `system`
    for i, item in enumerate(items):
        p = f"input[{i}]"
        if isinstance(item, str):
            item = {"type": "message", "role": "user", "content": item}
        if not isinstance(item, dict):
            raise TranslationError("input items must be objects", p)
        itype = item.get("type")
        if itype is None and "role" in item:
            itype = "message"
        if itype == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                blocks = _content_blocks(item.get("content"), p + ".content", role="system")
                if any(b.get("type") != "text" for b in blocks):
                    raise TranslationError(f"{role} messages may only contain text", p + ".content")
                if leading:
                    system.extend(blocks)
                else:  # in place, so the prompt prefix before it (and its cache) stays the same
                    turns.push("user", blocks)
            elif role == "user":
                leading = False
                turns.push("user", _content_blocks(item.get("content"), p + ".content", role="user"))
            elif role == "assistant":
                leading = False
                turns.push(
                    "assistant", _content_blocks(item.get("content"), p + ".content", role="assistant")
                )
            else:
                raise TranslationError(
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and "
                    "'user'.",
                    p + ".role",
                )
        elif itype in ("function_call", "custom_tool_call"):
            leading = False
            call_id, name = item.get("call_id"), item.get("name")
            if not isinstance(call_id, str) or not call_id:
                raise TranslationError(f"{itype} items need a call_id", p + ".call_id")
            if not isinstance(name, str) or not name:
                raise TranslationError(f"{itype} items need a name", p + ".name")
            if itype == "function_call":
                tool_input = parse_tool_arguments(item.get("arguments"), p + ".arguments")
            else:
                tool_input = {CUSTOM_INPUT: _s(item.get("input"))}
            block = {
                "type": "tool_use",
                "id": ctx.names.upstream_id(call_id),
                "name": ctx.hub_tool(item.get("namespace"), name),
                "input": tool_input,
            }
            turns.push("assistant", [block])
        elif itype in ("function_call_output", "custom_tool_call_output"):
            leading = False
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise TranslationError(f"{itype} items need a call_id", p + ".call_id")
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": ctx.names.upstream_id(call_id)}
            content = _tool_output(item.get("output"), p + ".output")
            if content is not None:
                result["content"] = content
            turns.push("user", [result])
        elif itype == "reasoning":
            leading = False
            turns.push("assistant", _reasoning_blocks(item, p))
        elif itype == "additional_tools":
            for k, tool in enumerate(item.get("tools") or ()):
                _add_tool(tool, f"{p}.tools[{k}]", ctx, tools, None, builtins=builtins)
        elif itype == "item_reference":
            raise TranslationError(
                f"Item with id '{_s(item.get('id'))}' not found. Items are not persisted when `store` is set "
                "to false. Try again with `store` set to true, or remove this item from your input.",
                p,
            )
        elif itype == "compaction":
            summary = decode_compaction(item.get("encrypted_content"))
            if summary is None:
                raise TranslationError(
                    "compaction items can only be read by the OpenAI model that produced them; "
                    "send the conversation itself instead",
                    p,
                )
            leading = False
            turns.push("user", [{"type": "text", "text": compaction_context(summary)}])
        elif itype == "compaction_trigger":
            if i != len(items) - 1:
                raise TranslationError("a compaction_trigger item must be the last input item", p)
            ctx.compaction = True
        elif itype in SERVER_ITEM_TYPES:
            ctx.warnings.append(f"{p}: dropped a {itype} item (its outcome is in the assistant's text)")
        elif itype in CLIENT_BUILTIN_ITEM_TYPES:
            if builtins == "refuse":
                raise _builtin_refusal(itype.removesuffix("_output").removesuffix("_call"), ctx.model, p)
            ctx.builtin_tools.append(itype)
        else:
            raise TranslationError(f"input item type {itype!r} is not supported", p + ".type")
    return turns.finish()


def _echo(body: dict, ctx: ResponsesContext) -> dict[str, Any]:
    """The request fields a Responses ``response`` object repeats (defaults as OpenAI's)."""
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return {
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "metadata": body.get("metadata") if isinstance(body.get("metadata"), dict) else {},
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store") is True,  # stateless unless asked (the gateway stores only then)
        "temperature": body.get("temperature", 1.0),
        "text": {
            "format": text.get("format") or {"type": "text"},
            "verbosity": text.get("verbosity", "medium"),
        },
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") if isinstance(body.get("tools"), list) else [],
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "user": body.get("user"),
    }


def responses_request_to_anthropic(
    body: dict,
    *,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    thinking_style: str = "budget",
    history: list | None = None,
    builtin_tools: str = "refuse",
) -> tuple[dict, ResponsesContext]:
    """``POST /v1/responses`` body → hub request + :class:`ResponsesContext`.

    ``history`` is the input of a stored ``previous_response_id`` (its input and output
    items), loaded by the caller; without it a ``previous_response_id`` is refused as
    OpenAI refuses an unknown one. ``builtin_tools="refuse"`` (the default) raises on
    built-in tools in OpenAI's wording; ``"list"`` records them on ``ctx.builtin_tools``
    instead, for a caller that decides the lane (OpenAI pass-through) from them.
    ``thinking_style`` and ``default_max_tokens`` are as for ``openai_request_to_anthropic``.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("Missing required parameter: 'model'.", "model")
    ctx = ResponsesContext(model=model, stream=body.get("stream") is True)

    for key, what in (("background", "background mode"), ("conversation", "the Conversations API"),
                      ("prompt", "prompt templates")):  # fmt: skip
        if body.get(key):
            raise TranslationError(f"{what} is not supported by this model", key)
    previous = body.get("previous_response_id")
    if previous and history is None:
        raise TranslationError(f"Previous response with id '{previous}' not found.", "previous_response_id")
    top_logprobs = body.get("top_logprobs")
    include = body.get("include") if isinstance(body.get("include"), list) else []
    if (isinstance(top_logprobs, int) and top_logprobs > 0) or "message.output_text.logprobs" in include:
        raise TranslationError("logprobs are not supported by this model", "top_logprobs")

    tools: list[dict] = []
    raw_tools = body.get("tools")
    if raw_tools is not None:
        if not isinstance(raw_tools, list):
            raise TranslationError("tools must be an array", "tools")
        for k, tool in enumerate(raw_tools):
            _add_tool(tool, f"tools[{k}]", ctx, tools, None, builtins=builtin_tools)

    system: list[dict] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            system.append({"type": "text", "text": instructions})
    elif isinstance(instructions, list):  # instructions given as input items
        if _history_items(instructions, ctx, system, tools, builtins=builtin_tools):
            raise TranslationError("instructions may only hold system or developer messages", "instructions")
    elif instructions is not None:
        raise TranslationError("instructions must be a string", "instructions")

    raw_input = body.get("input")
    if isinstance(raw_input, str):
        items: list = [{"type": "message", "role": "user", "content": raw_input}]
    elif isinstance(raw_input, list):
        items = raw_input
    elif raw_input is None:
        items = []
    else:
        raise TranslationError(
            "Invalid type for 'input': expected one of a string or array of input items.", "input"
        )
    messages = _history_items([*(history or ()), *items], ctx, system, tools, builtins=builtin_tools)
    if not messages:
        raise TranslationError("input must contain at least one message", "input")

    max_tokens = body.get("max_output_tokens")
    if max_tokens is None:
        max_tokens = default_max_tokens
    elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise TranslationError("max_output_tokens must be a positive integer", "max_output_tokens")

    out: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    out["messages"] = messages
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise TranslationError(f"{key} must be a non-negative number", key)
        out[key] = min(value, 1) if key == "temperature" else value  # Claude's range is 0-1
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if body.get("stream") is not None:
        out["stream"] = body.get("stream") is True

    choice, tools = _tool_choice(body.get("tool_choice"), ctx, tools)
    if tools:
        out["tools"] = tools
        if body.get("parallel_tool_calls") is False and (choice is None or choice["type"] != "none"):
            choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
        if choice is not None:
            out["tool_choice"] = choice
    elif choice is not None and choice["type"] in ("any", "tool"):
        raise TranslationError("tool_choice requires tools", "tool_choice")

    output_config: dict[str, Any] = {}
    text = body.get("text")
    if text is not None and not isinstance(text, dict):
        raise TranslationError("text must be an object", "text")
    fmt = (text or {}).get("format")
    if fmt is not None and not isinstance(fmt, dict):  # a format silently dropped is a wrong answer
        raise TranslationError("text.format must be an object", "text.format")
    if isinstance(fmt, dict):
        ftype = fmt.get("type")
        if ftype == "json_schema":
            schema = fmt.get("schema")
            if not isinstance(schema, dict):
                raise TranslationError("text.format.schema must be an object", "text.format.schema")
            output_config["format"] = {"type": "json_schema", "schema": schema}
        elif ftype == "json_object":
            system_blocks = out.get("system")
            extra = {"type": "text", "text": JSON_OBJECT_INSTRUCTION}
            if system_blocks is None:
                out["system"] = JSON_OBJECT_INSTRUCTION
            elif isinstance(system_blocks, str):
                out["system"] = [{"type": "text", "text": system_blocks}, extra]
            else:
                system_blocks.append(extra)
        elif ftype not in (None, "text"):
            raise TranslationError(f"text.format type {ftype!r} is not supported", "text.format.type")

    reasoning = body.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        raise TranslationError("reasoning must be an object", "reasoning")
    reasoning = reasoning or {}
    effort = reasoning.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise TranslationError(f"unsupported reasoning.effort {effort!r}", "reasoning.effort")
    summary = reasoning.get("summary") or reasoning.get("generate_summary")
    ctx.summary = summary in _SUMMARIES
    if isinstance(effort, str) and effort != "none":
        apply_reasoning_effort(
            out, output_config, effort, thinking_style=thinking_style, param="reasoning.effort"
        )
    if output_config:
        out["output_config"] = output_config

    if body.get("prompt_cache_key"):
        # OpenAI caches prompt prefixes implicitly and the client asked for it; Claude caches
        # only where asked: automatic caching of the longest reusable prefix.
        cache: dict[str, Any] = {"type": "ephemeral"}
        if body.get("prompt_cache_retention") == "24h":
            cache["ttl"] = "1h"
        out["cache_control"] = cache
    ctx.echo = _echo(body, ctx)
    if ctx.compaction:  # Codex's remote compaction: the conversation becomes a billed summary
        return compaction_request(out), ctx
    return out, ctx


# =====================================================================================
# Response: hub → Responses
# =====================================================================================


class _InputString:
    """Streams the string of a custom tool's ``{"input": "..."}`` as its JSON arrives.

    Claude writes the hub arguments as JSON fragments; a custom tool's client wants the raw
    string. Decoded characters go out as soon as they are complete (an escape split across
    fragments waits for its end); if the JSON does not start as expected, everything waits
    for the end and the whole value is taken from the parsed object.
    """

    _PREFIX = '{"' + CUSTOM_INPUT + '":"'
    _START = re.compile(r'\s*\{\s*"' + CUSTOM_INPUT + r'"\s*:\s*"')
    _ESCAPES: ClassVar[dict[str, str]] = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        "b": "\b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
    }

    __slots__ = ("closed", "failed", "pos", "raw", "sent")

    def __init__(self) -> None:
        self.raw = ""
        self.pos: int | None = None
        self.sent = ""
        self.failed = False
        self.closed = False

    def feed(self, fragment: str) -> str:
        self.raw += fragment
        if self.failed or self.closed:
            return ""
        if self.pos is None:
            m = self._START.match(self.raw)
            if m is None:
                if not self._PREFIX.startswith("".join(self.raw.split())):
                    self.failed = True
                return ""
            self.pos = m.end()
        out: list[str] = []
        raw, i, n = self.raw, self.pos, len(self.raw)
        while i < n:
            c = raw[i]
            if c == '"':
                self.closed = True
                i += 1
                break
            if c != "\\":
                out.append(c)
                i += 1
                continue
            if i + 1 >= n:
                break
            e = raw[i + 1]
            if e != "u":
                out.append(self._ESCAPES.get(e, e))
                i += 2
                continue
            if i + 6 > n:
                break
            code = _hex4(raw[i + 2 : i + 6])
            if code is None:  # not JSON any more: the end takes the parsed value (or the raw text)
                self.failed = True
                break
            if 0xD800 <= code < 0xDC00:  # a surrogate pair needs its second half
                if i + 12 > n:
                    break
                low = _hex4(raw[i + 8 : i + 12]) if raw[i + 6 : i + 8] == "\\u" else None
                if low is None or not 0xDC00 <= low < 0xE000:
                    out.append("\ufffd")  # a lone surrogate cannot be sent as UTF-8
                    i += 6
                    continue
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 12
            else:
                out.append(chr(code) if not 0xDC00 <= code < 0xE000 else "\ufffd")
                i += 6
        self.pos = i
        text = "".join(out)
        self.sent += text
        return text

    def final(self) -> str:
        """The whole input string (from the parsed JSON when streaming could not follow it)."""
        try:
            value = json.loads(self.raw) if self.raw.strip() else {}
        except ValueError:  # not JSON: what was decoded, then the rest as written
            if self.pos is None:
                return self.raw
            return _LONE_SURROGATE.sub("\ufffd", self.sent + re.sub(r'"\s*}\s*$', "", self.raw[self.pos :]))
        if isinstance(value, dict):
            inner = value.get(CUSTOM_INPUT)
            if isinstance(inner, str):
                return _LONE_SURROGATE.sub("\ufffd", inner)
            strings = [v for v in value.values() if isinstance(v, str)]
            if len(value) == 1 and strings:
                return strings[0]
        return json.dumps(value, ensure_ascii=False)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _hex4(text: str) -> int | None:
    try:
        return int(text, 16) if len(text) == 4 else None
    except ValueError:
        return None


class _Item:
    """One output item being streamed."""

    __slots__ = ("closed", "data", "decoder", "index", "kind", "parts", "text", "tool")

    def __init__(self, index: int, kind: str, data: dict) -> None:
        self.index = index
        self.kind = kind  # reasoning | redacted | message | function | custom
        self.data = data
        self.parts: list[dict] = []
        self.text = ""  # summary text (reasoning) or arguments/input (tool calls)
        self.decoder: _InputString | None = None
        self.tool: dict | None = None  # the hub block that opened a tool call
        self.closed = False


class AnthropicToResponsesStream:
    """Hub (Anthropic) stream events → Responses SSE events, each with its ``sequence_number``.

    Thinking → ``reasoning`` items (summary events only when the client asked for a summary;
    ``encrypted_content`` always carries the exact block); a run of text blocks → one
    ``message`` item with one ``output_text`` part per block; tool_use → ``function_call``
    (or ``custom_tool_call`` for the client's custom tools, its input decoded from the JSON
    as it streams). ``start()`` (or the first event) sends ``response.created`` and
    ``response.in_progress``; ``finish(credits=…)`` closes every item and sends
    ``response.completed`` (or ``response.incomplete``) with usage and the gateway's
    ``credits``; ``fail(...)`` sends ``error`` + ``response.failed``. Server-tool blocks have
    no Responses item outside OpenAI and are dropped (MAPPING.md).
    """

    def __init__(self, ctx: ResponsesContext, *, response_id: str, created_at: int | None = None) -> None:
        self.ctx = ctx
        self.response_id = response_id
        self.created_at = created_at if created_at is not None else int(time.time())
        self.usage: dict = {}
        self.stop_reason: str | None = None
        self.response: dict | None = None  # the final response object, once finished or failed
        self._base = response_id.removeprefix("resp_")
        self._seq = 0
        self._started = False
        self._done = False
        self._output: list[dict] = []  # finished items, in output order
        self._items: dict[int, _Item] = {}  # hub block index -> item
        self._message: _Item | None = None  # the open message item, while text blocks continue it
        self._next_output = 0
        self._summary = ""  # a compaction's summary text (ctx.compaction)

    # -- helpers --------------------------------------------------------------------
    def _event(self, etype: str, **fields: Any) -> Event:
        event = {"type": etype, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _snapshot(self, status: str, *, output: list[dict] | None = None, usage: dict | None = None,
                  error: dict | None = None, incomplete: dict | None = None) -> dict:  # fmt: skip
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": incomplete,
            "model": self.ctx.model,
            "output": output if output is not None else [],
            "usage": usage,
            **self.ctx.echo,
        }

    def start(self) -> list[Event]:
        """``response.created`` + ``response.in_progress`` (once)."""
        if self._started:
            return []
        self._started = True
        snapshot = self._snapshot("in_progress")
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=dict(snapshot)),
        ]

    def _new_item(self, block_index: int, kind: str, prefix: str, data: dict) -> tuple[_Item, Event]:
        index = self._next_output
        self._next_output += 1
        data = {"id": f"{prefix}_{self._base}_{index}", **data}
        item = _Item(index, kind, data)
        self._items[block_index] = item
        return item, self._event("response.output_item.added", output_index=index, item=dict(data))

    def _finish_item(self, item: _Item, out: list[Event]) -> None:
        item.closed = True
        self._output.append(item.data)
        out.append(self._event("response.output_item.done", output_index=item.index, item=item.data))

    def _close_message(self, out: list[Event]) -> None:
        message = self._message
        if message is None:
            return
        self._message = None
        message.data["status"] = "completed"
        message.data["content"] = message.parts
        self._finish_item(message, out)

    # -- blocks ---------------------------------------------------------------------
    def _start_block(self, index: int, block: dict, out: list[Event]) -> None:
        btype = block.get("type")
        if btype == "text":
            if self._message is None:
                message, added = self._new_item(
                    index, "message", "msg",
                    {"type": "message", "status": "in_progress", "role": "assistant", "content": []},
                )  # fmt: skip
                out.append(added)
                self._message = message
            message = self._message
            self._items[index] = message
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            message.parts.append(part)
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=message.data["id"],
                    output_index=message.index,
                    content_index=len(message.parts) - 1,
                    part=dict(part),
                )
            )
            if _s(block.get("text")):
                self._text(message, block["text"], out)
            return
        self._close_message(out)
        if btype == "thinking":
            item, added = self._new_item(index, "reasoning", "rs", {"type": "reasoning", "summary": []})
            item.tool = {"type": "thinking", "thinking": "", "signature": _s(block.get("signature"))}
            out.append(added)
            if _s(block.get("thinking")):
                self._thinking(item, block["thinking"], out)
        elif btype == "redacted_thinking":
            item, added = self._new_item(index, "redacted", "rs", {"type": "reasoning", "summary": []})
            item.tool = {"type": "redacted_thinking", "data": _s(block.get("data"))}
            out.append(added)
        elif btype == "tool_use":
            tool = self.ctx.client_tool(_s(block.get("name")))
            call_id = self.ctx.names.client_id(_s(block.get("id")) or f"call_{self._base}_{index}")
            if tool.kind == "custom":
                data: dict[str, Any] = {"type": "custom_tool_call", "status": "in_progress", "call_id": call_id,
                                        "name": tool.name, "input": ""}  # fmt: skip
                prefix, kind = "ctc", "custom"
            else:
                data = {"type": "function_call", "status": "in_progress", "arguments": "", "call_id": call_id,
                        "name": tool.name}  # fmt: skip
                prefix, kind = "fc", "function"
            if tool.namespace not in (None, DEFAULT_NAMESPACE):  # OpenAI omits the default one
                data["namespace"] = tool.namespace
            item, added = self._new_item(index, kind, prefix, data)
            item.tool = block
            if kind == "custom":
                item.decoder = _InputString()
            out.append(added)
        # server_tool_use, *_tool_result, ...: no Responses item outside OpenAI (dropped)

    def _text(self, message: _Item, text: str, out: list[Event]) -> None:
        part = message.parts[-1]
        part["text"] += text
        out.append(
            self._event(
                "response.output_text.delta",
                item_id=message.data["id"],
                output_index=message.index,
                content_index=len(message.parts) - 1,
                delta=text,
                logprobs=[],
            )
        )

    def _thinking(self, item: _Item, text: str, out: list[Event]) -> None:
        assert item.tool is not None
        item.tool["thinking"] += text
        if not self.ctx.summary:
            return
        if not item.parts:
            item.parts.append({"type": "summary_text", "text": ""})
            out.append(
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item.data["id"],
                    output_index=item.index,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
            )
        item.parts[0]["text"] += text
        out.append(
            self._event(
                "response.reasoning_summary_text.delta",
                item_id=item.data["id"],
                output_index=item.index,
                summary_index=0,
                delta=text,
            )
        )

    def _tool_delta(self, item: _Item, fragment: str, out: list[Event]) -> None:
        item.text += fragment
        if item.kind == "function":
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.data["id"],
                    output_index=item.index,
                    delta=fragment,
                )
            )
            return
        assert item.decoder is not None
        decoded = item.decoder.feed(fragment)
        if decoded:
            out.append(
                self._event(
                    "response.custom_tool_call_input.delta",
                    item_id=item.data["id"],
                    output_index=item.index,
                    delta=decoded,
                )
            )

    def _stop_block(self, item: _Item, out: list[Event]) -> None:
        data, iid, idx = item.data, item.data["id"], item.index
        if item.kind == "message":
            content_index = len(item.parts) - 1
            part = item.parts[-1]
            out.append(self._event("response.output_text.done", item_id=iid, output_index=idx,
                                   content_index=content_index, text=part["text"], logprobs=[]))  # fmt: skip
            out.append(self._event("response.content_part.done", item_id=iid, output_index=idx,
                                   content_index=content_index, part=dict(part)))  # fmt: skip
            return  # the message stays open while text blocks follow
        if item.kind in ("reasoning", "redacted"):
            block = item.tool or {}
            if item.parts:
                text = item.parts[0]["text"]
                out.append(self._event("response.reasoning_summary_text.done", item_id=iid, output_index=idx,
                                       summary_index=0, text=text))  # fmt: skip
                out.append(self._event("response.reasoning_summary_part.done", item_id=iid, output_index=idx,
                                       summary_index=0, part={"type": "summary_text", "text": text}))  # fmt: skip
            data["summary"] = [dict(p) for p in item.parts]
            data["encrypted_content"] = encode_envelope(block)
            self._finish_item(item, out)
            return
        if item.kind == "function":
            arguments = item.text or _start_input(item.tool) or "{}"
            if not item.text:
                out.append(self._event("response.function_call_arguments.delta", item_id=iid, output_index=idx,
                                       delta=arguments))  # fmt: skip
            data["arguments"] = arguments
            out.append(self._event("response.function_call_arguments.done", item_id=iid, output_index=idx,
                                   arguments=arguments))  # fmt: skip
        else:
            assert item.decoder is not None
            if not item.text and _start_input(item.tool):
                item.decoder.raw = _start_input(item.tool)
            value = item.decoder.final()
            rest = value[len(item.decoder.sent) :] if value.startswith(item.decoder.sent) else ""
            if rest:
                out.append(self._event("response.custom_tool_call_input.delta", item_id=iid, output_index=idx,
                                       delta=rest))  # fmt: skip
            data["input"] = value
            out.append(self._event("response.custom_tool_call_input.done", item_id=iid, output_index=idx,
                                   input=value))  # fmt: skip
        data["status"] = "completed"
        self._finish_item(item, out)

    # -- public ---------------------------------------------------------------------
    def feed(self, event: str, data: dict) -> list[Event]:
        """One hub event → the Responses events it implies (maybe none)."""
        if self._done or not isinstance(data, dict):
            return []
        kind = event or data.get("type")
        out = self.start()
        if self.ctx.compaction and kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            # A compaction's answer is its summary: collected, sent whole as the compaction item.
            delta = data.get("delta") if kind == "content_block_delta" else data.get("content_block")
            if isinstance(delta, dict) and delta.get("type") in ("text_delta", "text") and _s(delta.get("text")):
                self._summary += delta["text"]
            return out
        if kind == "content_block_delta":
            item = self._items.get(data.get("index"))  # type: ignore[arg-type]
            delta = data.get("delta")
            if item is None or item.closed or not isinstance(delta, dict):
                return out
            dtype = delta.get("type")
            if dtype == "text_delta" and item.kind == "message" and _s(delta.get("text")):
                self._text(item, delta["text"], out)
            elif dtype == "thinking_delta" and item.kind == "reasoning" and _s(delta.get("thinking")):
                self._thinking(item, delta["thinking"], out)
            elif dtype == "signature_delta" and item.kind == "reasoning" and item.tool is not None:
                item.tool["signature"] = _s(delta.get("signature"))
            elif (
                dtype == "input_json_delta"
                and item.kind in ("function", "custom")
                and _s(delta.get("partial_json"))
            ):
                self._tool_delta(item, delta["partial_json"], out)
            return out
        if kind == "content_block_start":
            block = data.get("content_block")
            if isinstance(data.get("index"), int) and isinstance(block, dict):
                self._start_block(data["index"], block, out)
            return out
        if kind == "content_block_stop":
            item = self._items.get(data.get("index"))  # type: ignore[arg-type]
            if item is not None and not item.closed:
                self._stop_block(item, out)
            return out
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                self.usage = merge_anthropic_usage(self.usage, message.get("usage"))
                if message.get("content") and not self._items:
                    # Claude's whole-block message_start (programmatic tool calling): the blocks
                    # arrive inside it, with no block events and often no message_delta.
                    if isinstance(message.get("stop_reason"), str):
                        self.stop_reason = message["stop_reason"]
                    for name, block_event in _message_events({**message, "usage": {}})[1:-2]:
                        out += self.feed(name, block_event)
            return out
        if kind == "message_delta":
            self.usage = merge_anthropic_usage(self.usage, data.get("usage"))
            delta = data.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
            return out
        return out  # message_stop, ping, error (the gateway's business), unknown events

    def finish(self, *, credits: int | None = None) -> list[Event]:
        """The hub stream ended cleanly: close every item, then ``response.completed``
        (``response.incomplete`` for max_tokens/refusal) with usage (+ ``credits``)."""
        if self._done:
            return []
        out = self.start()
        for item in list(self._items.values()):
            if not item.closed and item.kind != "message":
                self._stop_block(item, out)
        self._close_message(out)
        if self.ctx.compaction:
            index = self._next_output
            self._next_output += 1
            item = {"id": f"cmp_{self._base}_{index}", "type": "compaction",
                    "encrypted_content": encode_compaction(self._summary.strip())}
            out.append(self._event("response.output_item.added", output_index=index, item=dict(item)))
            self._output.append(item)
            out.append(self._event("response.output_item.done", output_index=index, item=item))
        self._done = True
        status, incomplete = stop_to_status(self.stop_reason)
        if status == "incomplete" and self._output:
            last = self._output[-1]
            if last.get("type") in ("message", "function_call", "custom_tool_call"):
                last["status"] = "incomplete"
        usage = anthropic_usage_to_responses(self.usage)
        if credits is not None:
            usage["credits"] = credits
        self.response = self._snapshot(status, output=list(self._output), usage=usage, incomplete=incomplete)
        etype = "response.completed" if status == "completed" else "response.incomplete"
        out.append(self._event(etype, response=self.response))
        return out

    def fail(self, message: str, *, code: str = "server_error", param: str | None = None) -> list[Event]:
        """The stream failed (an upstream error mid-stream, a timeout …): ``error`` then
        ``response.failed`` carrying the items finished so far. ``code`` is OpenAI's
        (``server_error``, ``rate_limit_exceeded``, ``invalid_prompt`` …)."""
        if self._done:
            return []
        out = self.start()
        self._done = True
        # Both shapes: the documented one (code/message/param on the event) and the one OpenAI
        # really sends (recorded: an ``error`` object), which the SDKs raise as an APIError.
        error = {"type": _ERROR_TYPES.get(code, "server_error"), "code": code, "message": message, "param": param}
        out.append(self._event("error", code=code, message=message, param=param, error=error))
        self.response = self._snapshot(
            "failed", output=list(self._output), error={"code": code, "message": message}
        )
        out.append(self._event("response.failed", response=self.response))
        return out


_ERROR_TYPES = {
    "rate_limit_exceeded": "rate_limit_exceeded",
    "insufficient_quota": "insufficient_quota",
    "invalid_prompt": "invalid_request_error",
    "context_length_exceeded": "invalid_request_error",
}


def _start_input(block: dict | None) -> str:
    """A tool_use block's input given whole at its start (some hubs do), as JSON text."""
    value = block.get("input") if isinstance(block, dict) else None
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) and value else ""


def _message_events(message: dict) -> list[tuple[str, dict]]:
    """A whole hub Message as the stream that would have carried it (one delta per block)."""
    events: list[tuple[str, dict]] = [
        ("message_start", {"type": "message_start", "message": {**message, "content": []}})
    ]
    for index, block in enumerate(message.get("content") or ()):
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        start = dict(block)
        delta: dict | None = None
        if btype == "text":
            start["text"] = ""
            delta = {"type": "text_delta", "text": _s(block.get("text"))}
        elif btype == "thinking":
            start.update(thinking="", signature="")
            delta = {"type": "thinking_delta", "thinking": _s(block.get("thinking"))}
        elif btype == "tool_use":
            start["input"] = {}
            delta = {
                "type": "input_json_delta",
                "partial_json": json.dumps(block.get("input") or {}, ensure_ascii=False),
            }
        events.append(
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
        )
        if delta is not None:
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
        if btype == "thinking":
            sig = {"type": "signature_delta", "signature": _s(block.get("signature"))}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": sig})
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    stop = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": stop, "usage": message.get("usage") or {}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def response_id_for(message_id: Any) -> str:
    """A Responses id for a hub message id (``msg_X`` → ``resp_X``)."""
    if isinstance(message_id, str) and message_id:
        return "resp_" + message_id.removeprefix("msg_")
    return "resp_unknown"


def anthropic_response_to_responses(
    message: dict,
    ctx: ResponsesContext,
    *,
    response_id: str | None = None,
    created_at: int | None = None,
    credits: int | None = None,
) -> dict:
    """A whole hub Message → the Responses ``response`` object.

    Runs :class:`AnthropicToResponsesStream` over the message as one stream, so the items,
    ids and usage are exactly what the streaming path produces.
    """
    if not isinstance(message, dict):
        message = {}
    machine = AnthropicToResponsesStream(
        ctx, response_id=response_id or response_id_for(message.get("id")), created_at=created_at
    )
    for name, data in _message_events(message):
        machine.feed(name, data)
    machine.finish(credits=credits)
    assert machine.response is not None
    return machine.response


def is_openai_reasoning(block: Any) -> bool:
    """True for a hub thinking block that carries an OpenAI reasoning item."""
    return isinstance(block, dict) and read_openai_reasoning_signature(block.get("signature")) is not None


__all__ = [
    "AnthropicToResponsesStream",
    "ClientTool",
    "ResponsesContext",
    "anthropic_response_to_responses",
    "is_openai_reasoning",
    "response_id_for",
    "responses_request_to_anthropic",
    "split_summary",
]
