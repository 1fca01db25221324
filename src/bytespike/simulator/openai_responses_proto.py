"""Simulated OpenAI Responses API under ``/openai/v1/responses`` (beside Chat Completions).

What a gateway meets on the real endpoint, offline: ``event:``-named SSE frames, each with its
``sequence_number`` (``response.created`` … ``response.output_item.added/done``, content parts,
``output_text``/``reasoning_summary_text``/``function_call_arguments``/``custom_tool_call_input``
deltas, ``response.completed`` or ``response.incomplete``); reasoning items whose
``encrypted_content`` (only with ``include: ["reasoning.encrypted_content"]``) the simulator
verifies when it is sent back; function and custom tool calls, namespaced tools; usage with
``input_tokens`` that include cached tokens and ``output_tokens`` that include reasoning; the
checks the real API makes on replayed items (pairing of calls and outputs, a reasoning item
followed by its item, sealed content that verifies); mid-stream failures as OpenAI sends them
(``error`` then ``response.failed``); ``store`` (default true) with ``previous_response_id``,
``GET``/``DELETE /v1/responses/{id}``; ``POST /v1/responses/input_tokens`` and
``/v1/responses/compact`` (Codex calls both). Directives and timing as for every protocol
(``directives.py``, ``wire.drive_stream``). Error wordings are OpenAI's own (recorded in
``tests/fixtures/recorded`` or quoted in public issue threads; see the test file).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import strict
from bytespike.simulator.directives import Directives, parse_directives
from bytespike.simulator.openai_proto import PREFIX, OpenAISimulator
from bytespike.simulator.replay import replay_response
from bytespike.simulator.reply import (
    PlannedToolCall,
    ReplyPlan,
    SimRequest,
    ToolResult,
    ToolSpec,
    UserTurn,
    model_family,
    plan_reply,
    sign_thinking,
    split_fragments,
)
from bytespike.simulator.state import PrefixCache, SimState
from bytespike.simulator.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD, canonical_json, tokens
from bytespike.simulator.wire import (
    INVALID_JSON,
    Frame,
    FrameKind,
    SimError,
    StreamResponse,
    drive_stream,
    dumps,
    json_response,
    new_id,
    read_recorded,
    sleep_ms,
)

PATH = f"{PREFIX}/v1/responses"
CACHE_MIN_TOKENS = 1024
MIN_OUTPUT_TOKENS = 16
STORED_RESPONSES = 2000
SEALED_PREFIX = "gAAAAAB"
_ROLES = ("user", "assistant", "system", "developer")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_SUMMARIES = ("auto", "concise", "detailed")
_ITEM_TYPES = frozenset(
    {"message", "reasoning", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
     "additional_tools", "item_reference", "compaction", "web_search_call", "file_search_call", "computer_call",
     "computer_call_output", "code_interpreter_call", "image_generation_call", "local_shell_call",
     "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call", "apply_patch_call_output",
     "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call", "tool_search_call",
     "tool_search_output", "program", "program_output", "compaction_trigger"}
)  # fmt: skip
_CALLS = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
_OUTPUTS = {v: k for k, v in _CALLS.items()}
_TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models (the o-series, GPT-5 and later) refuse sampling parameters."""
    family = model_family(model)
    return family.startswith(("o1", "o3", "o4", "gpt-5", "gpt-6", "codex"))


def _bad(message: str, param: str | None = None, code: str | None = None) -> SimError:
    return SimError(400, message, "invalid_request_error", param, code)


# ---------------------------------------------------------------- sealed content


def seal(model: str, kind: str, text: str) -> str:
    """Opaque, verifiable ``encrypted_content`` (Fernet-looking, like OpenAI's): the text and an
    HMAC bound to the model family, so a replayed item proves it came from this simulator."""
    family = model_family(model)
    payload = {"k": kind, "m": family, "t": text, "s": sign_thinking(f"{kind}:{family}", text)}
    return SEALED_PREFIX + base64.urlsafe_b64encode(dumps(payload)).decode()


