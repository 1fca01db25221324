"""The Gemini *client* surface on any model: Gemini ``generateContent`` ⇄ the Anthropic hub.

The opposite direction of :mod:`.gemini` (which speaks Gemini to a Gemini *upstream*): here a
Gemini client (Gemini CLI, google-genai) talks to a Claude, OpenAI-format, DeepSeek or Ark
model, with the Anthropic Messages shape as the hub in between. Pure functions plus one
incremental state machine; see docs/MAPPING.md ("Gemini surface") for the field table.

**Thinking round trip.** Gemini has no thinking block a client replays: a Gemini client keeps
only ``thoughtSignature`` strings on the parts they came on (Gemini CLI even drops thought
parts from its history). So every hub thinking block that is not Gemini's own (Claude's signed
thinking and redacted thinking, DeepSeek/Ark reasoning with its origin marker) travels whole,
inside a byte marker (:func:`.signatures.pack_marker_bytes`) put in ``thoughtSignature``::

    base64url(b"bsx\\0" + zlib(json{"p": "hub", "m": <model>, "g": [[<position>, [<block>, ...]], ...]}))

``thoughtSignature`` is *bytes* to Google's SDKs (google-genai refuses a response whose
signature is not base64, and re-encodes it URL-safe when it sends it back), so the marker is
base64 and is read back in either alphabet.

``position`` counts the visible units before the group (a run of text parts, or one function
call), so the blocks go back exactly where they were whatever the client merged. The marker
rides on the first non-thought part after the thinking and, when that was text, also on the
message's first function call (the one part every Gemini-3-aware client keeps); with no part
after it, on a final empty text part (as Gemini itself sends one). On the way back the request
translator restores the blocks for the same model, keeping only what the target accepts:
Claude's own signatures for Claude, a provider's own reasoning for that provider. Gemini's
real signatures (a history from a Gemini model) are dropped for any other model, and put
back on their exact parts, through :mod:`.gemini`'s markers, for a Gemini target.

**Function call ids.** Gemini's are optional. A call without one gets ``gmc_<content>_<part>``
(stable while the history grows; the Gemini translator never sends ``gmc_`` ids upstream) and
an id-less ``functionResponse`` is paired with the first unanswered call of the same name, as
Gemini pairs them. Responses always carry ids, so clients echo them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bytespike.errors import GatewayError, Kind, gemini_body

from .errors import TranslationError
from .gemini import SKIP_SIGNATURE, SYNTH_ID_PREFIX, gemini_signature, read_gemini_signature
from .names import ToolNameMap
from .requests import DEFAULT_MAX_TOKENS, EFFORT_TO_BUDGET, budget_to_effort
from .signatures import (
    BYTES_MAGIC,
    is_claude_signature,
    pack_marker_bytes,
    signature_origin,
    unpack_marker_bytes,
)

if TYPE_CHECKING:
    from bytespike.catalog import Model

Event = tuple[str, dict]
_URLSAFE = str.maketrans("-_", "+/")

HUB_ORIGIN = "hub"
"""``p`` of a marker's payload: hub thinking blocks carried through a client surface."""

JSON_INSTRUCTION = "Respond with valid JSON only, with no prose and no code fences."

BUILTIN_TOOLS = {
    "googleSearch": "google_search",
    "googleSearchRetrieval": "google_search_retrieval",
    "codeExecution": "code_execution",
    "urlContext": "url_context",
    "googleMaps": "google_maps",
    "fileSearch": "file_search",
    "computerUse": "computer_use",
    "retrieval": "retrieval",
    "enterpriseWebSearch": "enterprise_web_search",
    "mcpServers": "mcp_servers",
}
"""Google's server-side tools: only a Gemini model runs them."""

LEVEL_TO_EFFORT = {"MINIMAL": "low", "LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
CLAUDE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
FILES_API = re.compile(r"^https://generativelanguage\.googleapis\.com/", re.IGNORECASE)
YOUTUBE = re.compile(r"^https://(www\.)?(youtube\.com|youtu\.be)/", re.IGNORECASE)

STOP_TO_FINISH = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
    "refusal": "SAFETY",
}
"""Hub ``stop_reason`` → Gemini ``finishReason`` (Gemini has no tool value: calls end with STOP)."""

_PAIR_COUNT = (
    "Please ensure that the number of function response parts is equal to the number of "
    "function call parts of the function call turn."
)


# =====================================================================================
# Target and context
# =====================================================================================


@dataclass(frozen=True, slots=True)
class HubTarget:
    """What the request translator must know about the model behind the hub (from the catalog).

    ``provider`` decides which thinking may be replayed and which of Claude's rules apply;
    ``thinking`` is the catalog's style (``adaptive``/``budget`` for Claude, ``effort`` for
    OpenAI and Gemini, ``switch`` for DeepSeek/Ark, None for none).
    """

    provider: str = "anthropic"
    thinking: str | None = "adaptive"
    thinking_always_on: bool = False
    max_output_tokens: int = DEFAULT_MAX_TOKENS

    @classmethod
    def of(cls, model: Model) -> HubTarget:
        return cls(
            provider=model.provider,
            thinking=model.thinking,
            thinking_always_on=model.thinking_always_on,
            max_output_tokens=model.max_output_tokens or DEFAULT_MAX_TOKENS,
        )


def target_for(model: str) -> HubTarget:
    """The catalog's target for ``model`` (its public or upstream id); Claude defaults otherwise."""
    from bytespike.catalog import catalog

    found = catalog().model(model)
    return HubTarget.of(found) if found is not None else HubTarget()


@dataclass(slots=True)
class GeminiSurfaceContext:
    """What the response side needs to know about the request it answers.

    ``model`` is the id the client named: thinking markers are bound to it and it is the
    response's ``modelVersion``. ``gemini_only`` keeps what only a Gemini upstream can take
    (``safetySettings``): :func:`apply_gemini_only` puts it back on a Gemini request.
    ``warnings`` lists what was dropped or substituted (logs, never the client).
    """

    model: str
    target: HubTarget
    names: ToolNameMap = field(default_factory=ToolNameMap)
    stream: bool = False
    include_thoughts: bool = False
    json_output: bool = False
    gemini_only: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# =====================================================================================
