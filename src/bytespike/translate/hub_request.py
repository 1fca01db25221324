"""Reading a hub (Anthropic Messages) request: the checks every hub → upstream translator shares.

The Chat Completions, Responses and Gemini translators each turn the same hub request into
their upstream's shape. What a hub field *means* — and which values are a client mistake —
does not depend on the upstream, so it is decided here once: one wording for each error, one
``param`` path, whichever lane a request takes. The translators keep only the mapping.
Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .errors import TranslationError

ToolChoiceType = Literal["auto", "any", "tool", "none"]


def text_or_empty(value: Any) -> str:
    """A string field, or "" for anything else (malformed input must not crash us)."""
    return value if isinstance(value, str) else ""


def message_param(i: int, *rest: Any) -> str:
    """The ``param`` path of a field inside ``messages[i]``, as Anthropic names it."""
    path = f"messages[{i}]"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def hub_messages(req: Any) -> list:
    """The request's ``messages``, after refusing what only Claude models serve."""
    if not isinstance(req, dict):
        raise TranslationError("request body must be a JSON object")
    for key in ("mcp_servers", "container"):
        if req.get(key):
            raise TranslationError(f"{key} is only available on Claude models", key)
    raw_messages = req.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise TranslationError("messages must be a non-empty array", "messages")
    return raw_messages


def system_texts(req: dict) -> list[str]:
    """The non-empty texts of ``system`` (a string or text blocks), in order."""
    system = req.get("system")
    if isinstance(system, str):
        return [system] if system else []
    if isinstance(system, list):
        return [
            b["text"]
            for b in system
            if isinstance(b, dict)
            and b.get("type") == "text"
            and isinstance(b.get("text"), str)
            and b["text"]
        ]
    if system is not None:
        raise TranslationError("system must be a string or an array of text blocks", "system")
    return []


def unsupported_role(role: Any, i: int) -> TranslationError:
    return TranslationError(f"message role {role!r} is not supported", message_param(i, "role"))


def not_an_object(i: int) -> TranslationError:
    return TranslationError("each message must be an object", message_param(i))


def max_tokens(req: dict) -> int | None:
    """``max_tokens`` when given; 0 (Claude's cache pre-warming) is refused off Claude."""
    value = req.get("max_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TranslationError("max_tokens must be a non-negative integer", "max_tokens")
    if value == 0:
        raise TranslationError(
            "max_tokens: 0 (cache pre-warming) is only supported by Claude models", "max_tokens"
        )
    return value


@dataclass(frozen=True)
class FunctionTool:
    """A client tool of the hub request, checked: what every upstream's declaration needs."""

    name: str
    description: str
    input_schema: dict | None
    strict: bool | None


def function_tools(tools: Any) -> list[FunctionTool]:
    """The hub's ``tools``, refusing server tools (they run only on Claude models)."""
    if not isinstance(tools, list):
        raise TranslationError("tools must be an array", "tools")
    out: list[FunctionTool] = []
    for k, tool in enumerate(tools):
        p = f"tools[{k}]"
        if not isinstance(tool, dict):
            raise TranslationError("tools entries must be objects", p)
        if tool.get("type") not in (None, "custom"):
            raise TranslationError(
                f"server tool {tool.get('type')!r} is only available on Claude models", p + ".type"
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("tools need a name", p + ".name")
        schema = tool.get("input_schema")
        strict = tool.get("strict")
        out.append(
            FunctionTool(
                name=name,
                description=text_or_empty(tool.get("description")),
                input_schema=schema if isinstance(schema, dict) else None,
                strict=strict if isinstance(strict, bool) else None,
            )
        )
    return out


@dataclass(frozen=True)
class ToolChoice:
    type: ToolChoiceType
    name: str | None  # the tool's client name when type == "tool"
    disable_parallel: bool


def tool_choice(req: dict, *, has_tools: bool) -> ToolChoice | None:
    """The hub's ``tool_choice``: None when absent or when there are no tools to choose from."""
    choice = req.get("tool_choice")
    if not has_tools:
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            raise TranslationError("tool_choice requires tools", "tool_choice")
        return None
    if choice is None:
        return None
    if not isinstance(choice, dict):
        raise TranslationError("tool_choice must be an object", "tool_choice")
    ctype = choice.get("type")
    name = choice.get("name")
    if ctype not in ("auto", "any", "none", "tool") or (ctype == "tool" and not isinstance(name, str)):
        raise TranslationError(f"unsupported tool_choice type {ctype!r}", "tool_choice")
    return ToolChoice(
        type=ctype,
        name=name if ctype == "tool" else None,
        disable_parallel=choice.get("disable_parallel_tool_use") is True,
    )


def output_config(req: dict) -> dict:
    value = req.get("output_config")
    return value if isinstance(value, dict) else {}


def json_schema_format(req: dict) -> dict | None:
    """The JSON schema of ``output_config.format`` when structured output is asked for."""
    fmt = output_config(req).get("format")
    if not (isinstance(fmt, dict) and fmt.get("type") == "json_schema"):
        return None
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise TranslationError("output_config.format.schema must be an object", "output_config.format")
    return schema
