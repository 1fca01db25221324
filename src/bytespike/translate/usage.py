"""Token usage in both shapes (pure; billing uses these too).

Anthropic splits input into uncached ``input_tokens`` + ``cache_read_input_tokens`` +
``cache_creation_input_tokens``; OpenAI's ``prompt_tokens`` *includes* cached and
cache-write tokens (new-api #4395, CLIProxyAPI #5956), so the conversion subtracts.
"""

from __future__ import annotations

from typing import Any


def _int(value: Any) -> int:
    """Usage fields may be missing, null or (rarely) floats; treat those as integers."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def openai_usage_to_anthropic(u: dict | None) -> dict:
    """OpenAI (or DeepSeek/Ark) usage → Anthropic usage.

    input = prompt − cached − cache_write; cache_read = cached (or DeepSeek's
    ``prompt_cache_hit_tokens``); cache_creation = ``cache_write_tokens``;
    ``output_tokens_details.thinking_tokens`` when the reasoning count is known.
    """
    if not u or not isinstance(u, dict):
        return {
            "input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
    details = _dict(u.get("prompt_tokens_details"))
    prompt = _int(u.get("prompt_tokens"))
    cached = _int(details.get("cached_tokens"))
    if not cached and "prompt_cache_hit_tokens" in u:
        cached = _int(u.get("prompt_cache_hit_tokens"))
        if not prompt:
            prompt = cached + _int(u.get("prompt_cache_miss_tokens"))
    cache_write = _int(details.get("cache_write_tokens")) or _int(u.get("cache_write_tokens"))
    out: dict[str, Any] = {
        "input_tokens": max(prompt - cached - cache_write, 0),
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(u.get("completion_tokens")),
    }
    cdetails = _dict(u.get("completion_tokens_details"))
    if cdetails.get("reasoning_tokens") is not None:
        out["output_tokens_details"] = {"thinking_tokens": _int(cdetails.get("reasoning_tokens"))}
    return out


def anthropic_usage_to_openai(u: dict | None) -> dict:
    """Anthropic usage → OpenAI usage.

    prompt_tokens = input + cache_read + cache_creation; ``cached_tokens`` = cache_read;
    ``cache_write_tokens`` = cache_creation; ``reasoning_tokens`` when Anthropic reports
    ``output_tokens_details.thinking_tokens``.
    """
    u = _dict(u)
    inp = _int(u.get("input_tokens"))
    read = _int(u.get("cache_read_input_tokens"))
    write = _int(u.get("cache_creation_input_tokens"))
    out_tokens = _int(u.get("output_tokens"))
    prompt = inp + read + write
    result: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": out_tokens,
        "total_tokens": prompt + out_tokens,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
    }
    odetails = _dict(u.get("output_tokens_details"))
    if odetails.get("thinking_tokens") is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": _int(odetails.get("thinking_tokens"))}
    return result


def merge_anthropic_usage(current: dict | None, update: dict | None) -> dict:
    """Fold a ``message_delta`` usage (cumulative, possibly partial) into what we have."""
    merged = dict(current or {})
    if isinstance(update, dict):
        for key, value in update.items():
            if value is not None:
                merged[key] = value
    return merged
