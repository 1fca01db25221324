"""Simulated OpenAI modality endpoints under ``/openai/v1``: embeddings, images, audio.

Shapes follow the OpenAI API (openai-python types): embeddings with ``float`` or
``base64`` and ``dimensions``; gpt-image generations/edits that always return ``b64_json``
and report ``quality``/``size``/``usage``; speech streamed in chunks in the requested format;
transcriptions from multipart uploads, with ``duration`` usage for whisper-1. Videos (Sora)
are not simulated: OpenAI shut that API down on 2026-09-24 (docs/MEDIA.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bytespike.simulator import media_common as mc
from bytespike.simulator.directives import strip_directives
from bytespike.simulator.openai_proto import error_body
from bytespike.simulator.state import SimState
from bytespike.simulator.tokens import tokens
from bytespike.simulator.wire import INVALID_JSON, json_response, new_id, read_recorded

PREFIX = "/openai/v1"
NATIVE_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
IMAGE_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}
CHUNK = 4096


def _err(status: int, message: str | None = None, param: str | None = None, code: str | None = None) -> Response:
    return json_response(status, error_body(status, message, None, param, code), [("x-request-id", new_id("req_sim_"))])


class OpenAIMediaSimulator:
    """OpenAI embeddings, images and audio, deterministic."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/embeddings", self.embeddings, methods=["POST"]),
            Route(f"{PREFIX}/images/generations", self.images, methods=["POST"]),
            Route(f"{PREFIX}/images/edits", self.image_edits, methods=["POST"]),
            Route(f"{PREFIX}/audio/speech", self.speech, methods=["POST"]),
            Route(f"{PREFIX}/audio/transcriptions", self.transcriptions, methods=["POST"]),
        ]

    async def _json(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        body = await read_recorded(request, self.state)
        if not mc.has_key(request):
            return None, _err(401, "You didn't provide an API key.")
        if body is INVALID_JSON or not isinstance(body, dict):
            return None, _err(400, "We could not parse the JSON body of your request.")
        return body, None

    # -------------------------------------------------------------- embeddings
    async def embeddings(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _err(400, "'input' must be a string or a non-empty array of strings.", "input")
        status = mc.forced_status(self.state, " ".join(texts))
        if status:
            return _err(status)
        model = str(body.get("model"))
        native = NATIVE_DIMS.get(model, 1536)
        dims = body.get("dimensions") or native
        if not isinstance(dims, int) or not 1 <= dims <= native:
            return _err(400, f"Invalid 'dimensions': must be between 1 and {native}.", "dimensions")
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vec = mc.vector(strip_directives(text), dims, model)
            data.append({"object": "embedding", "index": i, "embedding": mc.floats_b64(vec) if b64 else vec})
        used = sum(tokens(t) for t in texts)
        return mc.ok({"object": "list", "data": data, "model": model,
                      "usage": {"prompt_tokens": used, "total_tokens": used}}, new_id("req_sim_"))

    # -------------------------------------------------------------- images
    def _image_result(self, model: str, prompt: str, n: int, size: str, quality: str, fmt: str) -> dict[str, Any]:
        size = "1024x1024" if size in ("", "auto") else size
        quality = "medium" if quality in ("", "auto") else quality
        data = [{"b64_json": mc.b64(mc.png(f"{model}|{prompt}|{i}"))} for i in range(n)]
        text = tokens(prompt)
        out = IMAGE_TOKENS.get(quality, 1056) * n
        return {"created": int(time.time()), "background": "opaque", "data": data, "output_format": fmt,
                "quality": quality, "size": size,
                "usage": {"input_tokens": text, "input_tokens_details": {"image_tokens": 0, "text_tokens": text},
                          "output_tokens": out, "total_tokens": text + out}}

    async def images(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return _err(400, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        if "response_format" in body and str(body.get("model", "")).startswith("gpt-image"):
            return _err(400, "Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
        n = int(body.get("n") or 1)
        if not 1 <= n <= 10:
            return _err(400, "Invalid 'n': must be between 1 and 10.", "n")
        result = self._image_result(str(body.get("model")), strip_directives(prompt), n, str(body.get("size") or ""),
                                    str(body.get("quality") or ""), str(body.get("output_format") or "png"))
        return mc.ok(result, new_id("req_sim_"))

    async def image_edits(self, request: Request) -> Response:
        raw = await request.body()
        form = await request.form()
        mc.record(self.state, request, {k: v for k, v in form.items() if isinstance(v, str)}, raw)
        if not mc.has_key(request):
            return _err(401, "You didn't provide an API key.")
        images = [v for k, v in form.multi_items() if k in ("image", "image[]") and isinstance(v, UploadFile)]
        prompt = form.get("prompt")
        if not images:
            return _err(400, "Missing required parameter: 'image'.", "image", "missing_required_parameter")
        if not isinstance(prompt, str) or not prompt:
            return _err(400, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        result = self._image_result(str(form.get("model")), strip_directives(prompt), int(str(form.get("n") or 1)),
                                    str(form.get("size") or ""), str(form.get("quality") or ""), "png")
        return mc.ok(result, new_id("req_sim_"))

    # -------------------------------------------------------------- audio
    async def speech(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        text = body.get("input")
        if not isinstance(text, str) or not text:
            return _err(400, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
        if len(text) > 4096:
            return _err(400, "Invalid 'input': string too long. Expected a string with maximum length 4096.", "input",
                        "string_above_max_length")
        d = mc.directives_of(text)
        if self.state.should_fail(d):
            return _err(d.status or 502)
        fmt = str(body.get("response_format") or "mp3")
        if fmt not in AUDIO_TYPES:
            return _err(400, f"The simulator renders mp3, wav and pcm; '{fmt}' is not simulated.", "response_format")
        seconds = mc.speech_seconds(strip_directives(text)) / float(body.get("speed") or 1.0)
        audio = mc.wav(seconds) if fmt == "wav" else mc.pcm(seconds) if fmt == "pcm" else mc.mp3(seconds)
        interval = d.interval_ms / 1000.0

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(audio), CHUNK):
                if i and interval:
                    await asyncio.sleep(interval)
                yield audio[i : i + CHUNK]

        return StreamingResponse(chunks(), media_type=AUDIO_TYPES[fmt],
                                 headers={"x-request-id": new_id("req_sim_")})

    async def transcriptions(self, request: Request) -> Response:
        raw = await request.body()
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        mc.record(self.state, request, fields, raw[:2048])
        if not mc.has_key(request):
            return _err(401, "You didn't provide an API key.")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _err(400, "Missing required parameter: 'file'.", "file", "missing_required_parameter")
        status = mc.forced_status(self.state, fields.get("prompt", ""))
        if status:
            return _err(status)
        data = await upload.read()
        duration = mc.wav_duration(data)
        if duration is None:
            duration = len(data) / 16_000  # compressed audio: assume 128 kbps
        duration = round(duration, 3)
        words = max(1, int(duration * 2))
        text = " ".join(["simulated"] * words)
        segments = [{"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text, "tokens": [],
                     "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.0}]
        fmt = fields.get("response_format", "json")
        usage = {"type": "duration", "seconds": math.ceil(duration)}
        if fmt == "verbose_json":
            return mc.ok({"task": "transcribe", "language": fields.get("language") or "english", "duration": duration,
                          "text": text, "segments": segments, "usage": usage}, new_id("req_sim_"))
        if fmt == "text":
            return Response(text + "\n", media_type="text/plain")
        return mc.ok({"text": text, "usage": usage}, new_id("req_sim_"))
