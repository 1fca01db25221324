"""Simulated Gemini modality endpoints under ``/gemini/v1beta``: embeddings, Imagen, Veo.

``models/{m}:batchEmbedContents`` (no usage in the response, as the real API),
``models/{m}:predict`` (Imagen: ``predictions[].bytesBase64Encoded``),
``models/{m}:predictLongRunning`` (Veo: an operation ``name``), ``GET {operation}`` and
``POST {operation}:cancel``, and ``files/{id}:download`` (the video bytes, key required).
Errors use Google's ``{"error": {"code", "message", "status"}}`` body.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import media_common as mc
from bytespike.simulator.directives import strip_directives
from bytespike.simulator.state import SimState
from bytespike.simulator.wire import INVALID_JSON, json_response, read_recorded

PREFIX = "/gemini/v1beta"
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
RESOLUTION = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


def _err(status: int, message: str = "Simulated error.") -> Response:
    return json_response(status, {"error": {"code": status, "message": message,
                                            "status": STATUS.get(status, "UNKNOWN")}}, [])


class GeminiMediaSimulator:
    """Gemini embeddings, Imagen and Veo, deterministic."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.jobs: dict[str, mc.SimJob] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX + "/models/{model}:batchEmbedContents", self.embed, methods=["POST"]),
            Route(PREFIX + "/models/{model}:predict", self.imagen, methods=["POST"]),
            Route(PREFIX + "/models/{model}:predictLongRunning", self.veo, methods=["POST"]),
            Route(PREFIX + "/models/{model}/operations/{op}:cancel", self.cancel, methods=["POST"]),
            Route(PREFIX + "/models/{model}/operations/{op}", self.operation, methods=["GET"]),
            Route(PREFIX + "/files/{file}:download", self.download, methods=["GET"]),
        ]

    async def _json(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        body = await read_recorded(request, self.state)
        if not mc.has_key(request):
            return None, _err(403, "Method doesn't allow unregistered callers. Please use API Key.")
        if body is INVALID_JSON or not isinstance(body, dict):
            return None, _err(400, "Invalid JSON payload received.")
        return body, None

    async def embed(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        reqs = body.get("requests")
        if not isinstance(reqs, list) or not reqs:
            return _err(400, "* BatchEmbedContentsRequest.requests: must not be empty")
        if len(reqs) > 100:
            return _err(400, "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
        texts = ["".join(p.get("text", "") for p in (r.get("content") or {}).get("parts", [])) for r in reqs]
        status = mc.forced_status(self.state, " ".join(texts))
        if status:
            return _err(status)
        model = request.path_params["model"]
        out = []
        for r, text in zip(reqs, texts, strict=True):
            dims = int(r.get("outputDimensionality") or 3072)
            out.append({"values": mc.vector(strip_directives(text), dims, model)})
        return json_response(200, {"embeddings": out}, [])

    async def imagen(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        instances = body.get("instances") or [{}]
        prompt = str(instances[0].get("prompt") or "")
        if not prompt:
            return _err(400, "prompt is required")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        count = int((body.get("parameters") or {}).get("sampleCount") or 1)
        if not 1 <= count <= 4:
            return _err(400, "sampleCount must be between 1 and 4")
        preds = [{"bytesBase64Encoded": mc.b64(mc.png(f"imagen|{strip_directives(prompt)}|{i}")), "mimeType": "image/png"}
                 for i in range(count)]
        return json_response(200, {"predictions": preds}, [])

    async def veo(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        instances = body.get("instances") or [{}]
        prompt = str(instances[0].get("prompt") or "")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        params = body.get("parameters") or {}
        resolution = str(params.get("resolution") or "720p")
        w, h = RESOLUTION.get(resolution, (1280, 720))
        if params.get("aspectRatio") == "9:16":
            w, h = h, w
        model = request.path_params["model"]
        job = mc.new_job("", model, prompt, int(params.get("durationSeconds") or 8), w, h, resolution)
        self.jobs[job.id] = job
        return json_response(200, {"name": f"models/{model}/operations/{job.id}"}, [])

    async def operation(self, request: Request) -> Response:
        await read_recorded(request, self.state)
        job = self.jobs.get(request.path_params["op"])
        if job is None:
            return _err(404, "Operation not found.")
        name = f"models/{job.model}/operations/{job.id}"
        status = job.status()
        if status in ("queued", "running"):
            return json_response(200, {"name": name, "done": False}, [])
        if status == "cancelled":
            return json_response(200, {"name": name, "done": True, "error": {"code": 1, "message": "Cancelled."}}, [])
        if status == "failed":
            return json_response(200, {"name": name, "done": True,
                                       "error": {"code": 3, "message": "Video generation failed (simulated)."}}, [])
        uri = f"{str(request.base_url).rstrip('/')}{PREFIX}/files/{job.id}:download?alt=media"
        return json_response(200, {"name": name, "done": True, "response": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}}, [])

    async def cancel(self, request: Request) -> Response:
        await read_recorded(request, self.state)
        job = self.jobs.get(request.path_params["op"])
        if job is None:
            return _err(404, "Operation not found.")
        job.cancelled = True
        return json_response(200, {}, [])

    async def download(self, request: Request) -> Response:
        if not mc.has_key(request):
            return _err(403, "Method doesn't allow unregistered callers. Please use API Key.")
        job = self.jobs.get(request.path_params["file"])
        if job is None or job.status() != "succeeded":
            return _err(404, "File not found.")
        return mc.binary(200, job.video(), "video/mp4")

