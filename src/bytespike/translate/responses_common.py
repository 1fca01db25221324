"""What both OpenAI Responses translators share: usage, stop/status, reasoning carriers.

Two carriers keep reasoning alive across protocols, in the style of :mod:`.signatures`:

* **OpenAI reasoning on the hub** (Responses wire → Anthropic thinking block): the block's
  ``thinking`` is the reasoning summary and its ``signature`` is an origin marker
  ``"bsx:" + base64url(json{"p": "openai", "i": <item id>, "e": <encrypted_content>,
  "s": [<summary part lengths>]})``. ``signature_origin()`` says ``"openai"``, so every
  existing rule applies: stripped before Claude, never echoed to another provider; the wire
  translator turns it back into the exact reasoning item.
* **Hub thinking in a Responses client** (Anthropic thinking → Responses reasoning item):
  ``encrypted_content`` is an envelope ``"bsxr:" + base64url(json{"b": <block>})`` holding
  the whole thinking (or redacted_thinking) block — text and signature — so a client that
  replays the item gives the hub back exactly the block it came from (Claude verifies its
  own signatures; foreign origins keep their markers).

And one for **compaction**: a conversation compacted on a non-OpenAI model (``/v1/responses/compact``
or a ``compaction_trigger`` item) comes back as a ``compaction`` item whose ``encrypted_content`` is
``"bsxc:" + base64url(json{"s": <summary>})``; replayed, it is the summary as user context
(``SUMMARY_PREFIX``), for any model (OpenAI models get it as a user message). OpenAI's own
compaction items are readable by OpenAI only.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .signatures import MARKER_PREFIX

ENVELOPE_PREFIX = "bsxr:"
COMPACTION_PREFIX = "bsxc:"

COMPACTION_SYSTEM = (
    "You compact a long working session between a user and an AI assistant (often a coding agent "
    "with tools) so that another instance can continue it with only your summary and the user's "
    "messages. Write a dense handoff summary: the user's goal and constraints, what has been done "
    "(files read and changed, commands run and their outcomes, tool results that matter), decisions "
    "and why, open problems, and the exact next steps. Keep identifiers, paths, names, numbers and "
    "error messages verbatim. Do not address the user; do not add anything that did not happen."
)
SUMMARY_PREFIX = (
    "Earlier parts of this conversation were compacted; this is their summary, written for you to "
    "continue the work from:"
)

OPENAI_ORIGIN = "openai"

BUILTIN_TOOL_TYPES = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_2025_08_26",
        "web_search_preview_2025_03_11",
        "file_search",
        "computer",
        "computer_use",
        "computer_use_preview",
        "code_interpreter",
        "image_generation",
        "mcp",
        "local_shell",
        "shell",
        "apply_patch",
        "tool_search",
        "programmatic_tool_calling",
    }
)
"""Responses tools OpenAI runs (or defines the protocol of): no hub equivalent."""

SERVER_ITEM_TYPES = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_list_tools",
        "mcp_call",
        "tool_search_call",
        "tool_search_output",
        "program",
        "program_output",
    }
)
"""Items OpenAI executed itself: their outcome lives on in the answer's text."""

CLIENT_BUILTIN_ITEM_TYPES = frozenset(
    {
        "computer_call",
        "computer_call_output",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_approval_request",
        "mcp_approval_response",
    }
)
"""Items of built-in tools the *client* runs: a tool loop only OpenAI models can continue."""


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------ usage


