"""Non-streaming response translation: Anthropic Message ↔ OpenAI chat.completion."""

from __future__ import annotations

import time
from typing import Any

from .content import dump_arguments, upstream_arguments_to_input
from .names import ToolNameMap, safe_tool_id
from .signatures import origin_signature
from .stops import anthropic_stop_to_openai, openai_finish_to_anthropic
from .usage import anthropic_usage_to_openai, openai_usage_to_anthropic


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def anthropic_response_to_openai(
    resp: dict, *, model: str, names: ToolNameMap, created: int | None = None
) -> dict:
    """Claude Message → ``chat.completion`` for an OpenAI client.

    Text blocks are concatenated (Claude only splits text for citations); thinking
    becomes ``reasoning_content`` plus the verbatim ``thinking_blocks`` (non-standard,
    litellm-compatible) so a client that echoes them keeps Claude's signatures.
    """
    if not isinstance(resp, dict):
        resp = {}
    texts: list[str] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict] = []
    tool_calls: list[dict] = []
    content = resp.get("content")
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        t = block.get("type")
        if t == "text":
            texts.append(_str(block.get("text")))
        elif t == "thinking":
            reasoning.append(_str(block.get("thinking")))
            thinking_blocks.append(
                {
                    "type": "thinking",
                    "thinking": _str(block.get("thinking")),
                    "signature": _str(block.get("signature")),
                }
            )
        elif t == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": _str(block.get("data"))})
        elif t == "tool_use":
            tool_calls.append(
                {
                    "id": names.client_id(str(block.get("id") or f"toolu_{len(tool_calls)}")),
                    "type": "function",
                    "function": {
                        "name": names.client_name(str(block.get("name") or "")),
                        "arguments": dump_arguments(block.get("input")),
                    },
                }
            )
        # server_tool_use / *_tool_result blocks: no Chat Completions equivalent (dropped)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None, "refusal": None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if thinking_blocks:
        message["thinking_blocks"] = thinking_blocks
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": resp.get("id") if isinstance(resp.get("id"), str) and resp.get("id") else "chatcmpl-unknown",
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": anthropic_stop_to_openai(resp.get("stop_reason"), bool(tool_calls)),
            }
        ],
        "usage": anthropic_usage_to_openai(resp.get("usage")),
    }


def anthropic_message_id(upstream_id: Any) -> str:
    """An Anthropic-looking message id for an OpenAI completion id."""
    if isinstance(upstream_id, str) and upstream_id:
        return upstream_id if upstream_id.startswith("msg_") else "msg_" + upstream_id
    return "msg_unknown"


def _content_text(content: Any) -> str:
    """OpenAI message content may be a string or (some upstreams) a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text") or ""
            for p in content
            if isinstance(p, dict) and p.get("type") in ("text", "output_text")
        )
    return ""


def openai_response_to_anthropic(
    resp: dict, *, model: str, names: ToolNameMap, provider: str = "openai"
) -> dict:
    """``chat.completion`` from an OpenAI-format upstream → Claude Message.

    ``reasoning_content`` becomes a thinking block signed with the origin marker of
    ``provider`` (it has no Anthropic signature); tool arguments become ``input``
    (unparsable model output is kept under ``_raw_arguments``, never dropped).
    """
    if not isinstance(resp, dict):
        resp = {}
    choices = resp.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    msg = choice.get("message")
    if not isinstance(msg, dict):
        msg = {}
    content: list[dict] = []
    reasoning = msg.get("reasoning_content")
    if not isinstance(reasoning, str):
        reasoning = msg.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": origin_signature(provider)})
    text = _content_text(msg.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    refusal = msg.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    base_id = anthropic_message_id(resp.get("id"))
    seen: set[str] = set()
    raw_calls = msg.get("tool_calls")
    calls = list(raw_calls) if isinstance(raw_calls, list) else []
    if isinstance(msg.get("function_call"), dict):
        calls.append({"function": msg["function_call"]})
    for n, tc in enumerate(calls):
        if not isinstance(tc, dict):
            continue
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        raw_id = tc.get("id")
        tid = (
            names.client_id(raw_id)
            if isinstance(raw_id, str) and raw_id
            else safe_tool_id(f"toolu_{base_id}_{n}")
        )
        if tid in seen:
            tid = safe_tool_id(f"{tid}_{n}")
        seen.add(tid)
        content.append(
            {
                "type": "tool_use",
                "id": tid,
                "name": names.client_name(str(fn.get("name") or "")),
                "input": upstream_arguments_to_input(fn.get("arguments")),
            }
        )
    has_tool = bool(seen)
    stop = openai_finish_to_anthropic(choice.get("finish_reason"), has_tool)
    if not has_tool and isinstance(refusal, str) and refusal:
        stop = "refusal"
    return {
        "id": base_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": openai_usage_to_anthropic(resp.get("usage")),
    }
