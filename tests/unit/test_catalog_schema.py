"""The catalog is typed: unknown keys are refused at load, and every field the schema knows is read.

Issue 14, finding 2: ``price_long`` was documented in the catalog and read by nothing. The
schema makes that impossible: a key it does not know fails the load, and each key it knows
is read by the code listed here (``READERS``), checked by searching the source for the read.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bytespike.catalog import CATALOG_PATH, load
from bytespike.catalog.schema import CatalogFile, ModelEntry, ProviderEntry, parse_window

SRC = Path(__file__).resolve().parents[2] / "src" / "bytespike"


def _raw() -> dict[str, Any]:
    with CATALOG_PATH.open("rb") as fh:
        return tomllib.load(fh)


def _model(raw: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(m for m in raw["models"] if m["id"] == model_id)


def test_the_shipped_catalog_loads() -> None:
    cat = load(_raw())
    assert len(cat.models) == len(_raw()["models"])
    assert cat.model("claude-haiku-5-5").price_long.threshold == 100_000  # type: ignore[union-attr]


@pytest.mark.parametrize("where", ["model", "price", "price_long", "provider", "meta", "top"])
def test_an_unknown_key_fails_the_load(where: str) -> None:
    raw = _raw()
    target = {"model": _model(raw, "claude-haiku-5-5"), "price": _model(raw, "claude-haiku-5-5")["price"],
              "price_long": _model(raw, "claude-haiku-5-5")["price_long"], "provider": raw["providers"]["anthropic"],
              "meta": raw["meta"], "top": raw}[where]
    target["price_longg" if where == "model" else "surprise"] = 1
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        load(raw)


@pytest.mark.parametrize(("model_id", "change", "message"), [
    ("claude-haiku-5-5", {"price": {"input": "100000", "output": 1}}, "valid integer"),
    ("claude-haiku-5-5", {"price_long": {"input": 1, "output": 1}}, "threshold"),
    ("claude-haiku-5-5", {"status": "gone"}, "status"),
    ("claude-haiku-5-5", {"unverified": ["price.cache_write"]}, "does not set"),
    ("claude-haiku-5-5", {"price_next": {"effective": "2027-01-01", "input": 1, "output": 1}}, "not expressible"),
    ("deepseek-flash", {"peak_hours_utc": ["weekdays 1-4"]}, "peak window"),
    ("deepseek-flash", {"peak_hours_utc": None}, "go together"),
    ("claude-haiku-4-5", {"fallback": "gpt-6-luna"}, "another wire"),
    ("tts-1", {"price": {"input": 1, "output": 0}}, "unit_price alone"),
    ("gpt-6-luna", {"price": {"input": 1, "output": 1, "cache_write": 2, "cache_write_5m": 3}}, "not both"),
])
def test_incoherent_entries_fail_the_load(model_id: str, change: dict[str, Any], message: str) -> None:
    raw = _raw()
    entry = _model(raw, model_id)
    for key, value in change.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = copy.deepcopy(value)
    with pytest.raises(ValidationError, match=message):
        load(raw)


def test_peak_windows_parse() -> None:
    w = parse_window("Mon-Fri 01:00-04:00")
    assert w.days == frozenset({1, 2, 3, 4, 5}) and (w.start_minute, w.end_minute) == (60, 240)
    assert w.label == "Mon-Fri 01:00-04:00"
    assert parse_window("Sat 10:30-23:59").days == frozenset({6})
    for bad in ("Fri-Mon 01:00-02:00", "Mon 05:00-04:00", "Mon 1:00-2:00"):
        with pytest.raises(ValueError):
            parse_window(bad)


# Every field of the schema -> the code that reads it (a regex over that file). The schema is the
# one list of what the catalog may say; this table is the proof that saying it has an effect.
READERS: dict[str, tuple[str, str]] = {
    # ModelEntry -> Model (catalog/schema.py builds the Model; these read the Model's fields)
    "id": ("gateway/messages.py", r'"id": m\.id'),
    "provider": ("catalog/__init__.py", r"self\.providers\[model\.provider\]"),
    "upstream_model": ("gateway/lanes/chat_wire.py", r"model\.upstream_model"),
    "display_name": ("gateway/messages.py", r"m\.display_name"),
    "created_at": ("gateway/messages.py", r"m\.created_at"),
    "status": ("gateway/messages.py", r'"status": m\.status'),
    "modality": ("gateway/lanes/base.py", r'model\.modality != "chat"'),
    "fallback": ("gateway/pipeline.py", r"model\.fallback"),
    "retires_at": ("gateway/media/common.py", r"model\.retires_at"),
    "context_window": ("catalog/__init__.py", r"self\.context_window"),
    "max_input_tokens": ("catalog/__init__.py", r"self\.max_input_tokens"),
    "max_output_tokens": ("gateway/lanes/chat_surface.py", r"model\.max_output_tokens"),
    "capabilities": ("gateway/messages.py", r"m\.capabilities"),
    "thinking": ("gateway/lanes/chat_surface.py", r"model\.thinking"),
    "thinking_always_on": ("gateway/playground.py", r"m\.thinking_always_on"),
    "free_tier": ("playground/settings.py", r"m\.free_tier and"),
    "price": ("billing/__init__.py", r"return model\.price\b"),
    "price_long": ("billing/__init__.py", r"model\.price_long\.threshold"),
    "price_offpeak": ("billing/__init__.py", r"model\.price_offpeak\.is_peak"),
    "peak_hours_utc": ("catalog/schema.py", r"parse_window\(w\) for w in self\.peak_hours_utc"),
    "price_next": ("billing/__init__.py", r"model\.price_next\.effective"),
    "unit_price": ("gateway/media/common.py", r"model\.unit_price"),
    "price_source": ("gateway/messages.py", r"provenance\.source"),
    "price_as_of": ("gateway/messages.py", r"provenance\.as_of"),
    "price_crosscheck": ("gateway/messages.py", r"provenance\.crosscheck"),
    "unverified": ("gateway/messages.py", r"provenance\.unverified"),
    "notes": ("gateway/messages.py", r"provenance\.notes"),
    "audio": ("gateway/media/common.py", r"media\.audio"),
    "dimensions": ("gateway/media/embeddings.py", r"media\.dimensions"),
    "min_dimensions": ("gateway/media/embeddings.py", r"media\.min_dimensions"),
    "max_inputs": ("gateway/media/embeddings.py", r"media\.max_inputs"),
    "max_documents": ("gateway/media/rerank.py", r"media\.max_documents"),
    "chunk_tokens": ("gateway/media/rerank.py", r"media\.chunk_tokens"),
    "max_prompt_chars": ("gateway/media/images.py", r"media\.max_prompt_chars"),
    "max_n": ("gateway/media/images.py", r"media\.max_n"),
    "sizes": ("gateway/media/video.py", r"media\.sizes"),
    "qualities": ("gateway/media/images.py", r"media\.qualities"),
    "edits": ("gateway/media/images.py", r"media\.edits"),
    "voices": ("gateway/media/audio.py", r"media\.voices"),
    "formats": ("gateway/media/audio.py", r"media\.formats"),
    "max_chars": ("gateway/media/audio.py", r"media\.max_chars"),
    "max_upload_bytes": ("gateway/media/common.py", r"media\.max_upload_bytes"),
    "seconds": ("gateway/media/video.py", r"media\.seconds"),
    # ProviderEntry
    "wire": ("gateway/messages.py", r"\.wire\b"),
    "base_url": ("providers/__init__.py", r"base_url"),
    "key_env": ("providers/__init__.py", r"key_env"),
    "sim_prefix": ("local/stack.py", r"sim_prefix"),
    "wires": ("gateway/lanes/registry.py", r"provider\.wires"),
    # Meta
    "as_of": ("gateway/messages.py", r"catalog\(\)\.as_of"),
}


def test_every_schema_field_is_read_by_code() -> None:
    fields = set(ModelEntry.model_fields) | set(ProviderEntry.model_fields) | {"as_of"}
    assert fields == set(READERS), f"fields without a reader: {fields - set(READERS)}; stale: {set(READERS) - fields}"
    for name, (path, pattern) in READERS.items():
        assert re.search(pattern, (SRC / path).read_text()), f"{name}: no read matching {pattern!r} in {path}"


def test_the_schema_covers_the_file_header() -> None:
    """Every key the TOML's header documents is a schema field (and nothing the header omits is)."""
    header = _raw_text().split("[meta]\nas_of", 1)[0]
    documented = set(re.findall(r"^#\s{2,3}([a-z_0-9]+)\s{2,}", header, flags=re.MULTILINE))
    documented |= set(re.findall(r"^#\s{7}([a-z_0-9]+)\s{2,}", header, flags=re.MULTILINE))  # price's sub-keys
    known = set(CatalogFile.model_fields) | set(ModelEntry.model_fields) | set(ProviderEntry.model_fields)
    known |= {"as_of", "input", "output", "cache_write_5m", "cache_write_1h", "cache_write", "cache_read"}
    assert documented - known == set(), documented - known


def _raw_text() -> str:
    return CATALOG_PATH.read_text()
