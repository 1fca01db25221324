"""Pure, lossless translators between Anthropic Messages (canonical), OpenAI Chat Completions,
OpenAI Responses and Gemini (as an upstream, and as a client surface on any model).

Everything here works on plain dicts (parsed JSON): no I/O and no pydantic on the hot
path. See docs/MAPPING.md for the field-by-field mapping and what is dropped or rejected.

The names below are loaded on first use (PEP 562): each function imports only the translators
its lanes use (the messages function never loads the Gemini or Responses client surfaces:
issue 20's import budget), while ``from bytespike.translate import X`` works as before.
"""

from __future__ import annotations

import importlib
from typing import Any

# submodule -> the names it exports here
_EXPORTS: dict[str, tuple[str, ...]] = {
    "errors": ("TranslationError",),
    "errors_map": ("UpstreamError", "map_upstream_error"),
    "gemini": (
        "SKIP_SIGNATURE",
        "GeminiContext",
        "GeminiToAnthropicStream",
        "anthropic_request_to_gemini",
        "clean_schema_for_gemini",
        "gemini_error_kind",
        "gemini_finish_to_anthropic",
        "gemini_path",
        "gemini_response_to_anthropic",
        "gemini_usage_to_anthropic",
    ),
    "gemini_endpoints": (
        "anthropic_count_to_gemini",
        "gemini_count_request_to_anthropic",
        "gemini_embed_request_to_openai",
        "gemini_model",
        "gemini_models_page",
        "openai_embeddings_to_gemini",
    ),
    "gemini_surface": (
        "AnthropicToGeminiStream",
        "GeminiSurfaceContext",
        "HubTarget",
        "anthropic_response_to_gemini",
        "anthropic_stop_to_gemini",
        "anthropic_usage_to_gemini",
        "apply_gemini_only",
        "assemble_gemini_chunks",
        "check_gemini_chunks",
        "gemini_request_to_anthropic",
        "gemini_schema_to_json_schema",
        "strip_hub_markers",
    ),
    "invariants": (
        "assemble_anthropic_events",
        "assemble_openai_chunks",
        "check_anthropic_events",
        "check_openai_chunks",
    ),
    "names": ("ToolNameMap", "safe_tool_id", "safe_tool_name"),
    "requests": (
        "DEFAULT_MAX_TOKENS",
        "TARGETS",
        "anthropic_request_to_openai",
        "openai_request_to_anthropic",
        "restore_deepseek_reasoning",
    ),
    "responses": ("anthropic_response_to_openai", "openai_response_to_anthropic"),
    "responses_common": ("anthropic_usage_to_responses", "responses_usage_to_anthropic"),
    "responses_invariants": ("assemble_responses_events", "check_responses_events"),
    "responses_surface": (
        "AnthropicToResponsesStream",
        "ClientTool",
        "ResponsesContext",
        "anthropic_response_to_responses",
        "response_id_for",
        "responses_request_to_anthropic",
    ),
    "responses_wire": (
        "ResponsesToAnthropicStream",
        "ResponsesWireContext",
        "anthropic_request_to_responses",
        "responses_error",
        "responses_to_anthropic",
    ),
    "signatures": (
        "is_claude_signature",
        "origin_signature",
        "pack_marker_bytes",
        "signature_origin",
        "strip_foreign_thinking",
        "unpack_marker_bytes",
    ),
    "stops": ("anthropic_stop_to_openai", "openai_finish_to_anthropic"),
    "streams": ("AnthropicToOpenAIStream", "OpenAIToAnthropicStream"),
    "usage": ("anthropic_usage_to_openai", "openai_usage_to_anthropic"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