# Small helpers
# =====================================================================================


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _f(obj: Any, name: str) -> Any:
    """``obj[name]`` in camelCase or snake_case (Gemini's REST takes both spellings)."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(_snake(name))


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_MARKER_HEAD = base64.b64encode(BYTES_MAGIC).decode()[:5]  # "YnN4A": the same in both alphabets


def _hub_marker(model: str, groups: list[tuple[int, list[dict]]]) -> str:
    payload = {"p": HUB_ORIGIN, "m": model, "g": [[pos, blocks] for pos, blocks in groups]}
    return base64.urlsafe_b64encode(pack_marker_bytes(payload)).decode()


def read_hub_marker(signature: Any) -> tuple[str, list[tuple[int, list[dict]]]] | None:
    """(model, [(position, blocks)]) from a hub marker; None for anything else (Gemini's own
    signatures, the sentinel, garbage)."""
    if not isinstance(signature, str) or not signature.startswith(_MARKER_HEAD):
        return None
    try:
        raw = base64.b64decode(signature.translate(_URLSAFE) + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return None
    data = unpack_marker_bytes(raw)
    if data is None or data.get("p") != HUB_ORIGIN:
        return None
    groups: list[tuple[int, list[dict]]] = []
    for g in data.get("g") or ():
        if isinstance(g, list) and len(g) == 2 and _is_int(g[0]) and isinstance(g[1], list):
            blocks = [
                b for b in g[1] if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
            ]
            if blocks:
                groups.append((g[0], blocks))
    model = data.get("m")
    return (model if isinstance(model, str) else ""), groups


# =====================================================================================
# Schemas (Gemini's OpenAPI subset → JSON Schema)
# =====================================================================================

_SCHEMA_SCALARS = (
    "format",
    "title",
    "description",
    "enum",
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
)


def gemini_schema_to_json_schema(schema: Any, *, closed: bool = False, _depth: int = 0) -> dict:
    """Gemini's ``Schema`` (``type: OBJECT``, ``nullable``, ``propertyOrdering`` …) → JSON Schema.

    ``closed`` adds ``additionalProperties: false`` to every object (Claude's structured
    outputs require it; Gemini's ``responseSchema`` never allows extra keys anyway).
    """
    if not isinstance(schema, dict) or _depth > 32:
        return {}
    out: dict[str, Any] = {}
    stype = _f(schema, "type")
    if isinstance(stype, str) and stype.upper() != "TYPE_UNSPECIFIED":
        out["type"] = stype.lower()
    for key in _SCHEMA_SCALARS:
        value = _f(schema, key)
        if value is not None:
            out[key] = value
    example = _f(schema, "example")
    if example is not None:
        out["examples"] = [example]
    props = _f(schema, "properties")
    if isinstance(props, dict):
        out["properties"] = {
            str(k): gemini_schema_to_json_schema(v, closed=closed, _depth=_depth + 1)
            for k, v in props.items()
        }
        required = _f(schema, "required")
        if isinstance(required, list):
            out["required"] = [r for r in required if isinstance(r, str)]
    items = _f(schema, "items")
    if isinstance(items, dict):
        out["items"] = gemini_schema_to_json_schema(items, closed=closed, _depth=_depth + 1)
    any_of = _f(schema, "anyOf")
    if isinstance(any_of, list):
        out["anyOf"] = [gemini_schema_to_json_schema(s, closed=closed, _depth=_depth + 1) for s in any_of]
    if _f(schema, "nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:
            out["anyOf"].append({"type": "null"})
    if closed and (out.get("type") == "object" or "properties" in out):
        out["additionalProperties"] = False
    return out


# =====================================================================================
# Gemini request → hub request
# =====================================================================================


class _Pairing:
    """Function calls of the current model turn, waiting for their responses (Gemini's rules)."""

    def __init__(self, *, lenient: bool = False) -> None:
        self.lenient = lenient  # countTokens: count what is there, pair what can be paired
        self.pending: list[list[Any]] = []  # [hub id, client name, client id or None, answered]

    def call(self, hub_id: str, name: str, client_id: str | None) -> None:
        self.pending.append([hub_id, name, client_id, False])

    def answer(self, name: str, client_id: str | None, param: str) -> str | None:
        if not self.pending:
            if self.lenient:
                return None
            raise TranslationError(
                "Please ensure that function response turn comes immediately after a function call turn.",
                param,
            )
        match = None
        if client_id:
            match = next((p for p in self.pending if not p[3] and p[2] == client_id), None)
        if match is None:
            match = next((p for p in self.pending if not p[3] and p[1] == name), None)
        if match is None:
            if self.lenient:
                return None
            raise TranslationError(_PAIR_COUNT, param)
        match[3] = True
        return match[0]

    def close(self, param: str) -> None:
        """A user turn ended: every call must have had its response."""
        if any(not p[3] for p in self.pending) and not self.lenient:
            raise TranslationError(_PAIR_COUNT, param)
        self.pending = []


def _decode_text(data: str, param: str) -> str:
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TranslationError("inlineData.data is not valid base64 UTF-8 text", param) from exc


def _media_block(mime: str, *, data: str | None, url: str | None, model: str, param: str) -> dict:
    """An ``inlineData``/``fileData`` part → an Anthropic image or document block."""
    mime = mime.lower()
    if mime == "image/jpg":
        mime = "image/jpeg"
    if url is not None:
        if FILES_API.match(url):
            raise TranslationError(
                f"fileData.fileUri names a Gemini Files API file, which only Gemini models can read; "
                f"send it to models/{model} as inlineData",
                param,
            )
        if YOUTUBE.match(url):
            raise TranslationError(f"video input is not supported for models/{model}", param)
        if not url.lower().startswith("https://"):
            raise TranslationError(
                f"fileData.fileUri must be an https:// URL for models/{model}; send the content as inlineData",
                param,
            )
    if mime in CLAUDE_IMAGE_TYPES or (url is not None and not mime):
        source: dict[str, Any] = (
            {"type": "url", "url": url}
            if url is not None
            else {"type": "base64", "media_type": mime, "data": data}
        )
        return {"type": "image", "source": source}
    if mime == "application/pdf":
        source = (
            {"type": "url", "url": url}
            if url is not None
            else {"type": "base64", "media_type": "application/pdf", "data": data}
        )
        return {"type": "document", "source": source}
    if mime.startswith("text/") and data is not None:
        return {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": _decode_text(data, param)},
        }
    raise TranslationError(f"{mime or 'this'} input is not supported for models/{model}", param)


def _part_media(part: dict, model: str, param: str) -> dict | None:
    inline = _f(part, "inlineData")
    if isinstance(inline, dict):
        data = _f(inline, "data")
        if not isinstance(data, str) or not data:
            raise TranslationError("inlineData needs mimeType and data", param + ".inlineData")
        return _media_block(
            _s(_f(inline, "mimeType")), data=data, url=None, model=model, param=param + ".inlineData"
        )
    file = _f(part, "fileData")
    if isinstance(file, dict):
        uri = _f(file, "fileUri")
        if not isinstance(uri, str) or not uri:
            raise TranslationError("fileData needs fileUri", param + ".fileData")
        return _media_block(
            _s(_f(file, "mimeType")), data=None, url=uri, model=model, param=param + ".fileData"
        )
    return None


def _code_text(part: dict) -> str | None:
    """Code-execution history (from a Gemini model earlier in the chat) as readable text."""
    code = _f(part, "executableCode")
    if isinstance(code, dict):
        lang = _s(_f(code, "language")).lower().replace("language_unspecified", "")
        return f"```{lang}\n{_s(_f(code, 'code'))}\n```"
    result = _f(part, "codeExecutionResult")
    if isinstance(result, dict):
        return f"Code execution result ({_s(_f(result, 'outcome')) or 'OUTCOME_OK'}):\n{_s(_f(result, 'output'))}"
    return None


def _response_content(response: Any, media: list[dict]) -> tuple[Any, bool]:
    """``functionResponse.response`` (+ its media parts) → tool_result content and is_error.

    Gemini's convention: ``{"output": …}`` for a result, ``{"error": …}`` for a failure; any
    other object is the result as JSON. Strings stay strings.
    """
    is_error = False
    if isinstance(response, dict) and set(response) == {"output"}:
        value = response["output"]
    elif (
        isinstance(response, dict) and "error" in response and "output" not in response and len(response) == 1
    ):
        value, is_error = response["error"], True
    else:
        value = response
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not media:
        return text, is_error
    blocks: list[dict] = [{"type": "text", "text": text}] if text else []
    return blocks + media, is_error


def _replayable(block: dict, provider: str) -> bool:
    """May this restored hub thinking block go to ``provider``? (assertion 6: never to another.)"""
    if block.get("type") == "redacted_thinking":
        return provider == "anthropic" and isinstance(block.get("data"), str)
    sig = block.get("signature")
    if provider == "anthropic":
        return is_claude_signature(sig)
    return signature_origin(sig) == provider and provider != "gemini"


class _RequestBuilder:
    def __init__(
        self, model: str, target: HubTarget, ctx: GeminiSurfaceContext, *, lenient: bool = False
    ) -> None:
        self.model = model
        self.target = target
        self.ctx = ctx
        self.pairing = _Pairing(lenient=lenient)
        self.dropped_signatures = 0
        self.foreign_thinking = 0

    # -- model turns ------------------------------------------------------------------
    def model_blocks(self, parts: list, i: int) -> list[dict]:
        """A ``role: model`` content → assistant blocks (thinking restored where it may go)."""
        groups: list[tuple[int, list[dict]]] = []
        seen: set[str] = set()
        for part in parts:
            decoded = read_hub_marker(_f(part, "thoughtSignature"))
            if decoded is None:
                continue
            marker_model, marker_groups = decoded
            for pos, blocks in marker_groups:
                key = json.dumps([pos, blocks], sort_keys=True)
                if key in seen:
                    continue  # the same group rides on a text part and on the first call
                seen.add(key)
                if marker_model != self.model:
                    self.foreign_thinking += len(blocks)
                    continue
                kept = [b for b in blocks if _replayable(b, self.target.provider)]
                self.foreign_thinking += len(blocks) - len(kept)
                if kept:
                    groups.append((pos, kept))
        gemini = self.target.provider == "gemini"
        blocks: list[tuple[int, dict]] = []  # (unit index, block)
        units = 0
        in_text = False
        text_n = 0
        for j, part in enumerate(parts):
            param = f"contents[{i}].parts[{j}]"
            if not isinstance(part, dict):
                raise TranslationError("parts must be objects", param)
            sig = _f(part, "thoughtSignature")
            ours = read_hub_marker(sig) is not None
            real_sig = sig if isinstance(sig, str) and sig and sig != SKIP_SIGNATURE and not ours else None
            if real_sig and not gemini:
                self.dropped_signatures += 1
                real_sig = None
            text = _f(part, "text")
            call = _f(part, "functionCall")
            if _f(part, "thought") is True:
                if real_sig:
                    block = {
                        "type": "thinking",
                        "thinking": _s(text),
                        "signature": gemini_signature(self.model, [("h", real_sig)]),
                    }
                    blocks.append((units, block))
                continue  # unsigned thought summaries: nothing any model reads back
            if isinstance(call, dict):
                in_text = False
                name = _f(call, "name")
                if not isinstance(name, str) or not name:
                    raise TranslationError("functionCall needs a name", param + ".functionCall.name")
                client_id = _f(call, "id")
                client_id = client_id if isinstance(client_id, str) and client_id else None
                hub_id = self.ctx.names.upstream_id(client_id) if client_id else f"{SYNTH_ID_PREFIX}{i}_{j}"
                args = _f(call, "args")
                if real_sig:
                    blocks.append((units, self._sig_block([(f"c:{hub_id}", real_sig)])))
                blocks.append(
                    (
                        units,
                        {
                            "type": "tool_use",
                            "id": hub_id,
                            "name": self.ctx.names.upstream_name(name),
                            "input": args if isinstance(args, dict) else {},
                        },
                    )
                )
                self.pairing.call(hub_id, name, client_id)
                units += 1
                continue
            code = _code_text(part)
            if code is not None:
                text = code
            if isinstance(text, str):
                if not text:
                    if real_sig:
                        blocks.append((units, self._sig_block([("e", real_sig)])))
                    continue
                if not in_text:
                    in_text = True
                    units += 1
                blocks.append((units - 1, {"type": "text", "text": text}))
                if real_sig:
                    blocks.append((units - 1, self._sig_block([(f"x:{text_n}", real_sig)])))
                text_n += 1
                continue
            if _f(part, "functionResponse") is not None:
                raise TranslationError(
                    "Please ensure that function response turn comes immediately after a function call turn.",
                    param + ".functionResponse",
                )
            if real_sig:
                blocks.append((units, self._sig_block([("e", real_sig)])))
            kinds = ",".join(sorted(k for k in part if k != "thoughtSignature")) or "empty"
            self.ctx.warnings.append(f"{param}: dropped a model part with no equivalent ({kinds})")
        out: list[dict] = []
        groups.sort(key=lambda g: g[0])
        g = 0
        for unit, block in blocks:
            while g < len(groups) and groups[g][0] <= unit:  # before the unit it preceded
                out.extend(groups[g][1])
                g += 1
            out.append(block)
        for _, restored in groups[g:]:
            out.extend(restored)
        return out

    def _sig_block(self, pairs: list[tuple[str, str]]) -> dict:
        return {"type": "thinking", "thinking": "", "signature": gemini_signature(self.model, pairs)}

    # -- user turns -------------------------------------------------------------------
    def user_blocks(self, parts: list, i: int) -> list[dict]:
        results: list[dict] = []
        blocks: list[dict] = []
        for j, part in enumerate(parts):
            param = f"contents[{i}].parts[{j}]"
            if not isinstance(part, dict):
                raise TranslationError("parts must be objects", param)
            if _f(part, "thought") is True:
                continue
            fr = _f(part, "functionResponse")
            if isinstance(fr, dict):
                name = _f(fr, "name")
                if not isinstance(name, str) or not name:
                    raise TranslationError("functionResponse needs a name", param + ".functionResponse.name")
                client_id = _f(fr, "id")
                hub_id = self.pairing.answer(
                    name,
                    client_id if isinstance(client_id, str) and client_id else None,
                    param + ".functionResponse",
                )
                media = []
                for k, sub in enumerate(_f(fr, "parts") or ()):
                    block = (
                        _part_media(sub, self.model, f"{param}.functionResponse.parts[{k}]")
                        if isinstance(sub, dict)
                        else None
                    )
                    if block is not None:
                        media.append(block)
                content, is_error = _response_content(_f(fr, "response"), media)
                if hub_id is None:  # lenient (countTokens): an unpaired response still counts, as text
                    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
                    blocks.append({"type": "text", "text": f"{name}: {text}"})
                    continue
                result: dict[str, Any] = {"type": "tool_result", "tool_use_id": hub_id}
                if content:
                    result["content"] = content
                if is_error:
                    result["is_error"] = True
                results.append(result)
                continue
            if _f(part, "functionCall") is not None:
                raise TranslationError(
                    "Please ensure that function call turn comes immediately after a user turn or after a function "
                    "response turn.",
                    param + ".functionCall",
                )
            text = _f(part, "text")
            if isinstance(text, str):
                if text:
                    blocks.append({"type": "text", "text": text})
                continue
            media_block = _part_media(part, self.model, param)
            if media_block is not None:
                blocks.append(media_block)
                continue
            code = _code_text(part)
            if code is not None:
                blocks.append({"type": "text", "text": code})
                continue
            kinds = ",".join(sorted(part)) or "empty"
            self.ctx.warnings.append(f"{param}: dropped a user part with no equivalent ({kinds})")
        if results or blocks:
            self.pairing.close(f"contents[{i}]")
        return results + blocks  # tool results first, as Claude requires


def _system(value: Any, ctx: GeminiSurfaceContext) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}] if value else []
    parts = _f(value, "parts") if isinstance(value, dict) else value
    if not isinstance(parts, list):
        raise TranslationError("systemInstruction must be a Content object", "systemInstruction")
    out = []
    for part in parts:
        text = _f(part, "text")
        if isinstance(text, str) and text:
            out.append({"type": "text", "text": text})
        elif isinstance(part, dict) and not isinstance(text, str):
            ctx.warnings.append("systemInstruction: dropped a non-text part")
    return out


