"""Anthropic Messages (canonical) ↔ Gemini ``generateContent`` / ``streamGenerateContent``.

Pure functions and one incremental state machine, in the style of the OpenAI translators.
See docs/MAPPING.md ("Gemini") for the field table and what cannot be carried.

**thoughtSignature fidelity.** Gemini returns an opaque ``thoughtSignature`` on specific
parts (the first ``functionCall`` of a parallel group, every call of sequential steps, the
last part otherwise) and requires it back *on exactly that part* (Gemini 3 validates the
function-call ones: 400 "Function call is missing a thought_signature"). Anthropic has no
per-part signature, so each Gemini signature rides on a ``thinking`` block whose signature
is an origin marker (``bsx:`` + base64url JSON, see :mod:`.signatures`)::

    {"p": "gemini", "m": <model>, "g": [[<target>, <thoughtSignature>], ...]}

``target`` names the part the signature came on: ``c:<tool_use id>`` (a function call),
``x:<n>`` (the n-th text block of the message), ``h`` (the thought part this thinking
block itself stands for) or ``e`` (an empty text part at this position). The block's
``thinking`` text is the thought summary when Gemini sent one, else "" (the shape Claude
uses for ``display: "omitted"``). Signatures go on the open summary block when there is
one, so the common case adds no block at all. On the way back the request translator
re-attaches every signature to its target part. Signatures are model-bound: a block from
another model (or provider) is dropped, and for function calls Gemini *requires* signed,
the documented sentinel ``skip_thought_signature_validator`` is used instead — only on the
first ``functionCall`` of each model step of the current turn (what Gemini validates).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from bytespike.errors import Kind

from . import hub_events
from . import hub_request as hub
from .content import mid_conversation_system_text, system_reminder
from .errors import TranslationError
from .errors_map import gemini_error
from .hub_events import Event
from .hub_request import message_param as _param
from .hub_request import text_or_empty as _s
from .invariants import assemble_anthropic_events
from .names import ToolNameMap, safe_tool_id
from .requests import budget_to_effort
from .responses import anthropic_message_id
from .signatures import MARKER_PREFIX, origin_signature

PROVIDER = "gemini"
SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Documented dummy signature for history Gemini did not produce (foreign or lost)."""

THINKING_STYLES = ("level", "budget")
"""``level``: Gemini 3.x (``thinkingLevel``; thinking cannot be turned off and function-call
signatures are validated). ``budget``: Gemini 2.5 (``thinkingBudget``; 0 turns it off)."""

MAX_STOP_SEQUENCES = 5
SYNTH_ID_PREFIX = "gmc_"

EFFORT_TO_LEVEL = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
_EFFORTS = frozenset(EFFORT_TO_LEVEL)

# finishReason → stop_reason (protocols.md §3); any functionCall makes it tool_use.
REFUSAL_FINISH = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
    }
)
NO_EQUIVALENT_FINISH = frozenset(
    {
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "MISSING_THOUGHT_SIGNATURE",
        "LANGUAGE",
        "NO_IMAGE",
        "OTHER",
        "FINISH_REASON_UNSPECIFIED",
    }
)

_IMAGE_EXT = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}
_URL_PATH = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)")


# =====================================================================================
# Context
# =====================================================================================


@dataclass(slots=True)
class GeminiContext:
    """What response translation needs to know about the request it answers.

    ``model`` binds signatures (a signature is replayed only to the same model);
    ``warnings`` lists what was dropped or substituted (for logs, never for the client).
    """

    model: str
    names: ToolNameMap = field(default_factory=ToolNameMap)
    thinking_style: str = "level"
    stream: bool = False
    include_thoughts: bool = False
    sentinels: int = 0
    warnings: list[str] = field(default_factory=list)


def gemini_path(model: str, *, stream: bool) -> str:
    """``/models/{model}:generateContent`` or ``…:streamGenerateContent?alt=sse`` (append to the base URL)."""
    if stream:
        return f"/models/{model}:streamGenerateContent?alt=sse"
    return f"/models/{model}:generateContent"


# =====================================================================================
# Signature markers
# =====================================================================================


def gemini_signature(model: str, pairs: list[tuple[str, str]]) -> str:
    """The marker for a thinking block carrying Gemini signatures (``pairs``: target, signature)."""
    if not pairs:
        return origin_signature(PROVIDER)
    payload = json.dumps(
        {"p": PROVIDER, "m": model, "g": [list(p) for p in pairs]}, separators=(",", ":")
    ).encode()
    return MARKER_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def read_gemini_signature(signature: Any) -> tuple[str, list[tuple[str, str]]] | None:
    """(model, [(target, signature)]) from a Gemini marker; None for anything else."""
    if not isinstance(signature, str) or not signature.startswith(MARKER_PREFIX):
        return None
    raw = signature[len(MARKER_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("p") != PROVIDER:
        return None
    pairs = [
        (g[0], g[1])
        for g in data.get("g") or ()
        if isinstance(g, list) and len(g) == 2 and isinstance(g[0], str) and isinstance(g[1], str) and g[1]
    ]
    model = data.get("m")
    return (model if isinstance(model, str) else ""), pairs


# =====================================================================================
# JSON schema cleaning (function declarations)
# =====================================================================================

_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "items",
        "minimum",
        "maximum",
    }
)
_FORMATS = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
_MAX_SCHEMA_DEPTH = 24


