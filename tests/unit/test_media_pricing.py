"""Modality prices and estimates: catalog data, per-unit arithmetic, holds that are upper bounds."""

from __future__ import annotations

import math
import random

import pytest

from bytespike.catalog import catalog
from bytespike.catalog.schema import UnitPriceEntry
from bytespike.errors import GatewayError
from bytespike.gateway.media import audio, common, rerank, video
from bytespike.gateway.media.images import Plan
from bytespike.simulator.media_rerank import CHUNK_TOKENS
from bytespike.simulator.tokens import tokens

MODALITIES = {"embeddings", "rerank", "images", "audio", "video"}
MEDIA = [m for m in catalog().models.values() if m.modality != "chat"]


def test_every_modality_model_is_priced_and_sourced() -> None:
    assert {m.modality for m in MEDIA} == MODALITIES
    for m in MEDIA:
        assert m.unit_price is not None and m.unit_price.rates, m.id
        assert all(isinstance(v, int) and v > 0 for v in m.unit_price.rates.values()), m.id
        assert m.provenance is not None and "| read 20" in m.provenance.source and m.provenance.as_of, m.id
        assert catalog().providers[m.provider]


@pytest.mark.parametrize("model,quantity,key,credits", [
    ("text-embedding-3-small", 1_000_000, "default", 20_000),  # $0.02 / 1M tokens
    ("text-embedding-3-small", 1, "default", 1),  # rounded up to a whole credit
    ("rerank-v3.5", 1, "default", 2_000),  # $2 / 1K searches
    ("gpt-image-1", 3, "high/1536x1024", 750_000),  # $0.25 per image
    ("tts-1", 4096, "default", 61_440),  # $15 / 1M characters
    ("whisper-1", 60, "default", 6_000),  # $0.006 / minute
    ("veo-3.1-generate-preview", 8, "4k", 4_800_000),  # $0.60 / second
    ("doubao-seedance-2-0", 5, "720p", 1_512_000),
])
def test_unit_costs(model: str, quantity: int, key: str, credits: int) -> None:
    assert catalog().model(model).unit_price.cost(quantity, key) == credits


def test_unit_price_parsing() -> None:
    p = UnitPriceEntry.model_validate({"unit": "image", "per": 1, "a": 5, "b": 7}).to_unit_price()
    assert (p.unit, p.per, p.max_rate, p.cost(2, "b")) == ("image", 1, 7, 14)
    with pytest.raises(KeyError):
        p.rate("missing")
    with pytest.raises(ValueError):
        UnitPriceEntry.model_validate({"unit": "image"})


def test_sora_is_retired_from_its_shutdown_day() -> None:
    sora = catalog().model("sora-2")
    assert not common.retired(sora, "2026-09-23") and common.retired(sora, "2026-09-24")
    with pytest.raises(GatewayError) as err:
        common.resolve("sora-2", "video")
    assert err.value.status == 410
    assert not common.retired(catalog().model("doubao-seedance-2-0"))


def test_resolve_checks_the_endpoint() -> None:
    with pytest.raises(GatewayError) as err:
        common.resolve("whisper-1", "audio", kind="speech")
    assert err.value.kind.value == "not_found" and "tts-1" in err.value.message
    assert common.resolve("whisper-1", "audio", kind="transcription").id == "whisper-1"


def test_image_holds_take_the_dearest_variant() -> None:
    model = catalog().model("gpt-image-1")
    plan = Plan(model, {"prompt": "x", "n": 2})
    assert plan.rate_key() == "high/1536x1024" and plan.hold == 500_000
    assert Plan(model, {"prompt": "x", "quality": "low"}).rate_key("low") == "low/1536x1024"
    assert Plan(model, {"prompt": "x", "size": "1024x1024"}).rate_key(None, "1024x1024") == "high/1024x1024"
    assert Plan(model, {"prompt": "x"}).rate_key("medium", "1024x1536") == "medium/1024x1536"
    assert Plan(catalog().model("imagen-4.0-generate-001"), {"prompt": "x", "n": 3}).hold == 120_000


def test_video_rate_keys() -> None:
    seedance = catalog().model("doubao-seedance-2-0")
    assert [video.rate_key(seedance, s) for s in ("854x480", "720x1280", "1920x1080")] == ["480p", "720p", "1080p"]
    assert video.rate_key(catalog().model("sora-2-pro"), "1792x1024") == "1792x1024"
    with pytest.raises(GatewayError):
        video.rate_key(catalog().model("veo-3.1-generate-preview"), "854x480")


def test_rerank_hold_bounds_what_the_upstream_bills() -> None:
    rng = random.Random(6)
    model = catalog().model("rerank-v3.5")
    for _ in range(200):
        query = "q" * rng.randint(1, 400)
        docs = ["d" * rng.randint(0, 6000) for _ in range(rng.randint(1, 300))]
        chunks = sum(max(1, math.ceil((tokens(query) + tokens(d)) / CHUNK_TOKENS)) for d in docs)
        assert rerank.held_units(model, query, docs) >= math.ceil(chunks / 100)


def test_transcription_hold_is_an_upper_bound() -> None:
    from bytespike.simulator.media_common import wav

    assert audio.max_seconds(wav(2.2)) == 3  # exact from the WAV header, rounded up
    assert audio.max_seconds(b"ID3" + bytes(14_997)) == 20  # 15 kB at 6 kbps
    assert audio.wav_seconds(b"RIFF....WAVE") is None
    forged = bytearray(wav(2.2))
    forged[28:32] = (10**9).to_bytes(4, "little")  # a byte rate that would make it ~0 s long
    assert audio.wav_seconds(bytes(forged)) is None and audio.max_seconds(bytes(forged)) > 3


def test_est_tokens_is_above_the_simulator_count() -> None:
    for text in ("", "a", "hello world", "ünïcødé " * 40, "x" * 10_001):
        assert common.est_tokens(text) >= tokens(text)
