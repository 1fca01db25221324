"""The gateway's own OpenAPI 3.1 document: every public endpoint, built in one place.

One table of operations (``_operations``) names each endpoint's method, path, auth, body,
success responses and the protocol its errors speak; the catalog fills in the model enums
and the admin API's pydantic models give their exact bodies. Each function serves the
operations it owns (by the production path table) at ``GET /openapi.json``;
``tests/schema`` checks that the table and the app factory's routes never drift apart and
fuzzes every operation with schemathesis.

Two ``x-bytespike-*`` extensions per operation: ``function`` (who serves it) and
``error-shape`` — ``anthropic``, ``openai``, ``gemini`` (Google's ``{"error": {code, message,
status}}``), ``by-auth-header`` (shared paths: Google's shape when the request has
``x-goog-api-key``, Anthropic's when it has ``x-api-key`` or ``anthropic-version``, OpenAI's
otherwise) or ``by-body-surface`` (playground: the envelope's ``surface``, Anthropic's by default).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
SSE = "text/event-stream"
MULTIPART = "multipart/form-data"
Schema = dict[str, Any]

# Error statuses each kind of operation can answer (errors.py's table; 5xx are upstream
# trouble, overload or a gateway fault — documented, never expected from a simulator run).
_ANTHROPIC_PAID = (400, 401, 402, 403, 404, 409, 413, 429, 500, 502, 504, 529)
_OPENAI_PAID = (400, 401, 402, 403, 404, 409, 413, 429, 500, 502, 503, 504)
_OPENAI_MEDIA = (*_OPENAI_PAID, 410)
_GEMINI_PAID = _OPENAI_PAID  # errors.py's Google table: the same statuses (503 UNAVAILABLE for overload)


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), *, additional: bool = True,
        **extra: Any) -> Schema:
    """A JSON object schema (unknown fields allowed unless ``additional=False``)."""
    out: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = list(required)
    if not additional:
        out["additionalProperties"] = False
    return out


def string(**extra: Any) -> Schema:
    """A string schema."""
    return {"type": "string", **extra}


def integer(**extra: Any) -> Schema:
    """An integer schema."""
    return {"type": "integer", **extra}


def array(items: Schema, **extra: Any) -> Schema:
    """An array schema."""
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    """The schema, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def const(value: Any) -> Schema:
    """Exactly this value."""
    return {"const": value}


# ------------------------------------------------------------------ catalog-derived enums
def _model_ids(modality: str, *, audio: str | None = None, free: bool = False, retired: bool = True) -> list[str]:
    """Public ids (and the providers' own ids, which the gateway also accepts) of one modality."""
    from bytespike.catalog import catalog

    ids: list[str] = []
    for m in catalog().models.values():
        if m.modality != modality or (audio and m.media.audio != audio) or (free and not m.free_tier):
            continue
        if not retired and m.retires_at:
            continue
        ids.append(m.id)
        if m.upstream_model and m.upstream_model != m.id:
            ids.append(m.upstream_model)
    return sorted(set(ids))


def _union(modality: str, key: str) -> list[Any]:
    """Every value a modality's models list under ``key`` (sizes, voices, seconds…)."""
    from bytespike.catalog import catalog

    seen: list[Any] = []
    for m in catalog().models.values():
        if m.modality == modality:
            seen += [v for v in getattr(m.media, key) if v not in seen]
    return seen


def _max_output_tokens() -> int:
    """The largest max_tokens any chat model takes (per-model limits are the gateway's 400)."""
    from bytespike.catalog import catalog

    return max(m.max_output_tokens for m in catalog().models.values() if m.modality == "chat")


# ------------------------------------------------------------------ components
def _anthropic_schemas() -> dict[str, Schema]:
    cache_control = obj({"type": const("ephemeral"), "ttl": {"enum": ["5m", "1h"]}}, ("type",))
    text = obj({"type": const("text"), "text": string(), "cache_control": cache_control}, ("type", "text"))
    media_source = {"anyOf": [
        obj({"type": const("base64"), "media_type": string(), "data": string(contentEncoding="base64")},
            ("type", "media_type", "data")),
        obj({"type": const("url"), "url": string(format="uri")}, ("type", "url")),
        obj({"type": const("text"), "media_type": const("text/plain"), "data": string()}, ("type", "media_type", "data")),
    ]}
    blocks: list[Schema] = [
        ref("AnthropicTextBlock"),
        obj({"type": const("image"), "source": media_source, "cache_control": cache_control}, ("type", "source")),
        obj({"type": const("document"), "source": media_source, "title": string(), "cache_control": cache_control},
            ("type", "source")),
        obj({"type": const("tool_use"), "id": string(minLength=1), "name": string(minLength=1), "input": obj({})},
            ("type", "id", "name", "input")),
        obj({"type": const("tool_result"), "tool_use_id": string(minLength=1), "is_error": {"type": "boolean"},
             "content": {"anyOf": [string(), array(ref("AnthropicTextBlock"))]}, "cache_control": cache_control},
            ("type", "tool_use_id")),
        obj({"type": const("thinking"), "thinking": string(), "signature": string()}, ("type", "thinking", "signature")),
        obj({"type": const("redacted_thinking"), "data": string()}, ("type", "data")),
    ]
    tool = obj({"name": string(pattern=r"^[a-zA-Z0-9_-]{1,64}$"), "description": string(),
                "input_schema": obj({"type": const("object")}, ("type",)), "cache_control": cache_control},
               ("name", "input_schema"))
    common = {
        "model": {"enum": _model_ids("chat")},
        "messages": array(ref("AnthropicMessage"), minItems=1, maxItems=100_000),
        "system": {"anyOf": [string(), array(ref("AnthropicTextBlock"))]},
        "tools": array(tool),
    }
    return {
        "AnthropicTextBlock": text,
        "AnthropicContentBlock": {"anyOf": blocks},
        "AnthropicMessage": obj({"role": {"enum": ["user", "assistant"]},
                                 "content": {"anyOf": [string(), array(ref("AnthropicContentBlock"))]}},
                                ("role", "content")),
        "MessagesRequest": obj({
            **common,
            "max_tokens": integer(minimum=0, maximum=_max_output_tokens()),
            "stream": {"type": "boolean"},
            "stop_sequences": array(string()),
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "top_k": integer(minimum=0),
            "tool_choice": {"anyOf": [
                obj({"type": {"enum": ["auto", "any", "none"]}, "disable_parallel_tool_use": {"type": "boolean"}},
                    ("type",)),
                obj({"type": const("tool"), "name": string(minLength=1)}, ("type", "name")),
            ]},
            "thinking": {"anyOf": [
                obj({"type": const("enabled"), "budget_tokens": integer(minimum=1024)}, ("type", "budget_tokens")),
                obj({"type": {"enum": ["disabled", "adaptive"]}}, ("type",)),
            ]},
            "metadata": obj({"user_id": nullable(string(maxLength=256))}),
        }, ("model", "max_tokens", "messages"), description="Anthropic Messages request (unknown fields pass through)."),
        "CountTokensRequest": obj({**common, "max_tokens": integer(minimum=0)}, ("model", "messages"),
                                  description="max_tokens (optional) sizes estimated_credits as /v1/messages would."),
        "Message": obj({
            "id": string(), "type": const("message"), "role": const("assistant"),
            "content": array(obj({"type": string()}, ("type",))), "model": string(),
            "stop_reason": nullable(string()), "stop_sequence": nullable(string()),
            "usage": obj({"input_tokens": integer(minimum=0), "output_tokens": integer(minimum=0),
                          "credits": integer(minimum=0)}, ("input_tokens", "output_tokens", "credits")),
        }, ("id", "type", "role", "content", "model", "usage")),
        "TokenCount": obj({"input_tokens": integer(minimum=0), "estimated_credits": integer(minimum=0)},
                          ("input_tokens", "estimated_credits")),
    }


