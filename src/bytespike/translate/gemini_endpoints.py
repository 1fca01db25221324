"""The Gemini surface's other methods: ``models``, ``countTokens``, ``embedContent`` and
``batchEmbedContents``, as pure mappings to and from the gateway's own shapes.

- Models: Google's ``Model`` resource from a catalog entry (``GET /v1beta/models[/{model}]``).
- ``countTokens``: a Gemini request → the hub's ``count_tokens`` body, and the count back.
- Embeddings: Gemini's embed requests → the gateway's embeddings body (OpenAI's
  ``/v1/embeddings`` shape, which every embedding model answers), and its vectors back.

See docs/MAPPING.md ("Gemini surface").
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import TranslationError
from .gemini_surface import BUILTIN_TOOLS, HubTarget, _f, gemini_request_to_anthropic

if TYPE_CHECKING:
    from bytespike.catalog import Model

CHAT_METHODS = ("generateContent", "streamGenerateContent", "countTokens")
EMBED_METHODS = ("embedContent", "batchEmbedContents", "countTokens")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# The sampling range each provider's models take (Claude's temperature stops at 1; the
# Gemini surface clamps to it, see gemini_surface._claude_rules).
_MAX_TEMPERATURE = {"anthropic": 1.0}


def model_name(model_id: str) -> str:
    """Google's resource name: ``models/<id>``."""
    return model_id if model_id.startswith("models/") else f"models/{model_id}"


def model_id(name: str) -> str:
    """The id in a resource name or URL segment (``models/x`` or ``x``)."""
    return name.removeprefix("models/")


