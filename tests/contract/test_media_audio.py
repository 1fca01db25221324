"""Audio over HTTP with the official openai SDK: streamed speech (per character), multipart
transcriptions (per second of audio), upload validation."""

from __future__ import annotations

import io
import math
import struct

import httpx
import openai
import pytest

from bytespike.catalog import catalog
from tests.support.stack import Stack

TEXT = "Streaming speech, billed per character, held exactly."


def wav_bytes(seconds: float, rate: int = 16_000) -> bytes:
    data = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


def test_speech_streams_wav_and_bills_per_character(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    client = stack.openai(org.master_key)
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=TEXT + " [[sim interval_ms=5]]",
                                                            response_format="wav") as response:
        assert response.headers["content-type"].startswith("audio/wav")
        estimated = int(response.headers["estimated_credits"])
        chunks = list(response.iter_bytes())
    audio = b"".join(chunks)
    assert len(chunks) > 1  # relayed as produced, not buffered into one body
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE" and audio[12:16] == b"fmt "
    channels, rate = struct.unpack("<HI", audio[22:28])
    assert channels == 1 and rate == 24_000 and audio[36:40] == b"data"
    (data_len,) = struct.unpack("<I", audio[40:44])
    assert data_len == len(audio) - 44
    chars = len(TEXT + " [[sim interval_ms=5]]")
    expected = catalog().model("tts-1").unit_price.cost(chars)
    assert expected == estimated == chars * 15
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "SETTLED" and res["cost"] == expected and res["usage"]["quantity"] == chars
    assert stack.usage_row(org.org_id, res["request_id"])["modality"] == "audio"


def test_speech_mp3_frames(stack: Stack) -> None:
    with stack.openai().audio.speech.with_streaming_response.create(model="tts-1-hd", voice="nova", input="mp3 please",
                                                                    response_format="mp3") as response:
        audio = response.read()
    assert response.headers["content-type"] == "audio/mpeg"
    assert audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0  # MPEG frame sync
    assert audio[1] == 0xFB and audio[2] >> 4 == 9  # MPEG-1 Layer III, 128 kbps
    assert len(audio) % 417 == 0  # whole 417-byte frames


def test_transcription_multipart_bills_reported_seconds(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    client = stack.openai(org.master_key)
    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1",
                                                               file=("clip.wav", io.BytesIO(wav_bytes(2.5)), "audio/wav"))
    result = raw.parse()
    assert result.text.startswith("simulated")
    assert result.usage.type == "duration" and result.usage.seconds == 3
    assert int(raw.headers["estimated_credits"]) == 300 and result.usage.model_extra["credits"] == 300
    [res] = stack.wait_all_released(org.org_id)
    assert res["cost"] == 300 and res["usage"]["unit"] == "second" and res["usage"]["quantity"] == 3


def test_transcription_hold_is_an_upper_bound_for_compressed_audio(stack: Stack) -> None:
    """A non-WAV upload is held at its size at 6 kbps and settled at the reported duration."""
    org = stack.new_org(1_000_000)
    mp3 = b"ID3" + bytes(47_997)  # 48 kB: held as 64 s, the upstream reports 3 s (128 kbps)
    raw = stack.openai(org.master_key).audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("talk.mp3", io.BytesIO(mp3), "audio/mpeg"), response_format="verbose_json")
    result = raw.parse()
    assert int(raw.headers["estimated_credits"]) == 64 * 100
    assert result.duration == 3.0 and result.usage.model_extra["credits"] == 300 and result.segments
    stack.wait_all_released(org.org_id)
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - 300


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_transcription_text_formats(stack: Stack, fmt: str) -> None:
    out = stack.openai().audio.transcriptions.create(model="whisper-1", response_format=fmt,
                                                     file=("clip.wav", io.BytesIO(wav_bytes(1.2)), "audio/wav"))
    text = out if isinstance(out, str) else out.text
    assert "simulated" in text
    if fmt == "srt":
        assert text.startswith("1\n00:00:00,000 --> 00:00:01,200")
    if fmt == "vtt":
        assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.200")


@pytest.mark.parametrize("name,data,field,extra", [
    ("notes.txt", b"hello", "file", {}),
    ("fake.wav", b"this is not audio at all", "file", {}),
    ("clip.wav", b"", "file", {}),
    ("clip.wav", None, "timestamp_granularities", {"timestamp_granularities[]": "word"}),
    ("clip.wav", None, "language", {"language": "english!"}),
])
def test_bad_upload_is_a_clear_400_and_holds_nothing(stack: Stack, name: str, data: bytes | None, field: str,
                                                      extra: dict) -> None:
    org = stack.new_org(100_000)
    payload = wav_bytes(0.5) if data is None else data
    r = httpx.post(f"{stack.base_url}/v1/audio/transcriptions", timeout=10,
                   headers={"authorization": f"Bearer {org.master_key}"},
                   data={"model": "whisper-1", **extra}, files={"file": (name, payload, "application/octet-stream")})
    assert r.status_code == 400 and r.json()["error"]["param"] == field, r.text
    assert r.headers["x-should-retry"] == "false"
    assert stack.reservations(org.org_id) == []


def test_upload_over_the_limit_is_refused_before_any_hold(stack: Stack) -> None:
    org = stack.new_org(100_000)
    big = wav_bytes(40)  # 1.28 MB > the test stack's 1 MB payload limit
    with pytest.raises(openai.APIStatusError) as err:
        stack.openai(org.master_key).audio.transcriptions.create(model="whisper-1",
                                                                 file=("big.wav", io.BytesIO(big), "audio/wav"))
    assert err.value.status_code in (400, 413)
    assert stack.reservations(org.org_id) == []


@pytest.mark.parametrize("body,param", [
    ({"model": "tts-1", "voice": "alloy", "input": "x" * 4097}, "input"),
    ({"model": "tts-1", "voice": "robot", "input": "x"}, "voice"),
    ({"model": "tts-1", "voice": "alloy", "input": "x", "speed": 9}, "speed"),
    ({"model": "tts-1", "voice": "alloy", "input": "x", "instructions": "whisper"}, "instructions"),
    ({"model": "whisper-1", "voice": "alloy", "input": "x"}, "model"),
])
def test_bad_speech_requests(stack: Stack, body: dict, param: str) -> None:
    r = httpx.post(f"{stack.base_url}/v1/audio/speech", json=body, timeout=10,
                   headers={"authorization": f"Bearer {stack.master_key}"})
    assert r.status_code in (400, 404) and r.json()["error"]["param"] == param, r.text


def test_speech_failure_bills_zero(stack: Stack) -> None:
    org = stack.new_org(100_000)
    with pytest.raises(openai.InternalServerError):
        stack.openai(org.master_key).audio.speech.create(model="tts-1", voice="alloy", input="x [[sim status=500]]")
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert math.isclose(stack.wallet(org.org_id)["balance"], org.topped_up)