def _openai_schemas() -> dict[str, Schema]:
    part = {"anyOf": [
        obj({"type": const("text"), "text": string()}, ("type", "text")),
        obj({"type": const("image_url"), "image_url": obj({"url": string(), "detail": {"enum": ["auto", "low", "high"]}},
                                                           ("url",))}, ("type", "image_url")),
    ]}
    content = {"anyOf": [string(), array(part)]}
    tool_call = obj({"id": string(minLength=1), "type": const("function"),
                     "function": obj({"name": string(minLength=1), "arguments": string()}, ("name", "arguments"))},
                    ("id", "type", "function"))
    function = obj({"name": string(pattern=r"^[a-zA-Z0-9_-]{1,64}$"), "description": string(),
                    "parameters": obj({})}, ("name",))
    return {
        "ChatMessage": {"anyOf": [
            obj({"role": {"enum": ["system", "developer", "user"]}, "content": content, "name": string()},
                ("role", "content")),
            obj({"role": const("assistant"), "content": nullable(content), "tool_calls": array(tool_call)}, ("role",)),
            obj({"role": const("tool"), "content": content, "tool_call_id": string(minLength=1)},
                ("role", "content", "tool_call_id")),
        ]},
        "ChatRequest": obj({
            "model": {"enum": _model_ids("chat")},
            "messages": array(ref("ChatMessage"), minItems=1),
            "stream": {"type": "boolean"},
            "stream_options": obj({"include_usage": {"type": "boolean"}}),
            "max_tokens": integer(minimum=1, maximum=_max_output_tokens()),
            "max_completion_tokens": integer(minimum=1, maximum=_max_output_tokens()),
            "n": integer(minimum=1, maximum=128),
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "tools": array(obj({"type": const("function"), "function": function}, ("type", "function"))),
            "tool_choice": {"anyOf": [{"enum": ["none", "auto", "required"]},
                                      obj({"type": const("function"), "function": obj({"name": string()}, ("name",))},
                                          ("type", "function"))]},
            "response_format": obj({"type": {"enum": ["text", "json_object", "json_schema"]}, "json_schema": obj({})},
                                   ("type",)),
            "stop": {"anyOf": [string(), array(string(), maxItems=4)]},
            "reasoning_effort": {"enum": ["minimal", "low", "medium", "high"]},
            "user": string(),
        }, ("model", "messages"), description="OpenAI Chat Completions request (unknown fields pass through)."),
        "ResponsesRequest": obj({
            "model": {"enum": _model_ids("chat")},
            "input": {"anyOf": [string(), array(obj({}))]},
            "instructions": string(),
            "stream": {"type": "boolean"},
            "store": {"type": "boolean"},
            "max_output_tokens": integer(minimum=1, maximum=_max_output_tokens()),
            "tools": array(obj({"type": string()}, ("type",))),
            "tool_choice": {"anyOf": [{"enum": ["none", "auto", "required"]}, obj({"type": string()}, ("type",))]},
            "parallel_tool_calls": {"type": "boolean"},
            "text": obj({}),
            "reasoning": obj({}),
            "metadata": obj({}),
            "include": array(string()),
            "previous_response_id": string(),
        }, ("model", "input"), description="OpenAI Responses request (unknown fields pass through)."),
        "Response": obj({
            "id": string(), "object": const("response"), "created_at": integer(), "status": string(),
            "model": string(), "output": array(obj({})),
            "usage": obj({"input_tokens": integer(minimum=0), "output_tokens": integer(minimum=0),
                          "total_tokens": integer(minimum=0), "credits": integer(minimum=0)},
                         ("input_tokens", "output_tokens", "credits")),
        }, ("id", "object", "status", "model", "output", "usage")),
        "ResponseInputTokens": obj({"object": const("response.input_tokens"), "input_tokens": integer(minimum=0)},
                                   ("object", "input_tokens")),
        "ResponseDeleted": obj({"id": string(), "object": const("response"), "deleted": const(True)},
                               ("id", "object", "deleted")),
        "ResponseInputItems": obj({"object": const("list"), "data": array(obj({"id": string(), "type": string()},
                                                                              ("id", "type"))),
                                   "first_id": nullable(string()), "last_id": nullable(string()),
                                   "has_more": {"type": "boolean"}}, ("object", "data", "has_more")),
        "CompactRequest": obj({
            "model": {"enum": _model_ids("chat")},
            "input": {"anyOf": [string(), array(obj({}))]},
            "instructions": string(),
            "previous_response_id": string(),
        }, ("model",), description="OpenAI Responses compaction request: the conversation to compact."),
        "ResponseCompaction": obj({
            "id": string(), "object": const("response.compaction"), "created_at": integer(),
            "output": array(obj({"type": string()}, ("type",))),
            "usage": obj({"input_tokens": integer(minimum=0), "output_tokens": integer(minimum=0),
                          "total_tokens": integer(minimum=0), "credits": integer(minimum=0)},
                         ("input_tokens", "output_tokens", "credits")),
        }, ("id", "object", "output", "usage")),
        "ChatCompletion": obj({
            "id": string(), "object": const("chat.completion"), "created": integer(), "model": string(),
            "choices": array(obj({"index": integer(minimum=0), "finish_reason": nullable(string()),
                                  "message": obj({"role": const("assistant"), "content": nullable(string())},
                                                 ("role",))}, ("index", "message"))),
            "usage": obj({"prompt_tokens": integer(minimum=0), "completion_tokens": integer(minimum=0),
                          "total_tokens": integer(minimum=0), "credits": integer(minimum=0)},
                         ("prompt_tokens", "completion_tokens", "credits")),
        }, ("id", "object", "created", "model", "choices", "usage")),
    }


