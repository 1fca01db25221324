"""``POST /v1/audio/speech`` (streamed) and ``POST /v1/audio/transcriptions`` (multipart).

Speech is priced per input character, so the hold is the exact cost; the audio bytes are
relayed as the upstream produces them and the call settles when the stream ends (0 if the
upstream fails or the client leaves before the first byte). Transcription is priced per
second of audio: the hold assumes the upload is as long as it can be (PCM WAV: from a self-consistent header;
anything else: its size at 6 kbps, the lowest bitrate of any accepted codec), the settle uses the duration
the upstream reports. The gateway always asks the upstream for ``verbose_json`` (which
carries the duration) and renders the format the client asked for (json, text, srt, vtt,
verbose_json).
"""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.media import common as c
from bytespike.gateway.pipeline import Call
from bytespike.providers import media as up

MODALITY = "audio"
MIN_BYTES_PER_SECOND = 750  # 6 kbps: Opus's floor, the lowest bitrate of any accepted codec
PCM_FORMATS = (1, 3, 0xFFFE)  # WAVE_FORMAT_PCM, IEEE_FLOAT, EXTENSIBLE
MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
               "wav": "audio/wav", "pcm": "audio/pcm"}
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


# ------------------------------------------------------------------ speech
async def speech(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        body = await c.read_json(request)
        model = c.resolve(body.get("model"), MODALITY, kind="speech")
        c.authorize(key, model, MODALITY)
        text = c.as_str(body, "input", required=True, max_len=model.media.max_chars) or ""
        voice = body.get("voice")
        if isinstance(voice, dict):
            voice = voice.get("id")
        c.one_of(voice if voice is not None else "", "voice", list(model.media.voices), "")
        fmt = c.one_of(body.get("response_format"), "response_format", list(model.media.formats or ("mp3",)), "mp3")
        speed = c.as_float(body.get("speed"), "speed", 0.25, 4.0, 1.0)
        if body.get("instructions") is not None and model.upstream_model.startswith("tts-1"):
            raise c.bad("'instructions' is not supported by tts-1 and tts-1-hd.", "instructions")
        c.one_of(body.get("stream_format"), "stream_format", ("audio",), "audio")
        price = c.unit_price(model)
        chars = len(text)
        ctx.estimated = price.cost(chars)
        call = c.new_call(request, key, model, ctx.estimated)
        ctx.request_id = call.request_id
        _, account = c.provider_of(model)
        upstream_body = {"model": model.upstream_model, "input": text, "voice": voice, "response_format": fmt,
                         "speed": speed}
        upstream = await c.overlap_open(call, lambda: up.open_(account, "openai", "POST", "/audio/speech",
                                                               json_body=upstream_body, accept="*/*"), MODALITY)
        usage = c.units_usage(model, chars, characters=chars)
        media_type = upstream.headers.get("content-type", MEDIA_TYPES[fmt])
        return StreamingResponse(_relay_audio(call, upstream, price.cost(chars), usage), media_type=media_type,
                                 headers={**ctx.headers(), "x-credits": str(price.cost(chars))})
    except GatewayError as err:
        return ctx.error(err)


async def _relay_audio(call: Call, upstream: httpx.Response, cost: int, usage: dict[str, Any]) -> AsyncIterator[bytes]:
    """Bytes as they come; settle exactly once however the stream ends."""
    delivered = 0
    finished = False
    try:
        async for chunk in upstream.aiter_raw():
            if chunk:
                delivered += len(chunk)
                yield chunk
        finished = True
        await c.settle_units(call, cost, {**usage, "bytes": delivered})
    except httpx.HTTPError as exc:
        finished = True
        await c.fail(call, GatewayError(Kind.UPSTREAM, f"The upstream audio stream failed: {type(exc).__name__}."))
    finally:
        with anyio.CancelScope(shield=True):
            await upstream.aclose()
            if not finished and not call.settled:
                # Client went away: nothing received bills nothing; once audio flowed, the
                # characters were consumed upstream and are billed.
                if delivered:
                    await c.settle_units(call, cost, {**usage, "bytes": delivered}, outcome="client_aborted")
                else:
                    await c.fail(call, GatewayError(Kind.API, "client disconnected before any audio"))


# ------------------------------------------------------------------ transcriptions
def max_seconds(data: bytes) -> int:
    """Upper bound of an upload's duration: exact for PCM WAV, size at 6 kbps otherwise."""
    wav = wav_seconds(data)
    if wav is not None:
        return max(1, math.ceil(wav))
    return max(1, math.ceil(len(data) / MIN_BYTES_PER_SECOND))


def wav_seconds(data: bytes) -> float | None:
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt " and size >= 16 and pos + 24 <= len(data):
            tag, channels, rate, declared, align, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            # Trust the header only when it is self-consistent PCM: a forged byte rate must not
            # shrink the hold below what the upstream will bill.
            if (tag in PCM_FORMATS and 1 <= channels <= 8 and 8_000 <= rate <= 384_000 and bits in (8, 16, 24, 32)
                    and align == channels * bits // 8 and declared == rate * align):
                byte_rate = declared
        elif cid == b"data":
            return min(size, len(data) - pos - 8) / byte_rate if byte_rate else None
        pos += 8 + size + (size & 1)
    return None


async def transcriptions(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        form = await c.read_form(request, max_files=1)
        model = c.resolve(c.form_str(form, "model", required=True), MODALITY, kind="transcription")
        c.authorize(key, model, MODALITY)
        formats = {ext: c.AUDIO_EXT[ext] for ext in model.media.formats if ext in c.AUDIO_EXT}
        upload = await c.read_upload(form, "file", model=model, allowed_ext=formats)
        assert upload is not None
        fmt = c.one_of(c.form_str(form, "response_format"), "response_format", TRANSCRIPT_FORMATS, "json")
        language = c.form_str(form, "language", max_len=8)
        if language is not None and not (language.isalpha() and 2 <= len(language) <= 3):
            raise c.bad("'language' must be an ISO-639-1 code such as 'en'.", "language")
        prompt = c.form_str(form, "prompt", max_len=4000)
        temperature = c.as_float(c.form_str(form, "temperature"), "temperature", 0.0, 1.0, 0.0)
        granularities = [g for k, g in form.multi_items() if k in ("timestamp_granularities[]", "timestamp_granularities")]
        for g in granularities:
            c.one_of(g, "timestamp_granularities", ("word", "segment"), "segment")
        if granularities and fmt != "verbose_json":
            raise c.bad("timestamp_granularities requires response_format=verbose_json.", "timestamp_granularities")
        if (c.form_str(form, "stream") or "false").lower() not in ("false", "0"):
            raise c.bad(f"Streaming transcription is not supported for {model.id}.", "stream")
        price = c.unit_price(model)
        held_seconds = max_seconds(upload[1])
        ctx.estimated = price.cost(held_seconds)
        call = c.new_call(request, key, model, ctx.estimated)
        ctx.request_id = call.request_id
        _, account = c.provider_of(model)
        data: dict[str, Any] = {"model": model.upstream_model, "response_format": "verbose_json",
                                "temperature": str(temperature)}
        if language:
            data["language"] = language
        if prompt:
            data["prompt"] = prompt
        files: up.Files = [("file", upload)]
        if granularities:
            data["timestamp_granularities[]"] = granularities
        response = await c.overlap_open(
            call, lambda: up.open_(account, "openai", "POST", "/audio/transcriptions", data=data, files=files), MODALITY)
        try:
            answer = await up.read_json(response)
            text = str(answer["text"])
        except (GatewayError, KeyError, TypeError) as exc:
            await c.fail(call, exc)
            raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable transcription.") from exc
        seconds = _reported_seconds(answer, held_seconds)
        cost = await c.settle_units(call, price.cost(seconds), c.units_usage(model, seconds, seconds=seconds))
        usage = {"type": "duration", "seconds": seconds, "credits": cost}
        return _render(ctx, fmt, answer, text, usage)
    except GatewayError as err:
        return ctx.error(err)


def _reported_seconds(answer: dict[str, Any], held: int) -> int:
    usage = answer.get("usage") or {}
    if usage.get("type") == "duration" and isinstance(usage.get("seconds"), int | float):
        return max(1, math.ceil(usage["seconds"]))
    if isinstance(answer.get("duration"), int | float):
        return max(1, math.ceil(answer["duration"]))
    return held  # nothing reported: the upper bound (never above the hold)


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _render(ctx: c.Ctx, fmt: str, answer: dict[str, Any], text: str, usage: dict[str, Any]) -> Response:
    headers = {**ctx.headers(), "x-credits": str(usage["credits"])}
    if fmt == "json":
        return ctx.json({"text": text, "usage": usage})
    if fmt == "verbose_json":
        return ctx.json({**answer, "usage": usage})
    if fmt == "text":
        return Response(text + "\n", media_type="text/plain; charset=utf-8", headers=headers)
    segments = answer.get("segments") or [{"start": 0.0, "end": float(answer.get("duration") or 0), "text": text}]
    if fmt == "srt":
        blocks = [f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{str(s['text']).strip()}\n"
                  for i, s in enumerate(segments, 1)]
        return Response("\n".join(blocks), media_type="text/plain; charset=utf-8", headers=headers)
    cues = [f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{str(s['text']).strip()}\n" for s in segments]
    return Response("WEBVTT\n\n" + "\n".join(cues), media_type="text/vtt; charset=utf-8", headers=headers)