def responses_usage_to_anthropic(u: Any) -> dict:
    """Responses ``usage`` → Anthropic usage.

    ``input_tokens`` *includes* cached and cache-written tokens (as Chat Completions'
    ``prompt_tokens`` does), so they are subtracted; ``reasoning_tokens`` is part of
    ``output_tokens`` and is reported as ``output_tokens_details.thinking_tokens``.
    """
    u = _dict(u)
    details = _dict(u.get("input_tokens_details"))
    cached = _int(details.get("cached_tokens"))
    written = _int(details.get("cache_write_tokens"))
    out: dict[str, Any] = {
        "input_tokens": max(_int(u.get("input_tokens")) - cached - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(u.get("output_tokens")),
    }
    odetails = _dict(u.get("output_tokens_details"))
    if odetails.get("reasoning_tokens") is not None:
        out["output_tokens_details"] = {"thinking_tokens": _int(odetails.get("reasoning_tokens"))}
    return out


def anthropic_usage_to_responses(u: Any) -> dict:
    """Anthropic usage → Responses ``usage`` (``input_tokens`` = uncached + read + written).

    ``reasoning_tokens`` is Anthropic's ``thinking_tokens`` when an upstream reported it,
    else 0: Claude counts thinking inside ``output_tokens`` without a breakdown.
    """
    u = _dict(u)
    inp = _int(u.get("input_tokens"))
    read = _int(u.get("cache_read_input_tokens"))
    write = _int(u.get("cache_creation_input_tokens"))
    output = _int(u.get("output_tokens"))
    total_in = inp + read + write
    return {
        "input_tokens": total_in,
        "input_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
        "output_tokens": output,
        "output_tokens_details": {
            "reasoning_tokens": _int(_dict(u.get("output_tokens_details")).get("thinking_tokens"))
        },
        "total_tokens": total_in + output,
    }


# ------------------------------------------------------------------------------ stop / status


def stop_to_status(stop_reason: Any) -> tuple[str, dict | None]:
    """Anthropic ``stop_reason`` → Responses ``(status, incomplete_details)``."""
    if stop_reason in ("max_tokens", "model_context_window_exceeded"):
        return "incomplete", {"reason": "max_output_tokens"}
    if stop_reason == "refusal":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def status_to_stop(status: Any, incomplete: Any, *, has_tool_use: bool, refusal: bool) -> str:
    """Responses status (+ ``incomplete_details.reason``) → Anthropic ``stop_reason``.

    A tool call makes it ``tool_use`` whatever the status (litellm #34692), and nothing
    else ever does (CLIProxyAPI #3799).
    """
    if has_tool_use:
        return "tool_use"
    reason = _dict(incomplete).get("reason")
    if status == "incomplete" and reason == "content_filter":
        return "refusal"
    if status == "incomplete":
        return "max_tokens"
    return "refusal" if refusal else "end_turn"


# ------------------------------------------------------------------------------ carriers


def _b64(payload: dict) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return None


def openai_reasoning_signature(item_id: Any, encrypted: Any, parts: list[int] | None = None) -> str:
    """The hub marker signature for an OpenAI reasoning item (see the module docstring)."""
    payload: dict[str, Any] = {"p": OPENAI_ORIGIN}
    if isinstance(item_id, str) and item_id:
        payload["i"] = item_id
    if isinstance(encrypted, str) and encrypted:
        payload["e"] = encrypted
    if parts and len(parts) > 1:
        payload["s"] = parts
    return MARKER_PREFIX + _b64(payload)


def read_openai_reasoning_signature(signature: Any) -> dict | None:
    """``{"i", "e", "s"}`` of an OpenAI reasoning marker; None for any other signature."""
    if not isinstance(signature, str) or not signature.startswith(MARKER_PREFIX):
        return None
    data = _unb64(signature[len(MARKER_PREFIX) :])
    if not isinstance(data, dict) or data.get("p") != OPENAI_ORIGIN:
        return None
    return data


def split_summary(thinking: str, parts: Any) -> list[str]:
    """The summary parts a thinking text was joined from (``"\\n\\n"``), when the marker
    recorded their lengths and they still add up; else the text as one part."""
    if not thinking:
        return []
    lengths_ok = isinstance(parts, list) and parts and all(isinstance(n, int) and n >= 0 for n in parts)
    if lengths_ok and sum(parts) + 2 * (len(parts) - 1) == len(thinking):
        out, pos = [], 0
        for n in parts:
            out.append(thinking[pos : pos + n])
            pos += n + 2
        return out
    return [thinking]


def encode_envelope(block: dict) -> str:
    """A hub thinking/redacted_thinking block → a Responses ``encrypted_content`` string."""
    return ENVELOPE_PREFIX + _b64({"b": block})


def decode_envelope(encrypted: Any) -> dict | None:
    """The hub block inside one of our envelopes; None for anything else (e.g. OpenAI's own)."""
    if not isinstance(encrypted, str) or not encrypted.startswith(ENVELOPE_PREFIX):
        return None
    data = _unb64(encrypted[len(ENVELOPE_PREFIX) :])
    block = data.get("b") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        return None
    if block.get("type") == "thinking" and isinstance(block.get("thinking"), str):
        signature = block.get("signature")
        return {
            "type": "thinking",
            "thinking": block["thinking"],
            "signature": signature if isinstance(signature, str) else "",
        }
    if block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
        return {"type": "redacted_thinking", "data": block["data"]}
    return None


def encode_compaction(summary: str) -> str:
    """A compaction summary → a Responses ``compaction`` item's ``encrypted_content``."""
    return COMPACTION_PREFIX + _b64({"s": summary})


def decode_compaction(encrypted: Any) -> str | None:
    """The summary inside one of our compaction envelopes; None for anything else (OpenAI's own)."""
    if not isinstance(encrypted, str) or not encrypted.startswith(COMPACTION_PREFIX):
        return None
    data = _unb64(encrypted[len(COMPACTION_PREFIX) :])
    summary = data.get("s") if isinstance(data, dict) else None
    return summary if isinstance(summary, str) else None


def compaction_context(summary: str) -> str:
    """The user context a replayed compaction item stands for."""
    return f"{SUMMARY_PREFIX}\n\n{summary}"


def _transcript_block(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    btype = block.get("type")
    if btype == "text":
        return str(block.get("text") or "")
    if btype == "tool_use":
        return f"[tool call {block.get('name')}: {json.dumps(block.get('input'), ensure_ascii=False)}]"
    if btype == "tool_result":
        content = block.get("content")
        text = content if isinstance(content, str) else "\n".join(_transcript_block(b) for b in content or ())
        return f"[tool result{' (error)' if block.get('is_error') else ''}: {text}]"
    if btype in ("image", "document"):
        return f"[{btype}]"
    return ""  # thinking and redacted thinking: the summary is of what was said and done


def compaction_request(hub: dict) -> dict:
    """The hub request that compacts the conversation of ``hub``: the conversation as one transcript
    (tool calls and results included, thinking left out) and the instruction to summarise it, on the
    same model, with no tools and no thinking: a summary is one plain answer."""
    lines = []
    system = hub.get("system")
    if isinstance(system, str) and system:
        lines.append(f"<instructions>\n{system}\n</instructions>")
    elif isinstance(system, list):
        text = "\n".join(_transcript_block(b) for b in system)
        if text:
            lines.append(f"<instructions>\n{text}\n</instructions>")
    for turn in hub.get("messages") or ():
        content = turn.get("content")
        text = content if isinstance(content, str) else "\n".join(
            t for t in (_transcript_block(b) for b in content or ()) if t)
        if text:
            lines.append(f"<{turn.get('role')}>\n{text}\n</{turn.get('role')}>")
    transcript = "\n\n".join(lines)
    ask = ("Here is the session so far:\n\n<session>\n" + transcript + "\n</session>\n\n"
           "Write the handoff summary now.")
    out = {"model": hub.get("model"), "max_tokens": hub.get("max_tokens"), "system": COMPACTION_SYSTEM,
           "messages": [{"role": "user", "content": [{"type": "text", "text": ask}]}]}
    for key in ("stream", "metadata"):
        if key in hub:
            out[key] = hub[key]
    return out