def _gemini_schemas() -> dict[str, Schema]:
    """Google's Gemini API shapes (the subset the gateway reads; unknown fields pass through)."""
    part = obj({"text": string(), "thought": {"type": "boolean"}, "thoughtSignature": string(),
                "inlineData": obj({"mimeType": string(), "data": string(contentEncoding="base64")},
                                  ("mimeType", "data")),
                "fileData": obj({"mimeType": string(), "fileUri": string()}, ("fileUri",)),
                "functionCall": obj({"id": string(), "name": string(minLength=1), "args": obj({})}, ("name",)),
                "functionResponse": obj({"id": string(), "name": string(minLength=1), "response": obj({})},
                                        ("name",))})
    content = obj({"role": {"enum": ["user", "model"]}, "parts": array(ref("GeminiPart"), minItems=1)}, ("parts",))
    declaration = obj({"name": string(pattern=r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$"), "description": string(),
                       "parameters": obj({}), "parametersJsonSchema": obj({})}, ("name",))
    usage = obj({"promptTokenCount": integer(minimum=0), "candidatesTokenCount": integer(minimum=0),
                 "cachedContentTokenCount": integer(minimum=0), "thoughtsTokenCount": integer(minimum=0),
                 "totalTokenCount": integer(minimum=0), "credits": integer(minimum=0)})
    generate = {
        "contents": array(ref("GeminiContent"), minItems=1),
        "systemInstruction": obj({"parts": array(ref("GeminiPart"))}),
        "tools": array(obj({"functionDeclarations": array(declaration)})),
        "toolConfig": obj({"functionCallingConfig": obj({"mode": {"enum": ["AUTO", "ANY", "NONE", "VALIDATED"]},
                                                         "allowedFunctionNames": array(string())})}),
        "generationConfig": obj({
            "maxOutputTokens": integer(minimum=1, maximum=_max_output_tokens()),
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "topP": {"type": "number", "minimum": 0, "maximum": 1}, "topK": integer(minimum=1),
            "stopSequences": array(string(), maxItems=5), "responseMimeType": string(),
            "responseSchema": obj({}), "responseJsonSchema": obj({}),
            "thinkingConfig": obj({"includeThoughts": {"type": "boolean"}, "thinkingBudget": integer(minimum=-1),
                                   "thinkingLevel": {"enum": ["MINIMAL", "LOW", "MEDIUM", "HIGH"]}}),
        }),
        "safetySettings": array(obj({"category": string(), "threshold": string()})),
    }
    embed = obj({"model": string(), "content": obj({"parts": array(obj({"text": string(minLength=1)}, ("text",)),
                                                                   minItems=1)}, ("parts",)),
                 "taskType": string(), "title": string(), "outputDimensionality": integer(minimum=1, maximum=3072)},
                ("content",))
    model = obj({"name": string(pattern="^models/"), "displayName": string(), "description": string(),
                 "inputTokenLimit": integer(minimum=0), "outputTokenLimit": integer(minimum=0),
                 "supportedGenerationMethods": array(string()), "bytespike": obj({})},
                ("name", "supportedGenerationMethods"))
    return {
        "GeminiPart": part,
        "GeminiContent": content,
        "GenerateContentRequest": obj(generate, ("contents",),
                                      description="Google's GenerateContentRequest; the model is in the path."),
        "GenerateContentResponse": obj({
            "candidates": array(obj({"content": obj({"role": string(), "parts": array(ref("GeminiPart"))}),
                                     "finishReason": string(), "index": integer(minimum=0)})),
            "usageMetadata": usage, "modelVersion": string(), "responseId": string(),
        }, ("candidates",)),
        "GeminiCountTokensRequest": obj({"contents": array(ref("GeminiContent"), minItems=1),
                                         "generateContentRequest": obj({**generate, "model": string()}, ("contents",))},
                                        description="contents, or a whole generateContentRequest."),
        "GeminiCountTokens": obj({"totalTokens": integer(minimum=0), "promptTokensDetails": array(obj({})),
                                  "estimatedCredits": integer(minimum=0)}, ("totalTokens", "estimatedCredits")),
        "EmbedContentRequest": embed,
        "BatchEmbedContentsRequest": obj({"requests": array(embed, minItems=1, maxItems=100)}, ("requests",)),
        "EmbedContentResponse": obj({"embedding": obj({"values": array({"type": "number"})}, ("values",)),
                                     "usageMetadata": usage}, ("embedding",)),
        "BatchEmbedContentsResponse": obj({"embeddings": array(obj({"values": array({"type": "number"})},
                                                                   ("values",))),
                                           "usageMetadata": usage}, ("embeddings",)),
        "GeminiModel": model,
        "GeminiModelList": obj({"models": array(ref("GeminiModel")), "nextPageToken": string()}, ("models",)),
    }


def _media_schemas() -> dict[str, Schema]:
    credits = integer(minimum=0)
    image_sizes = _union("images", "sizes")
    seconds = sorted({int(s) for s in _union("video", "seconds")})
    video_fields = {
        "model": {"enum": _model_ids("video")},
        "prompt": string(minLength=1, maxLength=4000),
        "seconds": {"anyOf": [{"enum": [str(s) for s in seconds]}, {"enum": seconds}]},
        "size": {"enum": _union("video", "sizes")},
    }
    image_fields = {
        "model": {"enum": _model_ids("images")},
        "prompt": string(minLength=1, maxLength=32_000, pattern=r"\S"),
        "n": integer(minimum=1, maximum=10),
        "size": {"enum": [*image_sizes, "auto"]},
        "quality": {"enum": ["low", "medium", "high", "auto"]},
        "response_format": {"enum": ["url", "b64_json"]},
        "output_format": {"enum": ["png", "jpeg", "webp"]},
        "background": {"enum": ["transparent", "opaque", "auto"]},
    }
    binary = string(format="binary", contentMediaType="application/octet-stream")
    return {
        "EmbeddingsRequest": obj({
            "model": {"enum": _model_ids("embeddings")},
            "input": {"anyOf": [
                string(minLength=1), array(string(minLength=1), minItems=1, maxItems=2048),
                array(integer(minimum=0), minItems=1), array(array(integer(minimum=0), minItems=1), minItems=1),
            ]},
            "dimensions": integer(minimum=1, maximum=3072),
            "encoding_format": {"enum": ["float", "base64"]},
            "user": string(maxLength=256),
        }, ("model", "input")),
        "Embeddings": obj({
            "object": const("list"), "model": string(),
            "data": array(obj({"object": const("embedding"), "index": integer(minimum=0),
                               "embedding": {"anyOf": [array({"type": "number"}), string()]}},
                              ("object", "index", "embedding"))),
            "usage": obj({"prompt_tokens": integer(minimum=0), "total_tokens": integer(minimum=0), "credits": credits},
                         ("prompt_tokens", "credits")),
        }, ("object", "data", "model", "usage")),
        "RerankRequest": obj({
            "model": {"enum": _model_ids("rerank")},
            "query": string(minLength=1, maxLength=20_000),
            "documents": array({"anyOf": [string(maxLength=200_000), obj({"text": string(maxLength=200_000)}, ("text",))]},
                               minItems=1, maxItems=1000),
            "top_n": integer(minimum=1, maximum=100_000),
            "return_documents": {"type": "boolean"},
        }, ("model", "query", "documents")),
        "Rerank": obj({
            "id": string(), "model": string(),
            "results": array(obj({"index": integer(minimum=0), "relevance_score": {"type": "number"},
                                  "document": obj({"text": string()})}, ("index", "relevance_score"))),
            "usage": obj({"credits": credits}, ("credits",)), "meta": obj({"billed_units": obj({})}),
        }, ("id", "model", "results", "usage")),
        "ImagesRequest": obj(image_fields, ("model", "prompt")),
        "ImageEditRequest": obj({**image_fields, "image": binary,
                                 "mask": binary}, ("model", "prompt", "image")),
        "Images": obj({
            "created": integer(),
            "data": array({"anyOf": [obj({"b64_json": string()}, ("b64_json",)), obj({"url": string()}, ("url",))]}),
            "usage": obj({"images": integer(minimum=0), "credits": credits}, ("images", "credits")),
        }, ("created", "data", "usage")),
        "SpeechRequest": obj({
            "model": {"enum": _model_ids("audio", audio="speech")},
            "input": string(minLength=1, maxLength=4096),
            "voice": {"anyOf": [{"enum": _union("audio", "voices")},
                                obj({"id": {"enum": _union("audio", "voices")}}, ("id",))]},
            "response_format": {"enum": ["mp3", "opus", "aac", "flac", "wav", "pcm"]},
            "speed": {"type": "number", "minimum": 0.25, "maximum": 4.0},
            "instructions": string(maxLength=4096),
            "stream_format": const("audio"),
        }, ("model", "input", "voice")),
        "TranscriptionRequest": obj({
            "file": binary, "model": {"enum": _model_ids("audio", audio="transcription")},
            "response_format": {"enum": ["json", "text", "srt", "verbose_json", "vtt"]},
            "language": string(pattern=r"^[A-Za-z]{2,3}$"),
            "prompt": string(maxLength=4000),
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "timestamp_granularities[]": array({"enum": ["word", "segment"]}),
        }, ("file", "model")),
        "Transcription": obj({"text": string(), "usage": obj({"seconds": integer(minimum=0), "credits": credits},
                                                               ("credits",))}, ("text",)),
        "VideoRequest": obj(video_fields, ("model", "prompt")),
        "VideoForm": obj({**video_fields, "input_reference": binary}, ("model", "prompt")),
        "Video": obj({
            "id": string(pattern="^video_"), "object": const("video"),
            "status": {"enum": ["queued", "in_progress", "completed", "failed"]},
            "progress": integer(minimum=0, maximum=100), "created_at": integer(), "model": string(),
            "seconds": string(), "size": string(), "completed_at": nullable(integer()), "expires_at": nullable(integer()),
            "error": nullable(obj({"code": string(), "message": string()})), "credits": credits,
        }, ("id", "object", "status", "progress", "created_at", "model", "seconds", "size")),
        "VideoDeleted": obj({"id": string(), "object": const("video.deleted"), "deleted": {"type": "boolean"}},
                            ("id", "object", "deleted")),
    }


def _pydantic_schema(model: Any) -> Schema:
    """An admin body exactly as the gateway validates it (pydantic's own JSON schema)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("title", None)
    return schema


def _admin_schemas() -> dict[str, Schema]:
    from bytespike.admin.schemas import CreateKey, CreateOrg, TopUp
    from bytespike.alerts.api import AlertRules

    key = obj({
        "key_id": string(), "org_id": string(), "kind": {"enum": ["master", "sub"]}, "member_id": nullable(string()),
        "label": nullable(string()), "status": string(), "digest_prefix": string(),
        "parent_key_id": nullable(string()), "models": nullable(array(string())), "modalities": nullable(array(string())),
        "quota": nullable(integer()), "quota_period": nullable(string()), "rpm": nullable(integer()),
        "max_concurrency": nullable(integer()), "in_flight": integer(minimum=0),
        "expires_at": nullable(string()), "created_at": nullable(string()), "revoked_at": nullable(string()),
    }, ("key_id", "org_id", "kind", "status"))
    org = obj({"org_id": string(), "name": string(), "balance": integer(minimum=0), "topped_up": integer(minimum=0),
               "created_at": nullable(string())}, ("org_id", "balance", "topped_up"))
    with_secret = {"allOf": [ref("Key"), obj({"secret": string(pattern="^sk-")}, ("secret",))]}
    return {
        "CreateOrg": _pydantic_schema(CreateOrg),
        "TopUp": _pydantic_schema(TopUp),
        "CreateKey": _pydantic_schema(CreateKey),
        "Key": key,
        "KeyWithSecret": with_secret,
        "Org": org,
        "OrgCreated": {"allOf": [ref("Org"), obj({"master_key": ref("KeyWithSecret")}, ("master_key",))]},
        "KeyList": obj({"object": const("list"), "data": array(ref("Key"))}, ("object", "data")),
        "UsageRows": obj({"object": const("list"), "org_id": string(), "data": array(obj({})),
                          "has_more": {"type": "boolean"}, "next_cursor": nullable(string())},
                         ("object", "data", "has_more")),
        "UsageSummary": obj({"object": const("usage_summary"), "org_id": string(), "data": array(obj({}))},
                            ("object", "data")),
        "KeySelf": {"allOf": [ref("Key"), obj({"role": {"enum": ["master", "member"]}}, ("role",))]},
        "AlertRules": _pydantic_schema(AlertRules),
        "AlertRulesView": obj({"org_id": string(), "wallet": array(integer()), "quota": array(integer()),
                               "webhook_url": nullable(string()), "webhook_secret_set": {"type": "boolean"},
                               "emails": array(string()), "email_enabled": {"type": "boolean"},
                               "webhook_secret": string(pattern="^whsec_")},
                              ("org_id", "wallet", "quota", "emails")),
        "AlertTest": obj({"event_id": string(), "status": string()}, ("event_id",)),
        "AlertEvents": obj({"object": const("list"), "data": array(obj({"event_id": string(), "status": string(),
                                                                        "deliveries": array(obj({}))}))},
                           ("object", "data")),
        "RequestUsage": obj({"request_id": string(), "state": string(), "hold": integer(minimum=0),
                             "credits": nullable(integer(minimum=0)), "released": {"type": "boolean"}},
                            ("request_id", "state", "hold")),
    }


def _model_list_schemas() -> dict[str, Schema]:
    extras = {"provider": string(), "modality": string(), "pricing": obj({})}
    anthropic_model = obj({"id": string(), "type": const("model"), "display_name": string(), "created_at": string(),
                           "max_input_tokens": integer(), "max_tokens": integer(), "capabilities": obj({}),
                           "features": array(string()), **extras}, ("id", "type", "display_name", "created_at"))
    openai_model = obj({"id": string(), "object": const("model"), "created": integer(), "owned_by": string(),
                        "capabilities": array(string()), **extras}, ("id", "object", "created", "owned_by"))
    return {
        "AnthropicModel": anthropic_model,
        "OpenAIModel": openai_model,
        "ModelList": {"anyOf": [
            obj({"data": array(ref("AnthropicModel")), "has_more": {"type": "boolean"},
                 "first_id": nullable(string()), "last_id": nullable(string())}, ("data", "has_more")),
            obj({"object": const("list"), "data": array(ref("OpenAIModel"))}, ("object", "data")),
            ref("GeminiModelList"),
        ]},
        "Model": {"anyOf": [ref("AnthropicModel"), ref("OpenAIModel"), ref("GeminiModel")]},
    }


def _playground_schemas() -> dict[str, Schema]:
    from bytespike.playground.settings import playground_settings

    limit = playground_settings().max_tokens
    free = {"enum": _model_ids("chat", free=True)}
    anthropic = obj({
        "model": free, "max_tokens": integer(minimum=1, maximum=limit), "messages": array(ref("AnthropicMessage"),
                                                                                            minItems=1),
        "system": {"anyOf": [string(), array(ref("AnthropicTextBlock"))]}, "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1}, "stop_sequences": array(string()),
    }, ("model", "max_tokens", "messages"), additional=False)
    openai = obj({
        "model": free, "max_tokens": integer(minimum=1, maximum=limit), "messages": array(ref("ChatMessage"), minItems=1),
        "stream": {"type": "boolean"}, "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "stop": {"anyOf": [string(), array(string(), maxItems=4)]},
    }, ("model", "max_tokens", "messages"), additional=False)
    return {
        "PlaygroundRequest": {"anyOf": [
            obj({"surface": const("anthropic"), "request": anthropic}, ("request",)),
            obj({"surface": const("openai"), "request": openai}, ("surface", "request")),
        ], "description": "The exact body of the /v1/messages or /v1/chat/completions call, free-run rules apply."},
        "PlaygroundEstimate": obj({"input_tokens": integer(minimum=0), "max_output_tokens": integer(minimum=1),
                                   "estimated_credits": integer(minimum=0)},
                                  ("input_tokens", "max_output_tokens", "estimated_credits")),
        "PlaygroundConfig": obj({"free": obj({"available": {"type": "boolean"}, "runs_limit": integer(),
                                              "runs_left": integer(minimum=0), "models": array(string())},
                                             ("available", "runs_limit", "runs_left", "models")),
                                 "models": obj({}), "anthropic_version": string()}, ("free", "models")),
    }


def _error_schemas() -> dict[str, Schema]:
    return {
        "AnthropicError": obj({
            "type": const("error"),
            "error": obj({"type": string(minLength=1), "message": string(minLength=1)}, ("type", "message")),
            "request_id": string(),
        }, ("type", "error"), description="Anthropic's error shape."),
        "OpenAIError": obj({
            "error": obj({"message": string(minLength=1), "type": string(minLength=1), "param": nullable(string()),
                          "code": nullable(string())}, ("message", "type", "param", "code")),
        }, ("error",), description="OpenAI's error shape."),
        "GeminiError": obj({
            "error": obj({"code": integer(minimum=400, maximum=599), "message": string(minLength=1),
                          "status": string(pattern="^[A-Z_]+$"), "details": array(obj({}))},
                         ("code", "message", "status")),
        }, ("error",), description="Google's error shape (google.rpc.Status)."),
        "SSEEvent": obj({"event": string(), "data": string()}, ("data",),
                        description="One server-sent event (message/chunk JSON in data)."),
    }


def components() -> Schema:
    """Schemas, security schemes and headers shared by every operation."""
    schemas: dict[str, Schema] = {}
    for part in (_error_schemas, _anthropic_schemas, _openai_schemas, _gemini_schemas, _media_schemas,
                 _admin_schemas, _model_list_schemas, _playground_schemas):
        schemas.update(part())
    return {
        "schemas": schemas,
        "securitySchemes": {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                       "description": "A ByteSpike key (sk-bs-…), or the operator credential on the admin API."},
            "Bearer": {"type": "http", "scheme": "bearer",
                       "description": "Authorization: Bearer with the same key (OpenAI SDKs)."},
            "GoogApiKey": {"type": "apiKey", "in": "header", "name": "x-goog-api-key",
                           "description": "The same key as Google's SDKs and Gemini CLI send it. Never ?key=: a "
                                          "key in the URL is refused."},
        },
        "headers": {
            "RequestId": {"description": "The request (and reservation) id.", "required": True,
                          "schema": string(pattern="^req_")},
            "EstimatedCredits": {"description": "The hold: a ceiling on what the call can cost.",
                                 "schema": string(pattern="^[0-9]+$")},
            "ShouldRetry": {"description": "Whether a retry may succeed.", "required": True,
                            "schema": {"enum": ["true", "false"]}},
        },
    }


# ------------------------------------------------------------------ operations
@dataclass(frozen=True, slots=True)
class Operation:
    """One public endpoint: what it takes, what it answers, and the shape of its errors."""

    method: str
    path: str
    summary: str
    error_shape: str  # anthropic | openai | gemini | by-auth-header | by-body-surface
    tag: str
    secured: bool = True
    body: Schema | None = None  # requestBody.content
    ok: dict[int, Schema] = field(default_factory=dict)  # status -> content
    errors: tuple[int, ...] = ()
    parameters: tuple[Schema, ...] = ()
    paid: bool = False  # estimated_credits header, Idempotency-Key
    page: bool = False  # static page or asset: no request-id header on success
    example: Schema | None = None  # a valid JSON body (docs, and schemathesis' examples phase)

    @property
    def function(self) -> str:
        """The function the production path table sends this path to."""
        from bytespike.http.paths import function_for

        return function_for(re.sub(r"\{[^}]+\}", "x", self.path)) or ""


def _json(schema: Schema) -> Schema:
    """A JSON media type entry."""
    return {JSON: {"schema": schema}}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    """An optional query parameter."""
    out: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        out["description"] = description
    return out


def _path(name: str, example: str | None = None) -> Schema:
    """A path parameter (with an example value that exists, where one is fixed)."""
    out: Schema = {"name": name, "in": "path", "required": True, "schema": string(minLength=1)}
    if example is not None:
        out["example"] = example
    return out


_ANTHROPIC_VERSION = {"name": "anthropic-version", "in": "header", "required": False,
                      "schema": {"enum": ["2023-06-01"]}, "description": "Anthropic SDKs send it; ignored."}
_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
                "schema": string(minLength=1, maxLength=256, pattern=r"^[\x21-\x7e]+$"),
                "description": "Retries with the same key map onto one reservation (never held or billed twice)."}
_ORG_QUERY = _query("org_id", string(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$"), "The operator names the org.")
_SSE_CONTENT = {SSE: {"schema": ref("SSEEvent")}}
_HELLO = {"role": "user", "content": "Hello"}
_FREE_RUN = {"surface": "anthropic",
             "request": {"model": "claude-haiku-5-5", "max_tokens": 256, "messages": [{"role": "user", "content": "A haiku"}]}}


def _operations() -> tuple[Operation, ...]:
    """The table: every public endpoint of every function."""
    admin_errors = (400, 401, 403, 404, 409, 413, 500, 503, 529)
    usage_query = (
        _ORG_QUERY, _query("start", string(format="date")), _query("end", string(format="date")),
        _query("member_id", string(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")),
        _query("key_id", string(pattern=r"^key_[A-Za-z0-9_]{1,64}$")), _query("model", string(maxLength=200)),
        _query("session_id", string(maxLength=128)),
        _query("format", {"enum": ["json", "csv"]}), _query("limit", integer(minimum=1, maximum=10_000)),
        _query("cursor", string(maxLength=2000)),
    )
    csv = {"text/csv": {"schema": string()}}
    page_errors = (404,)
    return (
        # Anthropic Messages surface
        Operation("post", "/v1/messages", "Create a message (Anthropic Messages)", "anthropic", "anthropic",
                  body=_json(ref("MessagesRequest")), ok={200: {**_json(ref("Message")), **_SSE_CONTENT}},
                  errors=_ANTHROPIC_PAID, parameters=(_ANTHROPIC_VERSION, _IDEMPOTENCY), paid=True,
                  example={"model": "claude-haiku-5-5", "max_tokens": 64, "messages": [_HELLO]}),
        Operation("post", "/v1/messages/count_tokens", "Count tokens and estimate credits", "anthropic", "anthropic",
                  body=_json(ref("CountTokensRequest")), ok={200: _json(ref("TokenCount"))},
                  errors=_ANTHROPIC_PAID, parameters=(_ANTHROPIC_VERSION,), paid=True,
                  example={"model": "claude-haiku-5-5", "max_tokens": 64, "messages": [_HELLO]}),
        Operation("get", "/v1/models", "List models (Anthropic shape for Anthropic SDK callers, OpenAI's otherwise)",
                  "by-auth-header", "models", secured=False, ok={200: _json(ref("ModelList"))}, errors=(400, 404),
                  parameters=(_ANTHROPIC_VERSION, _query("limit", integer(minimum=1, maximum=1000)),
                              _query("after_id", string()), _query("before_id", string()))),
        Operation("get", "/v1/models/{model_id}", "Get a model", "by-auth-header", "models", secured=False,
                  ok={200: _json(ref("Model"))}, errors=(404,), parameters=(_ANTHROPIC_VERSION, _path("model_id", "claude-haiku-5-5"))),
        # OpenAI Chat Completions surface (every catalog model, Gemini and Claude included)
        Operation("post", "/v1/chat/completions", "Create a chat completion (OpenAI Chat Completions)", "openai",
                  "openai", body=_json(ref("ChatRequest")), ok={200: {**_json(ref("ChatCompletion")), **_SSE_CONTENT}},
                  errors=_OPENAI_PAID, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "gpt-6-luna", "max_tokens": 64, "messages": [_HELLO]}),
        # OpenAI Responses surface (every catalog model; OpenAI models by pass-through)
        Operation("post", "/v1/responses", "Create a response (OpenAI Responses)", "openai", "openai",
                  body=_json(ref("ResponsesRequest")), ok={200: {**_json(ref("Response")), **_SSE_CONTENT}},
                  errors=_OPENAI_PAID, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "gpt-6-luna", "input": "Hello", "max_output_tokens": 64}),
        Operation("post", "/v1/responses/input_tokens", "Count a response's input tokens and estimate credits",
                  "openai", "openai", body=_json(ref("ResponsesRequest")), ok={200: _json(ref("ResponseInputTokens"))},
                  errors=_OPENAI_PAID, paid=True, example={"model": "claude-haiku-5-5", "input": "Hello"}),
        # Google's Gemini API surface (every chat model; Gemini models by pass-through), at /v1beta
        # (Gemini CLI) and /v1 (google-genai 3.x's default version)
        *_gemini_operations(),
        Operation("post", "/v1/responses/compact", "Compact a conversation (a billed summary as a compaction item)",
                  "openai", "openai", body=_json(ref("CompactRequest")), ok={200: _json(ref("ResponseCompaction"))},
                  errors=_OPENAI_PAID, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "claude-haiku-5-5", "input": "Summarise our plan so far."}),
        Operation("get", "/v1/responses/{response_id}", "Get a stored response (store: true)", "openai", "openai",
                  ok={200: _json(ref("Response"))}, errors=(400, 401, 404),
                  parameters=(_path("response_id", "resp_0123"),)),
        Operation("delete", "/v1/responses/{response_id}", "Delete a stored response", "openai", "openai",
                  ok={200: _json(ref("ResponseDeleted"))}, errors=(401, 404),
                  parameters=(_path("response_id", "resp_0123"),)),
        Operation("get", "/v1/responses/{response_id}/input_items", "List a stored response's input items",
                  "openai", "openai", ok={200: _json(ref("ResponseInputItems"))}, errors=(400, 401, 404),
                  parameters=(_path("response_id", "resp_0123"), _query("limit", integer(minimum=1, maximum=100)),
                              _query("order", {"enum": ["asc", "desc"]}), _query("after", string()))),
        Operation("post", "/v1/responses/{response_id}/cancel", "Cancel a background response (none run here: "
                  "OpenAI's refusal for a foreground one)", "openai", "openai", errors=(400, 401, 404),
                  parameters=(_path("response_id", "resp_0123"),)),
        # Modalities
        Operation("post", "/v1/embeddings", "Create embeddings", "openai", "media", body=_json(ref("EmbeddingsRequest")),
                  ok={200: _json(ref("Embeddings"))}, errors=_OPENAI_MEDIA, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "text-embedding-3-small", "input": ["hello", "world"], "dimensions": 256}),
        Operation("post", "/v1/rerank", "Rerank documents (Cohere/Jina shape)", "openai", "media",
                  body=_json(ref("RerankRequest")), ok={200: _json(ref("Rerank"))}, errors=_OPENAI_MEDIA,
                  parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "rerank-v3.5", "query": "capital of France", "top_n": 1,
                           "documents": ["Paris is in France", "Berlin is in Germany"]}),
        Operation("post", "/v1/images/generations", "Generate images", "openai", "media",
                  body=_json(ref("ImagesRequest")), ok={200: _json(ref("Images"))}, errors=_OPENAI_MEDIA,
                  parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "gpt-image-1", "prompt": "a lighthouse", "size": "1024x1024", "quality": "low"}),
        Operation("post", "/v1/images/edits", "Edit images (multipart)", "openai", "media",
                  body={MULTIPART: {"schema": ref("ImageEditRequest"),
                                    "encoding": {"image": {"contentType": "image/png"},
                                                 "mask": {"contentType": "image/png"}}}},
                  ok={200: _json(ref("Images"))}, errors=_OPENAI_MEDIA, parameters=(_IDEMPOTENCY,), paid=True),
        Operation("post", "/v1/audio/speech", "Text to speech (streamed audio)", "openai", "media",
                  body=_json(ref("SpeechRequest")),
                  ok={200: {t: {"schema": string(contentMediaType=t)} for t in
                            ("audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/wav", "audio/pcm")}},
                  errors=_OPENAI_MEDIA, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "tts-1", "voice": "alloy", "input": "Hello!", "response_format": "wav"}),
        Operation("post", "/v1/audio/transcriptions", "Transcribe audio (multipart)", "openai", "media",
                  body={MULTIPART: {"schema": ref("TranscriptionRequest"),
                                    "encoding": {"file": {"contentType": "audio/wav"}}}},
                  ok={200: {**_json({"anyOf": [ref("Transcription"), obj({"text": string()}, ("text",))]}),
                            "text/plain": {"schema": string()}, "text/vtt": {"schema": string()}}},
                  errors=_OPENAI_MEDIA, parameters=(_IDEMPOTENCY,), paid=True),
        Operation("post", "/v1/videos", "Create a video job (async; JSON or multipart)", "openai", "media",
                  body={**_json(ref("VideoRequest")),
                        MULTIPART: {"schema": ref("VideoForm"),
                                    "encoding": {"input_reference": {"contentType": "image/png"}}}},
                  ok={200: _json(ref("Video"))}, errors=_OPENAI_MEDIA, parameters=(_IDEMPOTENCY,), paid=True,
                  example={"model": "doubao-seedance-2-0", "prompt": "a paper boat", "seconds": "5", "size": "1280x720"}),
        Operation("get", "/v1/videos/{video_id}", "Get a video job (polls upstream when due)", "openai", "media",
                  ok={200: _json(ref("Video"))}, errors=_OPENAI_MEDIA, parameters=(_path("video_id"),)),
        Operation("delete", "/v1/videos/{video_id}", "Cancel or delete a video job", "openai", "media",
                  ok={200: _json(ref("VideoDeleted"))}, errors=_OPENAI_MEDIA, parameters=(_path("video_id"),)),
        Operation("get", "/v1/videos/{video_id}/content", "Download the video", "openai", "media",
                  ok={200: {"video/mp4": {"schema": string(contentMediaType="video/mp4")}}}, errors=_OPENAI_MEDIA,
                  parameters=(_path("video_id"), _query("variant", {"enum": ["video"]}))),
        # Admin API (docs/ADMIN.md)
        Operation("post", "/v1/orgs", "Create an org: wallet + master key (operator)", "by-auth-header", "admin",
                  body=_json(ref("CreateOrg")), ok={201: _json(ref("OrgCreated"))}, errors=admin_errors,
                  example={"org_id": "acme", "name": "Acme Inc", "credits": 5_000_000}),
        Operation("get", "/v1/orgs/{org_id}", "An org and its wallet", "by-auth-header", "admin",
                  ok={200: _json(ref("Org"))}, errors=admin_errors, parameters=(_path("org_id"),)),
        Operation("post", "/v1/orgs/{org_id}/topups", "Top up (idempotent by topup_id; operator)", "by-auth-header",
                  "admin", body=_json(ref("TopUp")),
                  ok={200: _json(ref("Org")), 201: _json(ref("Org"))}, errors=admin_errors,
                  parameters=(_path("org_id"),), example={"amount": 20_000_000, "topup_id": "inv-001"}),
        Operation("post", "/v1/keys", "Mint a key (secret shown once)", "by-auth-header", "admin",
                  body=_json(ref("CreateKey")), ok={201: _json(ref("KeyWithSecret"))}, errors=admin_errors,
                  example={"member_id": "alice", "label": "laptop", "quota": 2_000_000, "quota_period": "month",
                           "models": ["claude-haiku-5-5"], "rpm": 60}),
        Operation("get", "/v1/keys", "List keys (never secrets)", "by-auth-header", "admin",
                  ok={200: _json(ref("KeyList"))}, errors=admin_errors,
                  parameters=(_ORG_QUERY, _query("status", {"enum": ["active", "revoked", "all"]}))),
        Operation("get", "/v1/keys/self", "The calling key itself (members too)", "by-auth-header", "admin",
                  ok={200: _json(ref("KeySelf"))}, errors=admin_errors),
        Operation("get", "/v1/keys/{key_id}", "One key", "by-auth-header", "admin", ok={200: _json(ref("Key"))},
                  errors=admin_errors, parameters=(_path("key_id"), _ORG_QUERY)),
        Operation("post", "/v1/keys/{key_id}/revoke", "Revoke a key (idempotent)", "by-auth-header", "admin",
                  ok={200: _json(ref("Key"))}, errors=admin_errors, parameters=(_path("key_id"), _ORG_QUERY)),
        Operation("post", "/v1/keys/{key_id}/rotate", "Rotate a key's secret", "by-auth-header", "admin",
                  ok={200: _json(ref("KeyWithSecret"))}, errors=admin_errors, parameters=(_path("key_id"), _ORG_QUERY)),
        Operation("get", "/v1/usage", "Usage rows (JSON or CSV)", "by-auth-header", "admin",
                  ok={200: {**_json(ref("UsageRows")), **csv}}, errors=admin_errors, parameters=usage_query),
        Operation("get", "/v1/usage/summary", "Usage per member/model/day (JSON or CSV)", "by-auth-header", "admin",
                  ok={200: {**_json(ref("UsageSummary")), **csv}}, errors=admin_errors,
                  parameters=(*usage_query[:-1], _query("group_by", string(maxLength=100)))),
        Operation("get", "/v1/usage/{request_id}", "Billed usage of one request", "by-auth-header", "admin",
                  ok={200: _json(ref("RequestUsage"))}, errors=admin_errors, parameters=(_path("request_id"),)),
        # Alerts (docs/CONSOLE.md)
        Operation("get", "/v1/alerts", "Alert rules of the org (never the signing secret)", "by-auth-header", "admin",
                  ok={200: _json(ref("AlertRulesView"))}, errors=admin_errors, parameters=(_ORG_QUERY,)),
        Operation("put", "/v1/alerts", "Set the alert rules (thresholds, webhook, emails)", "by-auth-header", "admin",
                  body=_json(ref("AlertRules")), ok={200: _json(ref("AlertRulesView"))}, errors=admin_errors,
                  parameters=(_ORG_QUERY,),
                  example={"wallet": [50, 80, 100], "quota": [80, 100], "webhook_url": "https://example.com/hooks/bs",
                           "emails": ["ops@example.com"]}),
        Operation("post", "/v1/alerts/test", "Send a test alert through every channel", "by-auth-header", "admin",
                  ok={202: _json(ref("AlertTest"))}, errors=admin_errors, parameters=(_ORG_QUERY,)),
        Operation("get", "/v1/alerts/events", "Alert events and their delivery log", "by-auth-header", "admin",
                  ok={200: _json(ref("AlertEvents"))}, errors=admin_errors,
                  parameters=(_ORG_QUERY, _query("limit", integer(minimum=1, maximum=500)))),
        # The console (static; it calls the admin API with the signed-in key)
        Operation("get", "/console", "The console (redirects to /console/)", "openai", "page", secured=False, page=True,
                  ok={308: {}}, errors=page_errors),
        Operation("get", "/console/", "The console page", "openai", "page", secured=False, page=True,
                  ok={200: {"text/html": {"schema": string()}}, 304: {}}, errors=page_errors),
        Operation("get", "/console/static/{name}", "A console asset (the page, its script and style, uPlot)", "openai",
                  "page", secured=False, page=True,
                  ok={200: {t: {"schema": string()} for t in ("text/html", "text/javascript", "text/css", "text/plain")},
                      304: {}}, errors=page_errors, parameters=(_path("name", "console.js"),)),
        # Playground (no key: free runs on the house wallet, per client IP)
        Operation("get", "/playground/config", "Playground: free-run rules and runs left", "anthropic", "playground",
                  secured=False, ok={200: _json(ref("PlaygroundConfig"))}),
        Operation("post", "/playground/estimate", "Playground: estimate a free run", "by-body-surface", "playground",
                  secured=False, body=_json(ref("PlaygroundRequest")), ok={200: _json(ref("PlaygroundEstimate"))},
                  errors=(400, 403, 404, 413, 500), paid=True, example=_FREE_RUN),
        Operation("post", "/playground/run", "Playground: one free run (streaming)", "by-body-surface", "playground",
                  secured=False, body=_json(ref("PlaygroundRequest")), ok={200: _SSE_CONTENT},
                  errors=(*_ANTHROPIC_PAID, 503), paid=True, example=_FREE_RUN),
        Operation("get", "/", "The playground page", "anthropic", "page", secured=False, page=True,
                  ok={200: {"text/html": {"schema": string()}}, 304: {}}, errors=page_errors),
        Operation("get", "/playground", "The playground page", "anthropic", "page", secured=False, page=True,
                  ok={200: {"text/html": {"schema": string()}}, 304: {}}, errors=page_errors),
        Operation("get", "/playground/", "The playground page", "anthropic", "page", secured=False, page=True,
                  ok={200: {"text/html": {"schema": string()}}, 304: {}}, errors=page_errors),
        Operation("get", "/playground/static/{name}", "A playground asset", "anthropic", "page", secured=False,
                  page=True, ok={200: {t: {"schema": string()} for t in ("text/html", "text/javascript", "text/css")},
                                 304: {}},
                  errors=page_errors, parameters=(_path("name", "app.js"),)),
    )


def _gemini_operations() -> tuple[Operation, ...]:
    """The Gemini API's model methods, under /v1beta/models (the Gemini function) and /v1/models."""
    chat = next(m for m in _model_ids("chat") if m.startswith("claude-haiku"))
    embedder = next(m for m in _model_ids("embeddings") if m.startswith("gemini"))
    hello = {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}], "generationConfig": {"maxOutputTokens": 64}}
    alt = _query("alt", {"enum": ["sse", "json"]}, "sse: Server-Sent Events; json (default): one JSON array.")
    ops: list[Operation] = []
    for prefix in ("/v1beta/models", "/v1/models"):
        model = _path("model", chat)
        ops += [
            Operation("post", prefix + "/{model}:generateContent", "Generate content (Gemini API)", "gemini", "gemini",
                      body=_json(ref("GenerateContentRequest")), ok={200: _json(ref("GenerateContentResponse"))},
                      errors=_GEMINI_PAID, parameters=(model, _IDEMPOTENCY), paid=True, example=hello),
            Operation("post", prefix + "/{model}:streamGenerateContent",
                      "Stream generated content (Gemini API; alt=sse or one JSON array)", "gemini", "gemini",
                      body=_json(ref("GenerateContentRequest")),
                      ok={200: {**_json(array(ref("GenerateContentResponse"))), **_SSE_CONTENT}},
                      errors=_GEMINI_PAID, parameters=(model, alt, _IDEMPOTENCY), paid=True, example=hello),
            Operation("post", prefix + "/{model}:countTokens", "Count tokens and estimate credits (Gemini API)",
                      "gemini", "gemini", body=_json(ref("GeminiCountTokensRequest")),
                      ok={200: _json(ref("GeminiCountTokens"))}, errors=_GEMINI_PAID, parameters=(model,), paid=True,
                      example={"contents": hello["contents"]}),
            Operation("post", prefix + "/{model}:embedContent", "Embed content (Gemini API)", "gemini", "gemini",
                      body=_json(ref("EmbedContentRequest")), ok={200: _json(ref("EmbedContentResponse"))},
                      errors=_GEMINI_PAID, parameters=(_path("model", embedder), _IDEMPOTENCY), paid=True,
                      example={"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 256}),
            Operation("post", prefix + "/{model}:batchEmbedContents", "Embed a batch of contents (Gemini API)",
                      "gemini", "gemini", body=_json(ref("BatchEmbedContentsRequest")),
                      ok={200: _json(ref("BatchEmbedContentsResponse"))}, errors=_GEMINI_PAID,
                      parameters=(_path("model", embedder), _IDEMPOTENCY), paid=True,
                      example={"requests": [{"model": f"models/{embedder}", "content": {"parts": [{"text": "hi"}]}}]}),
        ]
    page = (_query("pageSize", integer(minimum=0, maximum=1000)), _query("pageToken", string()))
    ops += [
        Operation("get", "/v1beta/models", "List models (Gemini API shape)", "gemini", "models", secured=False,
                  ok={200: _json(ref("GeminiModelList"))}, errors=(400, 401), parameters=page),
        Operation("get", "/v1beta/models/{model}", "Get a model (Gemini API shape)", "gemini", "models",
                  secured=False, ok={200: _json(ref("GeminiModel"))}, errors=(401, 404),
                  parameters=(_path("model", chat),)),
    ]
    return tuple(ops)


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 304: "Not modified", 308: "Permanent redirect", 400: "Invalid request", 401: "Missing or invalid key",
            402: "Not enough credits or quota", 403: "Not permitted", 404: "Not found", 409: "Conflict",
            410: "Model retired", 413: "Request too large", 429: "Rate limited", 500: "Gateway fault",
            502: "Upstream error", 503: "Overloaded (OpenAI shape)", 504: "Upstream timeout",
            529: "Overloaded (Anthropic shape)"}


def _error_schema(shape: str) -> Schema:
    """The error body schema of an error shape (both shapes where the request decides)."""
    if shape == "anthropic":
        return ref("AnthropicError")
    if shape == "openai":
        return ref("OpenAIError")
    if shape == "gemini":
        return ref("GeminiError")
    if shape == "by-auth-header":
        return {"anyOf": [ref("AnthropicError"), ref("OpenAIError"), ref("GeminiError")]}
    return {"anyOf": [ref("AnthropicError"), ref("OpenAIError")]}


def _render(op: Operation) -> Schema:
    """One operation object of the document."""
    headers: Schema = {} if op.page else {"request-id": {"$ref": "#/components/headers/RequestId"}}
    if op.paid:
        headers["estimated_credits"] = {"$ref": "#/components/headers/EstimatedCredits"}
    responses: Schema = {}
    for status, content in op.ok.items():
        response: Schema = {"description": _REASONS[status]}
        if content:
            response["content"] = content
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    err_headers = {"request-id": {"$ref": "#/components/headers/RequestId"},
                   "x-should-retry": {"$ref": "#/components/headers/ShouldRetry"}}
    for status in sorted({*op.errors, 404}):
        responses[str(status)] = {"description": _REASONS[status], "headers": err_headers,
                                  "content": _json(_error_schema(op.error_shape))}
    out: Schema = {
        "operationId": re.sub(r"[^a-zA-Z0-9]+", "_", f"{op.method}{op.path}").strip("_") or op.method,
        "summary": op.summary, "tags": [op.tag], "responses": responses,
        "security": [{"ApiKey": []}, {"Bearer": []}, {"GoogApiKey": []}] if op.secured else [],
        "x-bytespike-function": op.function, "x-bytespike-error-shape": op.error_shape,
    }
    if op.parameters:
        out["parameters"] = list(op.parameters)
    if op.body is not None:
        content = copy.deepcopy(op.body)
        if op.example is not None:
            content[JSON]["example"] = op.example
        out["requestBody"] = {"required": True, "content": content}
    return out


@cache
def _document(function: str | None) -> Schema:
    """The document (cached; callers must not mutate it)."""
    paths: Schema = {}
    for op in _operations():
        if function is None or op.function == function:
            paths.setdefault(op.path, {})[op.method] = _render(op)
    title = "ByteSpike gateway" if function is None else f"ByteSpike {function}"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": "0.1.0",
                 "description": "One key, one wallet, every frontier model: the Anthropic Messages, OpenAI "
                                "Chat Completions and Responses, and Gemini API surfaces, modalities, the admin API "
                                "and the playground."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components(),
    }


def build_document(function: str | None = None) -> Schema:
    """The OpenAPI document: every operation, or those one function serves (a fresh copy)."""
    return copy.deepcopy(_document(function))


def operations() -> tuple[Operation, ...]:
    """Every documented operation (the tests read their error shapes here)."""
    return _operations()


def served_by(function: str) -> str | None:
    """What ``function`` serves at ``/openapi.json``: its own operations, or the whole document
    (None) if the path table ever routes ``/openapi.json`` itself to this function."""
    from bytespike.http.paths import function_for

    return None if function_for("/openapi.json") == function else function


def document_for(function: str) -> dict[str, Any]:
    """What ``function`` serves at ``/openapi.json`` (``http/app.py`` installs it, built on first request)."""
    return _document(served_by(function))
