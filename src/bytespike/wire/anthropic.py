"""Pydantic models of the Anthropic Messages request, for validation and the OpenAPI schema.

Validation only: the gateway forwards the client's own JSON (not a re-dump of these
models), so unknown fields, thinking signatures and cache_control survive untouched.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ContentBlock(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str

    @model_validator(mode="after")
    def _media_source(self) -> ContentBlock:
        """An image or document names its ``source`` object; inline data is a string (Anthropic's 400s)."""
        if self.type in ("image", "document"):
            source = (self.model_extra or {}).get("source")
            if not isinstance(source, dict) or not isinstance(source.get("type"), str):
                raise ValueError(f"{self.type}.source: Input should be an object with a string 'type'")
            if source["type"] in ("base64", "text") and not isinstance(source.get("data"), str):
                raise ValueError(f"{self.type}.source.data: Input should be a valid string")
        return self


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class SystemBlock(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text"]
    text: str


class MessagesRequest(BaseModel):
    """POST /v1/messages."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=0)
    messages: list[Message] = Field(min_length=1, max_length=100_000)
    system: str | list[SystemBlock] | None = None
    stream: bool | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class CountTokensRequest(BaseModel):
    """POST /v1/messages/count_tokens (``max_tokens`` optional: it sizes ``estimated_credits``)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    system: str | list[SystemBlock] | None = None
    tools: list[dict[str, Any]] | None = None
    max_tokens: int | None = Field(default=None, ge=0)


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(param path, message) in the style of Anthropic's own validation errors."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "list["))))
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "Field required"
    return loc, f"{loc}: {msg}"