def _resolve_ref(root: dict, ref: str) -> dict:
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return {}
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def clean_schema_for_gemini(schema: Any) -> dict:
    """A JSON Schema reduced to the OpenAPI subset Gemini's ``parameters`` accepts.

    Kept: the keys of Gemini's ``Schema`` object. Rewritten: local ``$ref`` inlined
    (recursion → plain object), ``const`` → one-value string ``enum``, ``type: [t, "null"]``
    → ``type: t`` + ``nullable``, ``oneOf`` → ``anyOf``, ``allOf`` of objects merged.
    Dropped (Gemini 400s on them): ``additionalProperties``, ``$schema``, ``$id``, ``$defs``,
    ``default``, ``examples``, ``exclusiveMinimum``/``Maximum``, unsupported ``format``s,
    non-string enums, empty ``properties`` and ``required`` names that are not properties.
    """
    if not isinstance(schema, dict):
        return {}
    return _clean(schema, schema, 0, ())


def _clean(schema: dict, root: dict, depth: int, seen: tuple[str, ...]) -> dict:
    if depth > _MAX_SCHEMA_DEPTH:
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in seen:  # recursive schema: Gemini's subset cannot express it
            return {"type": "object"}
        merged = {**_resolve_ref(root, ref), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _clean(merged, root, depth + 1, (*seen, ref))
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in all_of:
            if not isinstance(part, dict):
                continue
            part = _clean(part, root, depth + 1, seen)
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    merged.setdefault("properties", {})
                    if isinstance(merged["properties"], dict):
                        merged["properties"] = {**merged["properties"], **value}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*(merged.get("required") or []), *value]
                else:
                    merged.setdefault(key, value)
        schema = merged

    out: dict[str, Any] = {}
    nullable = schema.get("nullable") is True
    stype = schema.get("type")
    if isinstance(stype, list):
        types = [t for t in stype if isinstance(t, str)]
        non_null = [t for t in types if t != "null"]
        nullable = nullable or len(non_null) < len(types)
        if len(non_null) == 1:
            stype = non_null[0]
        elif non_null:
            out["anyOf"] = [{"type": t} for t in non_null]
            stype = None
        else:
            stype = "null"
    if isinstance(stype, str):
        out["type"] = stype
    base = stype.lower() if isinstance(stype, str) else None

    for key, value in schema.items():
        if key not in _SCHEMA_KEYS or key in ("type", "nullable", "anyOf", "properties", "items", "required"):
            continue
        if key == "format":
            if isinstance(value, str) and base in _FORMATS and value in _FORMATS[base]:
                out["format"] = value
            continue
        if key == "enum":
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                out["enum"] = list(value)
            continue
        out[key] = value
    if "const" in schema and "enum" not in out and isinstance(schema["const"], str):
        out["enum"] = [schema["const"]]
        out.setdefault("type", "string")

    options = schema.get("anyOf")
    if not isinstance(options, list):
        options = schema.get("oneOf")
    if isinstance(options, list) and options:
        cleaned = []
        for option in options:
            if isinstance(option, dict) and option.get("type") == "null" and len(option) == 1:
                nullable = True
                continue
            if isinstance(option, dict):
                cleaned.append(_clean(option, root, depth + 1, seen))
        if len(cleaned) == 1 and "type" not in out:
            for key, value in cleaned[0].items():
                out.setdefault(key, value)
        elif cleaned:
            out["anyOf"] = cleaned

    props = schema.get("properties")
    if isinstance(props, dict):
        cleaned_props = {
            str(name): _clean(sub, root, depth + 1, seen) if isinstance(sub, dict) else {}
            for name, sub in props.items()
        }
        if cleaned_props:
            out["properties"] = cleaned_props
            required = schema.get("required")
            if isinstance(required, list):
                kept = [r for r in dict.fromkeys(required) if isinstance(r, str) and r in cleaned_props]
                if kept:
                    out["required"] = kept
    items = schema.get("items")
    if isinstance(items, list):  # tuple validation: Gemini has one item schema
        items = items[0] if items else None
    if isinstance(items, dict):
        out["items"] = _clean(items, root, depth + 1, seen)
    if nullable:
        out["nullable"] = True
    return out


# =====================================================================================
# Anthropic request → Gemini request
# =====================================================================================


