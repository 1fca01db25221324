"""The catalog: models, providers and prices, loaded from ``models.toml``.

Data, not code: the estimator, the router and ``/v1/models`` all read this one file.
Prices are integer credits per million units (1 credit = 1 micro-USD).

The file is loaded through a typed schema (``catalog/schema.py``, pydantic, unknown keys
refused): every field it documents is read by some code, or the load fails. A price rule
written in the file but read by nothing (as ``price_long`` once was) cannot happen again.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

CATALOG_PATH = Path(__file__).with_name("models.toml")


@dataclass(frozen=True, slots=True)
class Price:
    """Credits per million tokens for each kind of token."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int

    @staticmethod
    def zero() -> Price:
        """Models priced in another unit (images, seconds, searches...) carry no token price."""
        return Price(input=0, output=0, cache_write_5m=0, cache_write_1h=0, cache_read=0)


@dataclass(frozen=True, slots=True)
class LongContextPrice:
    """Anthropic, Gemini and OpenAI bill the WHOLE request at dearer rates once its prompt
    (input + cache reads + cache writes) is longer than ``threshold`` tokens."""

    threshold: int
    price: Price


@dataclass(frozen=True, slots=True)
class PeakWindow:
    """A weekly window of the provider's peak rate, in UTC: ``days`` are ISO weekdays (1 = Monday)."""

    days: frozenset[int]
    start_minute: int  # minutes after midnight, inclusive
    end_minute: int  # exclusive

    def contains(self, at: datetime) -> bool:
        minute = at.hour * 60 + at.minute
        return at.isoweekday() in self.days and self.start_minute <= minute < self.end_minute

    @property
    def label(self) -> str:
        """The catalog's own spelling, e.g. ``"Mon-Fri 01:00-04:00"``."""
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        first, last = names[min(self.days) - 1], names[max(self.days) - 1]
        days = first if first == last else f"{first}-{last}"
        return (f"{days} {self.start_minute // 60:02d}:{self.start_minute % 60:02d}-"
                f"{self.end_minute // 60:02d}:{self.end_minute % 60:02d}")


@dataclass(frozen=True, slots=True)
class OffPeakPrice:
    """DeepSeek's half rate outside its peak windows; ``Model.price`` holds the peak rate."""

    price: Price
    peak: tuple[PeakWindow, ...]

    def is_peak(self, at: float) -> bool:
        moment = datetime.fromtimestamp(at, UTC)
        return any(w.contains(moment) for w in self.peak)


@dataclass(frozen=True, slots=True)
class NextPrice:
    """An announced price change: from ``effective`` (epoch seconds, UTC midnight) on, ``price`` applies."""

    effective: float
    price: Price


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """A modality's own price: integer credits per ``per`` units, one rate per variant.

    ``rates`` maps a variant key (e.g. ``"high/1024x1024"``, ``"720p"``) to credits; the key
    ``"default"`` applies when a model has one rate. Cost = ceil(quantity x rate / per),
    exact integer arithmetic like token prices.
    """

    unit: str
    per: int
    rates: dict[str, int]

    def rate(self, key: str = "default") -> int:
        if key in self.rates:
            return self.rates[key]
        if "default" in self.rates:
            return self.rates["default"]
        raise KeyError(f"no {self.unit} rate for '{key}'")

    def cost(self, quantity: int, key: str = "default") -> int:
        return -(-int(quantity) * self.rate(key) // self.per)

    @property
    def max_rate(self) -> int:
        return max(self.rates.values())


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Per-model request limits of the modality endpoints (``gateway/media``); defaults in the schema."""

    audio: str | None = None  # "speech" | "transcription" (audio models)
    dimensions: int = 1536  # embeddings: native width
    min_dimensions: int = 1
    max_inputs: int = 2048
    max_documents: int = 1000  # rerank
    chunk_tokens: int = 500
    max_prompt_chars: int = 32_000  # images
    max_n: int = 1
    sizes: tuple[str, ...] = ()  # images, video
    qualities: tuple[str, ...] = ()
    edits: bool = False
    voices: tuple[str, ...] = ()  # speech
    formats: tuple[str, ...] = ()  # speech output / transcription upload formats
    max_chars: int = 4096
    max_upload_bytes: int = 25 * 1024 * 1024  # transcription
    seconds: tuple[int, ...] = (4,)  # video


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a model's prices come from, for /v1/models and docs/CATALOG.md: shown, never guessed."""

    source: str
    as_of: str
    crosscheck: str | None = None
    unverified: tuple[str, ...] = ()
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    wire: str  # the provider's own protocol (media endpoints, token counts)
    base_url: str
    key_env: str
    sim_prefix: str
    wires: tuple[str, ...] = ()  # the chat protocols it speaks upstream, most capable first (gateway/lanes)


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    provider: str
    upstream_model: str
    display_name: str
    created_at: str
    context_window: int
    max_output_tokens: int
    modality: str
    price: Price
    status: str = "active"
    capabilities: frozenset[str] = field(default_factory=frozenset)
    thinking: str | None = None
    thinking_always_on: bool = False
    free_tier: bool = False
    fallback: str | None = None
    max_input_tokens: int | None = None  # when lower than the context window (OpenAI: 922k of 1.05M)
    price_long: LongContextPrice | None = None
    price_offpeak: OffPeakPrice | None = None
    price_next: NextPrice | None = None
    unit_price: UnitPrice | None = None  # modality models priced per image/second/search/...
    retires_at: str | None = None  # YYYY-MM-DD: from then on the gateway answers 410 without holding
    media: MediaLimits = field(default_factory=MediaLimits)
    provenance: Provenance | None = field(default=None, compare=False)

    @property
    def input_limit(self) -> int:
        """The largest prompt the model takes."""
        return self.max_input_tokens or self.context_window


@dataclass(frozen=True, slots=True)
class Catalog:
    as_of: str
    providers: dict[str, Provider]
    models: dict[str, Model]

    def model(self, model_id: str) -> Model | None:
        """By public id, or by the provider's own model id (so pinned snapshot names work too)."""
        found = self.models.get(model_id)
        if found is None:
            for m in self.models.values():
                if m.upstream_model == model_id:
                    return m
        return found

    def provider_of(self, model: Model) -> Provider:
        return self.providers[model.provider]


def load(raw: dict[str, object]) -> Catalog:
    """A catalog from the TOML's parsed data, through the typed schema (unknown keys refused)."""
    from bytespike.catalog.schema import CatalogFile  # pydantic: only when the catalog is first read

    return CatalogFile.model_validate(raw).to_catalog()


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    path = Path(os.environ.get("BYTESPIKE_CATALOG", CATALOG_PATH))
    with path.open("rb") as fh:
        return load(tomllib.load(fh))
