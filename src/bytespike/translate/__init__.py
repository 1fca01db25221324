"""Pure, lossless translators between Anthropic Messages (canonical), OpenAI Chat Completions,
OpenAI Responses and Gemini (as an upstream, and as a client surface on any model).

Everything here works on plain dicts (parsed JSON): no I/O and no pydantic on the hot
path. See docs/MAPPING.md for the field-by-field mapping and what is dropped or rejected.
"""

from __future__ import annotations

from .errors import TranslationError
from .errors_map import UpstreamError, map_upstream_error
from .gemini import (
    SKIP_SIGNATURE,
    GeminiContext,
    GeminiToAnthropicStream,
    anthropic_request_to_gemini,
    clean_schema_for_gemini,
    gemini_error_kind,
    gemini_finish_to_anthropic,
    gemini_path,
    gemini_response_to_anthropic,
    gemini_usage_to_anthropic,
)
from .gemini_endpoints import (
    anthropic_count_to_gemini,
    gemini_count_request_to_anthropic,
    gemini_embed_request_to_openai,
    gemini_model,
    gemini_models_page,
    openai_embeddings_to_gemini,
)
from .gemini_surface import (
    AnthropicToGeminiStream,
    GeminiSurfaceContext,
    HubTarget,
    anthropic_response_to_gemini,
    anthropic_stop_to_gemini,
    anthropic_usage_to_gemini,
    apply_gemini_only,
    assemble_gemini_chunks,
    check_gemini_chunks,
    gemini_request_to_anthropic,
    gemini_schema_to_json_schema,
    strip_hub_markers,
)
from .invariants import (
    assemble_anthropic_events,
    assemble_openai_chunks,
    check_anthropic_events,
    check_openai_chunks,
)
from .names import ToolNameMap, safe_tool_id, safe_tool_name
from .requests import (
    DEFAULT_MAX_TOKENS,
    TARGETS,
    anthropic_request_to_openai,
    openai_request_to_anthropic,
    restore_deepseek_reasoning,
)
from .responses import anthropic_response_to_openai, openai_response_to_anthropic
from .responses_common import anthropic_usage_to_responses, responses_usage_to_anthropic
from .responses_invariants import assemble_responses_events, check_responses_events
from .responses_surface import (
    AnthropicToResponsesStream,
    ClientTool,
    ResponsesContext,
    anthropic_response_to_responses,
    response_id_for,
    responses_request_to_anthropic,
)
from .responses_wire import (
    ResponsesToAnthropicStream,
    ResponsesWireContext,
    anthropic_request_to_responses,
    responses_error,
    responses_to_anthropic,
)
from .signatures import (
    is_claude_signature,
    origin_signature,
    pack_marker_bytes,
    signature_origin,
    strip_foreign_thinking,
    unpack_marker_bytes,
)
from .stops import anthropic_stop_to_openai, openai_finish_to_anthropic
from .streams import AnthropicToOpenAIStream, OpenAIToAnthropicStream
from .usage import anthropic_usage_to_openai, openai_usage_to_anthropic

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "SKIP_SIGNATURE",
    "TARGETS",
    "AnthropicToGeminiStream",
    "AnthropicToOpenAIStream",
    "AnthropicToResponsesStream",
    "ClientTool",
    "GeminiContext",
    "GeminiSurfaceContext",
    "GeminiToAnthropicStream",
    "HubTarget",
    "OpenAIToAnthropicStream",
    "ResponsesContext",
    "ResponsesToAnthropicStream",
    "ResponsesWireContext",
    "ToolNameMap",
    "TranslationError",
    "UpstreamError",
    "anthropic_count_to_gemini",
    "anthropic_request_to_gemini",
    "anthropic_request_to_openai",
    "anthropic_request_to_responses",
    "anthropic_response_to_gemini",
    "anthropic_response_to_openai",
    "anthropic_response_to_responses",
    "anthropic_stop_to_gemini",
    "anthropic_stop_to_openai",
    "anthropic_usage_to_gemini",
    "anthropic_usage_to_openai",
    "anthropic_usage_to_responses",
    "apply_gemini_only",
    "assemble_anthropic_events",
    "assemble_gemini_chunks",
    "assemble_openai_chunks",
    "assemble_responses_events",
    "check_anthropic_events",
    "check_gemini_chunks",
    "check_openai_chunks",
    "check_responses_events",
    "clean_schema_for_gemini",
    "gemini_count_request_to_anthropic",
    "gemini_embed_request_to_openai",
    "gemini_error_kind",
    "gemini_finish_to_anthropic",
    "gemini_model",
    "gemini_models_page",
    "gemini_path",
    "gemini_request_to_anthropic",
    "gemini_response_to_anthropic",
    "gemini_schema_to_json_schema",
    "gemini_usage_to_anthropic",
    "is_claude_signature",
    "map_upstream_error",
    "openai_embeddings_to_gemini",
    "openai_finish_to_anthropic",
    "openai_request_to_anthropic",
    "openai_response_to_anthropic",
    "openai_usage_to_anthropic",
    "origin_signature",
    "pack_marker_bytes",
    "response_id_for",
    "responses_error",
    "responses_request_to_anthropic",
    "responses_to_anthropic",
    "responses_usage_to_anthropic",
    "restore_deepseek_reasoning",
    "safe_tool_id",
    "safe_tool_name",
    "signature_origin",
    "strip_foreign_thinking",
    "strip_hub_markers",
    "unpack_marker_bytes",
]
