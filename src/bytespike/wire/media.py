"""Inline media, checked the way the providers check it: base64 that decodes, bytes of the type
declared. Shared by the gateway's wire models and the upstream simulator (issue #15)."""

from __future__ import annotations

import binascii

# Anthropic's image media types ("Input should be 'image/jpeg', 'image/png', 'image/gif' or
# 'image/webp'", claude-code #8184); OpenAI's accepted formats are the same four.
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# Gemini's supported image formats (ai.google.dev/gemini-api/docs/image-understanding): no GIF.
# Anything else is its 400 "Unsupported MIME type: image/gif".
GEMINI_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def decode_base64(data: str) -> bytes | None:
    """Standard base64 with padding (RFC 4648 §4), as the providers decode it; ASCII whitespace
    between groups is tolerated (MIME-wrapped data decodes the same everywhere). None if invalid."""
    try:
        raw = binascii.a2b_base64("".join(data.split()).encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw or None


def valid_base64(data: str) -> bool:
    return decode_base64(data) is not None


def sniff_image(head: bytes) -> str | None:
    """The image type a file's first bytes announce (JPEG, PNG, GIF, WebP), or None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_mismatch(media_type: str, data: str) -> str | None:
    """Anthropic's two 400s for base64 image bytes that are not what ``media_type`` says
    (claude-code #13131 / #15746; litellm #24900), or None when they agree."""
    raw = decode_base64(data)
    if raw is None:
        return "invalid base64 data"
    actual = sniff_image(raw[:16])
    if actual is None:
        return f"Image does not match the provided media type {media_type}"
    if actual != media_type:
        return f"The image was specified using the {media_type} media type, but the image appears to be a {actual} image"
    return None
