"""Provider-neutral reply planning: what the simulated model "says".

Each protocol module normalises its request into a ``SimRequest``; ``plan_reply`` turns
that into a ``ReplyPlan`` (thinking, text, tool calls, stop reason, token counts), and the
protocol module only renders the plan in its own wire shape. Keeping the decision here
means every provider — present and future — answers the same prompt the same way, so
cross-protocol tests can compare replies directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from bytespike.simulator.directives import Directives, strip_directives
from bytespike.simulator.tokens import compact_json, tokens, truncate_to_tokens

DEFAULT_WORDS = 8
OVERSIZE_CHUNK = 1024
# Module constant on purpose: signatures must verify across simulator restarts and
# between the local stack and tests, exactly like real signatures survive across calls.
SIGNATURE_SECRET = b"bytespike-simulator/thinking-signature/v1"

ANTHROPIC_STOP_REASONS = frozenset(
    {
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "refusal",
        "pause_turn",
        "model_context_window_exceeded",
    }
)

FILLER = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor",
    "indigo", "juniper", "kestrel", "lagoon", "meadow", "nimbus", "orchid", "pebble",
    "quartz", "river", "sierra", "tundra", "umber", "valley", "willow", "xenon",
    "yarrow", "zephyr", "aurora", "basalt", "canyon", "dune", "estuary", "falcon",
)  # fmt: skip
_OVERSIZE_PATTERN = "lorem ipsum dolor sit amet consectetur adipiscing elit "
_WORD_RE = re.compile(r"\s*\S+")
_MODEL_SUFFIX_RE = re.compile(r"(?:@.*|-\d{8}|-latest|-v\d+(?::\d+)?)$")


@dataclass(slots=True)
class ToolSpec:
    """A callable tool as the planner needs it: name and JSON schema of its input."""

    name: str
    schema: dict[str, Any]


@dataclass(slots=True)
class ToolResult:
    """A tool result from the last user turn (echoed back so round trips are checkable)."""

    tool_use_id: str
    text: str


@dataclass(slots=True)
class UserTurn:
    """The last user turn as a protocol module extracted it (before validation, so
    fault directives apply even to requests the provider would reject)."""

    text: str = ""
    images: int = 0
    tool_results: list[ToolResult] | None = None


@dataclass(slots=True)
class SimRequest:
    """The protocol-independent view of a chat request."""

    model: str
    user_text: str = ""
    images: int = 0
    tool_results: list[ToolResult] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_mode: str = "auto"  # auto | any | tool | none
    forced_tool: str | None = None
    parallel: bool = True
    thinking: bool = False
    thinking_budget: int | None = None
    thinking_omitted: bool = False
    max_tokens: int = 1 << 20
    stop_sequences: list[str] = field(default_factory=list)
    turn_count: int = 0
    directives: Directives = field(default_factory=Directives)
    json_schema: dict[str, Any] | None = None  # structured output: reply with JSON matching it


@dataclass(slots=True)
class PlannedToolCall:
    """One tool call: ``arguments`` is the exact JSON text streamed and returned."""

    id_hash: str
    name: str
    input: Any
    arguments: str


@dataclass(slots=True)
class ReplyPlan:
    """Everything a protocol module needs to render a response or a stream."""

    seed: str
    has_thinking: bool = False
    thinking: str = ""
    thinking_tokens: int = 0
    thinking_deltas: list[str] = field(default_factory=list)
    text: str = ""
    text_deltas: list[str] = field(default_factory=list)
    tool_calls: list[PlannedToolCall] = field(default_factory=list)
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    output_tokens: int = 0

    @property
    def delta_count(self) -> int:
        """Content deltas the stream will carry (drives simulated generation time)."""
        return len(self.thinking_deltas) + len(self.text_deltas) + 2 * len(self.tool_calls)


# ---------------------------------------------------------------- thinking signatures


def model_family(model: str) -> str:
    """Model id without date/version suffixes: signatures are bound to the family."""
    family = model.strip().lower()
    while True:
        shorter = _MODEL_SUFFIX_RE.sub("", family)
        if shorter == family:
            return family
        family = shorter


def sign_thinking(model: str, thinking: str) -> str:
    """``base64(hmac_sha256(SECRET, family + "\\n" + thinking))`` — a replayable, model-bound proof."""
    mac = hmac.new(SIGNATURE_SECRET, f"{model_family(model)}\n{thinking}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_thinking(model: str, thinking: str, signature: Any) -> bool:
    """True when ``signature`` was produced by this simulator for this model family and text."""
    if not isinstance(signature, str) or not signature:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str (a TypeError, i.e. a 500, where
    # Anthropic answers 400 for any bad signature).
    return hmac.compare_digest(sign_thinking(model, thinking).encode(), signature.encode("utf-8", "replace"))


# ---------------------------------------------------------------- tool arguments


def example_from_schema(schema: Any, name: str = "value", root: Any = None, depth: int = 0) -> Any:
    """Deterministic arguments that satisfy a JSON schema well enough for round-trip tests."""
    if not isinstance(schema, dict) or depth > 8:
        return f"value-{name}"
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return example_from_schema(target, name, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_from_schema((non_null or options)[0], name, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props = schema.get("properties")
        out: dict[str, Any] = {}
        if isinstance(props, dict):
            for prop, sub in props.items():
                out[prop] = example_from_schema(sub, prop, root, depth + 1)
        for prop in schema.get("required") or ():
            if isinstance(prop, str) and prop not in out:
                out[prop] = f"value-{prop}"
        return out
    return {
        "array": [],
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "null": None,
    }.get(kind, f"value-{name}")


def _plan_tool_calls(req: SimRequest, seed: bytes) -> list[PlannedToolCall]:
    """Tool calls requested by ``tools=N`` or forced by tool_choice (any/required/named)."""
    if not req.tools or req.tool_mode == "none":
        return []
    candidates = req.tools
    if req.forced_tool is not None:
        candidates = [t for t in req.tools if t.name == req.forced_tool] or req.tools
    elif req.directives.tool is not None:
        candidates = [t for t in req.tools if t.name == req.directives.tool] or req.tools
    chosen_input = _directive_input(req.directives.tool_input)
    count = req.directives.tools
    if count is None:
        count = 1 if req.tool_mode in ("any", "tool") else 0
    if not req.parallel:
        count = min(count, 1)
    calls: list[PlannedToolCall] = []
    for i in range(max(0, count)):
        tool = candidates[i % len(candidates)]
        args = chosen_input if chosen_input is not None else example_from_schema(tool.schema)
        digest = hashlib.sha256(seed + f"\n{i}\n{tool.name}".encode()).hexdigest()[:24]
        calls.append(
            PlannedToolCall(id_hash=digest, name=tool.name, input=args, arguments=compact_json(args))
        )
    return calls


def _directive_input(encoded: str | None) -> dict[str, Any] | None:
    """``tool_input=<base64url JSON object>`` → the arguments; None when absent or unreadable."""
    if not encoded:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ---------------------------------------------------------------- text helpers


def _filler(seed: bytes, count: int, offset: int = 0) -> list[str]:
    """Deterministic filler words derived from the prompt hash."""
    return [FILLER[seed[(offset + i) % len(seed)] % len(FILLER)] for i in range(count)]


def word_pieces(text: str) -> list[str]:
    """Split into word deltas the way tokenizers do: leading whitespace stays on the word."""
    pieces = _WORD_RE.findall(text)
    rest = len(text) - sum(len(p) for p in pieces)
    if rest:
        if pieces:
            pieces[-1] += text[-rest:]
        else:
            pieces = [text]
    return pieces


def _even_groups(items: list[str], n: int) -> list[str]:
    """Concatenate ``items`` into exactly ``n`` non-empty, near-equal groups."""
    q, r = divmod(len(items), n)
    out: list[str] = []
    pos = 0
    for i in range(n):
        size = q + (1 if i < r else 0)
        out.append("".join(items[pos : pos + size]))
        pos += size
    return out


def split_exact(text: str, n: int) -> list[str]:
    """``text`` as exactly ``n`` deltas (fewer only if it has fewer characters)."""
    if not text:
        return []
    n = max(1, min(n, len(text)))
    words = word_pieces(text)
    if n <= len(words):
        return _even_groups(words, n)
    return _even_groups(list(text), n)


def split_fragments(payload: str, pieces: int | None = None) -> list[str]:
    """Tool-argument JSON as ≥2 fragments (like real ``input_json_delta`` streams)."""
    if pieces is None:
        pieces = max(2, min(4, len(payload) // 16))
    if len(payload) < 2:
        return [payload]
    return _even_groups(list(payload), min(pieces, len(payload)))


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _fit_words(words: list[str], count: int, seed: bytes) -> str:
    """Exactly ``count`` words: the sentence first, then filler."""
    if count <= len(words):
        return " ".join(words[:count])
    return " ".join(words + _filler(seed, count - len(words), offset=7))


# ---------------------------------------------------------------- planning


def _default_text(req: SimRequest, said: list[str], seed: bytes) -> str:
    quote = " ".join(said[:6]) if said else "(nothing)"
    sentence = f"Hello from {req.model}! You said: {quote}."
    if req.images:
        sentence += f" I see {req.images} image(s)."
    words = sentence.split()
    d = req.directives
    if d.words is not None:
        return _fit_words(words, max(0, d.words), seed)
    return " ".join([*words, *_filler(seed, 2)])


def _thinking_text(req: SimRequest, said: list[str]) -> str:
    quote = " ".join(said[:12]) if said else "nothing in particular"
    return (
        f"The user wrote: {quote}. I am {req.model}; "
        "I will answer deterministically, briefly and without surprises."
    )


def plan_reply(req: SimRequest) -> ReplyPlan:
    """Decide the full reply for ``req`` (deterministic in model + last user turn)."""
    d = req.directives
    seed = hashlib.sha256(f"{req.model}\n{req.turn_count}\n{req.user_text}".encode()).digest()
    said = strip_directives(req.user_text).split()
    calls = _plan_tool_calls(req, seed)
    explicit_text = d.oversize is not None or d.text is not None or d.words is not None

    if d.oversize is not None:
        size = max(0, d.oversize)
        text = (_OVERSIZE_PATTERN * (size // len(_OVERSIZE_PATTERN) + 1))[:size]
    elif d.text is not None:
        text = " ".join([d.text] * max(0, d.words if d.words is not None else DEFAULT_WORDS))
    elif calls and not explicit_text:
        text = ""
    elif req.json_schema is not None and not req.tool_results:
        text = json.dumps(example_from_schema(req.json_schema), separators=(",", ":"))
    elif req.tool_results and d.words is None:
        text = "Tool results received: " + "; ".join(
            f"{r.tool_use_id}={strip_directives(r.text)}" for r in req.tool_results
        )
    else:
        text = _default_text(req, said, seed)
    if d.deltas and len(text) < d.deltas:
        pad = " ".join(_filler(seed, d.deltas))
        text = f"{text} {pad}" if text else pad

    thinking_on = req.thinking or d.think
    thinking = _thinking_text(req, said) if thinking_on else ""
    if req.thinking_budget is not None:
        thinking = truncate_to_tokens(thinking, req.thinking_budget)

    natural_stop: str | None = None
    if d.stop is None and req.stop_sequences and text:
        hits = [(text.find(s), s) for s in req.stop_sequences if s and s in text]
        if hits:
            pos, natural_stop = min(hits)
            text = text[:pos]
            calls = []

    budget = max(0, req.max_tokens)
    truncated = False
    fitted = truncate_to_tokens(thinking, budget)
    truncated |= fitted != thinking
    thinking = fitted
    thinking_tokens = tokens(thinking)
    budget -= thinking_tokens
    fitted = truncate_to_tokens(text, budget)
    truncated |= fitted != text
    text = fitted
    budget -= tokens(text)
    kept: list[PlannedToolCall] = []
    for call in calls:
        cost = tokens(call.arguments)
        if cost > budget:
            truncated = True
            break
        kept.append(call)
        budget -= cost

    if d.stop in ANTHROPIC_STOP_REASONS:
        stop_reason = d.stop
        stop_sequence = req.stop_sequences[0] if d.stop == "stop_sequence" and req.stop_sequences else None
    elif truncated:
        stop_reason, stop_sequence = "max_tokens", None
    elif natural_stop is not None:
        stop_reason, stop_sequence = "stop_sequence", natural_stop
    elif kept:
        stop_reason, stop_sequence = "tool_use", None
    else:
        stop_reason, stop_sequence = "end_turn", None

    if d.deltas:
        text_deltas = split_exact(text, d.deltas)
    elif d.oversize is not None:
        text_deltas = _chunks(text, OVERSIZE_CHUNK)
    else:
        text_deltas = word_pieces(text) if text else []

    has_thinking = bool(thinking)
    shown = "" if req.thinking_omitted else thinking
    return ReplyPlan(
        seed=seed.hex(),
        has_thinking=has_thinking,
        thinking=shown,
        thinking_tokens=thinking_tokens,
        thinking_deltas=word_pieces(shown) if shown else [],
        text=text,
        text_deltas=text_deltas,
        tool_calls=kept,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        output_tokens=thinking_tokens + tokens(text) + sum(tokens(c.arguments) for c in kept),
    )