def _tools(raw: Any, model: str, ctx: GeminiSurfaceContext) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TranslationError("tools must be an array", "tools")
    out: list[dict] = []
    for k, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise TranslationError("tools entries must be objects", f"tools[{k}]")
        for key, snake in BUILTIN_TOOLS.items():
            if _f(tool, key) is not None:
                raise TranslationError(
                    f"{snake} is not supported for models/{model}: Google's built-in tools run only on Gemini models.",
                    f"tools[{k}].{key}",
                )
        decls = _f(tool, "functionDeclarations")
        if decls is None:
            continue
        if not isinstance(decls, list):
            raise TranslationError(
                "functionDeclarations must be an array", f"tools[{k}].functionDeclarations"
            )
        for d, decl in enumerate(decls):
            param = f"tools[{k}].functionDeclarations[{d}]"
            name = _f(decl, "name")
            if not isinstance(name, str) or not name:
                raise TranslationError(
                    f"* GenerateContentRequest.{param}.name: Name cannot be empty.", param + ".name"
                )
            json_schema = _f(decl, "parametersJsonSchema")
            if isinstance(json_schema, dict):
                schema = dict(json_schema)
            elif isinstance(_f(decl, "parameters"), dict):
                schema = gemini_schema_to_json_schema(_f(decl, "parameters"))
            else:
                schema = {"type": "object", "properties": {}}
            schema.setdefault("type", "object")
            if schema.get("type") != "object":
                raise TranslationError(
                    f"function parameters must be an OBJECT schema for models/{model}", param + ".parameters"
                )
            entry: dict[str, Any] = {"name": ctx.names.upstream_name(name), "input_schema": schema}
            description = _f(decl, "description")
            if isinstance(description, str) and description:
                entry["description"] = description
            out.append(entry)
    return out