def _url_mime(url: str, default: str | None) -> str | None:
    m = _URL_PATH.match(url)
    path = (m.group(1) if m else "").lower()
    for ext, mime in _IMAGE_EXT.items():
        if path.endswith(ext):
            return mime
    if path.endswith(".pdf"):
        return "application/pdf"
    return default


def _url_part(url: Any, param: str, default_mime: str | None) -> dict:
    """A URL Gemini fetches itself (public or signed HTTPS URLs, since 2026-01): ``fileData``."""
    if not isinstance(url, str) or not url:
        raise TranslationError("source.url must be a non-empty string", param)
    if not url.lower().startswith("https://"):
        raise TranslationError(
            "this model's provider can only fetch https:// URLs; send the content as base64 instead", param
        )
    data: dict[str, Any] = {"fileUri": url}
    mime = _url_mime(url, default_mime)
    if mime:
        data["mimeType"] = mime
    return {"fileData": data}


def _media_part(block: dict, param: str) -> dict | list[dict]:
    """An Anthropic ``image`` or ``document`` block → Gemini part(s)."""
    kind = block.get("type")
    source = block.get("source")
    if not isinstance(source, dict):
        raise TranslationError(f"{kind} block needs a source object", param + ".source")
    stype = source.get("type")
    if stype == "base64":
        data = source.get("data")
        media = _s(source.get("media_type")) or ("application/pdf" if kind == "document" else "")
        if not isinstance(data, str) or not data or not media:
            raise TranslationError(f"{kind} base64 source needs media_type and data", param + ".source")
        if media == "text/plain":  # a base64 plain-text source (tolerated): Gemini gets the text
            try:
                return {"text": base64.b64decode(data).decode("utf-8")}
            except (ValueError, UnicodeDecodeError) as exc:
                raise TranslationError("document data is not valid base64 UTF-8 text", param) from exc
        return {"inlineData": {"mimeType": media, "data": data}}
    if stype == "url":
        return _url_part(
            source.get("url"), param + ".source.url", None if kind == "image" else "application/pdf"
        )
    if stype == "text" and kind == "document":
        return {"text": _s(source.get("data"))}
    if stype == "content" and kind == "document":
        parts: list[dict] = []
        for k, c in enumerate(source.get("content") or ()):
            if isinstance(c, dict) and c.get("type") == "text" and c.get("text"):
                parts.append({"text": c["text"]})
            elif isinstance(c, dict) and c.get("type") == "image":
                part = _media_part(c, f"{param}.source.content[{k}]")
                parts.extend(part if isinstance(part, list) else [part])
        return parts
    if stype == "file":
        raise TranslationError(
            "file_id sources belong to Anthropic's Files API and cannot be read by this model; send base64",
            param,
        )
    raise TranslationError(f"unsupported {kind} source type {stype!r}", param + ".source.type")


def _search_result_text(block: dict) -> str:
    title = _s(block.get("title"))
    texts = [_s(c.get("text")) for c in block.get("content") or () if isinstance(c, dict)]
    body = "\n".join(t for t in texts if t)
    source = _s(block.get("source"))
    head = " — ".join(x for x in (title, source) if x)
    return f"{head}\n{body}" if head else body


def _tool_result_part(block: dict, tool_names: dict[str, str], param: str) -> dict:
    tool_use_id = block.get("tool_use_id")
    if not isinstance(tool_use_id, str) or not tool_use_id:
        raise TranslationError("tool_result needs tool_use_id", param + ".tool_use_id")
    name = tool_names.get(tool_use_id)
    if name is None:
        raise TranslationError(
            f"tool_result references tool_use_id {tool_use_id!r}, which no earlier tool_use block has",
            param + ".tool_use_id",
        )
    content = block.get("content")
    texts: list[str] = []
    media: list[dict] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, c in enumerate(content):
            p = f"{param}.content[{k}]"
            if not isinstance(c, dict):
                raise TranslationError("tool_result content entries must be objects", p)
            ct = c.get("type")
            if ct == "text":
                texts.append(_s(c.get("text")))
            elif ct in ("image", "document"):
                part = _media_part(c, p)
                for q in part if isinstance(part, list) else [part]:
                    if "text" in q:
                        texts.append(q["text"])
                    else:
                        media.append(q)
            elif ct == "search_result":
                texts.append(_search_result_text(c))
            # tool_reference and unknown server blocks carry nothing Gemini can read
    elif content is not None:
        raise TranslationError("tool_result content must be a string or an array", param + ".content")
    text = "\n".join(t for t in texts if t)
    # Gemini convention: "output" for the result, "error" for a failure (FunctionResponse docs).
    response = {"error": text or "Error"} if block.get("is_error") is True else {"output": text}
    fr: dict[str, Any] = {"name": name, "response": response}
    if not tool_use_id.startswith(SYNTH_ID_PREFIX):
        fr["id"] = tool_use_id
    if media:
        fr["parts"] = media  # Gemini 3 multimodal function responses
    return {"functionResponse": fr}


