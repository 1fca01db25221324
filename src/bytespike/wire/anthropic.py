"""Pydantic models of the Anthropic Messages request, for validation and the OpenAPI schema.

Validation only: the gateway forwards the client's own JSON (not a re-dump of these
models), so unknown fields, block types, thinking signatures and cache_control survive
untouched. What *is* modelled is typed strictly (no ``"100"`` for an integer, no ``"yes"``
for a boolean): the handlers price, route and stream on these values, so a value of the
wrong JSON type is a 400 before anything is held, never a 500 later (issue #15). Each refusal
of a value of the right type cites what the real API answers (docs/SECURITY.md, "Input").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from bytespike.wire.media import IMAGE_MEDIA_TYPES, image_mismatch, valid_base64
from bytespike.wire.strict import Number, Strict

# PDF documents are application/pdf, plain-text sources text/plain (Anthropic's document blocks).
_DOCUMENT_MEDIA_TYPES = {"base64": ("application/pdf",), "text": ("text/plain",)}



class MediaSource(Strict):
    """An image's or document's ``source``: inline base64 (or text) data of a type the API takes,
    a URL, a file id or a content list; source types this model does not know pass through."""

    type: StrictStr
    media_type: StrictStr | None = None
    data: StrictStr | None = None
    url: StrictStr | None = None


def _check_inline(kind: str, source: MediaSource) -> None:
    inline = source.type == "base64" or (kind == "document" and source.type == "text")
    if not inline:
        return
    if source.data is None:
        raise ValueError("source.data: Field required")
    allowed = IMAGE_MEDIA_TYPES if kind == "image" else _DOCUMENT_MEDIA_TYPES[source.type]
    if source.media_type not in allowed:
        quoted = " or ".join((", ".join(f"'{m}'" for m in allowed[:-1]), f"'{allowed[-1]}'")) if len(allowed) > 1 \
            else f"'{allowed[0]}'"
        raise ValueError(f"source.media_type: Input should be {quoted}")
    if source.type != "base64":
        return
    if kind == "image":
        problem = image_mismatch(source.media_type, source.data)
        if problem is not None:
            raise ValueError(f"source.data: {problem}")
    elif not valid_base64(source.data):
        raise ValueError("source.data: invalid base64 data")


class _Block(Strict):
    cache_control: dict[str, Any] | None = None


class TextBlock(_Block):
    type: Literal["text"]
    text: StrictStr  # Anthropic's 400: "messages.0.content.1.text.text: Input should be a valid string"


class ImageBlock(_Block):
    type: Literal["image"]
    source: MediaSource

    @model_validator(mode="after")
    def _inline(self) -> ImageBlock:
        _check_inline("image", self.source)
        return self


class DocumentBlock(_Block):
    type: Literal["document"]
    source: MediaSource
    title: StrictStr | None = None
    context: StrictStr | None = None

    @model_validator(mode="after")
    def _inline(self) -> DocumentBlock:
        _check_inline("document", self.source)
        return self


class ToolUseBlock(_Block):
    type: Literal["tool_use"]
    id: StrictStr
    name: StrictStr
    input: dict[str, Any]


class ToolResultBlock(_Block):
    type: Literal["tool_result"]
    tool_use_id: StrictStr
    content: StrictStr | list[dict[str, Any]] | None = None
    is_error: StrictBool | None = None


class ThinkingBlock(_Block):
    type: Literal["thinking"]
    thinking: StrictStr
    signature: StrictStr


class RedactedThinkingBlock(_Block):
    type: Literal["redacted_thinking"]
    data: StrictStr


class OtherBlock(_Block):
    """Every other block type (server tools, search results, betas): the upstream judges it."""

    type: StrictStr


_BLOCKS = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in _BLOCKS else "other"


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")] | Annotated[ImageBlock, Tag("image")] | Annotated[DocumentBlock, Tag("document")]
    | Annotated[ToolUseBlock, Tag("tool_use")] | Annotated[ToolResultBlock, Tag("tool_result")]
    | Annotated[ThinkingBlock, Tag("thinking")] | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[OtherBlock, Tag("other")],
    Discriminator(_block_tag),
]


class Message(Strict):
    """A turn. ``system`` is Anthropic's mid-conversation system message (Claude Code sends it
    with the ``mid-conversation-system-2026-04-07`` beta): the gateway is never stricter than the
    upstream, so Claude gets it as sent and other providers get it translated (docs/MAPPING.md)."""

    role: Literal["user", "assistant", "system"]
    content: StrictStr | list[ContentBlock]


class SystemBlock(Strict):
    type: Literal["text"]
    text: StrictStr


class Metadata(Strict):
    """Anthropic's only metadata field; a non-string ``user_id`` is its 400."""

    user_id: StrictStr | None = None


class ToolChoice(Strict):
    type: StrictStr
    name: StrictStr | None = None
    disable_parallel_tool_use: StrictBool | None = None

    @model_validator(mode="after")
    def _named(self) -> ToolChoice:
        if self.type == "tool" and self.name is None:
            raise ValueError("tool.name: Field required")
        return self


class Thinking(Strict):
    type: StrictStr
    budget_tokens: StrictInt | None = None
    display: StrictStr | None = None


class Tool(Strict):
    """Custom tools (name + input_schema) and versioned server tools (type + name) alike."""

    name: StrictStr | None = None
    type: StrictStr | None = None
    description: StrictStr | None = None
    input_schema: dict[str, Any] | None = None


class _Common(Strict):
    model: StrictStr = Field(min_length=1)
    messages: list[Message] = Field(min_length=1, max_length=100_000)
    system: StrictStr | list[SystemBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None


class MessagesRequest(_Common):
    """POST /v1/messages. ``max_tokens: 0`` is Anthropic's cache pre-warming (no output)."""

    max_tokens: StrictInt = Field(ge=0)
    stream: StrictBool | None = None
    stop_sequences: list[StrictStr] | None = None
    temperature: Number | None = Field(default=None, ge=0, le=1)
    top_p: Number | None = Field(default=None, ge=0, le=1)
    top_k: StrictInt | None = Field(default=None, ge=0)
    metadata: Metadata | None = None
    service_tier: StrictStr | None = None
    cache_control: dict[str, Any] | None = None


class CountTokensRequest(_Common):
    """POST /v1/messages/count_tokens (``max_tokens`` optional: it sizes ``estimated_credits``)."""

    max_tokens: StrictInt | None = Field(default=None, ge=0)