def _tool_choice(raw: Any, tools: list[dict], ctx: GeminiSurfaceContext) -> tuple[dict | None, list[dict]]:
    config = _f(raw, "functionCallingConfig") if isinstance(raw, dict) else None
    if not isinstance(config, dict):
        return None, tools
    raw_mode = _f(config, "mode")
    mode = raw_mode.upper() if isinstance(raw_mode, str) else "AUTO"
    if mode not in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"):
        raise TranslationError(
            f"unsupported functionCallingConfig.mode {raw_mode!r}", "toolConfig.functionCallingConfig.mode"
        )
    if not tools:
        if mode in ("ANY", "VALIDATED"):
            raise TranslationError(
                "Function calling config is set without function_declarations.",
                "toolConfig.functionCallingConfig",
            )
        return None, tools
    allowed = _f(config, "allowedFunctionNames")
    if mode in ("ANY", "VALIDATED") and isinstance(allowed, list) and allowed:
        wanted = {ctx.names.upstream_name(n) for n in allowed if isinstance(n, str)}
        narrowed = [t for t in tools if t["name"] in wanted]
        if not narrowed:
            raise TranslationError(
                "allowedFunctionNames names no declared function",
                "toolConfig.functionCallingConfig.allowedFunctionNames",
            )
        if mode == "ANY" and len(narrowed) == 1:
            return {"type": "tool", "name": narrowed[0]["name"]}, tools
        tools = narrowed  # the model may call only these
    if mode == "NONE":
        return {"type": "none"}, tools
    if mode == "ANY":
        return {"type": "any"}, tools
    if mode == "VALIDATED":
        ctx.warnings.append(
            "functionCallingConfig VALIDATED: schema-constrained decoding has no equivalent (auto)"
        )
    return {"type": "auto"}, tools


def _thinking(
    tc: Any, target: HubTarget, ctx: GeminiSurfaceContext, max_tokens: int, output_config: dict
) -> dict | None:
    """``thinkingConfig`` → hub ``thinking`` (+ ``output_config.effort``) for the target's style."""
    if tc is None:
        return None  # the model's default, as Gemini does without a thinkingConfig
    if not isinstance(tc, dict):
        raise TranslationError("thinkingConfig must be an object", "generationConfig.thinkingConfig")
    ctx.include_thoughts = _f(tc, "includeThoughts") is True
    budget = _f(tc, "thinkingBudget")
    level = _f(tc, "thinkingLevel")
    if budget is not None and not _is_int(budget):
        raise TranslationError(
            "thinkingBudget must be an integer", "generationConfig.thinkingConfig.thinkingBudget"
        )
    effort: str | None = None
    if level is not None:
        key = level.upper() if isinstance(level, str) else ""
        if key == "THINKING_LEVEL_UNSPECIFIED":
            key = ""
        elif key not in LEVEL_TO_EFFORT:
            raise TranslationError(
                f"Invalid value at 'generation_config.thinking_config.thinking_level', {level!r}",
                "generationConfig.thinkingConfig.thinkingLevel",
            )
        effort = LEVEL_TO_EFFORT.get(key)
    elif _is_int(budget) and budget > 0:
        effort = budget_to_effort(budget)
    off = budget == 0 and effort is None
    style = target.thinking
    if style is None:
        if not off and (budget is not None or level is not None):
            ctx.warnings.append("thinkingConfig dropped: this model does not think")
        return None
    if off:
        if target.thinking_always_on:
            ctx.warnings.append("thinkingBudget 0: this model always thinks (thinking kept)")
            return None
        return {"type": "disabled"} if style != "effort" else None
    if style == "budget":
        chosen = budget if _is_int(budget) and budget > 0 else EFFORT_TO_BUDGET[effort or "medium"]
        chosen = min(chosen, max_tokens - 1)
        if chosen < 1024:
            ctx.warnings.append(
                "thinking dropped: maxOutputTokens leaves no room for Claude's minimum budget (1024)"
            )
            return None
        return {"type": "enabled", "budget_tokens": chosen}
    if style == "switch" and _is_int(budget) and budget > 0:
        return {"type": "enabled", "budget_tokens": budget}
    # display: Claude returns summaries only when asked (omitted saves the bytes, and the Gemini
    # translator reads it back as includeThoughts for a Gemini model behind the hub).
    thinking: dict[str, Any] = {
        "type": "adaptive",
        "display": "summarized" if ctx.include_thoughts else "omitted",
    }
    if effort:
        output_config["effort"] = effort
    return thinking


def _response_format(gen: dict, target: HubTarget, model: str, ctx: GeminiSurfaceContext) -> dict | None:
    """``responseMimeType`` + ``responseSchema``/``responseJsonSchema`` → ``output_config.format``."""
    mime = _f(gen, "responseMimeType")
    json_schema = _f(gen, "responseJsonSchema")
    if json_schema is None:
        json_schema = gen.get("_responseJsonSchema")
    api_schema = _f(gen, "responseSchema")
    if mime is not None and not isinstance(mime, str):
        raise TranslationError("responseMimeType must be a string", "generationConfig.responseMimeType")
    mime = (mime or "").lower()
    if mime == "text/x.enum":
        raise TranslationError(
            f"responseMimeType text/x.enum is not supported for models/{model}; use application/json with an enum schema",
            "generationConfig.responseMimeType",
        )
    if mime not in ("", "text/plain", "application/json"):
        raise TranslationError(
            f"responseMimeType {mime} is not supported for models/{model}",
            "generationConfig.responseMimeType",
        )
    if mime != "application/json" and json_schema is None and api_schema is None:
        return None
    ctx.json_output = True
    if isinstance(json_schema, dict):
        return {"type": "json_schema", "schema": json_schema}
    if isinstance(api_schema, dict):
        closed = target.provider == "anthropic"
        return {"type": "json_schema", "schema": gemini_schema_to_json_schema(api_schema, closed=closed)}
    return None  # JSON mode without a schema: an instruction (see the caller)


