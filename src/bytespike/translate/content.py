"""Content helpers shared by request and response translators (data URIs, JSON args)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .errors import TranslationError

_DATA_URI = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)
_MEDIA_ALIASES = {"image/jpg": "image/jpeg"}


def parse_data_uri(uri: str) -> tuple[str, str] | None:
    """``data:<media>;base64,<data>`` → (media_type, base64 data); None if not a base64 data URI."""
    if not uri.startswith("data:"):
        return None
    m = _DATA_URI.match(uri)
    if not m or ";base64" not in m.group(2):
        return None
    media = m.group(1).strip().lower() or "application/octet-stream"
    return _MEDIA_ALIASES.get(media, media), m.group(3)


def data_uri(media_type: str, data: str) -> str:
    """The inverse of :func:`parse_data_uri`."""
    return f"data:{media_type};base64,{data}"


def b64_to_text(data: str, param: str) -> str:
    """Decode base64 text content (for ``text/plain`` files) or reject it."""
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise TranslationError("file_data is not valid base64-encoded UTF-8 text", param) from exc


def text_to_b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def parse_tool_arguments(arguments: Any, param: str) -> dict:
    """A client's ``function.arguments`` (a JSON string) → the ``input`` object Claude needs.

    Missing/empty arguments mean "no arguments" ({}); an already-decoded object is
    accepted; anything that is not a JSON object is the client's mistake → 400.
    """
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        raise TranslationError("function.arguments must be a JSON string", param)
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise TranslationError(f"function.arguments is not valid JSON: {exc}", param) from exc
    if not isinstance(value, dict):
        raise TranslationError("function.arguments must encode a JSON object", param)
    return value


def upstream_arguments_to_input(arguments: Any) -> dict:
    """Arguments an *upstream* produced → ``input``. Never raises: a model's malformed
    output is not the client's fault, and ``{}`` would silently call the tool with no
    arguments, so unparsable text is kept verbatim under ``_raw_arguments``."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        return {"_raw_arguments": json.dumps(arguments)}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"_raw_arguments": arguments}


def dump_arguments(value: Any) -> str:
    """``input`` object → OpenAI ``arguments`` string (UTF-8 kept, as OpenAI sends it)."""
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def mid_conversation_system_text(msg: dict, i: int) -> str:
    """The text of an Anthropic mid-conversation ``role: "system"`` turn (string or text blocks).

    Anthropic accepts these turns (Claude Code sends them); providers without one get the text
    translated into what they accept (docs/MAPPING.md). Non-text blocks are refused in
    Anthropic's own wording, as Anthropic itself refuses them.
    """
    content = msg.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", f"messages.{i}.content")
    texts: list[str] = []
    for j, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise TranslationError("system messages may only contain text blocks", f"messages.{i}.content.{j}")
        texts.append(block["text"])
    return "\n\n".join(t for t in texts if t)


def system_reminder(text: str) -> str:
    """A mid-conversation system turn as user-visible context, the way Claude Code itself falls
    back when an upstream refuses ``role: "system"`` (a ``<system-reminder>`` body)."""
    return f"<system-reminder>\n{text}\n</system-reminder>"
