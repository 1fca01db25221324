"""Simulated Gemini API under ``/gemini/v1beta`` (the gateway's Gemini base URL).

``POST /gemini/v1beta/models/{model}:generateContent``, ``…:streamGenerateContent?alt=sse``
(without ``alt=sse`` the whole JSON array, as Gemini does) and ``…:countTokens``; auth by
``x-goog-api-key`` (or ``?key=``). Faithful where gateways break:

* exact shapes: ``candidates[].content.parts[]`` with ``thought`` parts, whole
  ``functionCall`` parts (no id, so the gateway must synthesize stable ids), ``usageMetadata``
  where ``promptTokenCount`` *includes* ``cachedContentTokenCount`` and
  ``thoughtsTokenCount`` is separate from ``candidatesTokenCount``; SSE frames end in
  ``\\r\\n\\r\\n``; errors are ``{"error":{"code","message","status","details"}}`` and a 429
  carries its wait in ``RetryInfo.retryDelay`` (no ``retry-after`` header);
* **thought signatures**: with thinking on (``thinkingConfig`` or ``[[sim think]]``) — and
  always for function calls on ``gemini-3*`` models, as Gemini 3 does — a signature goes
  on the first ``functionCall`` of a parallel group, else on the last text part (in a
  stream: a final empty text part). Signatures are HMACs bound to the model family, the
  part kind and (for calls) the call's name and args, so a signature moved to another part
  fails. On input the simulator rejects, with Gemini's 400 INVALID_ARGUMENT:
  a corrupted signature; on ``gemini-3*`` models, a current-turn model step whose first
  ``functionCall`` has none ("Function call is missing a thought_signature …", Gemini's
  text); and — stricter than Gemini, to test fidelity across the whole history — any call
  this simulator signed that comes back without its signature. The documented sentinel
  ``skip_thought_signature_validator`` is accepted everywhere;
* function-call/response pairing ("number of function response parts is equal to …"),
  schema keys Gemini's ``parameters`` rejects (``additionalProperties``, ``$schema``,
  ``default``…) and OBJECTs with empty ``properties``; ``thinkingLevel`` together with
  ``thinkingBudget``.

Directives as elsewhere (``status``, ``retry_after``, ``error_after``, ``delay_ms``,
``tools``, ``think``, ``deltas``, ``cached``…); ``stop=`` also takes Gemini finish reasons
(``SAFETY``, ``MAX_TOKENS``, ``RECITATION``, ``MALFORMED_FUNCTION_CALL``…). Unverified
texts (marked GUESS): the corrupted-signature message and the mid-stream error frame.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import strict
from bytespike.simulator.directives import Directives, parse_directives
from bytespike.simulator.replay import replay_response
from bytespike.simulator.reply import (
    SIGNATURE_SECRET,
    ReplyPlan,
    SimRequest,
    ToolResult,
    ToolSpec,
    UserTurn,
    model_family,
    plan_reply,
)
from bytespike.simulator.state import PrefixCache, SimState
from bytespike.simulator.timing import gemini_chunk, nonstream_wait_ms, paced
from bytespike.simulator.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD, canonical_json, tokens
from bytespike.simulator.wire import (
    INVALID_JSON,
    Frame,
    FrameKind,
    RawResponse,
    SimError,
    StreamResponse,
    drive_stream,
    dumps,
    html_error,
    json_response,
    new_id,
    read_recorded,
    sleep_ms,
)

PREFIX = "/gemini"
API = f"{PREFIX}/v1beta"
INVALID_KEY = "sk-sim-invalid"
SKIP_SIGNATURE = "skip_thought_signature_validator"
CACHE_MIN_TOKENS = 1024
_SIG_NAMESPACE = "gemini-signatures"

STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "UNAVAILABLE",
}
MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    429: "You exceeded your current quota, please check your plan and billing details. For more information on "
    "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}

# Gemini finish reasons a test may force with stop=…; the planner gets the Anthropic meaning.
FINISH_TO_PLAN = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "refusal",
    "RECITATION": "refusal",
    "BLOCKLIST": "refusal",
    "PROHIBITED_CONTENT": "refusal",
    "SPII": "refusal",
    "LANGUAGE": "end_turn",
    "OTHER": "end_turn",
    "MALFORMED_FUNCTION_CALL": "end_turn",
    "UNEXPECTED_TOOL_CALL": "end_turn",
    "TOO_MANY_TOOL_CALLS": "end_turn",
}
PLAN_TO_FINISH = {
    "end_turn": "STOP",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
    "refusal": "SAFETY",
}
_NO_CONTENT_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL",
     "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "OTHER", "LANGUAGE"}
)  # fmt: skip

# Keys of Gemini's OpenAPI-subset Schema; anything else in `parameters` is a 400 there.
SCHEMA_KEYS = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
     "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
     "propertyOrdering", "items", "minimum", "maximum"}
)  # fmt: skip

MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
    "function call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
CORRUPTED_SIGNATURE = "Corrupted thought signature."  # GUESS: the real text was not found in public sources


class GeminiError(Exception):
    """A request Gemini rejects: HTTP status + google.rpc status + message (+ details)."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_body(status: int, message: str | None = None, details: list[dict] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"[, "details"]}}`` as Google APIs send it."""
    err: dict[str, Any] = {
        "code": status,
        "message": message
        or MESSAGES.get(status)
        or ("Internal error." if status >= 500 else "Bad request."),
        "status": STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"),
    }
    if details:
        err["details"] = details
    return {"error": err}


def _frame(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\r\n\r\n"


MID_STREAM_ERROR = _frame(error_body(500))  # GUESS: Gemini's in-stream error is its error body as a frame


# ---------------------------------------------------------------- thought signatures


def sign_part(model: str, kind: str, payload: str, nonce: bytes) -> str:
    """``base64(nonce8 + hmac16)`` over family, part kind and payload — replayable, part-bound."""
    mac = hmac.new(
        SIGNATURE_SECRET,
        f"gemini\n{model_family(model)}\n{kind}\n{payload}\n".encode() + nonce,
        hashlib.sha256,
    ).digest()[:16]
    return base64.b64encode(nonce + mac).decode("ascii")


def signature_bytes(signature: str) -> bytes | None:
    """``thoughtSignature`` is a proto ``bytes`` field: proto3 JSON takes standard or URL-safe base64,
    with or without padding (google-genai sends Gemini's signatures back URL-safe)."""
    text = signature.strip().translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return None


def verify_part(model: str, kind: str, payload: str, signature: str) -> bool:
    raw = signature_bytes(signature)
    if raw is None or len(raw) != 24:
        return False
    expected = base64.b64decode(sign_part(model, kind, payload, raw[:8]))
    return hmac.compare_digest(expected, raw)


def _call_payload(call: dict) -> str:
    args = call.get("args")
    return f"{call.get('name')}\n{canonical_json(args if isinstance(args, dict) else {})}"


def _calls_key(model: str, calls: list[dict]) -> str:
    """Identity of one model step's function calls (what the signature registry is keyed by)."""
    text = model_family(model) + "\n" + "\n".join(_call_payload(c) for c in calls)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- request inspection


def _parts(content: Any) -> list[dict]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _response_text(fr: dict) -> str:
    response = fr.get("response")
    if isinstance(response, dict):
        for key in ("output", "result", "content", "error"):
            if isinstance(response.get(key), str):
                return response[key]
        return canonical_json(response)
    return ""


def last_user_turn(contents: Any) -> UserTurn:
    """Tolerant: the trailing user contents (text, media, function responses)."""
    if not isinstance(contents, list):
        return UserTurn()
    end = len(contents)
    start = end
    while start > 0:
        c = contents[start - 1]
        if not isinstance(c, dict) or c.get("role", "user") != "user":
            break
        start -= 1
    texts: list[str] = []
    images = 0
    results: list[ToolResult] = []
    for c in contents[start:end]:
        for part in _parts(c):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif "inlineData" in part or "fileData" in part:
                images += 1
            elif isinstance(part.get("functionResponse"), dict):
                fr = part["functionResponse"]
                text = _response_text(fr)
                texts.append(text)
                results.append(ToolResult(str(fr.get("id") or fr.get("name") or ""), text))
    return UserTurn("\n".join(texts), images, results or None)


def _check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        return
    for key in schema:
        if key not in SCHEMA_KEYS:
            raise GeminiError(
                400,
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.",
            )
    stype = schema.get("type")
    props = schema.get("properties")
    if isinstance(stype, str) and stype.upper() == "OBJECT" and isinstance(props, dict) and not props:
        raise GeminiError(
            400, f"* GenerateContentRequest.{where}.properties: should be non-empty for OBJECT type"
        )
    if isinstance(props, dict):
        for name, sub in props.items():
            _check_schema(sub, f"{where}.properties[{name}].value")
    if isinstance(schema.get("items"), dict):
        _check_schema(schema["items"], f"{where}.items")
    for k, sub in enumerate(schema.get("anyOf") or ()):
        _check_schema(sub, f"{where}.any_of[{k}]")


def validate(body: dict[str, Any], model: str, registry: PrefixCache) -> None:
    """Reject what the real Gemini API rejects (the subset that matters to a gateway)."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise GeminiError(400, "* GenerateContentRequest.contents: contents is not specified\n")
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            raise GeminiError(400, f"Invalid value at 'contents[{i}]': expected an object")
        role = c.get("role", "user")
        if role not in ("user", "model"):
            raise GeminiError(400, "Please use a valid role: user, model.")
        if not _parts(c):
            raise GeminiError(
                400, f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"
            )
    strict.gemini(body, GeminiError)  # inline data, image types, integer fields, calling mode (issue #15)
    for t, tool in enumerate(body.get("tools") or ()):
        for f, decl in enumerate(tool.get("functionDeclarations") or () if isinstance(tool, dict) else ()):
            if not isinstance(decl, dict) or not isinstance(decl.get("name"), str) or not decl["name"]:
                raise GeminiError(400, f"* GenerateContentRequest.tools[{t}].function_declarations[{f}].name: "
                                       "[FIELD_INVALID] Invalid function name.")  # fmt: skip
            if "parameters" in decl:
                _check_schema(decl["parameters"], f"tools[{t}].function_declarations[{f}].parameters")
    gen = body.get("generationConfig")
    thinking = gen.get("thinkingConfig") if isinstance(gen, dict) else None
    if isinstance(thinking, dict) and "thinkingLevel" in thinking and "thinkingBudget" in thinking:
        raise GeminiError(400, "You can only set only one of thinking budget and thinking level.")

    # function call / response pairing
    for i, c in enumerate(contents):
        if c.get("role") != "model":
            continue
        calls = [p for p in _parts(c) if isinstance(p.get("functionCall"), dict)]
        if not calls:
            continue
        following = contents[i + 1] if i + 1 < len(contents) else None
        if following is None:
            continue  # a trailing model turn: nothing answered yet
        answers = [p for p in _parts(following) if isinstance(p.get("functionResponse"), dict)]
        if len(answers) != len(calls):
            raise GeminiError(
                400,
                "Please ensure that the number of function response parts is equal to the number of function "
                "call parts of the function call turn.",
            )

    # thought signatures
    family3 = model_family(model).startswith("gemini-3")
    turn_start = -1
    for i, c in enumerate(contents):
        if c.get("role", "user") == "user" and any("functionResponse" not in p for p in _parts(c)):
            turn_start = i
    for i, c in enumerate(contents):
        if c.get("role") != "model":
            continue
        parts = _parts(c)
        calls = [p for p in parts if isinstance(p.get("functionCall"), dict)]
        for p in parts:
            sig = p.get("thoughtSignature")
            if sig is None or sig == SKIP_SIGNATURE:
                continue
            if isinstance(p.get("functionCall"), dict):
                ok = isinstance(sig, str) and verify_part(
                    model, "call", _call_payload(p["functionCall"]), sig
                )
            elif p.get("thought") is True:
                ok = isinstance(sig, str) and verify_part(model, "thought", "", sig)
            else:
                ok = isinstance(sig, str) and verify_part(model, "text", "", sig)
            if not ok:
                raise GeminiError(400, CORRUPTED_SIGNATURE)
        if not calls:
            continue
        signed_at = [
            k
            for k in range(len(calls))
            if f"{_calls_key(model, [p['functionCall'] for p in calls])}:{k}" in registry
        ]
        required = set(signed_at)
        if family3 and i > turn_start:
            required.add(0)
        for k in sorted(required):
            if not calls[k].get("thoughtSignature"):
                name = calls[k]["functionCall"].get("name")
                raise GeminiError(400, MISSING_SIGNATURE.format(name=name, position=i + 1))


# ---------------------------------------------------------------- usage


def _content_tokens(content: dict) -> int:
    n = MESSAGE_OVERHEAD
    for p in _parts(content):
        if p.get("thought") is True:
            continue  # earlier thoughts do not count against the context, as with Claude
        if isinstance(p.get("text"), str):
            n += tokens(p["text"])
        elif "inlineData" in p or "fileData" in p:
            n += IMAGE_TOKENS
        elif isinstance(p.get("functionCall"), dict):
            n += tokens(canonical_json(p["functionCall"].get("args") or {}))
        elif isinstance(p.get("functionResponse"), dict):
            fr = p["functionResponse"]
            n += tokens(_response_text(fr)) + IMAGE_TOKENS * len(fr.get("parts") or ())
    return n


def prompt_usage(body: dict[str, Any], model: str, cache: PrefixCache | None) -> tuple[int, int]:
    """``(promptTokenCount, cachedContentTokenCount)``; prompt includes the cached part.

    Implicit caching, as Gemini 2.5+/3 do it: every content boundary of ≥ ``CACHE_MIN_TOKENS``
    is remembered; the longest remembered boundary before the last content is a cache hit.
    """
    head = 0
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        head += sum(tokens(p.get("text") or "") for p in _parts(system))
    tools = body.get("tools") or []
    head += sum(tokens(canonical_json(t)) for t in tools)
    contents = [c for c in body.get("contents") or () if isinstance(c, dict)]
    counts = [_content_tokens(c) for c in contents]
    total = head + sum(counts)
    if cache is None or total < CACHE_MIN_TOKENS:
        return total, 0
    hasher = hashlib.sha256(
        f"{model_family(model)}\n{canonical_json(system)}\n{canonical_json(tools)}\n".encode()
    )
    cumulative = head
    cached = 0
    for k, (content, n) in enumerate(zip(contents, counts, strict=True)):
        cumulative += n
        hasher.update(canonical_json(content).encode() + b"\x1e")
        if cumulative < CACHE_MIN_TOKENS:
            continue
        digest = hasher.hexdigest()
        if k < len(contents) - 1 and digest in cache:
            cached = cumulative
        cache.add(digest)
    return total, cached


def usage_metadata(prompt: int, cached: int, plan: ReplyPlan, *, final: bool = True) -> dict[str, Any]:
    """``usageMetadata``; intermediate stream chunks carry only the prompt side (as Gemini's do)."""
    u: dict[str, Any] = {"promptTokenCount": prompt}
    if final:
        candidates = plan.output_tokens - plan.thinking_tokens
        u["candidatesTokenCount"] = candidates
        u["totalTokenCount"] = prompt + candidates + plan.thinking_tokens
    else:
        u["totalTokenCount"] = prompt
    if cached:
        u["cachedContentTokenCount"] = cached
    u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if cached:
        u["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if final and plan.thinking_tokens:
        u["thoughtsTokenCount"] = plan.thinking_tokens
    return u


# ---------------------------------------------------------------- request building


def build_request(body: dict[str, Any], model: str, turn: UserTurn, d: Directives) -> SimRequest:
    """Normalise a validated ``GenerateContentRequest`` for the planner."""
    tools: list[ToolSpec] = []
    for tool in body.get("tools") or ():
        for decl in tool.get("functionDeclarations") or () if isinstance(tool, dict) else ():
            schema = decl.get("parameters") or decl.get("parametersJsonSchema") or {"type": "object"}
            tools.append(ToolSpec(decl["name"], schema if isinstance(schema, dict) else {"type": "object"}))
    fcc = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = str(fcc.get("mode") or "AUTO").upper()
    allowed = fcc.get("allowedFunctionNames") if isinstance(fcc.get("allowedFunctionNames"), list) else []
    tool_mode = {"NONE": "none", "ANY": "any", "VALIDATED": "auto"}.get(mode, "auto")
    forced = allowed[0] if tool_mode == "any" and len(allowed) == 1 else None
    if forced:
        tool_mode = "tool"
    gen = body.get("generationConfig") if isinstance(body.get("generationConfig"), dict) else {}
    thinking = gen.get("thinkingConfig") if isinstance(gen.get("thinkingConfig"), dict) else {}
    budget = thinking.get("thinkingBudget")
    thinking_on = (
        d.think
        or thinking.get("includeThoughts") is True
        or "thinkingLevel" in thinking
        or (isinstance(budget, int) and budget != 0)
    )
    stops = gen.get("stopSequences")
    limit = gen.get("maxOutputTokens")
    return SimRequest(
        model=model,
        user_text=turn.text,
        images=turn.images,
        tool_results=turn.tool_results or [],
        tools=tools,
        tool_mode=tool_mode,
        forced_tool=forced,
        thinking=thinking_on,
        thinking_budget=budget if isinstance(budget, int) and budget > 0 else None,
        thinking_omitted=not (thinking.get("includeThoughts") is True or d.think),
        max_tokens=limit if isinstance(limit, int) and limit > 0 else 1 << 20,
        stop_sequences=[s for s in stops if isinstance(s, str)] if isinstance(stops, list) else [],
        turn_count=len(body.get("contents") or ()),
        directives=d,
    )


# ---------------------------------------------------------------- rendering


@dataclasses.dataclass(slots=True)
class Rendered:
    """One reply as Gemini parts: what streaming chunks and the whole response share."""

    thoughts: list[str]
    texts: list[str]
    calls: list[dict]  # functionCall parts (with their signature, if any)
    text_signature: str | None
    finish: str


def render_parts(plan: ReplyPlan, model: str, finish: str, sign: bool, sign_calls: bool) -> Rendered:
    if finish in _NO_CONTENT_FINISH:
        return Rendered([], [], [], None, finish)
    calls: list[dict] = []
    for k, call in enumerate(plan.tool_calls):
        fc = {"name": call.name, "args": call.input if isinstance(call.input, dict) else {}}
        part: dict[str, Any] = {"functionCall": fc}
        if k == 0 and sign_calls:  # parallel group: only the first call is signed
            nonce = hashlib.sha256(f"{plan.seed}:call:{k}".encode()).digest()[:8]
            part["thoughtSignature"] = sign_part(model, "call", _call_payload(fc), nonce)
        calls.append(part)
    text_sig = None
    if sign and not calls:
        text_sig = sign_part(model, "text", "", hashlib.sha256(f"{plan.seed}:text".encode()).digest()[:8])
    return Rendered(plan.thinking_deltas, plan.text_deltas, calls, text_sig, finish)


def render_response(
    r: Rendered, plan: ReplyPlan, model: str, response_id: str, usage: dict
) -> dict[str, Any]:
    """Non-streaming ``GenerateContentResponse``."""
    parts: list[dict[str, Any]] = []
    if r.thoughts:
        parts.append({"text": "".join(r.thoughts), "thought": True})
    if r.texts:
        parts.append({"text": "".join(r.texts)})
    parts.extend(r.calls)
    if r.text_signature:
        if parts and "functionCall" not in parts[-1]:
            parts[-1]["thoughtSignature"] = r.text_signature
        else:
            parts.append({"text": "", "thoughtSignature": r.text_signature})
    candidate: dict[str, Any] = {"finishReason": r.finish, "index": 0}
    if parts:
        candidate = {"content": {"parts": parts, "role": "model"}, **candidate}
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }


def stream_frames(
    r: Rendered, model: str, response_id: str, prompt: int, cached: int, plan: ReplyPlan
) -> Iterator[Frame]:
    """One chunk per delta (thoughts, then text), the calls together, then the finish chunk."""
    partial = usage_metadata(prompt, cached, plan, final=False)

    def chunk(parts: list[dict]) -> bytes:
        return _frame(
            {
                "candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}],
                "usageMetadata": partial,
                "modelVersion": model,
                "responseId": response_id,
            }
        )

    for piece in r.thoughts:
        yield Frame(FrameKind.DELTA, chunk([{"text": piece, "thought": True}]))
    for piece in r.texts:
        yield Frame(FrameKind.DELTA, chunk([{"text": piece}]))
    if r.calls:
        yield Frame(FrameKind.DELTA, chunk(r.calls))
    last: dict[str, Any] = {"finishReason": r.finish, "index": 0}
    if r.text_signature:  # Gemini: "may arrive in a final chunk with an empty text part"
        last = {
            "content": {"parts": [{"text": "", "thoughtSignature": r.text_signature}], "role": "model"},
            **last,
        }
    final = {
        "candidates": [last],
        "usageMetadata": usage_metadata(prompt, cached, plan),
        "modelVersion": model,
        "responseId": response_id,
    }
    yield Frame(FrameKind.TAIL, _frame(final))


def _response_id() -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(new_id("")[:24])).decode().rstrip("=")


class GeminiSimulator:
    """Route handlers for the Gemini surface; one instance per app (shares ``SimState``)."""

    namespace = "gemini"

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(API + "/models/{target}", self.dispatch, methods=["POST"]),
            Route(PREFIX + "/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]

    # -- helpers

    @staticmethod
    def _error(
        status: int,
        message: str | None = None,
        details: list[dict] | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> RawResponse:
        return json_response(status, error_body(status, message, details), list(extra or ()))

    @staticmethod
    def _auth_error(request: Request) -> RawResponse | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return GeminiSimulator._error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use "
                "API Key or other form of API consumer identity to call this API.",
            )
        if key == INVALID_KEY:
            return GeminiSimulator._error(
                400,
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )
        return None

    def _forced_failure(self, d: Directives, model: str) -> RawResponse:
        status = d.status if d.status is not None else 502
        if d.error_body == "html":
            return html_error(status, [])
        details = None
        if status == 429:
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                            "quotaDimensions": {"location": "global", "model": model},
                            "quotaValue": "10",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
            ]
            if d.retry_after is not None:
                details.append(
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{d.retry_after}s"}
                )
        message = None
        if status == 404:
            message = (
                f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
                "Call ListModels to see the list of available models and their supported methods."
            )
        return self._error(status, message, details)

    # -- endpoints

    async def dispatch(self, request: Request) -> Response:
        """``models/{model}:{method}``: generateContent, streamGenerateContent, countTokens."""
        target = request.path_params["target"]
        model, _, method = target.partition(":")
        if method == "generateContent":
            return await self.generate(request, model, stream=False)
        if method == "streamGenerateContent":
            return await self.generate(request, model, stream=True)
        if method == "countTokens":
            return await self.count_tokens(request, model)
        return await self.not_found(request)

    async def generate(self, request: Request, model: str, *, stream: bool) -> Response:
        body = await read_recorded(request, self.state)
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(400, "Invalid JSON payload received. Unexpected token.")
        turn = last_user_turn(body.get("contents"))
        d = parse_directives(turn.text)
        await sleep_ms(d.delay_ms)
        if self.state.should_fail(d):
            return self._forced_failure(d, model)
        registry = self.state.cache(_SIG_NAMESPACE)
        try:
            validate(body, model, registry)
        except GeminiError as exc:
            return self._error(exc.status, exc.message, exc.details)
        sse = stream and request.query_params.get("alt") == "sse"
        if d.replay:
            try:
                return replay_response(d.replay, "gemini", stream=sse, source=d.replay_source, part=d.replay_part)
            except SimError as exc:
                return self._error(exc.status, exc.message)
        if not sse and d.error_after is not None:
            return self._error(500)
        finish = None
        if d.stop and d.stop.upper() in FINISH_TO_PLAN:
            finish = d.stop.upper()
            d = dataclasses.replace(d, stop=FINISH_TO_PLAN[finish])
        sim = build_request(body, model, turn, d)
        plan = plan_reply(sim)
        finish = finish or PLAN_TO_FINISH.get(plan.stop_reason, "STOP")
        sign_calls = sim.thinking or model_family(model).startswith("gemini-3")
        rendered = render_parts(plan, model, finish, sim.thinking, sign_calls)
        if rendered.calls and "thoughtSignature" in rendered.calls[0]:
            calls = [p["functionCall"] for p in rendered.calls]
            registry.add(f"{_calls_key(model, calls)}:0")
        prompt, cached = prompt_usage(body, model, self.state.cache(self.namespace))
        if d.cached is not None:
            cached = max(0, min(d.cached, prompt))
        response_id = _response_id()
        if sse:
            frames = stream_frames(rendered, model, response_id, prompt, cached, plan)
            return StreamResponse(paced(drive_stream(frames, d, MID_STREAM_ERROR), d, gemini_chunk, None), [])
        await sleep_ms(d.first_token_ms + d.interval_ms * max(0, plan.delta_count - 1)
                       + nonstream_wait_ms(d, len(plan.tool_calls)))
        usage = usage_metadata(prompt, cached, plan)
        if stream:  # streamGenerateContent without alt=sse: one JSON array of the chunks
            chunks = [
                json.loads(f.data[len(b"data: ") :])
                for f in stream_frames(rendered, model, response_id, prompt, cached, plan)
            ]
            return json_response(200, chunks, [])
        return json_response(200, render_response(rendered, plan, model, response_id, usage), [])

    async def count_tokens(self, request: Request, model: str) -> Response:
        """``countTokens`` → ``{"totalTokens": n}`` (no cache effects)."""
        body = await read_recorded(request, self.state)
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        if body is INVALID_JSON or not isinstance(body, dict):
            return self._error(400, "Invalid JSON payload received. Unexpected token.")
        inner = (
            body.get("generateContentRequest")
            if isinstance(body.get("generateContentRequest"), dict)
            else body
        )
        total, _ = prompt_usage(inner, model, None)
        return json_response(
            200,
            {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]},
            [],
        )

    async def not_found(self, request: Request) -> Response:
        """Unknown Gemini path: Google's 404 shape."""
        await read_recorded(request, self.state)
        return self._error(404, f"Requested entity was not found. ({request.method} {request.url.path})")
