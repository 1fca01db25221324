"""Estimate, price and credits: pure integer arithmetic, no I/O.

1 credit = 1 micro-USD. Catalog prices are credits per million tokens, so a cost is
``ceil(Σ tokens × price / 1e6)`` computed exactly in integers.

Which price applies (:func:`price_at`) is decided once per request, from the catalog's rules:
the long-context tier by the prompt's size, an off-peak rate or an announced price change by
the moment the request started (its hold). The hold (:func:`hold_credits`) and the settle
(:func:`usage_credits`) apply the same rules, so the hold stays a ceiling of the bill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bytespike.catalog import Model, Price

MILLION = 1_000_000

# Local input-token estimate: real tokenizers average 3.5-4 UTF-8 bytes per token on
# prose and ~3 on code or CJK; dividing by 2.5 keeps the hold an upper bound in practice.
BYTES_PER_TOKEN_UPPER = 2.5
IMAGE_TOKENS = 1600  # Anthropic resizes images to <= ~1.15 MP, i.e. <= ~1,600 tokens.
DOCUMENT_PAGE_TOKENS = 3000
PER_MESSAGE_OVERHEAD = 8


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts in Anthropic's convention: ``input`` excludes cache reads and writes."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @staticmethod
    def from_anthropic(u: dict[str, Any] | None) -> Usage:
        if not u:
            return Usage()
        write_total = int(u.get("cache_creation_input_tokens") or 0)
        split = u.get("cache_creation") or {}
        w1h = int(split.get("ephemeral_1h_input_tokens") or 0)
        w5m = int(split.get("ephemeral_5m_input_tokens") or 0)
        if w1h + w5m != write_total:  # no (consistent) split: bill as 5-minute writes
            w5m, w1h = write_total, 0
        return Usage(
            input=int(u.get("input_tokens") or 0),
            output=int(u.get("output_tokens") or 0),
            cache_write_5m=w5m,
            cache_write_1h=w1h,
            cache_read=int(u.get("cache_read_input_tokens") or 0),
        )

    @property
    def prompt_tokens(self) -> int:
        """Every input token, cached or not: what long-context tiers are decided by."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def as_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input,
            "output_tokens": self.output,
            "cache_creation_5m_input_tokens": self.cache_write_5m,
            "cache_creation_1h_input_tokens": self.cache_write_1h,
            "cache_read_input_tokens": self.cache_read,
        }


def price_at(model: Model, *, prompt_tokens: int, at: float) -> Price:
    """The rates one request is billed at (the whole request: long-context tiers are not marginal).

    ``prompt_tokens`` is the prompt's size (input + cache reads + cache writes); ``at`` the epoch
    second the request started. The catalog allows one rule per model (schema-checked).
    """
    if model.price_long is not None and prompt_tokens > model.price_long.threshold:
        return model.price_long.price
    if model.price_offpeak is not None and not model.price_offpeak.is_peak(at):
        return model.price_offpeak.price
    if model.price_next is not None and at >= model.price_next.effective:
        return model.price_next.price
    return model.price


def usage_credits(model: Model, usage: Usage, *, at: float) -> int:
    """What ``usage`` costs on ``model`` for a request started at ``at``, rounded up to a credit."""
    return price_usage(price_at(model, prompt_tokens=usage.prompt_tokens, at=at), usage)