def _user_parts(msg: dict, i: int, tool_names: dict[str, str]) -> list[dict]:
    content = msg.get("content")
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    results: list[dict] = []
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
            if text:
                parts.append({"text": text})
        elif t in ("image", "document"):
            part = _media_part(b, p)
            parts.extend(part if isinstance(part, list) else [part])
        elif t == "tool_result":
            results.append(_tool_result_part(b, tool_names, p))
        elif t == "search_result":
            parts.append({"text": _search_result_text(b)})
        elif t in ("thinking", "redacted_thinking"):
            continue
        else:
            raise TranslationError(f"content block type {t!r} is not supported by this model", p)
    return results + parts  # function responses first, right after the model's calls


def _assistant_parts(msg: dict, i: int, ctx: GeminiContext, tool_names: dict[str, str]) -> list[dict]:
    content = msg.get("content")
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of blocks", _param(i, "content"))
    # Signatures may point forward (a summary block before its function call) or back
    # (a text signature after its text block), so collect them first.
    call_sigs: dict[str, str] = {}
    text_sigs: dict[int, str] = {}
    foreign = 0
    for b in content:
        if isinstance(b, dict) and b.get("type") == "thinking":
            decoded = read_gemini_signature(b.get("signature"))
            if decoded is None:
                continue
            model, pairs = decoded
            if model != ctx.model:
                foreign += len(pairs)
                continue
            for target, sig in pairs:
                if target.startswith("c:"):
                    call_sigs[target[2:]] = sig
                elif target.startswith("x:") and target[2:].isdigit():
                    text_sigs[int(target[2:])] = sig
    if foreign:
        ctx.warnings.append(f"messages[{i}]: dropped {foreign} thought signature(s) of another Gemini model")
    parts: list[dict] = []
    text_n = 0
    for j, b in enumerate(content):
        p = _param(i, "content", j)
        if not isinstance(b, dict):
            raise TranslationError("content blocks must be objects", p)
        t = b.get("type")
        if t == "text":
            text = b.get("text")
            if not isinstance(text, str) or not text:
                continue
            part: dict[str, Any] = {"text": text}
            sig = text_sigs.get(text_n)
            if sig:
                part["thoughtSignature"] = sig
            parts.append(part)
            text_n += 1
        elif t == "tool_use":
            name, tid = b.get("name"), b.get("id")
            if not isinstance(name, str) or not name or not isinstance(tid, str) or not tid:
                raise TranslationError("tool_use blocks need id and name", p)
            tool_input = b.get("input")
            call: dict[str, Any] = {
                "name": ctx.names.upstream_name(name),
                "args": tool_input if isinstance(tool_input, dict) else {},
            }
            if not tid.startswith(SYNTH_ID_PREFIX):
                call["id"] = tid
            part = {"functionCall": call}
            sig = call_sigs.get(tid)
            if sig:
                part["thoughtSignature"] = sig
            parts.append(part)
        elif t == "thinking":
            decoded = read_gemini_signature(b.get("signature"))
            if decoded is None or decoded[0] != ctx.model:
                continue  # Claude's, another provider's or another model's reasoning: never replayed
            for target, sig in decoded[1]:
                if target == "h":
                    parts.append({"text": _s(b.get("thinking")), "thought": True, "thoughtSignature": sig})
                elif target == "e":
                    parts.append({"text": "", "thoughtSignature": sig})
        # redacted_thinking, server tool blocks, images in assistant turns: nothing Gemini can take
    return parts


def _apply_sentinels(contents: list[dict], ctx: GeminiContext) -> None:
    """Gemini 3 validates the first functionCall of every model step of the current turn
    (history after the last user content that is not only function responses)."""
    start = -1
    for k, c in enumerate(contents):
        if c["role"] == "user" and any("functionResponse" not in p for p in c["parts"]):
            start = k
    for c in contents[start + 1 :]:
        if c["role"] != "model":
            continue
        first = next((p for p in c["parts"] if "functionCall" in p), None)
        if first is not None and not first.get("thoughtSignature"):
            first["thoughtSignature"] = SKIP_SIGNATURE
            ctx.sentinels += 1


# Hub tool_choice types as Gemini's functionCallingConfig modes ("tool" is ANY limited to one name).
_GEMINI_MODE = {"auto": "AUTO", "any": "ANY", "tool": "ANY", "none": "NONE"}


def _tools(tools: Any, names: ToolNameMap) -> list[dict]:
    decls: list[dict] = []
    for tool in hub.function_tools(tools):
        decl: dict[str, Any] = {"name": names.upstream_name(tool.name)}
        if tool.description:
            decl["description"] = tool.description
        params = clean_schema_for_gemini(tool.input_schema)
        if params.get("properties"):  # Gemini rejects an OBJECT with empty properties
            decl["parameters"] = params
        decls.append(decl)
    return decls


