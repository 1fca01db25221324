"""The JSON types of Google's ``GenerateContentRequest``, checked as Google's proto3 JSON parser does.

The Gemini surface checks a request's field types before anything is held, on every lane: a
value Google would refuse ("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)")
is refused here in the same words, instead of being read leniently by the translator (a Claude
model answering a request Gemini would have refused) or held and forwarded to fail upstream.

proto3 JSON is looser than JSON Schema and this checker is exactly as loose: ``null`` is "not
set" for any field, numbers may be decimal strings, integral floats are integers, enums are
names or numbers, field names are camelCase or snake_case. Fields it does not know are not
checked (Google's newer fields pass through to a Gemini upstream untouched); ``Struct`` and
``Value`` fields (a call's ``args``, a schema) take their own JSON as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import TranslationError

# A field's type: a scalar name, a message name, or ("list" | "map", element type).
Spec = str | tuple[str, "Spec"]

_SCALARS = {"string", "bytes", "bool", "int32", "int64", "float", "enum", "struct", "value"}
_PROTO_NAMES = {"string": "TYPE_STRING", "bytes": "TYPE_BYTES", "bool": "TYPE_BOOL", "int32": "TYPE_INT32",
                "int64": "TYPE_INT64", "float": "TYPE_FLOAT", "enum": "TYPE_ENUM", "struct": "TYPE_MESSAGE"}

MESSAGES: dict[str, dict[str, Spec]] = {
    "GenerateContentRequest": {
        "model": "string", "contents": ("list", "Content"), "systemInstruction": "Content",
        "tools": ("list", "Tool"), "toolConfig": "ToolConfig", "safetySettings": ("list", "SafetySetting"),
        "generationConfig": "GenerationConfig", "cachedContent": "string", "labels": ("map", "string"),
    },
    "Content": {"role": "string", "parts": ("list", "Part")},
    "Part": {
        "text": "string", "thought": "bool", "thoughtSignature": "bytes", "inlineData": "Blob",
        "fileData": "FileData", "functionCall": "FunctionCall", "functionResponse": "FunctionResponse",
        "executableCode": "ExecutableCode", "codeExecutionResult": "CodeExecutionResult",
        "videoMetadata": "struct", "partMetadata": "struct",
    },
    "Blob": {"mimeType": "string", "data": "bytes", "displayName": "string"},
    "FileData": {"mimeType": "string", "fileUri": "string", "displayName": "string"},
    "FunctionCall": {"id": "string", "name": "string", "args": "struct"},
    "FunctionResponse": {"id": "string", "name": "string", "response": "struct", "willContinue": "bool",
                         "scheduling": "enum", "parts": ("list", "value")},
    "ExecutableCode": {"language": "enum", "code": "string"},
    "CodeExecutionResult": {"outcome": "enum", "output": "string"},
    "Tool": {"functionDeclarations": ("list", "FunctionDeclaration"), "googleSearch": "struct",
             "googleSearchRetrieval": "struct", "codeExecution": "struct", "urlContext": "struct"},
    "FunctionDeclaration": {"name": "string", "description": "string", "parameters": "struct",
                            "parametersJsonSchema": "value", "response": "struct", "responseJsonSchema": "value",
                            "behavior": "enum"},
    "ToolConfig": {"functionCallingConfig": "FunctionCallingConfig", "retrievalConfig": "struct"},
    "FunctionCallingConfig": {"mode": "enum", "allowedFunctionNames": ("list", "string")},
    "SafetySetting": {"category": "enum", "threshold": "enum", "method": "enum"},
    "GenerationConfig": {
        "stopSequences": ("list", "string"), "responseMimeType": "string", "responseSchema": "struct",
        "responseJsonSchema": "value", "responseModalities": ("list", "enum"), "candidateCount": "int32",
        "maxOutputTokens": "int32", "temperature": "float", "topP": "float",
        "topK": "float",  # an integer in the Gemini API's docs, a float in Vertex AI's and google-genai's types
        "seed": "int32", "presencePenalty": "float", "frequencyPenalty": "float", "responseLogprobs": "bool",
        "logprobs": "int32", "enableEnhancedCivicAnswers": "bool", "speechConfig": "struct",
        "thinkingConfig": "ThinkingConfig", "mediaResolution": "enum", "imageConfig": "struct",
        "audioTimestamp": "bool",
    },
    "ThinkingConfig": {"includeThoughts": "bool", "thinkingBudget": "int32", "thinkingLevel": "enum"},
}
_INT_TEXT = re.compile(r"^-?\d+$")
_FLOAT_TEXT = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_INT32 = 2**31


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), name)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _scalar_ok(kind: str, value: Any) -> bool:
    if kind in ("string", "bytes"):
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int32", "int64"):
        integral_text = isinstance(value, str) and _INT_TEXT.match(value.strip())
        if integral_text or (isinstance(value, float) and value.is_integer()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return kind == "int64" or -_INT32 <= value < _INT32
    if kind == "float":
        if isinstance(value, str):
            return value in ("NaN", "Infinity", "-Infinity") or bool(_FLOAT_TEXT.match(value.strip()))
        return isinstance(value, int | float) and not isinstance(value, bool) and not (
            isinstance(value, float) and math.isnan(value))
    if kind == "enum":
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if kind == "struct":
        return isinstance(value, dict)
    return True  # value: any JSON


def _refuse(path: str, kind: str, value: Any) -> TranslationError:
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    proto = _PROTO_NAMES.get(kind, "TYPE_MESSAGE")
    if kind.startswith("list"):
        proto = "a list"
    return TranslationError(f"Invalid value at '{path}' ({proto}), {shown[:60]}", _camel(path.split("[")[0]))


def _check(spec: Spec, value: Any, path: str) -> None:
    if value is None:  # proto3 JSON: null is the field's default
        return
    if isinstance(spec, tuple):
        container, element = spec
        if container == "list":
            if not isinstance(value, list):
                raise _refuse(path, "list", value)
            for i, item in enumerate(value):
                _check(element, item, f"{path}[{i}]")
        else:
            if not isinstance(value, dict):
                raise _refuse(path, "struct", value)
            for k, item in value.items():
                _check(element, item, f"{path}[{k!s}]")
        return
    if spec in _SCALARS:
        if not _scalar_ok(spec, value):
            raise _refuse(path, spec, value)
        return
    if not isinstance(value, dict):
        raise _refuse(path, "struct", value)
    fields = MESSAGES[spec]
    for key, item in value.items():
        name = key if key in fields else _camel(key) if _camel(key) in fields else None
        if name is not None:
            _check(fields[name], item, f"{path}.{_snake(name)}" if path else _snake(name))


def check_gemini_request_types(body: dict[str, Any]) -> None:
    """Raise ``TranslationError`` (Google's words, the field's path) for a known field of the wrong
    JSON type in a ``GenerateContentRequest``; unknown fields and well-typed values pass."""
    _check("GenerateContentRequest", body, "")
