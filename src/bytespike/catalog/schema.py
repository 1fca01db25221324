"""The typed schema of ``models.toml``: unknown keys are refused, every field is read.

Each field here is read by code (the estimator and settle, the router, the media endpoints,
``/v1/models``); a key the schema does not know fails the load, so the file can never
document a rule that no code applies. The schema also refuses combinations the pricing code
cannot express (a model with both a long-context tier and an announced price change).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bytespike.catalog import (
    Catalog,
    LongContextPrice,
    MediaLimits,
    Model,
    NextPrice,
    OffPeakPrice,
    PeakWindow,
    Price,
    Provenance,
    Provider,
    UnitPrice,
)
from bytespike.protocols import WireName

Credits = Annotated[int, Field(ge=0, strict=True)]
Positive = Annotated[int, Field(gt=0, strict=True)]
Modality = Literal["chat", "embeddings", "rerank", "images", "audio", "video"]
Capability = Literal["tools", "vision", "thinking", "cache", "pdf", "json_schema", "reasoning_content"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceEntry(_Strict):
    """Credits per million tokens. Without a write price, cache writes bill as input; without a
    read price, cache hits bill as input (conservative)."""

    input: Credits
    output: Credits
    cache_write_5m: Credits | None = None  # Anthropic 5-minute write
    cache_write_1h: Credits | None = None  # Anthropic 1-hour write
    cache_write: Credits | None = None  # other providers that bill writes (OpenAI: 30-minute retention)
    cache_read: Credits | None = None

    @model_validator(mode="after")
    def _one_write_style(self) -> PriceEntry:
        if self.cache_write is not None and (self.cache_write_5m is not None or self.cache_write_1h is not None):
            raise ValueError("give cache_write (one rate) or cache_write_5m/cache_write_1h, not both")
        return self

    def to_price(self) -> Price:
        write = self.cache_write if self.cache_write is not None else self.input
        return Price(
            input=self.input,
            output=self.output,
            cache_write_5m=self.cache_write_5m if self.cache_write_5m is not None else write,
            cache_write_1h=self.cache_write_1h if self.cache_write_1h is not None else write,
            cache_read=self.cache_read if self.cache_read is not None else self.input,
        )


class LongPriceEntry(PriceEntry):
    threshold: Positive


class NextPriceEntry(PriceEntry):
    effective: date


_WINDOW = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)(?:-(Mon|Tue|Wed|Thu|Fri|Sat|Sun))? (\d\d):(\d\d)-(\d\d):(\d\d)$")
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def parse_window(text: str) -> PeakWindow:
    """``"Mon-Fri 01:00-04:00"`` (UTC, end exclusive) -> a PeakWindow."""
    m = _WINDOW.match(text)
    if not m:
        raise ValueError(f"peak window {text!r}: expected e.g. 'Mon-Fri 01:00-04:00' (UTC)")
    first, last = _DAYS.index(m[1]) + 1, _DAYS.index(m[2] or m[1]) + 1
    if last < first:
        raise ValueError(f"peak window {text!r}: days must run forwards")
    start, end = int(m[3]) * 60 + int(m[4]), int(m[5]) * 60 + int(m[6])
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"peak window {text!r}: the start must come before the end, within one day")
    return PeakWindow(days=frozenset(range(first, last + 1)), start_minute=start, end_minute=end)


class UnitPriceEntry(BaseModel):
    """``{unit, per, <variant> = credits...}``: the variants are the open part of this table."""

    model_config = ConfigDict(extra="allow", frozen=True)
    unit: Literal["token", "search", "image", "character", "second"]
    per: Positive = 1

    @model_validator(mode="after")
    def _rates(self) -> UnitPriceEntry:
        rates = self.model_extra or {}
        if not rates:
            raise ValueError("unit_price needs at least one rate")
        for key, value in rates.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"unit_price rate {key!r} must be a non-negative integer number of credits")
        return self

    def to_unit_price(self) -> UnitPrice:
        return UnitPrice(unit=self.unit, per=self.per, rates={str(k): int(v) for k, v in (self.model_extra or {}).items()})


class ProviderEntry(_Strict):
    wire: str
    base_url: str
    key_env: str
    sim_prefix: str | None = None
    wires: list[WireName] | None = None  # chat protocols, most capable first; default: [wire] for a chat wire

    def chat_wires(self) -> tuple[str, ...]:
        if self.wires:
            return tuple(w.value for w in self.wires)
        return (self.wire,) if self.wire in WireName.__members__.values() else ()


class ModelEntry(_Strict):
    # identity and routing
    id: str
    provider: str
    upstream_model: str | None = None
    display_name: str | None = None
    created_at: datetime
    status: Literal["active", "legacy", "preview", "retired"]
    modality: Modality
    fallback: str | None = None
    retires_at: date | None = None
    # limits and behaviour
    context_window: Annotated[int, Field(ge=0, strict=True)]
    max_input_tokens: Positive | None = None
    max_output_tokens: Annotated[int, Field(ge=0, strict=True)]
    capabilities: list[Capability] = []
    thinking: Literal["budget", "adaptive", "effort", "switch", "always"] | None = None
    thinking_always_on: bool = False
    free_tier: bool = False
    # prices
    price: PriceEntry | None = None
    price_long: LongPriceEntry | None = None
    price_offpeak: PriceEntry | None = None
    peak_hours_utc: list[str] | None = None
    price_next: NextPriceEntry | None = None
    unit_price: UnitPriceEntry | None = None
    # provenance (shown in /v1/models)
    price_source: str
    price_as_of: date
    price_crosscheck: str | None = None
    unverified: list[str] = []
    notes: str | None = None
    # modality request limits (gateway/media)
    audio: Literal["speech", "transcription"] | None = None
    dimensions: Positive | None = None
    min_dimensions: Positive | None = None
    max_inputs: Positive | None = None
    max_documents: Positive | None = None
    chunk_tokens: Positive | None = None
    max_prompt_chars: Positive | None = None
    max_n: Positive | None = None
    sizes: list[str] | None = None
    qualities: list[str] | None = None
    edits: bool = False
    voices: list[str] | None = None
    formats: list[str] | None = None
    max_chars: Positive | None = None
    max_upload_bytes: Positive | None = None
    seconds: list[Positive] | None = None

    @field_validator("peak_hours_utc")
    @classmethod
    def _windows(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            parse_window(text)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ModelEntry:
        if self.modality == "chat" and self.price is None:
            raise ValueError(f"{self.id}: a chat model needs a token price")
        if self.modality != "chat" and (self.unit_price is None or self.price is not None):
            raise ValueError(f"{self.id}: a {self.modality} model is priced by unit_price alone")
        if (self.price_offpeak is None) != (self.peak_hours_utc is None):
            raise ValueError(f"{self.id}: price_offpeak and peak_hours_utc go together")
        tiers = [name for name in ("price_long", "price_offpeak", "price_next") if getattr(self, name) is not None]
        if len(tiers) > 1:
            raise ValueError(f"{self.id}: {' and '.join(tiers)} together are not expressible (one price rule per model)")
        if self.modality == "audio" and self.audio is None:
            raise ValueError(f"{self.id}: an audio model says whether it is 'speech' or 'transcription'")
        for name in self.unverified:
            head, _, sub = name.partition(".")
            value = getattr(self, head, None) if head in type(self).model_fields else None
            if value is None or (sub and getattr(value, sub, None) is None):
                raise ValueError(f"{self.id}: unverified names {name!r}, which this model does not set")
        return self

    def to_model(self) -> Model:
        price = self.price.to_price() if self.price else Price.zero()
        media = MediaLimits(**{name: tuple(v) if isinstance(v, list) else v
                               for name in MediaLimits.__dataclass_fields__
                               if (v := getattr(self, name)) is not None})
        return Model(
            id=self.id,
            provider=self.provider,
            upstream_model=self.upstream_model or self.id,
            display_name=self.display_name or self.id,
            created_at=self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            modality=self.modality,
            price=price,
            status=self.status,
            capabilities=frozenset(self.capabilities),
            thinking=self.thinking,
            thinking_always_on=self.thinking_always_on,
            free_tier=self.free_tier,
            fallback=self.fallback,
            max_input_tokens=self.max_input_tokens,
            price_long=LongContextPrice(self.price_long.threshold, self.price_long.to_price()) if self.price_long else None,
            price_offpeak=OffPeakPrice(self.price_offpeak.to_price(), tuple(parse_window(w) for w in self.peak_hours_utc or []))
            if self.price_offpeak else None,
            price_next=NextPrice(datetime(self.price_next.effective.year, self.price_next.effective.month,
                                          self.price_next.effective.day, tzinfo=UTC).timestamp(),
                                 self.price_next.to_price()) if self.price_next else None,
            unit_price=self.unit_price.to_unit_price() if self.unit_price else None,
            retires_at=self.retires_at.isoformat() if self.retires_at else None,
            media=media,
            provenance=Provenance(source=self.price_source, as_of=self.price_as_of.isoformat(),
                                  crosscheck=self.price_crosscheck, unverified=tuple(self.unverified), notes=self.notes),
        )


class Meta(_Strict):
    as_of: date


class CatalogFile(_Strict):
    meta: Meta
    providers: dict[str, ProviderEntry]
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _references(self) -> CatalogFile:
        ids: set[str] = set()
        for m in self.models:
            if m.provider not in self.providers:
                raise ValueError(f"catalog model {m.id} names unknown provider {m.provider}")
            if m.modality == "chat" and not self.providers[m.provider].chat_wires():
                raise ValueError(f"catalog model {m.id}: provider {m.provider} speaks no chat protocol (wires)")
            if m.id in ids:
                raise ValueError(f"catalog model {m.id} listed twice")
            ids.add(m.id)
        by_id = {m.id: m for m in self.models}
        for m in self.models:
            if m.fallback is None:
                continue
            target = by_id.get(m.fallback)
            if target is None or target.modality != m.modality:
                raise ValueError(f"catalog model {m.id}: fallback {m.fallback} is not a {m.modality} model of the catalog")
            if self.providers[target.provider].wire != self.providers[m.provider].wire:
                raise ValueError(f"catalog model {m.id}: fallback {m.fallback} speaks another wire protocol")
        return self

    def to_catalog(self) -> Catalog:
        providers = {
            name: Provider(name=name, wire=p.wire, base_url=p.base_url.rstrip("/"), key_env=p.key_env,
                           sim_prefix=p.sim_prefix or f"/{name}", wires=p.chat_wires())
            for name, p in self.providers.items()
        }
        return Catalog(as_of=self.meta.as_of.isoformat(), providers=providers,
                       models={m.id: m.to_model() for m in self.models})