def _thinking_config(req: dict, style: str, ctx: GeminiContext) -> dict | None:
    effort = hub.output_config(req).get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise TranslationError(f"unsupported output_config.effort {effort!r}", "output_config.effort")
    thinking = req.get("thinking")
    if thinking is not None and not isinstance(thinking, dict):
        raise TranslationError("thinking must be an object", "thinking")
    ttype = thinking.get("type") if isinstance(thinking, dict) else None
    cfg: dict[str, Any] = {}
    if ttype in ("enabled", "adaptive"):
        assert isinstance(thinking, dict)
        if thinking.get("display") != "omitted":
            cfg["includeThoughts"] = True
        budget = thinking.get("budget_tokens")
        if style == "level":
            if effort:
                cfg["thinkingLevel"] = EFFORT_TO_LEVEL[effort]
            elif ttype == "enabled":
                cfg["thinkingLevel"] = budget_to_effort(budget)
        elif ttype == "enabled" and isinstance(budget, int) and not isinstance(budget, bool):
            cfg["thinkingBudget"] = budget
        else:
            cfg["thinkingBudget"] = -1  # dynamic
    elif ttype == "disabled":
        if style == "budget":
            cfg["thinkingBudget"] = 0
        else:
            ctx.warnings.append("thinking cannot be disabled on Gemini 3 models; thoughts are not returned")
    elif ttype is None:
        if effort and style == "level":
            cfg["thinkingLevel"] = EFFORT_TO_LEVEL[effort]
    else:
        raise TranslationError(f"unsupported thinking type {ttype!r}", "thinking.type")
    ctx.include_thoughts = cfg.get("includeThoughts") is True
    return cfg or None


def anthropic_request_to_gemini(req: dict, *, thinking_style: str = "level") -> tuple[dict, GeminiContext]:
    """Anthropic Messages request → ``GenerateContentRequest`` body (the model goes in the URL).

    ``thinking_style`` is ``"level"`` for Gemini 3.x (the catalog's ``thinking = "effort"``)
    or ``"budget"`` for Gemini 2.5. Raises :class:`TranslationError` for what Gemini cannot
    honour (server tools, ``file`` sources, non-HTTPS URLs, > 5 stop sequences, …).
    """
    if thinking_style not in THINKING_STYLES:
        raise ValueError(f"unknown thinking_style {thinking_style!r}; expected one of {THINKING_STYLES}")
    if not isinstance(req, dict):
        raise TranslationError("request body must be a JSON object")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("model is required", "model")
    ctx = GeminiContext(model=model, thinking_style=thinking_style, stream=req.get("stream") is True)
    raw_messages = hub.hub_messages(req)

    body: dict[str, Any] = {}
    system = hub.system_texts(req)
    if system:
        body["systemInstruction"] = {"parts": [{"text": text} for text in system]}

    contents: list[dict] = []
    tool_names: dict[str, str] = {}
    for i, msg in enumerate(raw_messages):
        if not isinstance(msg, dict):
            raise hub.not_an_object(i)
        role = msg.get("role")
        if role == "user":
            parts = _user_parts(msg, i, tool_names)
            grole = "user"
        elif role == "assistant":
            if isinstance(msg.get("content"), list):
                for b in msg["content"]:
                    if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str):
                        tool_names[b["id"]] = ctx.names.upstream_name(_s(b.get("name")) or "unknown_tool")
            parts = _assistant_parts(msg, i, ctx, tool_names)
            grole = "model"
        elif role == "system":
            # Gemini has one systemInstruction and no system turn: the mid-conversation turn
            # becomes user context at its position, as Claude Code's own fallback sends it.
            text = mid_conversation_system_text(msg, i)
            parts = [{"text": system_reminder(text)}] if text else []
            grole = "user"
        else:
            raise hub.unsupported_role(role, i)
        if not parts:
            continue
        if contents and contents[-1]["role"] == grole:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": grole, "parts": parts})
    if not contents:
        raise TranslationError("messages contain no content this model can read", "messages")
    if thinking_style == "level":
        _apply_sentinels(contents, ctx)
    if ctx.sentinels:
        ctx.warnings.append(
            f"{ctx.sentinels} function call(s) without a Gemini signature sent with the sentinel"
        )
    body["contents"] = contents

    # tools ---------------------------------------------------------------------------
    decls = _tools(req["tools"], ctx.names) if req.get("tools") is not None else []
    choice = hub.tool_choice(req, has_tools=bool(decls))
    if decls:
        body["tools"] = [{"functionDeclarations": decls}]
    if choice is not None:
        fcc: dict[str, Any] = {"mode": _GEMINI_MODE[choice.type]}
        if choice.type == "tool":
            fcc["allowedFunctionNames"] = [ctx.names.upstream_name(choice.name or "")]
        body["toolConfig"] = {"functionCallingConfig": fcc}
        if choice.disable_parallel:
            ctx.warnings.append("disable_parallel_tool_use has no Gemini equivalent (dropped)")

    # generation config ---------------------------------------------------------------
    gen: dict[str, Any] = {}
    max_tokens = hub.max_tokens(req)
    if max_tokens is not None:
        gen["maxOutputTokens"] = max_tokens
    stops = req.get("stop_sequences")
    if isinstance(stops, list) and stops:
        if len(stops) > MAX_STOP_SEQUENCES:
            raise TranslationError(
                f"this model accepts at most {MAX_STOP_SEQUENCES} stop sequences", "stop_sequences"
            )
        gen["stopSequences"] = [s for s in stops if isinstance(s, str)]
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        if req.get(src) is not None:
            gen[dst] = req[src]
    schema = hub.json_schema_format(req)
    if schema is not None:
        gen["responseMimeType"] = "application/json"
        gen["responseJsonSchema"] = schema
    thinking = _thinking_config(req, thinking_style, ctx)
    if thinking:
        gen["thinkingConfig"] = thinking
    if gen:
        body["generationConfig"] = gen
    if req.get("cache_control") or _has_cache_control(req):
        ctx.warnings.append("cache_control dropped: Gemini caches implicitly")
    return body, ctx


