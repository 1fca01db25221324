"""The catalog: models, providers and prices, loaded from ``models.toml``.

Data, not code: the estimator, the router and ``/v1/models`` all read this one file.
Prices are integer credits per million units (1 credit = 1 micro-USD).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

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
    def from_dict(raw: dict[str, Any]) -> Price:
        inp = int(raw["input"])
        # Providers without a separate cache-write price bill writes as input.
        write = int(raw.get("cache_write", raw.get("cache_write_5m", inp)))
        return Price(
            input=inp,
            output=int(raw["output"]),
            cache_write_5m=int(raw.get("cache_write_5m", write)),
            cache_write_1h=int(raw.get("cache_write_1h", write)),
            cache_read=int(raw.get("cache_read", inp)),
        )


    @staticmethod
    def zero() -> Price:
        """Models priced in another unit (images, seconds, searches...) carry no token price."""
        return Price(input=0, output=0, cache_write_5m=0, cache_write_1h=0, cache_read=0)


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

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> UnitPrice:
        rates = {str(k): int(v) for k, v in raw.items() if k not in ("unit", "per")}
        if not rates:
            raise ValueError("unit_price needs at least one rate")
        return UnitPrice(unit=str(raw["unit"]), per=int(raw.get("per", 1)), rates=rates)

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
class Provider:
    name: str
    wire: str
    base_url: str
    key_env: str
    sim_prefix: str


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
    capabilities: frozenset[str] = field(default_factory=frozenset)
    thinking: str | None = None
    free_tier: bool = False
    fallback: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    unit_price: UnitPrice | None = None  # modality models priced per image/second/search/...


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


def _parse(data: dict[str, Any]) -> Catalog:
    providers = {
        name: Provider(
            name=name,
            wire=p["wire"],
            base_url=p["base_url"].rstrip("/"),
            key_env=p["key_env"],
            sim_prefix=p.get("sim_prefix", f"/{name}"),
        )
        for name, p in data.get("providers", {}).items()
    }
    models: dict[str, Model] = {}
    for m in data.get("models", []):
        if m["provider"] not in providers:
            raise ValueError(f"catalog model {m['id']} names unknown provider {m['provider']}")
        if m["id"] in models:
            raise ValueError(f"catalog model {m['id']} listed twice")
        models[m["id"]] = Model(
            id=m["id"],
            provider=m["provider"],
            upstream_model=m.get("upstream_model", m["id"]),
            display_name=m.get("display_name", m["id"]),
            created_at=m.get("created_at", "2025-01-01T00:00:00Z"),
            context_window=int(m.get("context_window", 128000)),
            max_output_tokens=int(m.get("max_output_tokens", 8192)),
            modality=m.get("modality", "chat"),
            price=Price.from_dict(m["price"]) if "price" in m else Price.zero(),
            capabilities=frozenset(m.get("capabilities", [])),
            thinking=m.get("thinking"),
            free_tier=bool(m.get("free_tier", False)),
            fallback=m.get("fallback"),
            raw=m,
            unit_price=UnitPrice.from_dict(m["unit_price"]) if "unit_price" in m else None,
        )
    return Catalog(as_of=str(data.get("meta", {}).get("as_of", "")), providers=providers, models=models)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    path = Path(os.environ.get("BYTESPIKE_CATALOG", CATALOG_PATH))
    with path.open("rb") as fh:
        return _parse(tomllib.load(fh))