def unseal(value: Any, kind: str) -> tuple[str, str] | None:
    """``(model family, text)`` of sealed content this simulator made; None when it does not verify."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    encoded = value[len(SEALED_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(encoded)
        payload = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if base64.urlsafe_b64encode(raw).decode() != encoded:  # any change to the text is a forgery
        return None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        return None
    family, text = payload.get("m"), payload.get("t")
    if not isinstance(family, str) or not isinstance(text, str):
        return None
    if payload.get("s") != sign_thinking(f"{kind}:{family}", text):
        return None
    return family, text


def _short(value: str) -> str:
    return f"{value[:4]}...{value[-4:]}" if len(value) > 8 else value


def _unverifiable(value: Any, item_id: Any) -> SimError:
    """OpenAI's wording (quoted in openai/codex #8145 and later threads)."""
    subject = f"for item {item_id}" if isinstance(item_id, str) and item_id else _short(str(value))
    return SimError(
        400,
        f"The encrypted content {subject} could not be verified. "
        "Reason: Encrypted content could not be decrypted or parsed.",
        "invalid_request_error",
        None,
        "invalid_encrypted_content",
    )


# ---------------------------------------------------------------- request inspection


def _items(body: dict[str, Any]) -> list[Any]:
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return raw if isinstance(raw, list) else []


