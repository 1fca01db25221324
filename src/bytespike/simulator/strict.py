"""Strictness the real provider APIs have and the protocol modules' own checks lacked (issue #15).

A simulator more lenient than the API it stands for grades tests on requests production would
refuse. Each check here is what that provider answers with a 400 - the wording from a recorded
body or the provider's docs, cited beside it - and each protocol module calls its function from
its ``validate`` (one line), so this file holds the whole list. The gateway passes unknown fields,
block types and betas through; for those the simulator's verdict is what production's would be.

Also here: never *stricter* than the API. Everything the pinned Anthropic SDK can send as a
content block is accepted (``ANTHROPIC_BLOCK_TYPES``, checked against the SDK by a test), and
numbers follow each provider's JSON rules (Gemini's protobuf JSON takes "100" for an integer).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from bytespike.simulator.wire import SimError
from bytespike.wire.media import (
    GEMINI_IMAGE_TYPES,
    IMAGE_MEDIA_TYPES,
    decode_base64,
    image_mismatch,
    sniff_image,
)

# Every block type the anthropic SDK (requirements.lock) sends in a message: BetaContentBlockParam,
# which includes the response blocks (BetaContentBlock) a client passes back.
# tests/unit/test_simulator_strict.py::test_block_types_are_exactly_what_the_pinned_sdk_can_send
ANTHROPIC_BLOCK_TYPES = frozenset({
    "advisor_tool_result", "bash_code_execution_tool_result", "code_execution_tool_result", "compaction",
    "container_upload", "document", "fallback", "image", "mcp_tool_listing", "mcp_tool_result", "mcp_tool_use",
    "redacted_thinking", "search_result", "server_tool_use", "text", "text_editor_code_execution_tool_result",
    "thinking", "tool_addition", "tool_removal", "tool_result", "tool_search_tool_result", "tool_use",
    "web_fetch_tool_result", "web_search_tool_result",
})


def model_max_output(upstream_model: Any) -> int | None:
    """The catalog's output limit for a provider's own model id (None when the catalog lacks it)."""
    if not isinstance(upstream_model, str):
        return None
    from bytespike.catalog import catalog

    for model in catalog().models.values():
        if model.upstream_model == upstream_model and model.modality == "chat":
            return model.max_output_tokens
    return None


def _model_of(upstream_model: Any) -> Any:
    from bytespike.catalog import catalog

    return next((m for m in catalog().models.values() if m.upstream_model == upstream_model), None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- Anthropic
def _a(message: str) -> SimError:
    return SimError(400, message, "invalid_request_error")


def _anthropic_images(blocks: list[Any], where: str) -> None:
    for j, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        here = f"{where}.{j}"
        source = block.get("source")
        if block.get("type") == "image" and isinstance(source, dict) and source.get("type") == "base64":
            data, media = source.get("data"), source.get("media_type")
            if media in IMAGE_MEDIA_TYPES and isinstance(data, str):
                problem = image_mismatch(media, data)
                if problem is not None:
                    # "messages.6.content.5.image.source.base64.data: Image does not match the provided
                    # media type image/png" (claude-code #15746); "...image.source.base64: The image was
                    # specified using the image/png media type, but the image appears to be a image/jpeg
                    # image" (litellm #24900)
                    suffix = ".data" if "appears to be" not in problem else ""
                    raise _a(f"{here}.image.source.base64{suffix}: {problem}")
        elif block.get("type") == "document" and isinstance(source, dict) and source.get("type") == "base64":
            if source.get("media_type") != "application/pdf":
                raise _a(f"{here}.document.source.base64.media_type: Input should be 'application/pdf'")
            if not isinstance(source.get("data"), str) or decode_base64(source["data"]) is None:
                raise _a(f"{here}.document.source.base64.data: The PDF specified was not valid.")
        elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
            _anthropic_images(block["content"], f"{here}.tool_result.content")


def anthropic(body: dict[str, Any], *, count_only: bool = False) -> None:
    """POST /v1/messages (and count_tokens): types, block types, image bytes, max_tokens bounds."""
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise _a("stream: Input should be a valid boolean")
    for name, high in (("temperature", 1), ("top_p", 1)):
        value = body.get(name)
        if value is not None and not _is_number(value):
            raise _a(f"{name}: Input should be a valid number")
        if value is not None and not 0 <= value <= high:
            raise _a(f"{name}: Input should be {'greater than or equal to 0' if value < 0 else f'less than or equal to {high}'}")
    if body.get("top_k") is not None and (not _is_int(body["top_k"]) or body["top_k"] < 0):
        raise _a("top_k: Input should be a valid integer greater than or equal to 0")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise _a("stop_sequences: Input should be a valid list of strings")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _a("metadata: Input should be a valid dictionary")
        if metadata.get("user_id") is not None and not isinstance(metadata["user_id"], str):
            raise _a("metadata.user_id: Input should be a valid string")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is not None \
            and not isinstance(choice["disable_parallel_tool_use"], bool):
        raise _a(f"tool_choice.{choice.get('type')}.disable_parallel_tool_use: Input should be a valid boolean")
    limit = model_max_output(body.get("model"))
    max_tokens = body.get("max_tokens")
    if not count_only and limit is not None and _is_int(max_tokens) and max_tokens > limit:
        # "max_tokens: 21333 > 4096, which is the maximum allowed number of output tokens for
        # claude-3-opus-20240229" (claude-code #11302)
        raise _a(f"max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of output tokens for "
                 f"{body['model']}")
    expected = ", ".join(f"'{t}'" for t in sorted(ANTHROPIC_BLOCK_TYPES))
    for i, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if isinstance(kind, str) and kind not in ANTHROPIC_BLOCK_TYPES:
                # pydantic's tagged-union error, as the Messages API words it
                raise _a(f"messages.{i}.content.{j}: Input tag '{kind}' found using 'type' does not match any of "
                         f"the expected tags: {expected}")
            if kind == "text" and isinstance(block, dict) and not isinstance(block.get("text"), str):
                raise _a(f"messages.{i}.content.{j}.text.text: Input should be a valid string")
        _anthropic_images(content, f"messages.{i}.content")


# ---------------------------------------------------------------- OpenAI Chat Completions (and DeepSeek, Ark)
_JSON_TYPE = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
              dict: "an object", type(None): "null"}


def _o(message: str, param: str | None, code: str | None) -> SimError:
    return SimError(400, message, "invalid_request_error", param, code)


def _type_error(param: str, expected: str, value: Any) -> SimError:
    # "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an
    # object instead." (OpenAI; the same wording for every parameter: openai-python #1635)
    got = _JSON_TYPE.get(type(value), "a value")
    return _o(f"Invalid type for '{param}': expected {expected}, but got {got} instead.", param, "invalid_type")


_OPENAI_PARTS = {"user": ("text", "image_url", "input_audio", "file"), "system": ("text",), "developer": ("text",),
                 "assistant": ("text", "refusal"), "tool": ("text",)}


def _openai_part(part: Any, param: str, role: str) -> None:
    if not isinstance(part, dict):
        raise _type_error(param, "an object", part)
    kind = part.get("type")
    allowed = _OPENAI_PARTS.get(role, ("text",))
    if kind not in allowed:
        if kind == "image_url":
            raise _o(f"Invalid '{param}'. Image URLs are only allowed for messages with role 'user', but this message "
                     f"with role '{role}' contains an image URL.", param, "invalid_value")
        supported = ", ".join(f"'{k}'" for k in allowed)
        raise _o(f"Invalid value: '{kind}'. Supported values are: {supported}.", f"{param}.type", "invalid_value")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _type_error(f"{param}.text", "a string", part.get("text"))
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict):
            raise _type_error(f"{param}.image_url", "an object", image)
        url = image.get("url")
        if not isinstance(url, str):
            raise _type_error(f"{param}.image_url.url", "a string", url)
        _openai_data_url(url, f"{param}.image_url.url")


def _openai_data_url(url: str, param: str) -> None:
    """An image data URL as OpenAI checks it (Chat Completions and Responses alike)."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        raw = decode_base64(data) if header.endswith(";base64") else None
        if raw is None:
            raise _o(f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type "
                     "(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid base64-encoded "
                     "value.", param, "invalid_value")
        if sniff_image(raw[:16]) is None:
            raise _o("You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is "
                     "of one the following formats: ['png', 'jpeg', 'gif', 'webp'].", None, "invalid_image_format")