def gemini_model(m: Model, *, extras: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """A catalog model as Google's ``Model``; None for a modality this surface does not serve.

    ``extras`` (the gateway's prices, status, capabilities …) go under ``bytespike``: merged at
    the top level they would clash with Google's own fields (``thinking`` is a boolean there).
    """
    if m.modality == "chat":
        methods = list(CHAT_METHODS)
    elif m.modality == "embeddings":
        methods = list(EMBED_METHODS)
    else:
        return None
    out: dict[str, Any] = {
        "name": model_name(m.id),
        "displayName": m.display_name,
        "description": f"{m.display_name}, served by ByteSpike ({m.provider}).",
        "inputTokenLimit": m.input_limit,
        "outputTokenLimit": m.max_output_tokens,
        "supportedGenerationMethods": methods,
    }
    if m.modality == "chat":
        out["temperature"] = 1.0
        out["maxTemperature"] = _MAX_TEMPERATURE.get(m.provider, 2.0)
        out["thinking"] = "thinking" in m.capabilities
    if extras:
        out["bytespike"] = dict(extras)
    return out


def _page_size(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError) as exc:
        raise TranslationError(f"Invalid value at 'page_size' (TYPE_INT32), \"{value}\"", "pageSize") from exc
    if size < 0:
        raise TranslationError("page_size must not be negative", "pageSize")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _token(model: str) -> str:
    return base64.urlsafe_b64encode(model.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TranslationError("Invalid page token.", "pageToken") from exc


def gemini_models_page(
    models: Iterable[Model],
    *,
    page_size: Any = None,
    page_token: str | None = None,
    extras: Callable[[Model], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``GET /v1beta/models`` body: ``{"models": [...], "nextPageToken"?}`` in the given order.

    ``page_size`` as Google takes it (default 50, at most 1000); the token names the last model
    of the previous page, so a page stays right when the catalog changes in between.
    """
    size = _page_size(page_size)
    served = [(m, body) for m in models if (body := gemini_model(m)) is not None]
    start = 0
    if page_token:
        after = _untoken(page_token)
        ids = [m.id for m, _ in served]
        if after not in ids:
            raise TranslationError("Invalid page token.", "pageToken")
        start = ids.index(after) + 1
    page = served[start : start + size]
    out: dict[str, Any] = {
        "models": [gemini_model(m, extras=extras(m)) if extras else body for m, body in page],
    }
    if start + size < len(served) and page:
        out["nextPageToken"] = _token(page[-1][0].id)
    return out


# =====================================================================================
# countTokens
# =====================================================================================


def gemini_count_request_to_anthropic(body: dict, model: str, *, target: HubTarget | None = None) -> dict:
    """``countTokens`` body (``contents`` or a whole ``generateContentRequest``) → hub
    ``count_tokens`` body (model, system, messages, tools).

    Only what takes up prompt tokens is read: generation settings and Google's built-in tools
    (which cannot run elsewhere anyway) are left out rather than refused, since a count is
    a question, not a call.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    inner = _f(body, "generateContentRequest")
    request = inner if isinstance(inner, dict) else body
    slim: dict[str, Any] = {"contents": _f(request, "contents")}
    system = _f(request, "systemInstruction")
    if system is not None:
        slim["systemInstruction"] = system
    tools = _f(request, "tools")
    if isinstance(tools, list):
        slim["tools"] = [
            t for t in tools if not (isinstance(t, dict) and any(_f(t, k) is not None for k in BUILTIN_TOOLS))
        ]
    hub, _ = gemini_request_to_anthropic(slim, model, target=target, lenient=True)
    return {k: hub[k] for k in ("model", "system", "messages", "tools") if k in hub}


def anthropic_count_to_gemini(count: Any) -> dict[str, Any]:
    """The hub's count (``{"input_tokens": n}`` or n) → ``countTokens`` response."""
    n = count.get("input_tokens") if isinstance(count, dict) else count
    n = n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else 0
    return {"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}


# =====================================================================================
# embedContent / batchEmbedContents
# =====================================================================================


def _embed_text(content: Any, model: str, param: str) -> str:
    parts = _f(content, "parts")
    if not isinstance(parts, list) or not parts:
        raise TranslationError("content.parts must not be empty", param + ".parts")
    texts: list[str] = []
    for j, part in enumerate(parts):
        text = _f(part, "text")
        if not isinstance(text, str):
            raise TranslationError(f"only text can be embedded by models/{model}", f"{param}.parts[{j}]")
        texts.append(text)
    joined = "\n".join(t for t in texts if t)
    if not joined:
        raise TranslationError("content has no text to embed", param)
    return joined


def gemini_embed_request_to_openai(
    body: dict, model: str, *, batch: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``embedContent`` / ``batchEmbedContents`` body → (the gateway's embeddings body, the
    per-input fields only Gemini takes: ``taskType``, ``title``).

    The embeddings body is OpenAI's shape (``input``, ``dimensions``, ``encoding_format``),
    which every embedding model answers; a Gemini model gets the task type back from the
    second value. One ``outputDimensionality`` per call: the hub has one ``dimensions``.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    if batch:
        requests = _f(body, "requests")
        if not isinstance(requests, list) or not requests:
            raise TranslationError("requests must be a non-empty array", "requests")
        items = [(r, f"requests[{k}]") for k, r in enumerate(requests)]
    else:
        items = [(body, "")]
    texts: list[str] = []
    extras: list[dict[str, Any]] = []
    dims: set[Any] = set()
    for request, where in items:
        if not isinstance(request, dict):
            raise TranslationError("requests entries must be objects", where)
        named = _f(request, "model")
        if batch and isinstance(named, str) and model_id(named) != model_id(model):
            raise TranslationError(
                f"{where}.model {named} does not match the model in the URL ({model_name(model)})",
                f"{where}.model",
            )
        prefix = f"{where}." if where else ""
        texts.append(_embed_text(_f(request, "content"), model, prefix + "content"))
        extra = {k: _f(request, k) for k in ("taskType", "title") if _f(request, k) is not None}
        extras.append(extra)
        dims.add(_f(request, "outputDimensionality"))
    if len(dims) > 1:
        raise TranslationError(
            "every request of a batch must ask for the same outputDimensionality",
            "requests.outputDimensionality",
        )
    out: dict[str, Any] = {"model": model_id(model), "input": texts, "encoding_format": "float"}
    (dim,) = dims
    if dim is not None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise TranslationError("outputDimensionality must be a positive integer", "outputDimensionality")
        out["dimensions"] = dim
    return out, extras


def _values(embedding: Any) -> list[float]:
    if isinstance(embedding, str):  # base64 float32 little-endian, if the hub was asked for it
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return list(embedding) if isinstance(embedding, list) else []


def openai_embeddings_to_gemini(response: dict, *, batch: bool, credits: int | None = None) -> dict[str, Any]:
    """The gateway's embeddings response → ``{"embedding": {"values"}}`` or ``{"embeddings": [...]}``.

    The token count (and ``credits``) go in ``usageMetadata``, as on the other surfaces;
    Google's SDKs ignore fields they do not know.
    """
    data = response.get("data") if isinstance(response, dict) else None
    items = sorted((d for d in data or () if isinstance(d, dict)), key=lambda d: d.get("index", 0))
    vectors = [{"values": _values(d.get("embedding"))} for d in items]
    out: dict[str, Any] = (
        {"embeddings": vectors} if batch else {"embedding": vectors[0] if vectors else {"values": []}}
    )
    usage = response.get("usage") if isinstance(response, dict) else None
    if isinstance(usage, dict) or credits is not None:
        usage = usage or {}
        tokens = usage.get("prompt_tokens") or usage.get("total_tokens") or 0
        meta: dict[str, Any] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        credit = credits if credits is not None else usage.get("credits")
        if credit is not None:
            meta["credits"] = credit
        out["usageMetadata"] = meta
    return out