def _item_type(item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    return item.get("type") or ("message" if "role" in item else None)


def _content_text(content: Any) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    images = 0
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "input_image":
                images += 1
    return "\n".join(texts), images


_MODEL_ITEMS = frozenset({"reasoning", "function_call", "custom_tool_call", "web_search_call", "shell_call",
                          "local_shell_call", "apply_patch_call", "computer_call", "mcp_call"})  # fmt: skip


def last_user_turn(items: list[Any]) -> UserTurn:
    """What came after the model last spoke: user messages and tool outputs (tolerant)."""
    start = len(items)
    while start > 0:
        item = items[start - 1]
        itype = _item_type(item)
        if itype in _MODEL_ITEMS or (itype == "message" and item.get("role") == "assistant"):
            break
        start -= 1
    texts: list[str] = []
    images = 0
    results: list[ToolResult] = []
    for item in items[start:]:
        itype = _item_type(item)
        if itype == "message" and item.get("role") == "user":
            text, imgs = _content_text(item.get("content"))
            texts.append(text)
            images += imgs
        elif itype in _OUTPUTS:
            text, imgs = _content_text(item.get("output"))
            texts.append(text)
            images += imgs
            results.append(ToolResult(str(item.get("call_id", "")), text))
    return UserTurn("\n".join(texts), images, results or None)


@dataclasses.dataclass(slots=True)
class Tool:
    name: str
    kind: str  # function | custom
    namespace: str | None
    schema: dict[str, Any]


def _tools(body: dict[str, Any], items: list[Any]) -> list[Tool]:
    """Function and custom tools, from ``tools`` and ``additional_tools`` items, namespaces flattened."""
    found: list[Tool] = []

    def add(tool: Any, param: str, namespace: str | None) -> None:
        if not isinstance(tool, dict):
            raise _bad(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
        ttype = tool.get("type")
        if ttype == "namespace" and namespace is None:
            for k, sub in enumerate(tool.get("tools") or ()):
                add(sub, f"{param}.tools[{k}]", str(tool.get("name")))
            return
        if ttype not in ("function", "custom"):
            return  # built-in tools: accepted (the real API runs them); the simulator never calls them
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise _bad(
                f"Missing required parameter: '{param}.name'.", f"{param}.name", "missing_required_parameter"
            )
        if len(name) > 64 or not set(name) <= _TOOL_NAME_CHARS:
            raise _bad(
                f"Invalid '{param}.name': string does not match pattern. Expected a string that matches the "
                "pattern '^[a-zA-Z0-9_-]+$'.",
                f"{param}.name",
                "invalid_value",
            )
        if ttype == "function":
            params = tool.get("parameters")
            schema = params if isinstance(params, dict) else {"type": "object", "properties": {}}
        else:
            schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
        found.append(Tool(name, ttype, namespace, schema))

    for k, tool in enumerate(body.get("tools") or ()):
        add(tool, f"tools[{k}]", None)
    for i, item in enumerate(items):
        if _item_type(item) == "additional_tools":
            for k, tool in enumerate(item.get("tools") or ()):
                add(tool, f"input[{i}].tools[{k}]", None)
    return found


def validate(body: dict[str, Any], items: list[Any]) -> None:
    """Reject what the real Responses API rejects (the subset a gateway can get wrong)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    raw = body.get("input")
    if raw is not None and not isinstance(raw, str | list):
        kind = "an object" if isinstance(raw, dict) else type(raw).__name__
        raise _bad(
            f"Invalid type for 'input': expected one of a string or array of input items, but got {kind} instead.",
            "input",
            "invalid_type",
        )
    limit = body.get("max_output_tokens")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise _bad(
                "Invalid type for 'max_output_tokens': expected an integer.",
                "max_output_tokens",
                "invalid_type",
            )
        if limit < MIN_OUTPUT_TOKENS:
            raise _bad(
                f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= {MIN_OUTPUT_TOKENS}, "
                f"but got {limit} instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
    if is_reasoning_model(model):
        for key in ("temperature", "top_p"):
            if body.get(key) is not None:
                # recorded: tests/fixtures/recorded/upstream/openai-responses/reasoning-model-temperature-error.json
                raise _bad(f"Unsupported parameter: '{key}' is not supported with this model.", key)
    reasoning = body.get("reasoning")
    if (
        isinstance(reasoning, dict)
        and reasoning.get("effort") is not None
        and reasoning["effort"] not in _EFFORTS
    ):
        supported = ", ".join(f"'{e}'" for e in _EFFORTS[:-1]) + f", and '{_EFFORTS[-1]}'"
        raise _bad(f"Invalid value: '{reasoning['effort']}'. Supported values are: {supported}.",
                   "reasoning.effort", "invalid_value")  # fmt: skip
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        for key in ("name", "schema"):
            if fmt.get(key) is None:
                raise _bad(f"Missing required parameter: 'text.format.{key}'.", f"text.format.{key}",
                           "missing_required_parameter")  # fmt: skip
    strict.openai_responses(body, items)  # JSON types, content parts per role, output limit (issue #15's rules)
    _tools(body, items)
    _check_items(model, items)


def _check_items(model: str, items: list[Any]) -> None:
    calls: dict[str, tuple[str, int]] = {}
    answered: set[str] = set()
    for i, item in enumerate(items):
        p = f"input[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"Invalid type for '{p}': expected an object.", p, "invalid_type")
        itype = _item_type(item)
        if itype not in _ITEM_TYPES:
            raise _bad(
                f"Invalid value: '{itype}'. Supported values are input item types.",
                f"{p}.type",
                "invalid_value",
            )
        if itype == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise _bad(
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
                    f"{p}.role",
                    "invalid_value",
                )
            if "content" not in item:
                raise _bad(
                    f"Missing required parameter: '{p}.content'.",
                    f"{p}.content",
                    "missing_required_parameter",
                )
        elif itype in _CALLS:
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _bad(
                    f"Missing required parameter: '{p}.call_id'.",
                    f"{p}.call_id",
                    "missing_required_parameter",
                )
            calls[call_id] = (itype, i)
        elif itype in _OUTPUTS:
            call_id = item.get("call_id")
            kind = "function call" if itype == "function_call_output" else "custom tool call"
            if not isinstance(call_id, str) or calls.get(call_id, ("",))[0] != _OUTPUTS[itype]:
                raise _bad(f"No tool call found for {kind} output with call_id {call_id}.", "input")
            answered.add(call_id)
        elif itype == "reasoning":
            encrypted = item.get("encrypted_content")
            if encrypted is not None and unseal(encrypted, "r") is None:
                raise _unverifiable(encrypted, item.get("id"))
            follower = items[i + 1] if i + 1 < len(items) else None
            if follower is None or (
                _item_type(follower) == "message" and follower.get("role") != "assistant"
            ):
                raise _bad(
                    f"Item '{item.get('id')}' of type 'reasoning' was provided without its required following item.",
                    "input",
                )
        elif itype == "compaction":
            encrypted = item.get("encrypted_content")
            if unseal(encrypted, "c") is None:
                raise _unverifiable(encrypted, item.get("id"))
    for call_id, (itype, _) in calls.items():
        if call_id not in answered:
            kind = "function call" if itype == "function_call" else "custom tool call"
            raise _bad(f"No tool output found for {kind} {call_id}.", "input")


# ---------------------------------------------------------------- usage


def _item_tokens(item: Any) -> int:
    if not isinstance(item, dict):
        return 0
    itype = _item_type(item)
    if itype == "message":
        content = item.get("content")
        if isinstance(content, str):
            return MESSAGE_OVERHEAD + tokens(content)
        n = MESSAGE_OVERHEAD
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict):
                if part.get("type") == "input_image":
                    n += IMAGE_TOKENS
                elif isinstance(part.get("text"), str):
                    n += tokens(part["text"])
                else:
                    n += tokens(canonical_json(part))
        return n
    if itype == "reasoning":
        return 0  # as Anthropic's prior thinking: the real API keeps it out of the count shown here
    if itype == "function_call":
        return MESSAGE_OVERHEAD + tokens(str(item.get("arguments") or ""))
    if itype == "custom_tool_call":
        return MESSAGE_OVERHEAD + tokens(str(item.get("input") or ""))
    if itype in _OUTPUTS:
        output = item.get("output")
        text = output if isinstance(output, str) else _content_text(output)[0]
        return MESSAGE_OVERHEAD + tokens(text)
    if itype == "compaction":
        sealed = unseal(item.get("encrypted_content"), "c")
        return MESSAGE_OVERHEAD + tokens(sealed[1] if sealed else "")
    return MESSAGE_OVERHEAD + tokens(canonical_json(item))


def input_usage(
    body: dict[str, Any], items: list[Any], tools: list[Tool], cache: PrefixCache | None
) -> tuple[int, int]:
    """``(input_tokens, cached_tokens)``; input includes the cached prefix, as OpenAI reports it.

    Implicit caching as for Chat Completions: each item boundary past ``CACHE_MIN_TOKENS`` is
    remembered, and the longest remembered boundary before the last item counts as cached.
    """
    head = tokens(body["instructions"]) if isinstance(body.get("instructions"), str) else 0
    head += sum(tokens(canonical_json(dataclasses.asdict(t))) for t in tools)
    counts = [_item_tokens(item) for item in items]
    total = head + sum(counts)
    if cache is None or total < CACHE_MIN_TOKENS:
        return total, 0
    hasher = _hasher(body, tools)
    cumulative, cached = head, 0
    for k, (item, n) in enumerate(zip(items, counts, strict=True)):
        cumulative += n
        hasher.update(canonical_json(item).encode() + b"\x1e")
        if cumulative < CACHE_MIN_TOKENS:
            continue
        digest = hasher.hexdigest()
        if k < len(items) - 1 and digest in cache:
            cached = cumulative
        cache.add(digest)
    return total, cached


def _hasher(body: dict[str, Any], tools: list[Tool]) -> Any:
    seed = f"{body.get('model')}\n{body.get('instructions')}\n{canonical_json([dataclasses.asdict(t) for t in tools])}\n"
    return hashlib.sha256(seed.encode())


def usage_json(input_tokens: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.thinking_tokens},
        "total_tokens": input_tokens + plan.output_tokens,
    }


# ---------------------------------------------------------------- planning and rendering


def _json_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {"type": "object"}
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return {"type": "object"}
    return None


def build_request(
    body: dict[str, Any], items: list[Any], tools: list[Tool], turn: UserTurn, d: Directives
) -> SimRequest:
    choice = body.get("tool_choice")
    mode, forced = "auto", None
    if choice == "none":
        mode = "none"
    elif choice == "required":
        mode = "any"
    elif isinstance(choice, dict) and choice.get("type") in ("function", "custom") and choice.get("name"):
        mode, forced = "tool", str(choice["name"])
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    model = body["model"]
    thinking = is_reasoning_model(model) and reasoning.get("effort") != "none"
    limit = body.get("max_output_tokens")
    return SimRequest(
        model=model,
        user_text=turn.text,
        images=turn.images,
        tool_results=turn.tool_results or [],
        tools=[ToolSpec(t.name, t.schema) for t in tools],
        tool_mode=mode,
        forced_tool=forced,
        parallel=body.get("parallel_tool_calls") is not False,
        thinking=thinking,
        max_tokens=limit if isinstance(limit, int) else 1 << 20,
        turn_count=len(items),
        directives=d,
        json_schema=_json_schema(body),
    )


class _Render:
    """One response's items and events, with its sequence numbers (streamed or not)."""

    def __init__(self, body: dict[str, Any], plan: ReplyPlan, tools: list[Tool], response_id: str,
                 usage: dict[str, Any]) -> None:  # fmt: skip
        self.body = body
        self.plan = plan
        self.by_name = {t.name: t for t in tools}
        self.response_id = response_id
        self.usage = usage
        self.created_at = int(time.time())
        self.seq = 0
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        include = body.get("include") if isinstance(body.get("include"), list) else []
        self.summary = reasoning.get("summary") in _SUMMARIES
        self.sealed = "reasoning.encrypted_content" in include
        self.base = response_id.removeprefix("resp_")

    # -- items
    def reasoning_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": f"rs_{self.base}", "type": "reasoning", "summary": []}
        if self.summary and self.plan.thinking:
            item["summary"] = [{"type": "summary_text", "text": self.plan.thinking}]
        if self.sealed:
            item["encrypted_content"] = seal(self.body["model"], "r", self.plan.thinking)
        return item

    def message_item(self) -> dict[str, Any]:
        part: dict[str, Any]
        if self.plan.stop_reason == "refusal":
            part = {"type": "refusal", "refusal": self.plan.text}
        else:
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": self.plan.text}
        status = "incomplete" if self.plan.stop_reason == "max_tokens" else "completed"
        return {
            "id": f"msg_{self.base}",
            "type": "message",
            "status": status,
            "content": [part],
            "role": "assistant",
        }

    def call_item(self, call: PlannedToolCall) -> dict[str, Any]:
        tool = self.by_name.get(call.name)
        call_id = f"call_sim_{call.id_hash}"
        if tool is not None and tool.kind == "custom":
            text = call.input.get("input") if isinstance(call.input, dict) else None
            item: dict[str, Any] = {"id": f"ctc_{call.id_hash}", "type": "custom_tool_call", "status": "completed",
                                    "call_id": call_id, "name": call.name, "input": str(text or "")}  # fmt: skip
        else:
            item = {"id": f"fc_{call.id_hash}", "type": "function_call", "status": "completed",
                    "arguments": call.arguments, "call_id": call_id, "name": call.name}  # fmt: skip
        if tool is not None and tool.namespace not in (None, "functions"):  # the default namespace is omitted
            item["namespace"] = tool.namespace
        return item

    def output(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.plan.has_thinking:
            items.append(self.reasoning_item())
        if self.plan.text or not self.plan.tool_calls:
            items.append(self.message_item())
        items += [self.call_item(c) for c in self.plan.tool_calls]
        return items

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None,
                 error: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        body = self.body
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        text = body.get("text") if isinstance(body.get("text"), dict) else {}
        incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
        return {
            "id": self.response_id, "object": "response", "created_at": self.created_at, "status": status,
            "background": False, "error": error, "incomplete_details": incomplete,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"), "model": body["model"], "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "prompt_cache_retention": body.get("prompt_cache_retention"),
            "reasoning": {"effort": reasoning.get("effort", "medium" if is_reasoning_model(body["model"]) else None),
                          "summary": reasoning.get("summary")},
            "safety_identifier": body.get("safety_identifier"), "service_tier": "default",
            "store": body.get("store") is not False, "temperature": body.get("temperature", 1.0),
            "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity", "medium")},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs") or 0, "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation") or "disabled", "usage": usage, "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }  # fmt: skip

    @property
    def status(self) -> str:
        return "incomplete" if self.plan.stop_reason == "max_tokens" else "completed"

    def document(self) -> dict[str, Any]:
        return self.response(self.status, self.output(), self.usage)

    # -- events
    def frame(self, kind: FrameKind, etype: str, **fields: Any) -> Frame:
        data = dumps({"type": etype, "sequence_number": self.seq, **fields})
        self.seq += 1
        return Frame(kind, b"event: " + etype.encode() + b"\ndata: " + data + b"\n\n")

    def frames(self) -> Iterator[Frame]:
        F = FrameKind
        start = self.response("in_progress", [], None)
        yield self.frame(F.HEAD, "response.created", response=start)
        yield self.frame(F.HEAD, "response.in_progress", response=start)
        output: list[dict[str, Any]] = []
        index = 0
        plan = self.plan
        if plan.has_thinking:
            item = self.reasoning_item()
            yield self.frame(F.OTHER, "response.output_item.added", output_index=index,
                             item={**item, "summary": []})  # fmt: skip
            iid = item["id"]
            if item["summary"]:
                part = {"type": "summary_text", "text": ""}
                yield self.frame(F.OTHER, "response.reasoning_summary_part.added", item_id=iid, output_index=index,
                                 summary_index=0, part=part)  # fmt: skip
                for piece in plan.thinking_deltas:
                    yield self.frame(F.DELTA, "response.reasoning_summary_text.delta", item_id=iid,
                                     output_index=index, summary_index=0, delta=piece)  # fmt: skip
                yield self.frame(F.OTHER, "response.reasoning_summary_text.done", item_id=iid, output_index=index,
                                 summary_index=0, text=plan.thinking)  # fmt: skip
                yield self.frame(F.OTHER, "response.reasoning_summary_part.done", item_id=iid, output_index=index,
                                 summary_index=0, part={"type": "summary_text", "text": plan.thinking})  # fmt: skip
            yield self.frame(F.OTHER, "response.output_item.done", output_index=index, item=item)
            output.append(item)
            index += 1
        if plan.text or not plan.tool_calls:
            item = self.message_item()
            iid = item["id"]
            refusal = item["content"][0]["type"] == "refusal"
            yield self.frame(F.OTHER, "response.output_item.added", output_index=index,
                             item={**item, "status": "in_progress", "content": []})  # fmt: skip
            empty = {"type": "refusal", "refusal": ""} if refusal else {"type": "output_text", "annotations": [],
                                                                         "logprobs": [], "text": ""}  # fmt: skip
            yield self.frame(F.OTHER, "response.content_part.added", item_id=iid, output_index=index,
                             content_index=0, part=empty)  # fmt: skip
            kind = "response.refusal" if refusal else "response.output_text"
            for piece in plan.text_deltas:
                extra = {} if refusal else {"logprobs": []}
                yield self.frame(F.DELTA, f"{kind}.delta", item_id=iid, output_index=index, content_index=0,
                                 delta=piece, **extra)  # fmt: skip
            done = {"refusal": plan.text} if refusal else {"text": plan.text, "logprobs": []}
            yield self.frame(
                F.OTHER, f"{kind}.done", item_id=iid, output_index=index, content_index=0, **done
            )
            yield self.frame(F.OTHER, "response.content_part.done", item_id=iid, output_index=index,
                             content_index=0, part=item["content"][0])  # fmt: skip
            yield self.frame(F.OTHER, "response.output_item.done", output_index=index, item=item)
            output.append(item)
            index += 1
        for call in plan.tool_calls:
            item = self.call_item(call)
            iid = item["id"]
            custom = item["type"] == "custom_tool_call"
            field = "input" if custom else "arguments"
            yield self.frame(F.OTHER, "response.output_item.added", output_index=index,
                             item={**item, field: "", "status": "in_progress"})  # fmt: skip
            kind = "response.custom_tool_call_input" if custom else "response.function_call_arguments"
            for piece in split_fragments(item[field]) if item[field] else ():
                yield self.frame(F.DELTA, f"{kind}.delta", item_id=iid, output_index=index, delta=piece)
            yield self.frame(F.OTHER, f"{kind}.done", item_id=iid, output_index=index, **{field: item[field]})
            yield self.frame(F.OTHER, "response.output_item.done", output_index=index, item=item)
            output.append(item)
            index += 1
        terminal = "response.completed" if self.status == "completed" else "response.incomplete"
        yield self.frame(F.TAIL, terminal, response=self.response(self.status, output, self.usage))

    def failure(self, done_output: list[dict[str, Any]]) -> list[bytes]:
        """OpenAI's mid-stream failure (recorded: openai-error.1): ``error``, then ``response.failed``."""
        message = "The server had an error while processing your request. (simulated mid-stream failure)"
        error = {"type": "server_error", "code": "server_error", "message": message, "param": None}
        return [
            self.frame(FrameKind.TAIL, "error", error=error).data,
            self.frame(FrameKind.TAIL, "response.failed", response=self.response(
                "failed", done_output, None, error={"code": "server_error", "message": message})).data,
        ]  # fmt: skip


def _with_failure(render: _Render, frames: Iterator[Frame], limit: int) -> Iterator[Frame]:
    """``error_after=N``: after N content deltas (or at the end of content) the stream fails."""
    count = 0
    done: list[dict[str, Any]] = []
    for frame in frames:
        if frame.kind is FrameKind.TAIL or (frame.kind is FrameKind.DELTA and count >= limit):
            for data in render.failure(done):
                yield Frame(FrameKind.OTHER, data)
            return
        if frame.data.startswith(b"event: response.output_item.done\n"):
            done.append(json.loads(frame.data.split(b"data: ", 1)[1])["item"])
        yield frame
        if frame.kind is FrameKind.DELTA:
            count += 1


def _user_message(item: dict[str, Any]) -> dict[str, Any]:
    """A user input message as an output item (what ``/compact`` returns it as)."""
    content = item.get("content")
    if isinstance(content, str):
        content = [{"type": "input_text", "text": content}]
    return {"id": item.get("id") or new_id("msg_sim"), "type": "message", "status": "completed", "role": "user",
            "content": content}  # fmt: skip


class OpenAIResponsesSimulator(OpenAISimulator):
    """Route handlers for ``/openai/v1/responses`` (auth, errors and faults as for Chat Completions)."""

    namespace = "openai-responses"

    def __init__(self, state: SimState) -> None:
        super().__init__(state)
        self.stored: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.create, methods=["POST"]),
            Route(f"{PATH}/input_tokens", self.input_tokens, methods=["POST"]),
            Route(f"{PATH}/compact", self.compact, methods=["POST"]),
            Route(PATH + "/{response_id}", self.retrieve, methods=["GET"]),
            Route(PATH + "/{response_id}", self.delete, methods=["DELETE"]),
        ]

    # -- helpers
    def _expand(self, body: dict[str, Any]) -> list[Any]:
        """The whole conversation: a stored ``previous_response_id``'s items, then this input
        (item references resolved from stored responses)."""
        items: list[Any] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            stored = self.stored.get(str(previous))
            if stored is None:
                raise SimError(400, f"Previous response with id '{previous}' not found.", "invalid_request_error",
                               "previous_response_id", "previous_response_not_found")  # fmt: skip
            items += stored["input"] + stored["response"]["output"]
        for item in _items(body):
            if _item_type(item) == "item_reference":
                found = self._stored_item(item.get("id"))
                if found is None:
                    raise _bad(
                        f"Item with id '{item.get('id')}' not found. Items are not persisted when `store` is set to "
                        "false. Try again with `store` set to true, or remove this item from your input.",
                        "input",
                    )
                items.append(found)
            else:
                items.append(item)
        return items

    def _stored_item(self, item_id: Any) -> dict[str, Any] | None:
        for stored in self.stored.values():
            for item in stored["input"] + stored["response"]["output"]:
                if isinstance(item, dict) and item.get("id") == item_id:
                    return item
        return None

    def _store(self, body: dict[str, Any], items: list[Any], document: dict[str, Any]) -> None:
        if body.get("store") is False:
            return
        self.stored[document["id"]] = {"input": items, "response": document}
        while len(self.stored) > STORED_RESPONSES:
            self.stored.popitem(last=False)

    async def _authorized(self, request: Request) -> tuple[Any, str] | Response:
        """The logged body and a request id, or the 401 a missing or wrong key gets."""
        body = await read_recorded(request, self.state)
        request_id = new_id("req_sim_")
        denied = self._auth_error(request, request_id)
        return denied if denied is not None else (body, request_id)

    async def _prepare(self, request: Request) -> tuple[dict[str, Any], list[Any], str] | Response:
        authorized = await self._authorized(request)
        if isinstance(authorized, Response):
            return authorized
        body, request_id = authorized
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(400, request_id, self.INVALID_JSON_MESSAGE)
        return body, _items(body), request_id

    def _conversation(self, body: dict[str, Any], request_id: str) -> tuple[list[Any], list[Tool]] | Response:
        """The whole, validated conversation and its tools, or OpenAI's 400."""
        try:
            items = self._expand(body)
            validate(body, items)
            return items, _tools(body, items)
        except SimError as exc:
            return self._error(exc.status, request_id, exc.message, exc.etype, exc.param, exc.code)

    # -- endpoints
    async def create(self, request: Request) -> Response:
        """``POST /v1/responses``: JSON or SSE, with directive-driven faults."""
        prepared = await self._prepare(request)
        if isinstance(prepared, Response):
            return prepared
        body, raw_items, request_id = prepared
        turn = last_user_turn(raw_items)
        d = parse_directives(turn.text)
        await sleep_ms(d.delay_ms)
        if self.state.should_fail(d):
            return self._forced_failure(d, request_id, str(body.get("model")))
        conversation = self._conversation(body, request_id)
        if isinstance(conversation, Response):
            return conversation
        items, tools = conversation
        stream = body.get("stream") is True
        if d.replay:  # recorded real OpenAI traffic as the answer, byte for byte (simulator/replay.py)
            try:
                return replay_response(d.replay, "openai-responses", stream=stream, source=d.replay_source,
                                       part=d.replay_part)
            except SimError as exc:
                return self._error(exc.status, request_id, exc.message, exc.etype, exc.param, exc.code)
        if not stream and d.error_after is not None:
            return self._late_failure(request_id)
        plan = plan_reply(build_request(body, items, tools, turn, d))
        input_tokens, cached = input_usage(body, items, tools, self.state.cache(self.namespace))
        if d.cached is not None:
            cached = max(0, min(d.cached, input_tokens))
        render = _Render(body, plan, tools, new_id("resp_sim"), usage_json(input_tokens, cached, plan))
        headers = [(self.REQUEST_ID_HEADER, request_id)]
        document = render.document()
        self._store(body, items, document)
        if stream:
            frames: Iterator[Frame] = render.frames()
            if d.error_after is not None:
                frames = _with_failure(render, frames, max(0, d.error_after))
                d = dataclasses.replace(d, error_after=None)
            return StreamResponse(drive_stream(frames, d, b""), headers)
        await sleep_ms(d.first_token_ms + d.interval_ms * max(0, plan.delta_count - 1))
        return json_response(200, document, headers)

    async def input_tokens(self, request: Request) -> Response:
        """``POST /v1/responses/input_tokens``: the count a create would report as ``input_tokens``."""
        prepared = await self._prepare(request)
        if isinstance(prepared, Response):
            return prepared
        body, _, request_id = prepared
        conversation = self._conversation(body, request_id)
        if isinstance(conversation, Response):
            return conversation
        count, _ = input_usage(body, *conversation, None)
        return json_response(200, {"object": "response.input_tokens", "input_tokens": count},
                             [(self.REQUEST_ID_HEADER, request_id)])  # fmt: skip

    async def compact(self, request: Request) -> Response:
        """``POST /v1/responses/compact``: the user messages kept, the rest sealed in one compaction item."""
        prepared = await self._prepare(request)
        if isinstance(prepared, Response):
            return prepared
        body, _, request_id = prepared
        conversation = self._conversation(body, request_id)
        if isinstance(conversation, Response):
            return conversation
        items, tools = conversation
        users = [_user_message(i) for i in items if _item_type(i) == "message" and i.get("role") == "user"]
        summary = f"Compacted {len(items) - len(users)} item(s) of conversation with {body['model']}."
        compaction = {
            "id": new_id("cmp_sim"),
            "type": "compaction",
            "encrypted_content": seal(body["model"], "c", summary),
        }
        input_tokens, _ = input_usage(body, items, tools, None)
        out_tokens = tokens(summary)
        document = {
            "id": new_id("resp_sim"), "object": "response.compaction", "created_at": int(time.time()),
            "output": [*users, compaction],
            "usage": {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": input_tokens + out_tokens},
        }  # fmt: skip
        return json_response(200, document, [(self.REQUEST_ID_HEADER, request_id)])

    async def retrieve(self, request: Request) -> Response:
        authorized = await self._authorized(request)
        if isinstance(authorized, Response):
            return authorized
        request_id = authorized[1]
        stored = self.stored.get(request.path_params["response_id"])
        if stored is None:
            return self._error(404, request_id, f"No response found with id '{request.path_params['response_id']}'.",
                               "invalid_request_error")  # fmt: skip
        return json_response(200, stored["response"], [(self.REQUEST_ID_HEADER, request_id)])

    async def delete(self, request: Request) -> Response:
        authorized = await self._authorized(request)
        if isinstance(authorized, Response):
            return authorized
        request_id = authorized[1]
        response_id = request.path_params["response_id"]
        if self.stored.pop(response_id, None) is None:
            return self._error(
                404, request_id, f"No response found with id '{response_id}'.", "invalid_request_error"
            )
        return json_response(200, {"id": response_id, "object": "response", "deleted": True},
                             [(self.REQUEST_ID_HEADER, request_id)])  # fmt: skip