_DROPPED_GEN = (
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "mediaResolution",
    "enableEnhancedCivicAnswers",
    "audioTimestamp",
    "routingConfig",
    "modelSelectionConfig",
    "speechConfig",
    "imageConfig",
)


def gemini_request_to_anthropic(
    body: dict, model: str, *, target: HubTarget | None = None, stream: bool = False, lenient: bool = False
) -> tuple[dict, GeminiSurfaceContext]:
    """Gemini ``GenerateContentRequest`` (the model in the URL) → hub request + context.

    ``model`` is the id the client named (set as the hub's ``model``; the gateway swaps in
    the upstream id). ``target`` defaults to the catalog's entry for ``model``; ``lenient``
    (for ``countTokens``) pairs function responses where it can instead of refusing. Raises
    :class:`TranslationError` (a 400 INVALID_ARGUMENT on the Gemini surface) for what the
    target cannot honour, in Google's own words where Google refuses the same thing.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    model = model.removeprefix("models/")  # Google's resource name or the bare id
    target = target or target_for(model)
    ctx = GeminiSurfaceContext(model=model, target=target, stream=stream)
    if _f(body, "cachedContent"):
        raise TranslationError(
            f"cachedContent names a Gemini context cache ({_s(_f(body, 'cachedContent'))}), which only Gemini "
            f"models can read; send its content in the request to models/{model}",
            "cachedContent",
        )
    safety = _f(body, "safetySettings")
    if safety is not None:
        if not isinstance(safety, list):
            raise TranslationError("safetySettings must be an array", "safetySettings")
        ctx.gemini_only["safetySettings"] = safety
        if target.provider != "gemini":
            ctx.warnings.append(
                "safetySettings apply only to Gemini models (kept for a Gemini upstream only)"
            )

    builder = _RequestBuilder(model, target, ctx, lenient=lenient)
    contents = _f(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise TranslationError("* GenerateContentRequest.contents: contents is not specified", "contents")
    messages: list[dict] = []
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise TranslationError("contents entries must be objects", f"contents[{i}]")
        role = _f(content, "role") or "user"
        parts = _f(content, "parts")
        if not isinstance(parts, list):
            raise TranslationError(
                f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.",
                f"contents[{i}].parts",
            )
        if role == "model":
            blocks = builder.model_blocks(parts, i)
            hub_role = "assistant"
        elif role in ("user", "function"):
            blocks = builder.user_blocks(parts, i)
            hub_role = "user"
        else:
            raise TranslationError("Please use a valid role: user, model.", f"contents[{i}].role")
        if not blocks:
            continue
        if messages and messages[-1]["role"] == hub_role:
            prev = messages[-1]["content"]
            if hub_role == "user":  # tool results stay first in a merged user turn
                results = [b for b in prev + blocks if b.get("type") == "tool_result"]
                prev[:] = results + [b for b in prev + blocks if b.get("type") != "tool_result"]
            else:
                prev.extend(blocks)
        else:
            messages.append({"role": hub_role, "content": blocks})
    if not messages:
        raise TranslationError("contents hold nothing this model can read", "contents")
    if builder.dropped_signatures:
        ctx.warnings.append(
            f"dropped {builder.dropped_signatures} Gemini thought signature(s): another model's"
        )
    if builder.foreign_thinking:
        ctx.warnings.append(f"dropped {builder.foreign_thinking} thinking block(s) this model cannot replay")

    out: dict[str, Any] = {"model": model}
    system = _system(_f(body, "systemInstruction"), ctx)

    # tools -----------------------------------------------------------------------------
    tools = _tools(_f(body, "tools"), model, ctx)
    choice, tools = _tool_choice(_f(body, "toolConfig"), tools, ctx)

    # generation config -------------------------------------------------------------------
    gen = _f(body, "generationConfig")
    if gen is None:
        gen = {}
    if not isinstance(gen, dict):
        raise TranslationError("generationConfig must be an object", "generationConfig")
    count = _f(gen, "candidateCount")
    if count is not None and count != 1:
        raise TranslationError(
            f"candidateCount {count} is not supported for models/{model}: it answers one candidate per request "
            "(billing follows one); send one request per candidate",
            "generationConfig.candidateCount",
        )
    modalities = _f(gen, "responseModalities")
    if isinstance(modalities, list) and any(str(m).upper() != "TEXT" for m in modalities):
        raise TranslationError(
            f"only TEXT output is supported for models/{model}", "generationConfig.responseModalities"
        )
    logprobs = _f(gen, "logprobs")
    if _f(gen, "responseLogprobs") is True or (_is_int(logprobs) and logprobs > 0):
        raise TranslationError(
            f"logprobs are not supported for models/{model}", "generationConfig.responseLogprobs"
        )
    for key in _DROPPED_GEN:
        if _f(gen, key) is not None:
            ctx.warnings.append(f"generationConfig.{key} has no equivalent for this model (dropped)")
    max_tokens = _f(gen, "maxOutputTokens")
    if max_tokens is None:
        max_tokens = target.max_output_tokens
    elif not _is_int(max_tokens) or max_tokens < 1:
        raise TranslationError(
            "maxOutputTokens must be a positive integer", "generationConfig.maxOutputTokens"
        )
    out["max_tokens"] = max_tokens
    if system:
        out["system"] = system if len(system) > 1 else system[0]["text"]
    out["messages"] = messages
    stops = _f(gen, "stopSequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise TranslationError(
                "stopSequences must be an array of strings", "generationConfig.stopSequences"
            )
        if any(stops):
            out["stop_sequences"] = [s for s in stops if s]
    for src, dst in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k")):
        value = _f(gen, src)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise TranslationError(f"{src} must be a non-negative number", f"generationConfig.{src}")
        out[dst] = value
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    if stream:
        out["stream"] = True

    output_config: dict[str, Any] = {}
    fmt = _response_format(gen, target, model, ctx)
    if fmt is not None:
        output_config["format"] = fmt
    elif ctx.json_output:  # JSON mode without a schema: best effort, as for OpenAI's json_object
        instruction = {"type": "text", "text": JSON_INSTRUCTION}
        system = [*system, instruction]
        out["system"] = system if len(system) > 1 else system[0]["text"]
    thinking = _thinking(_f(gen, "thinkingConfig"), target, ctx, max_tokens, output_config)
    if thinking is not None:
        out["thinking"] = thinking
    if output_config:
        out["output_config"] = output_config
    if target.provider == "anthropic":
        _claude_rules(out, target, ctx)
    return out, ctx


def _claude_rules(out: dict, target: HubTarget, ctx: GeminiSurfaceContext) -> None:
    """What Claude refuses that Gemini clients send by habit (Gemini CLI: temperature 1, topP 0.95,
    topK 64 on every request): adjust rather than fail, and say so in the warnings."""
    thinking = out.get("thinking")
    derived = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if derived:
        choice = out.get("tool_choice")
        last = next((m for m in reversed(out["messages"]) if m["role"] == "assistant"), None)
        continuation = (
            last is not None
            and any(b.get("type") == "tool_use" for b in last["content"])
            and last["content"][0].get("type") not in ("thinking", "redacted_thinking")
        )
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            ctx.warnings.append("thinking dropped: Claude cannot think when a function call is forced")
            derived = False
        elif continuation:
            ctx.warnings.append(
                "thinking dropped: the client did not return the thinking of its last tool call"
            )
            derived = False
        if not derived:
            del out["thinking"]
            if isinstance(out.get("output_config"), dict):
                out["output_config"].pop("effort", None)
                if not out["output_config"]:
                    del out["output_config"]
    thinks = derived or (target.thinking_always_on and "thinking" not in out)
    if "temperature" in out and out["temperature"] > 1:
        out["temperature"] = 1  # Claude's range is 0-1: the nearest value it honours
    if thinks:
        if out.get("temperature", 1) != 1:
            ctx.warnings.append("temperature dropped: Claude takes only 1 while thinking")
            del out["temperature"]
        if out.get("top_p", 1) < 0.95:
            ctx.warnings.append("topP dropped: Claude takes only >= 0.95 while thinking")
            del out["top_p"]
        if "top_k" in out:
            ctx.warnings.append("topK dropped: Claude takes none while thinking")
            del out["top_k"]
    if "temperature" in out and "top_p" in out:
        ctx.warnings.append("topP dropped: Claude takes temperature or top_p, not both")
        del out["top_p"]


def apply_gemini_only(gemini_body: dict, ctx: GeminiSurfaceContext) -> dict:
    """A Gemini upstream request (from :func:`.gemini.anthropic_request_to_gemini`) with what
    only Gemini takes (``safetySettings``) put back, for a Gemini model behind the hub."""
    if not ctx.gemini_only:
        return gemini_body
    return {**gemini_body, **ctx.gemini_only}


# =====================================================================================
# Hub response → Gemini response
# =====================================================================================


def anthropic_usage_to_gemini(u: dict | None) -> dict:
    """Hub usage → ``usageMetadata`` (the inverse of :func:`.gemini.gemini_usage_to_anthropic`).

    ``promptTokenCount`` includes cached and cache-written tokens; ``candidatesTokenCount``
    excludes thoughts when the thinking count is known; zero counts Gemini omits are omitted.
    """
    u = u if isinstance(u, dict) else {}

    def num(key: str) -> int:
        value = u.get(key)
        return value if _is_int(value) and value > 0 else 0

    cached = num("cache_read_input_tokens")
    prompt = num("input_tokens") + cached + num("cache_creation_input_tokens")
    output = num("output_tokens")
    details = u.get("output_tokens_details")
    thoughts = details.get("thinking_tokens") if isinstance(details, dict) else None
    thoughts = min(thoughts, output) if _is_int(thoughts) and thoughts > 0 else 0
    meta: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": output - thoughts}
    if cached:
        meta["cachedContentTokenCount"] = cached
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    meta["totalTokenCount"] = prompt + output
    return meta


def anthropic_stop_to_gemini(stop_reason: str | None) -> str:
    return STOP_TO_FINISH.get(stop_reason or "end_turn", "STOP")


def merge_gemini_parts(parts: list[dict]) -> list[dict]:
    """Adjacent parts as a Gemini client assembles them: text runs of one kind (thought or not)
    join, a signature moves onto the run when the run had none; empty unsigned text vanishes."""
    out: list[dict] = []
    for part in parts:
        text = part.get("text")
        if isinstance(text, str) and set(part) <= {"text", "thought", "thoughtSignature"}:
            if not text and "thoughtSignature" not in part:
                continue
            prev = out[-1] if out else None
            if (
                prev is not None
                and isinstance(prev.get("text"), str)
                and set(prev) <= {"text", "thought", "thoughtSignature"}
                and prev.get("thought") is part.get("thought")
                and not ("thoughtSignature" in prev and "thoughtSignature" in part)
                and not (not prev["text"] and "thoughtSignature" in prev)  # an 'e' part stays apart
            ):
                prev["text"] += text
                if "thoughtSignature" in part:
                    prev["thoughtSignature"] = part["thoughtSignature"]
                continue
            out.append(dict(part))
        else:
            out.append(dict(part))
    return out


class _PartWriter:
    """Hub blocks → Gemini parts: the one set of placement rules both paths share.

    Text and thinking arrive in pieces (stream) or whole (non-stream); signatures are placed by
    the same rules either way, so the assembled stream equals the non-streamed response.
    """

    def __init__(self, ctx: GeminiSurfaceContext) -> None:
        self.ctx = ctx
        self.units = 0
        self.in_text = False
        self.text_blocks = 0  # hub text blocks started (for Gemini's x:<n> targets)
        self.text_sigs: dict[int, str] = {}  # x:<n> signatures for text blocks not started yet
        self.call_sigs: dict[str, str] = {}  # c:<id> signatures for calls not emitted yet
        self.pending: list[tuple[int, list[dict]]] = []  # hub groups waiting for a part
        self.on_text: list[tuple[int, list[dict]]] = []  # groups sent on text, owed to the first call
        self.group: list[dict] = []  # the open group of consecutive hub thinking blocks
        self.calls = 0
        self.dropped: list[str] = []

    def _marker(self, groups: list[tuple[int, list[dict]]]) -> str:
        return _hub_marker(self.ctx.model, groups)

    def close_group(self) -> None:
        if self.group:
            self.pending.append((self.units, self.group))
            self.group = []

    def thinking(self, block: dict) -> list[dict]:
        """A finished hub thinking/redacted block: (Gemini's own) its signatures back on their
        parts; (anyone else's) into the open group of the next marker."""
        if block.get("type") == "redacted_thinking":
            if isinstance(block.get("data"), str):
                self.group.append({"type": "redacted_thinking", "data": block["data"]})
            return []
        sig = block.get("signature")
        decoded = read_gemini_signature(sig)
        if decoded is not None:  # Gemini's own: no replay but its signatures, on their parts
            return self._gemini_pairs(decoded[1])
        if isinstance(sig, str) and sig:  # unsigned thinking could not be replayed anyway
            self.group.append({"type": "thinking", "thinking": _s(block.get("thinking")), "signature": sig})
        return []

    def _gemini_pairs(self, pairs: list[tuple[str, str]]) -> list[dict]:
        out: list[dict] = []
        for target, sig in pairs:
            if target == "h":
                out.append({"text": "", "thought": True, "thoughtSignature": sig})
            elif target == "e":
                out.append({"text": "", "thoughtSignature": sig})
            elif target.startswith("c:"):
                self.call_sigs[target[2:]] = sig
            elif target.startswith("x:") and target[2:].isdigit():
                n = int(target[2:])
                if n < self.text_blocks:
                    out.append({"text": "", "thoughtSignature": sig})  # after its text, as Gemini streams it
                else:
                    self.text_sigs[n] = sig
        return out

    def thought_text(self, text: str) -> list[dict]:
        if text and self.ctx.include_thoughts:
            return [{"text": text, "thought": True}]
        return []

    def text_start(self) -> None:
        self.close_group()
        self.text_blocks += 1

    def text(self, text: str, first: bool) -> list[dict]:
        """A piece of the open text block; ``first`` for its first non-empty piece."""
        if not text:
            return []
        part: dict[str, Any] = {"text": text}
        if first:
            if not self.in_text:  # a run of text is one unit (clients merge adjacent text parts)
                self.in_text = True
                self.units += 1
            sig = self.text_sigs.pop(self.text_blocks - 1, None)
            if sig is not None:
                part["thoughtSignature"] = sig
            elif self.pending:
                part["thoughtSignature"] = self._marker(self.pending)
                self.on_text.extend(self.pending)
                self.pending = []
        return [part]

    def call(self, tool_id: str, name: str, args: Any) -> list[dict]:
        self.close_group()
        self.in_text = False
        self.units += 1
        self.calls += 1
        fc: dict[str, Any] = {
            "id": self.ctx.names.client_id(tool_id),
            "name": self.ctx.names.client_name(name),
            "args": args if isinstance(args, dict) else {},
        }
        part: dict[str, Any] = {"functionCall": fc}
        sig = self.call_sigs.pop(tool_id, None)
        groups = self.on_text + self.pending
        if sig is not None:
            part["thoughtSignature"] = sig
            if groups:
                self.dropped.append("a hub thinking marker could not share a part with a Gemini signature")
        elif groups:
            part["thoughtSignature"] = self._marker(groups)
        self.on_text, self.pending = [], []
        return [part]

    def other_block(self, kind: str) -> None:
        self.close_group()
        self.dropped.append(f"dropped a {kind} block with no Gemini equivalent")

    def finish(self) -> list[dict]:
        self.close_group()
        out: list[dict] = []
        if self.pending:
            out.append({"text": "", "thoughtSignature": self._marker(self.pending)})
            self.pending = []
        for n, sig in sorted(self.text_sigs.items()):
            out.append({"text": "", "thoughtSignature": sig})
            del self.text_sigs[n]
        for sig in self.call_sigs.values():
            out.append({"text": "", "thoughtSignature": sig})
        self.call_sigs = {}
        return out


def _response_shell(ctx: GeminiSurfaceContext, response_id: str | None) -> dict:
    shell: dict[str, Any] = {"modelVersion": ctx.model}
    if response_id:
        shell["responseId"] = response_id
    return shell


def anthropic_response_to_gemini(
    message: dict, ctx: GeminiSurfaceContext, *, credits: int | None = None
) -> dict:
    """A hub Message → ``GenerateContentResponse`` (one candidate).

    ``credits`` (the gateway's charge) goes in ``usageMetadata.credits``, as ``usage.credits``
    on the other surfaces; Google's SDKs ignore the unknown field.
    """
    if not isinstance(message, dict):
        message = {}
    writer = _PartWriter(ctx)
    parts: list[dict] = []
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            if kind == "thinking":
                thought = writer.thought_text(_s(block.get("thinking")))
                signed = writer.thinking(block)
                if thought and signed and signed[0].get("thought"):
                    thought[0]["thoughtSignature"] = signed.pop(0)["thoughtSignature"]
                parts.extend(thought + signed)
            else:
                writer.thinking(block)
        elif kind == "text":
            writer.text_start()
            parts.extend(writer.text(_s(block.get("text")), True))
        elif kind == "tool_use":
            parts.extend(writer.call(_s(block.get("id")), _s(block.get("name")), block.get("input")))
        else:
            writer.other_block(str(kind))
    parts.extend(writer.finish())
    ctx.warnings.extend(writer.dropped)
    candidate = {
        "content": {"role": "model", "parts": merge_gemini_parts(parts)},
        "finishReason": anthropic_stop_to_gemini(message.get("stop_reason")),
        "index": 0,
    }
    usage = anthropic_usage_to_gemini(message.get("usage"))
    if credits is not None:
        usage["credits"] = credits
    return {"candidates": [candidate], "usageMetadata": usage, **_response_shell(ctx, message.get("id"))}


# =====================================================================================
# Hub events → streamGenerateContent chunks
# =====================================================================================

_ANTHROPIC_ERROR_KINDS = {
    "invalid_request_error": "invalid_request",
    "authentication_error": "authentication",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "request_too_large",
    "billing_error": "billing",
    "rate_limit_error": "rate_limit",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
    "api_error": "upstream_error",
}


class AnthropicToGeminiStream:
    """Hub ``(event, data)`` pairs, one at a time → ``streamGenerateContent`` chunks.

    Text deltas become text parts as they arrive, thinking deltas thought parts (with
    ``includeThoughts``), each ``tool_use`` one ``functionCall`` part with its args whole when
    the block closes (Gemini sends calls whole). Signatures follow the module docstring.
    ``finish()`` sends the last chunk: ``finishReason`` and ``usageMetadata`` (with
    ``credits`` when given). An ``error`` event becomes Gemini's mid-stream error chunk.
    """

    def __init__(self, ctx: GeminiSurfaceContext, *, response_id: str | None = None) -> None:
        self.ctx = ctx
        self.response_id = response_id
        self.usage: dict = {}
        self.stop_reason: str | None = None
        self.error: dict | None = None
        self._writer = _PartWriter(ctx)
        self._blocks: dict[int, dict] = {}
        self._finished = False

    def _chunk(self, parts: list[dict]) -> dict:
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            **_response_shell(self.ctx, self.response_id),
        }

    def feed(self, event: str, data: dict) -> list[dict]:
        if self._finished or not isinstance(data, dict):
            return []
        kind = event or data.get("type")
        parts: list[dict] = []
        if kind == "content_block_delta":
            info = self._blocks.get(data.get("index"))  # type: ignore[arg-type]
            delta = data.get("delta")
            if info is None or not isinstance(delta, dict):
                return []
            dt = delta.get("type")
            if dt == "text_delta" and info["type"] == "text":
                text = _s(delta.get("text"))
                parts = self._writer.text(text, first=not info["sent"])
                info["sent"] = info["sent"] or bool(text)
            elif dt == "thinking_delta" and info["type"] == "thinking":
                text = _s(delta.get("thinking"))
                info["thinking"] += text
                parts = self._writer.thought_text(text)
            elif dt == "signature_delta" and info["type"] == "thinking":
                info["signature"] = _s(delta.get("signature"))
            elif dt == "input_json_delta" and info["type"] == "tool_use":
                info["json"] += _s(delta.get("partial_json"))
        elif kind == "content_block_start":
            block = data.get("content_block")
            index = data.get("index")
            if not isinstance(block, dict) or not _is_int(index):
                return []
            bt = block.get("type")
            info = {
                "type": bt,
                "sent": False,
                "json": "",
                "thinking": _s(block.get("thinking")),
                "signature": _s(block.get("signature")),
            }
            info["block"] = block
            self._blocks[index] = info  # type: ignore[index]
            if bt == "text":
                self._writer.text_start()
                text = _s(block.get("text"))
                parts = self._writer.text(text, first=True)
                info["sent"] = bool(text)
            elif bt == "thinking":
                parts = self._writer.thought_text(info["thinking"])
        elif kind == "content_block_stop":
            info = self._blocks.pop(data.get("index"), None)  # type: ignore[arg-type]
            if info is None:
                return []
            bt = info["type"]
            if bt == "thinking":
                parts = self._writer.thinking(
                    {"type": "thinking", "thinking": info["thinking"], "signature": info["signature"]}
                )
            elif bt == "redacted_thinking":
                self._writer.thinking(info["block"])
            elif bt == "tool_use":
                block = info["block"]
                args: Any = block.get("input") if isinstance(block.get("input"), dict) else {}
                if info["json"]:
                    try:
                        args = json.loads(info["json"])
                    except ValueError:
                        self.ctx.warnings.append("dropped a function call whose arguments were cut off")
                        return []
                parts = self._writer.call(_s(block.get("id")), _s(block.get("name")), args)
            elif bt != "text":
                self._writer.other_block(str(bt))
        elif kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                if isinstance(message.get("usage"), dict):
                    self.usage.update({k: v for k, v in message["usage"].items() if v is not None})
                if self.response_id is None and isinstance(message.get("id"), str):
                    self.response_id = message["id"]
                if isinstance(message.get("stop_reason"), str):
                    self.stop_reason = message["stop_reason"]
                # Claude can answer with whole blocks in message_start and no deltas at all
                # (programmatic tool calling: client tool calls made from code execution,
                # recorded); they are this answer's first parts.
                content = message.get("content")
                out: list[dict] = []
                for i, block in enumerate(content if isinstance(content, list) else ()):
                    out += self.feed("content_block_start", {"index": -1 - i, "content_block": block})
                    out += self.feed("content_block_stop", {"index": -1 - i})
                return out
        elif kind == "message_delta":
            usage = data.get("usage")
            if isinstance(usage, dict):
                self.usage.update({k: v for k, v in usage.items() if v is not None})
            delta = data.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
        elif kind == "error":
            self._finished = True
            return [self._error_chunk(data.get("error"))]
        return [self._chunk(parts)] if parts else []

    def _error_chunk(self, error: Any) -> dict:
        etype = error.get("type") if isinstance(error, dict) else None
        message = _s(error.get("message")) if isinstance(error, dict) else ""
        kind = Kind(_ANTHROPIC_ERROR_KINDS.get(str(etype), "upstream_error"))
        self.error = gemini_body(GatewayError(kind, message or "stream error"))
        return self.error

    def finish(self, *, credits: int | None = None) -> list[dict]:
        """The hub stream ended cleanly: the last chunk, with finishReason and usageMetadata."""
        if self._finished:
            return []
        self._finished = True
        parts = self._writer.finish()
        self.ctx.warnings.extend(self._writer.dropped)
        usage = anthropic_usage_to_gemini(self.usage)
        if credits is not None:
            usage["credits"] = credits
        chunk = self._chunk(parts)
        chunk["candidates"][0]["finishReason"] = anthropic_stop_to_gemini(self.stop_reason)
        chunk["usageMetadata"] = usage
        return [chunk]


def assemble_gemini_chunks(chunks: list[dict]) -> dict:
    """Stream chunks → the one ``GenerateContentResponse`` a client accumulates (candidate 0)."""
    parts: list[dict] = []
    out: dict[str, Any] = {}
    finish = None
    for chunk in chunks:
        for cand in chunk.get("candidates") or ():
            if cand.get("index", 0) != 0:
                continue
            parts.extend((cand.get("content") or {}).get("parts") or ())
            finish = cand.get("finishReason") or finish
        for key in ("usageMetadata", "modelVersion", "responseId"):
            if key in chunk:
                out[key] = chunk[key]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": merge_gemini_parts(parts)}}
    if finish:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return {"candidates": [candidate], **out}


def check_gemini_chunks(chunks: list[dict]) -> None:
    """Invariants of a ``streamGenerateContent`` chunk sequence (raises AssertionError).

    One candidate (index 0, role model) per chunk; the same modelVersion and responseId on
    every chunk; every part is text (maybe a thought, maybe signed) or one whole functionCall
    (name, object args, an id unique in the stream); exactly one finishReason, on the last
    chunk, which alone carries usageMetadata with integer counts adding up; a mid-stream error
    chunk is ``{"error": {code, message, status}}`` and comes last.
    """
    assert chunks, "no chunks"
    version = {c.get("modelVersion") for c in chunks if "error" not in c}
    assert len(version) <= 1, f"modelVersion changed: {version}"
    rid = {c.get("responseId") for c in chunks if "error" not in c}
    assert len(rid) <= 1, f"responseId changed: {rid}"
    ids: set[str] = set()
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        if "error" in chunk:
            assert last and list(chunk) == ["error"], "an error chunk is alone and last"
            err = chunk["error"]
            assert (
                _is_int(err.get("code"))
                and isinstance(err.get("message"), str)
                and isinstance(err.get("status"), str)
            )
            continue
        cands = chunk.get("candidates")
        assert isinstance(cands, list) and len(cands) == 1 and cands[0].get("index") == 0, chunk
        cand = cands[0]
        content = cand.get("content")
        assert isinstance(content, dict) and content.get("role") == "model", chunk
        for part in content.get("parts"):
            keys = set(part) - {"thoughtSignature"}
            sig = part.get("thoughtSignature")
            assert sig is None or (isinstance(sig, str) and sig), part
            if "functionCall" in keys:
                assert keys == {"functionCall"}, part
                fc = part["functionCall"]
                assert isinstance(fc.get("name"), str) and fc["name"], part
                assert isinstance(fc.get("args"), dict), part
                assert isinstance(fc.get("id"), str) and fc["id"] and fc["id"] not in ids, part
                ids.add(fc["id"])
            else:
                assert keys in ({"text"}, {"text", "thought"}), part
                assert isinstance(part["text"], str) and (part["text"] or sig), f"empty unsigned text: {part}"
                assert part.get("thought", True) is True, part
        assert ("finishReason" in cand) == last, f"finishReason must be on the last chunk only (chunk {n})"
        assert ("usageMetadata" in chunk) == last, f"usageMetadata must be on the last chunk only (chunk {n})"
        if last:
            usage = chunk["usageMetadata"]
            counts = {k: v for k, v in usage.items() if k != "credits"}
            assert all(_is_int(v) and v >= 0 for v in counts.values()), usage
            assert usage["totalTokenCount"] == (
                usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
            ), usage


def strip_hub_markers(body: dict) -> tuple[dict, int]:
    """A Gemini request for a **Gemini** model (the pass-through lane) without our markers.

    A conversation that switched from another model to a Gemini one carries markers in
    ``thoughtSignature``; Gemini would refuse them as corrupted signatures. Each is removed;
    on a ``functionCall`` it becomes Gemini's documented sentinel (Gemini validates the first
    call of every step of the current turn), and an empty text part that only carried one goes
    (with its turn, if that leaves the turn empty).
    Returns (body, markers removed); the body is the same object when there were none, so the
    pass-through stays byte-exact (callers can skip this when b"YnN4A" is not in the raw body).
    """
    contents = _f(body, "contents")
    if not isinstance(contents, list):
        return body, 0
    removed = 0
    out_contents: list[Any] = []
    for content in contents:
        parts = _f(content, "parts")
        if not isinstance(parts, list):
            out_contents.append(content)
            continue
        new_parts: list[Any] = []
        for part in parts:
            if not isinstance(part, dict) or read_hub_marker(_f(part, "thoughtSignature")) is None:
                new_parts.append(part)
                continue
            removed += 1
            part = {k: v for k, v in part.items() if k not in ("thoughtSignature", "thought_signature")}
            if _f(part, "functionCall") is not None:
                part["thoughtSignature"] = SKIP_SIGNATURE
            elif set(part) <= {"text", "thought"} and not part.get("text"):
                continue
            new_parts.append(part)
        if new_parts:  # a turn left empty goes (Gemini refuses empty parts)
            out_contents.append({**content, "parts": new_parts} if new_parts != parts else content)
    if not removed:
        return body, 0
    return {**body, "contents": out_contents}, removed
