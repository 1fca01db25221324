"""Refusals of requests certain to fail upstream, checked before anything is held.

The wire models (``bytespike.wire``) check what every lane of a surface shares; the rules here
depend on where the request goes. Each names the upstream's documented or recorded 400 it
anticipates and applies only on the lanes that forward to that upstream: the gateway is never
stricter than the upstream it forwards to, so a rule of OpenAI's never refuses a request bound
for Claude (whose lane translates the same field and accepts it).

Issue #15; the table of every refusal and its source is docs/SECURITY.md, "Input".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bytespike.catalog import Model, Provider
from bytespike.errors import GatewayError, Kind
from bytespike.wire.media import GEMINI_IMAGE_TYPES

if TYPE_CHECKING:  # each surface's wire is imported by its own check: a function loads only its own
    from bytespike.wire.anthropic import MessagesRequest
    from bytespike.wire.openai import ChatRequest


def _refuse(message: str, param: str) -> GatewayError:
    return GatewayError(Kind.INVALID_REQUEST, message, param=param)


def _images(model: Model, provider: Provider, images: list[tuple[str, str | None]]) -> None:
    """(path, media type or None for a URL) of every image in the request, on any lane."""
    if not images:
        return
    if "vision" not in model.capabilities:
        # The catalog says the model takes no image; its upstream's 400 for one (DeepSeek, recorded in
        # several clients' issues): "Failed to deserialize the JSON body into the target type:
        # messages[1]: unknown variant `image_url`, expected `text`".
        raise _refuse(f"{images[0][0]}: {model.id} takes no image input", images[0][0])
    if provider.wire == "gemini":
        # Gemini's supported image formats (ai.google.dev/gemini-api/docs/image-understanding), no GIF;
        # anything else is its 400 "Unsupported MIME type: image/gif".
        for where, media_type in images:
            if media_type is not None and media_type not in GEMINI_IMAGE_TYPES:
                raise _refuse(f"{where}: {model.id} does not take {media_type} images (supported: "
                              f"{', '.join(GEMINI_IMAGE_TYPES)})", where)


def messages(req: MessagesRequest, model: Model, provider: Provider) -> None:
    """Anthropic Messages, on any lane."""
    from bytespike.wire.anthropic import ImageBlock, ToolResultBlock

    found: list[tuple[str, str | None]] = []
    for i, message in enumerate(req.messages):
        for j, block in enumerate(message.content if isinstance(message.content, list) else ()):
            where = f"messages.{i}.content.{j}"
            if isinstance(block, ImageBlock):
                found.append((where, block.source.media_type if block.source.type == "base64" else None))
            elif isinstance(block, ToolResultBlock) and isinstance(block.content, list):
                found += [(f"{where}.content.{k}", (b.get("source") or {}).get("media_type")
                           if isinstance(b.get("source"), dict) and b["source"].get("type") == "base64" else None)
                          for k, b in enumerate(block.content) if b.get("type") == "image"]
    _images(model, provider, found)


def chat(req: ChatRequest, model: Model, provider: Provider) -> None:
    """Chat Completions, on any lane; then the rules of OpenAI-format upstreams (OpenAI, DeepSeek, Ark)."""
    from bytespike.wire.openai import ImagePart

    found: list[tuple[str, str | None]] = []
    for i, message in enumerate(req.messages):
        for j, part in enumerate(message.content if isinstance(message.content, list) else ()):
            if isinstance(part, ImagePart):
                url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
                media = url[5:].split(";", 1)[0].lower() if url.startswith("data:") else None
                found.append((f"messages.{i}.content.{j}", media))
    _images(model, provider, found)
    if provider.wire != "openai":
        return
    # tool_calls[].function.arguments: "string, Required" in the Chat Completions reference of
    # OpenAI, DeepSeek (api-docs.deepseek.com, create-chat-completion) and Ark; an object is
    # OpenAI's 400 "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a
    # string, but got an object instead."
    for i, message in enumerate(req.messages):
        for j, call in enumerate(message.tool_calls or ()):
            if call.function is not None and isinstance(call.function.arguments, dict):
                raise _refuse(f"messages.{i}.tool_calls.{j}.function.arguments: Input should be a string "
                              "(JSON-encoded arguments)", f"messages.{i}.tool_calls.{j}.function.arguments")
    if provider.name != "openai":
        return
    # OpenAI's 400 (recorded in the simulator, openai_proto.validate): "The 'stream_options'
    # parameter is only allowed when 'stream' is enabled."
    if req.stream_options is not None and req.stream is not True:
        raise _refuse("stream_options: only allowed when 'stream' is enabled", "stream_options")
    # OpenAI's 400: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools'
    # are specified."
    if req.tool_choice is not None and not req.tools:
        raise _refuse("tool_choice: only allowed when 'tools' are specified", "tool_choice")


def hub_images(hub: dict[str, Any], model: Model, provider: Provider) -> None:
    """A translated request (the hub's Anthropic shape) from a client of another protocol (the Gemini
    surface), on a translating lane: its images, by the rules above. Positions are the client's
    ``contents`` (the hub's may merge turns), so the refusal names the field, not an index."""
    found: list[tuple[str, str | None]] = []
    for message in hub.get("messages") or ():
        for block in message.get("content") if isinstance(message.get("content"), list) else ():
            blocks = [block, *(block.get("content") if block.get("type") == "tool_result"
                               and isinstance(block.get("content"), list) else ())]
            for b in blocks:
                if isinstance(b, dict) and b.get("type") == "image":
                    source = b.get("source") or {}
                    found.append(("contents", source.get("media_type") if source.get("type") == "base64" else None))
    _images(model, provider, found)