def price_usage(price: Price, usage: Usage) -> int:
    """Credits for ``usage`` at ``price``, rounded up to a whole credit."""
    micro = (
        usage.input * price.input
        + usage.output * price.output
        + usage.cache_write_5m * price.cache_write_5m
        + usage.cache_write_1h * price.cache_write_1h
        + usage.cache_read * price.cache_read
    )
    return -(-micro // MILLION)


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return 0


def _block_tokens(block: Any) -> tuple[int, int]:
    """(bytes of text, fixed tokens) for one content block, recursively."""
    if isinstance(block, str):
        return len(block.encode()), 0
    if not isinstance(block, dict):
        return 0, 0
    btype = block.get("type")
    if btype == "image":
        return 0, IMAGE_TOKENS
    if btype == "document":
        source = block.get("source")
        source = source if isinstance(source, dict) else {}  # validated upstream of here; never trusted
        if source.get("type") == "text":
            return _text_bytes(source.get("data")), 0
        # PDF: ~1 page per 50 KB of base64 is a deliberate over-estimate floor of one page.
        data = source.get("data")
        data_len = len(data) if isinstance(data, str) else 0
        return 0, DOCUMENT_PAGE_TOKENS * max(1, data_len // 50_000 + 1)
    size, fixed = 0, 0
    for key in ("text", "thinking", "data"):
        size += _text_bytes(block.get(key))
    if btype == "tool_use":
        size += len(repr(block.get("input")).encode()) + _text_bytes(block.get("name"))
    content = block.get("content")
    if isinstance(content, list):
        for inner in content:
            s, f = _block_tokens(inner)
            size, fixed = size + s, fixed + f
    else:
        size += _text_bytes(content)
    return size, fixed


def estimate_input_tokens(request: dict[str, Any]) -> int:
    """An upper-leaning local estimate of an Anthropic request's input tokens."""
    size, fixed = 0, 0
    system = request.get("system")
    if isinstance(system, str):
        size += len(system.encode())
    elif isinstance(system, list):
        for block in system:
            s, f = _block_tokens(block)
            size, fixed = size + s, fixed + f
    messages = request.get("messages") or []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                s, f = _block_tokens(block)
                size, fixed = size + s, fixed + f
        else:
            size += _text_bytes(content)
        fixed += PER_MESSAGE_OVERHEAD
    for tool in request.get("tools") or []:
        size += len(repr(tool).encode())
    return int(size / BYTES_PER_TOKEN_UPPER) + fixed + 16


def estimate_openai_input_tokens(request: dict[str, Any]) -> int:
    """The same upper-leaning estimate for an OpenAI Chat Completions request."""
    size, fixed = 0, 0
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        fixed += PER_MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):
            size += len(content.encode())
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") in ("image_url", "input_image"):
                    fixed += IMAGE_TOKENS
                elif part.get("type") == "file":
                    fixed += DOCUMENT_PAGE_TOKENS
                else:
                    size += _text_bytes(part.get("text"))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                size += len(repr(call.get("function")).encode())
        size += _text_bytes(message.get("reasoning_content"))
    for tool in request.get("tools") or []:
        size += len(repr(tool).encode())
    return int(size / BYTES_PER_TOKEN_UPPER) + fixed + 16


BYTES_PER_TOKEN_TYPICAL = 4.0  # prose with real tokenizers; used where a fair figure beats a ceiling


def typical_input_tokens(upper_estimate: int) -> int:
    """A fair input count from the upper-leaning estimate, for an upstream that never reported
    one (a stream aborted before an OpenAI-format upstream's final usage chunk)."""
    return int(upper_estimate * BYTES_PER_TOKEN_UPPER / BYTES_PER_TOKEN_TYPICAL)


def hold_credits(model: Model, request: dict[str, Any], *, input_tokens: int, cache_ttl: str | None,
                 at: float) -> int:
    """The hold: every input token at its dearest possible rate plus all of ``max_tokens`` as output.

    ``cache_ttl`` is the longest cache_control TTL in the request ("5m", "1h") or None;
    cache writes cost more than plain input, so a request that may write pays that rate.
    The rates are the request's own (:func:`price_at`): a prompt whose upper-leaning estimate is
    past a long-context threshold is held at the long tier, for input and output alike.
    """
    price = price_at(model, prompt_tokens=input_tokens, at=at)
    rate = price.input
    if cache_ttl == "1h":
        rate = max(rate, price.cache_write_1h, price.cache_write_5m)
    elif cache_ttl:
        rate = max(rate, price.cache_write_5m)
    max_out = request.get("max_tokens")
    if max_out is None:  # 0 is Anthropic's cache pre-warming: no output at all
        max_out = model.max_output_tokens
    micro = input_tokens * rate + int(max_out) * price.output
    return max(1, -(-micro // MILLION))


def cache_ttl_hint(raw_body: bytes) -> str | None:
    """Cheap scan of the raw body for cache breakpoints (no tree walk on the hot path)."""
    if b"cache_control" not in raw_body:
        return None
    return "1h" if b'"1h"' in raw_body else "5m"

