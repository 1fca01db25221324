"""Pydantic model of the OpenAI Chat Completions request, for validation and the OpenAPI schema.

Validation only: pass-through lanes forward the client's JSON, so fields this model does
not know still reach the upstream. What it does model is typed strictly, as OpenAI itself
checks types ("Invalid type for 'max_tokens': expected an integer, but got a string
instead."): the handlers hold and route on these values (issue #15).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StrictBool, StrictInt, StrictStr, Tag, model_validator

from bytespike.wire.media import IMAGE_MEDIA_TYPES, decode_base64, sniff_image
from bytespike.wire.strict import Number, Strict


def _data_url_problem(url: str) -> str | None:
    """What every upstream refuses in a ``data:<type>;base64,<data>`` URL: base64 that does not
    decode (OpenAI: "Expected a base64-encoded data URL with an image MIME type …, but got an
    invalid base64-encoded value"), or bytes that are no image of a format the URL names (OpenAI:
    "You uploaded an unsupported image"; Anthropic: "Image does not match the provided media
    type"). Plain URLs are the upstream's to fetch."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url.partition(",")
    if not (sep and header.endswith(";base64")):
        return None
    raw = decode_base64(data)
    if raw is None:
        return "invalid base64 data in the data URL"
    declared = header[5:-7].lower()
    if declared in IMAGE_MEDIA_TYPES and sniff_image(raw[:16]) is None:
        return f"the data is not a {declared} image"
    return None


class ImageURL(Strict):
    url: StrictStr
    detail: StrictStr | None = None

    @model_validator(mode="after")
    def _inline(self) -> ImageURL:
        problem = _data_url_problem(self.url)
        if problem is not None:
            raise ValueError(f"url: {problem}")
        return self


class TextPart(Strict):
    type: Literal["text"]
    text: StrictStr


class ImagePart(Strict):
    type: Literal["image_url"]
    image_url: ImageURL | StrictStr  # a bare string is not OpenAI's shape, but the Claude lane reads it

    @model_validator(mode="after")
    def _inline(self) -> ImagePart:
        problem = _data_url_problem(self.image_url) if isinstance(self.image_url, str) else None
        if problem is not None:
            raise ValueError(f"image_url: {problem}")
        return self


class OtherPart(Strict):
    """input_audio, file, refusal and future part types: the upstream judges them."""

    type: StrictStr


def _part_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in ("text", "image_url") else "other"


ContentPart = Annotated[
    Annotated[TextPart, Tag("text")] | Annotated[ImagePart, Tag("image_url")] | Annotated[OtherPart, Tag("other")],
    Discriminator(_part_tag),
]


class FunctionCall(Strict):
    name: StrictStr
    arguments: StrictStr | dict[str, Any] | None = None  # a JSON string at OpenAI (lane rule: gateway/precheck.py)


class ToolCall(Strict):
    id: StrictStr
    type: StrictStr | None = None
    function: FunctionCall | None = None

    @model_validator(mode="after")
    def _function(self) -> ToolCall:
        if self.type in (None, "function") and self.function is None:
            raise ValueError("function: Field required")
        return self


class ChatMessage(Strict):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_call_id: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: StrictStr | None = None

    @model_validator(mode="after")
    def _content_required(self) -> ChatMessage:
        """Only an assistant turn may omit content (when it carries tool calls), as at OpenAI."""
        if self.content is None and self.role != "assistant":
            raise ValueError(f"content: a '{self.role}' message needs content (a string or a list of parts)")
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("tool_call_id: Field required (a 'tool' message answers one tool call)")
        return self


class StreamOptions(Strict):
    include_usage: StrictBool | None = None
    include_obfuscation: StrictBool | None = None


class ChatRequest(Strict):
    """POST /v1/chat/completions."""

    model: StrictStr = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    n: StrictInt | None = Field(default=None, ge=1, le=128)
    temperature: Number | None = Field(default=None, ge=0, le=2)
    top_p: Number | None = Field(default=None, ge=0, le=1)
    top_k: StrictInt | None = Field(default=None, ge=0)  # not OpenAI's; the Claude lane forwards it
    presence_penalty: Number | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(default=None, ge=-2, le=2)
    seed: StrictInt | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    parallel_tool_calls: StrictBool | None = None
    user: StrictStr | None = None
    safety_identifier: StrictStr | None = None
    prompt_cache_key: StrictStr | None = None
    reasoning_effort: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: StrictStr | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    stop: StrictStr | list[StrictStr] | None = None