def _has_cache_control(req: dict) -> bool:
    for source in (req.get("system"), req.get("tools")):
        if isinstance(source, list) and any(isinstance(b, dict) and "cache_control" in b for b in source):
            return True
    for msg in req.get("messages") or ():
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list) and any(isinstance(b, dict) and "cache_control" in b for b in content):
            return True
    return False


# =====================================================================================
# Usage and finish reasons
# =====================================================================================


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def gemini_usage_to_anthropic(u: dict | None) -> dict:
    """``usageMetadata`` → Anthropic usage.

    ``promptTokenCount`` *includes* ``cachedContentTokenCount``, so input = prompt − cached
    (+ ``toolUsePromptTokenCount``, which is prompt-side and not included in the prompt
    count); cache_read = cached; output = candidates + thoughts — Google's price list reads
    "Output price (including thinking tokens)" and ``candidatesTokenCount`` excludes thoughts
    (``totalTokenCount`` = prompt + candidates + thoughts + tool-use prompt).
    """
    if not isinstance(u, dict):
        u = {}
    prompt = _int(u.get("promptTokenCount"))
    cached = _int(u.get("cachedContentTokenCount"))
    tool = _int(u.get("toolUsePromptTokenCount"))
    thoughts = _int(u.get("thoughtsTokenCount"))
    out: dict[str, Any] = {
        "input_tokens": max(prompt - cached, 0) + tool,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(u.get("candidatesTokenCount")) + thoughts,
    }
    if u.get("thoughtsTokenCount") is not None:
        out["output_tokens_details"] = {"thinking_tokens": thoughts}
    return out


def gemini_finish_to_anthropic(
    finish_reason: str | None, has_tool_use: bool, *, blocked: bool = False
) -> str:
    """``finishReason`` → ``stop_reason``: tool_use whenever a functionCall was emitted (Gemini has
    no tool value); MAX_TOKENS → max_tokens; safety/recitation/blocklist/SPII/IMAGE_* and a
    blocked prompt → refusal; STOP and the reasons with no equivalent → end_turn."""
    if has_tool_use:
        return "tool_use"
    if blocked or finish_reason in REFUSAL_FINISH:
        return "refusal"
    if finish_reason == "MAX_TOKENS":
        return "max_tokens"
    return "end_turn"


def gemini_error_kind(status: int, body: Any) -> Kind:
    """Google error ``status`` (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, …) → the gateway's kind.
    See :func:`bytespike.translate.errors_map.gemini_error` for the full classification."""
    return gemini_error(status, body).kind


# =====================================================================================
# Gemini chunks → Anthropic events
# =====================================================================================

_TEXT_START = {"type": "text", "text": ""}
_THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}