def _openai_tool_choice(choice: Any) -> None:
    """``tool_choice`` as Chat Completions and Responses both check it: a known mode or an object."""
    if isinstance(choice, str) and choice not in ("none", "auto", "required"):
        raise _o(f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice",
                 "invalid_value")
    if choice is not None and not isinstance(choice, str | dict):
        raise _type_error("tool_choice", "one of a string or object", choice)


# Responses parameters that are objects (a conversation may also be named by its id).
_RESPONSES_OBJECTS: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("text", dict, "an object"), ("reasoning", dict, "an object"), ("metadata", dict, "an object"),
    ("prompt", dict, "an object"), ("conversation", (str, dict), "one of a string or object"))


def openai(body: dict[str, Any]) -> None:
    """POST /v1/chat/completions: parameter types, content parts, tool calls, the model's output limit."""
    for name in ("stream", "logprobs", "parallel_tool_calls", "store"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise _type_error(name, "a boolean", body[name])
    for name in ("n", "seed", "top_logprobs"):
        if body.get(name) is not None and not _is_int(body[name]):
            raise _type_error(name, "an integer", body[name])
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1), ("presence_penalty", -2, 2),
                            ("frequency_penalty", -2, 2)):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise _type_error(name, "a number", value)
        if value > high:
            raise _o(f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but got {value} "
                     "instead.", name, "decimal_above_max_value")
        if value < low:
            raise _o(f"Invalid '{name}': decimal below minimum value. Expected a value >= {low}, but got {value} "
                     "instead.", name, "decimal_below_min_value")
    for name in ("user", "safety_identifier", "prompt_cache_key", "reasoning_effort"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise _type_error(name, "a string", body[name])
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise _type_error("stream_options", "an object", options)
        if options.get("include_usage") is not None and not isinstance(options["include_usage"], bool):
            raise _type_error("stream_options.include_usage", "a boolean", options["include_usage"])
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None and not _is_int(value):
            raise _type_error(name, "an integer", value)
        limit = model_max_output(body.get("model"))
        if _is_int(value) and limit is not None and value > limit:
            raise _o(f"{name} is too large: {value}. This model supports at most {limit} completion tokens, whereas "
                     f"you provided {value}.", name, "invalid_value")
    _openai_tool_choice(body.get("tool_choice"))
    for i, message in enumerate(body.get("messages") or ()):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                _openai_part(part, f"messages[{i}].content[{j}]", str(role))
        elif content is not None and not isinstance(content, str):
            raise _type_error(f"messages[{i}].content", "one of a string or array of objects", content)
        calls = message.get("tool_calls")
        if calls is None or role != "assistant":
            continue
        if not isinstance(calls, list):
            raise _type_error(f"messages[{i}].tool_calls", "an array", calls)
        for k, call in enumerate(calls):
            where = f"messages[{i}].tool_calls[{k}]"
            if not isinstance(call, dict):
                raise _type_error(where, "an object", call)
            if "id" not in call:
                raise _o(f"Missing required parameter: '{where}.id'.", f"{where}.id", "missing_required_parameter")
            if not isinstance(call["id"], str):
                raise _type_error(f"{where}.id", "a string", call["id"])
            fn = call.get("function")
            if not isinstance(fn, dict):
                raise _type_error(f"{where}.function", "an object", fn)
            for field in ("name", "arguments"):
                if field not in fn:
                    raise _o(f"Missing required parameter: '{where}.function.{field}'.", f"{where}.function.{field}",
                             "missing_required_parameter")
                if not isinstance(fn[field], str):
                    raise _type_error(f"{where}.function.{field}", "a string", fn[field])


_RESPONSES_PARTS = {"user": ("input_text", "input_image", "input_file", "input_audio"), "system": ("input_text",),
                    "developer": ("input_text",), "assistant": ("output_text", "refusal")}


def openai_responses(body: dict[str, Any], items: list[Any]) -> None:
    """POST /v1/responses: the same JSON types and bounds as Chat Completions (one API, one
    validator), content parts per role, data URLs, function-call arguments as strings, the
    model's output limit (worded as Chat Completions words it: no recorded Responses body)."""
    for name in ("stream", "parallel_tool_calls", "store", "background"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise _type_error(name, "a boolean", body[name])
    for name in ("max_output_tokens", "top_logprobs", "max_tool_calls"):
        if body.get(name) is not None and not _is_int(body[name]):
            raise _type_error(name, "an integer", body[name])
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise _type_error(name, "a number", value)
        if not low <= value <= high:
            side = "above maximum" if value > high else "below minimum"
            bound = f"<= {high}" if value > high else f">= {low}"
            raise _o(f"Invalid '{name}': decimal {side} value. Expected a value {bound}, but got {value} instead.",
                     name, f"decimal_{side.replace(' ', '_')}_value")
    for name in ("user", "safety_identifier", "prompt_cache_key", "previous_response_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise _type_error(name, "a string", body[name])
    if body.get("instructions") is not None and not isinstance(body["instructions"], str | list):
        raise _type_error("instructions", "one of a string or array of input items", body["instructions"])
    limit = model_max_output(body.get("model"))
    value = body.get("max_output_tokens")
    if _is_int(value) and limit is not None and value > limit:
        raise _o(f"max_output_tokens is too large: {value}. This model supports at most {limit} completion tokens, "
                 f"whereas you provided {value}.", "max_output_tokens", "invalid_value")
    _openai_tool_choice(body.get("tool_choice"))
    for name, allowed, expected in _RESPONSES_OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], allowed):
            raise _type_error(name, expected, body[name])
    text = body.get("text")
    if isinstance(text, dict) and text.get("format") is not None and not isinstance(text["format"], dict):
        raise _type_error("text.format", "an object", text["format"])
    reasoning = body.get("reasoning")
    for name in ("effort", "summary"):
        if isinstance(reasoning, dict) and reasoning.get(name) is not None and not isinstance(reasoning[name], str):
            raise _type_error(f"reasoning.{name}", "a string", reasoning[name])
    for name in ("tools", "include"):
        if body.get(name) is not None and not isinstance(body[name], list):
            raise _type_error(name, "an array", body[name])
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind in ("function_call", "custom_tool_call"):
            field = "arguments" if kind == "function_call" else "input"
            if field in item and not isinstance(item[field], str):
                raise _type_error(f"input[{i}].{field}", "a string", item[field])
        content = item.get("content")
        if kind != "message" or not isinstance(content, list):
            continue
        allowed = _RESPONSES_PARTS.get(str(item.get("role")), ("input_text",))
        for j, part in enumerate(content):
            param = f"input[{i}].content[{j}]"
            if not isinstance(part, dict):
                raise _type_error(param, "an object", part)
            if part.get("type") not in allowed:
                supported = " and ".join(f"'{k}'" for k in allowed) if len(allowed) == 2 else ", ".join(
                    f"'{k}'" for k in allowed)
                raise _o(f"Invalid value: '{part.get('type')}'. Supported values are: {supported}.", f"{param}.type",
                         "invalid_value")
            if part["type"] in ("input_text", "output_text") and not isinstance(part.get("text"), str):
                raise _type_error(f"{param}.text", "a string", part.get("text"))
            if part["type"] == "input_image" and isinstance(part.get("image_url"), str):
                _openai_data_url(part["image_url"], f"{param}.image_url")


def deepseek(body: dict[str, Any]) -> None:
    """DeepSeek on top of OpenAI's rules: its own output-limit message and no images where the model
    takes none. Both worded as DeepSeek answers (serde deserialisation errors)."""
    limit = model_max_output(body.get("model"))
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if _is_int(value) and limit is not None and not 1 <= value <= limit:
            raise _o(f"Invalid max_tokens value, the valid range of max_tokens is [1, {limit}]", name, None)
    model = _model_of(body.get("model"))
    if model is None or "vision" in model.capabilities:
        return
    for i, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            # rikkahub #1433, chatluna #867: "Failed to deserialize the JSON body into the target type:
            # messages[1]: unknown variant `image_url`, expected `text` at line 1 column 679289"
            raise _o(f"Failed to deserialize the JSON body into the target type: messages[{i}]: unknown variant "
                     "`image_url`, expected `text` at line 1 column 1", None, "invalid_request_error")


# ---------------------------------------------------------------- Gemini generateContent
_PROTO_INT = re.compile(r"-?\d+")


def _gemini_inline(data: Any) -> bool:
    """protobuf JSON bytes: standard or URL-safe base64, padding optional."""
    if not isinstance(data, str):
        return False
    text = "".join(data.split())
    try:
        base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None,
                         validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def gemini(body: dict[str, Any], error: type[Exception]) -> None:
    """generateContent: inline data that decodes, image types Gemini takes, integer fields, the
    function-calling mode. ``error`` is the module's GeminiError (status, message)."""
    for i, content in enumerate(body.get("contents") or ()):
        parts = content.get("parts") if isinstance(content, dict) else None
        for j, part in enumerate(parts if isinstance(parts, list) else ()):
            inline = part.get("inlineData") or part.get("inline_data") if isinstance(part, dict) else None
            if not isinstance(inline, dict):
                continue
            where = f"contents[{i}].parts[{j}].inline_data"
            mime = inline.get("mimeType") or inline.get("mime_type")
            if isinstance(mime, str) and mime.startswith("image/") and mime not in GEMINI_IMAGE_TYPES:
                # {"error": {"code": 400, "message": "Unsupported MIME type: image/jpg", "status":
                # "INVALID_ARGUMENT"}} (comic-translate #399); GIF is not a supported format (docs)
                raise error(400, f"Unsupported MIME type: {mime}")
            if not _gemini_inline(inline.get("data")):
                shown = str(inline.get("data"))[:40]
                raise error(400, f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"")
    gen = body.get("generationConfig")
    if isinstance(gen, dict):
        for name, proto in (("maxOutputTokens", "max_output_tokens"), ("candidateCount", "candidate_count"),
                            ("topK", "top_k")):
            value = gen.get(name)
            ok = value is None or _is_int(value) or (isinstance(value, str) and _PROTO_INT.fullmatch(value))
            if not ok:
                raise error(400, f"Invalid value at 'generation_config.{proto}' (TYPE_INT32), {_proto_repr(value)}")
        for name, proto in (("temperature", "temperature"), ("topP", "top_p")):
            value = gen.get(name)
            if value is not None and not _is_number(value):
                raise error(400, f"Invalid value at 'generation_config.{proto}' (TYPE_FLOAT), {_proto_repr(value)}")
    config = body.get("toolConfig")
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    mode = calling.get("mode") if isinstance(calling, dict) else None
    if mode is not None and mode not in ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"):
        raise error(400, "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/"
                         f"google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), {_proto_repr(mode)}")


def _proto_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return "true" if value is True else "false" if value is False else str(value)