class GeminiToAnthropicStream:
    """``GenerateContentResponse`` chunks → Anthropic ``(event, data)`` pairs.

    Text deltas → one text block per run of text parts; thought parts → a thinking block
    (always with ``thinking_delta``s: litellm #25561); each ``functionCall`` → one tool_use
    block with a single ``input_json_delta`` carrying the whole args (Gemini sends calls
    whole). Signatures follow the module docstring. Tool ids: Gemini's own when it sends
    one, else ``gmc_<sha256(responseId)[:12]>_<n>`` — the same in stream and non-stream.
    ``finish()`` sends the stop reason and cumulative usage. ``finish_reason`` keeps Gemini's
    raw value (MALFORMED_FUNCTION_CALL etc. map to end_turn; the gateway may treat them as
    failures), ``warnings`` what was dropped.
    """

    def __init__(
        self, *, model: str, message_id: str, ctx: GeminiContext, input_tokens_hint: int = 0
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
        self.warnings: list[str] = []
        self.finish_reason: str | None = None
        self.blocked_reason: str | None = None
        self.response_id: str | None = None
        self._started = False
        self._finished = False
        self._next_index = 0
        self._open: int | None = None
        self._open_kind: str | None = None  # "text" | "thinking"
        self._pairs: list[tuple[str, str]] = []  # signatures carried by the open thinking block
        self._text_count = 0  # text blocks opened so far (ordinal of the open one + 1)
        self._text_sig: str | None = None  # signature of the open text block, to emit after it
        self._text_signed = False  # the open text block has a signature (``_text_sig`` or carried ahead)
        self._tool_count = 0
        self._ids: set[str] = set()
        # Text signatures wait for the next block instead of getting a block of their own right
        # after the text: a message must never end on a signature-only thinking block (clients
        # such as Claude Code show the last block, and would show nothing). See ``finish``.
        self._pending: list[tuple[str, str]] = []

    # -- helpers ----------------------------------------------------------------------
    def _message_start(self) -> Event:
        self._started = True
        return hub_events.message_start(self.message_id, self.model, self.usage)

    def _start(self, out: list[Event], block: dict, kind: str | None) -> int:
        index = self._next_index
        self._next_index += 1
        out.append(hub_events.block_start(index, block))
        self._open = index
        self._open_kind = kind
        return index

    @staticmethod
    def _delta(index: int, delta: dict) -> Event:
        return hub_events.block_delta(index, delta)

    def _stop(self, out: list[Event], index: int) -> None:
        out.append(hub_events.block_stop(index))
        self._open = None
        self._open_kind = None

    def _signature(self, pairs: list[tuple[str, str]]) -> str:
        return gemini_signature(self.ctx.model, pairs)

    def _close(self, out: list[Event]) -> None:
        index, kind = self._open, self._open_kind
        if index is None:
            return
        if kind == "thinking":
            out.append(
                self._delta(index, {"type": "signature_delta", "signature": self._signature(self._pairs)})
            )
            self._pairs = []
            self._stop(out, index)
        else:
            self._stop(out, index)
            self._text_signed = False
            if self._text_sig is not None:  # the text's signature rides on the next block
                self._pending.append((f"x:{self._text_count - 1}", self._text_sig))
                self._text_sig = None

    def _sig_block(self, pairs: list[tuple[str, str]], out: list[Event]) -> None:
        """A signature-only thinking block (with any text signatures still waiting)."""
        pairs, self._pending = [*self._pending, *pairs], []
        index = self._start(out, dict(_THINKING_START), None)
        out.append(self._delta(index, {"type": "signature_delta", "signature": self._signature(pairs)}))
        self._stop(out, index)

    def _flush_pending(self, out: list[Event]) -> None:
        """Before a text or tool_use block: waiting text signatures get their block here."""
        if self._pending:
            self._sig_block([], out)

    def _tool_id(self, upstream_id: Any) -> str:
        n = self._tool_count
        self._tool_count += 1
        if isinstance(upstream_id, str) and upstream_id:
            tid = self.ctx.names.client_id(upstream_id)
        else:
            seed = self.response_id or self.message_id
            tid = f"{SYNTH_ID_PREFIX}{hashlib.sha256(seed.encode()).hexdigest()[:12]}_{n}"
        if tid in self._ids:
            tid = safe_tool_id(f"{tid}_{n}")
        self._ids.add(tid)
        return tid

    def _thought(self, part: dict, sig: str | None, out: list[Event]) -> None:
        if self._open_kind != "thinking":
            self._close(out)
            self._start(out, dict(_THINKING_START), "thinking")
            self._pairs, self._pending = self._pending, []
        text = part.get("text")
        if isinstance(text, str) and text:
            out.append(self._delta(self._open, {"type": "thinking_delta", "thinking": text}))  # type: ignore[arg-type]
        if sig:
            self._pairs.append(("h", sig))

    def _text(self, text: str, sig: str | None, out: list[Event]) -> None:
        # A text block carries one ``x:<n>`` signature. Whether it came on the text itself
        # (kept in ``_text_sig``) or was carried ahead on the summary block, a second signed
        # part — text or empty — must not overwrite it: close the block and keep both, apart.
        if sig and self._open_kind == "text" and self._text_signed:
            self._close(out)
            if not text:
                self._pending.append(("e", sig))
                return
        if text:
            if self._open_kind != "text":
                carried = False
                if sig and self._open_kind == "thinking":
                    # The signature is already known while the summary block is open: carry it there.
                    self._pairs.append((f"x:{self._text_count}", sig))
                    sig, carried = None, True
                self._close(out)
                self._flush_pending(out)
                self._start(out, dict(_TEXT_START), "text")
                self._text_count += 1
                self._text_signed = carried
            out.append(self._delta(self._open, {"type": "text_delta", "text": text}))  # type: ignore[arg-type]
            if sig:
                self._text_sig = sig
                self._text_signed = True
        elif sig:
            if self._open_kind == "text":
                # streaming: an unsigned run's signature arrives on a final empty part
                self._text_sig = sig
                self._text_signed = True
            elif self._open_kind == "thinking":
                self._pairs.append(("e", sig))
            else:
                self._pending.append(("e", sig))

    def _function_call(self, fc: dict, sig: str | None, out: list[Event]) -> None:
        tid = self._tool_id(fc.get("id"))
        if self._open_kind == "thinking":
            if sig:
                self._pairs.append((f"c:{tid}", sig))
            self._close(out)
            self._flush_pending(out)
        else:
            self._close(out)
            if sig:
                self._sig_block([(f"c:{tid}", sig)], out)
            else:
                self._flush_pending(out)
        name = fc.get("name") if isinstance(fc.get("name"), str) and fc.get("name") else "unknown_tool"
        args = fc.get("args")
        if args is None:
            args = {}
        if not isinstance(args, dict):
            args = {"_raw_arguments": json.dumps(args, ensure_ascii=False)}
        block = {"type": "tool_use", "id": tid, "name": self.ctx.names.client_name(name), "input": {}}
        index = self._start(out, block, None)
        out.append(
            self._delta(
                index, {"type": "input_json_delta", "partial_json": json.dumps(args, ensure_ascii=False)}
            )
        )
        self._stop(out, index)

    def _part(self, part: Any, out: list[Event]) -> None:
        if not isinstance(part, dict):
            return
        sig = part.get("thoughtSignature")
        sig = sig if isinstance(sig, str) and sig else None
        if part.get("thought") is True:
            self._thought(part, sig, out)
            return
        fc = part.get("functionCall")
        if isinstance(fc, dict):
            self._function_call(fc, sig, out)
            return
        text = part.get("text")
        if isinstance(text, str):
            self._text(text, sig, out)
            return
        kinds = ",".join(sorted(k for k in part if k != "thoughtSignature")) or "empty"
        self.warnings.append(f"dropped a Gemini part with no Anthropic equivalent ({kinds})")
        if sig:  # keep the signature at its position anyway
            if self._open_kind == "thinking":
                self._pairs.append(("e", sig))
            else:
                self._close(out)
                self._pending.append(("e", sig))

    # -- public -----------------------------------------------------------------------
    def feed(self, chunk: dict) -> list[Event]:
        """One ``GenerateContentResponse`` (a stream chunk or a whole response) → events."""
        if self._finished or not isinstance(chunk, dict):
            return []
        out: list[Event] = []
        rid = chunk.get("responseId")
        if isinstance(rid, str) and rid and self.response_id is None:
            self.response_id = rid
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict) and usage:
            self.usage = gemini_usage_to_anthropic(usage)
            self.usage_reported = True
        if not self._started:
            out.append(self._message_start())
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and isinstance(feedback.get("blockReason"), str):
            self.blocked_reason = feedback["blockReason"]
        candidates = chunk.get("candidates")
        for cand in candidates if isinstance(candidates, list) else ():
            if not isinstance(cand, dict) or cand.get("index", 0) != 0:
                continue  # candidateCount > 1 is never requested
            content = cand.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                self._part(part, out)
            finish = cand.get("finishReason")
            if isinstance(finish, str) and finish:
                self.finish_reason = finish
                self._close(out)
        return out

    def finish(self) -> list[Event]:
        """The upstream ended cleanly: close blocks, stop reason + usage, ``message_stop``."""
        if self._finished:
            return []
        out: list[Event] = []
        if not self._started:
            out.append(self._message_start())
        self._close(out)
        if self._pending:
            # Signatures of the final text: no block may follow the answer, and Gemini validates
            # only function-call signatures, so these are dropped (docs/MAPPING.md).
            self.warnings.append(f"dropped {len(self._pending)} trailing text signature(s)")
            self._pending = []
        if self.finish_reason in NO_EQUIVALENT_FINISH:
            self.warnings.append(f"finishReason {self.finish_reason} has no Anthropic equivalent (end_turn)")
        stop = gemini_finish_to_anthropic(
            self.finish_reason, self._tool_count > 0, blocked=self.blocked_reason is not None
        )
        out += hub_events.message_end(stop, None, self.usage)
        self._finished = True
        return out


def gemini_response_to_anthropic(resp: dict, *, model: str, ctx: GeminiContext) -> dict:
    """A whole ``GenerateContentResponse`` → Claude Message.

    Runs the stream state machine over the response as one chunk, so blocks, signatures
    and synthesized tool ids are exactly what the streaming path produces.
    """
    if not isinstance(resp, dict):
        resp = {}
    stream = GeminiToAnthropicStream(
        model=model, message_id=anthropic_message_id(resp.get("responseId")), ctx=ctx
    )
    events = stream.feed(resp) + stream.finish()
    message = assemble_anthropic_events(events)
    message["usage"] = dict(stream.usage)
    message["stop_sequence"] = None
    return message
