"""Simulated Volcengine Ark modality endpoints under ``/ark/api/v3``: embeddings, Seedream, Seedance.

``/embeddings`` (OpenAI-compatible, float only, ``usage.prompt_tokens``),
``/images/generations`` (Seedream: ``url`` or ``b64_json``, ``usage.generated_images``; sizes
below 3,686,400 pixels are refused like Seedream 4.5), ``/contents/generations/tasks`` (Seedance
tasks: create, get, delete) and ``/ark/files/...`` (the signed result URLs the tasks return).
Errors use Ark's OpenAI-like ``{"error": {"code", "message", "param", "type"}}`` body.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import media_common as mc
from bytespike.simulator.directives import strip_directives
from bytespike.simulator.state import SimState
from bytespike.simulator.tokens import tokens
from bytespike.simulator.wire import INVALID_JSON, json_response, new_id, read_recorded

PREFIX = "/ark/api/v3"
FILES = "/ark/files"
MIN_PIXELS = 3_686_400
PRESET = {"2K": (2048, 2048), "4K": (4096, 4096)}
RESOLUTION = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}


def _err(status: int, message: str = "Simulated error.", code: str = "InternalServiceError",
         param: str | None = None) -> Response:
    etype = "BadRequest" if status == 400 else "ServerError" if status >= 500 else "Error"
    return json_response(status, {"error": {"code": code, "message": message, "param": param, "type": etype}},
                         [("x-request-id", new_id("req_sim_"))])


class ArkMediaSimulator:
    """Ark embeddings, Seedream images and Seedance video tasks, deterministic."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.tasks: dict[str, mc.SimJob] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/embeddings", self.embeddings, methods=["POST"]),
            Route(f"{PREFIX}/images/generations", self.images, methods=["POST"]),
            Route(f"{PREFIX}/contents/generations/tasks", self.create_task, methods=["POST"]),
            Route(PREFIX + "/contents/generations/tasks/{task_id}", self.get_task, methods=["GET"]),
            Route(PREFIX + "/contents/generations/tasks/{task_id}", self.delete_task, methods=["DELETE"]),
            Route(FILES + "/{name}", self.file, methods=["GET"]),
        ]

    async def _json(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        body = await read_recorded(request, self.state)
        if not mc.has_key(request):
            return None, _err(401, "The API key is missing.", "MissingApiKey")
        if body is INVALID_JSON or not isinstance(body, dict):
            return None, _err(400, "The request body is not valid JSON.", "InvalidParameter")
        return body, None

    async def embeddings(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts:
            return _err(400, "input is required", "MissingParameter", "input")
        if body.get("encoding_format", "float") != "float":
            return _err(400, "encoding_format only supports float", "InvalidParameter", "encoding_format")
        status = mc.forced_status(self.state, " ".join(map(str, texts)))
        if status:
            return _err(status)
        model = str(body.get("model"))
        data = [{"object": "embedding", "index": i, "embedding": mc.vector(strip_directives(str(t)), 2048, model)}
                for i, t in enumerate(texts)]
        used = sum(tokens(str(t)) for t in texts)
        return mc.ok({"id": new_id(""), "object": "list", "created": int(time.time()), "model": model, "data": data,
                      "usage": {"prompt_tokens": used, "total_tokens": used}}, new_id("req_sim_"))

    async def images(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        prompt = str(body.get("prompt") or "")
        if not prompt:
            return _err(400, "prompt is required", "MissingParameter", "prompt")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        size = str(body.get("size") or "2K")
        w, h = PRESET.get(size) or mc.size_of(size, (0, 0))
        if w * h < MIN_PIXELS:
            return _err(400, f"The parameter `size` specified in the request is not valid: total pixels must be at "
                             f"least {MIN_PIXELS}.", "InvalidParameter", "size")
        count = 1
        if body.get("sequential_image_generation") == "auto":
            count = int((body.get("sequential_image_generation_options") or {}).get("max_images") or 1)
        base = str(request.base_url).rstrip("/")
        clean = strip_directives(prompt)
        data = []
        for i in range(count):
            seed = f"{body.get('model')}|{clean}|{i}"
            if body.get("response_format") == "b64_json":
                data.append({"b64_json": mc.b64(mc.png(seed)), "size": f"{w}x{h}"})
            else:
                data.append({"url": f"{base}{FILES}/img-{mc.b64(seed.encode()).replace('/', '_')}.png",
                             "size": f"{w}x{h}"})
        return mc.ok({"model": body.get("model"), "created": int(time.time()), "data": data,
                      "usage": {"generated_images": count, "output_tokens": 16384 * count,
                                "total_tokens": 16384 * count}}, new_id("req_sim_"))

    async def create_task(self, request: Request) -> Response:
        body, bad = await self._json(request)
        if bad is not None or body is None:
            return bad or _err(400)
        prompt = " ".join(str(c.get("text") or "") for c in body.get("content") or [] if c.get("type") == "text")
        status = mc.forced_status(self.state, prompt)
        if status:
            return _err(status)
        resolution = str(body.get("resolution") or "720p")
        w, h = RESOLUTION.get(resolution, (1280, 720))
        if body.get("ratio") == "9:16":
            w, h = h, w
        task = mc.new_job("cgt-", str(body.get("model")), prompt, int(body.get("duration") or 5), w, h, resolution)
        self.tasks[task.id] = task
        return mc.ok({"id": task.id}, new_id("req_sim_"))

    async def get_task(self, request: Request) -> Response:
        await read_recorded(request, self.state)
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return _err(404, "The specified task is not found.", "ResourceNotFound")
        status = task.status()
        out: dict[str, Any] = {"id": task.id, "model": task.model, "status": status, "error": None,
                               "created_at": int(task.created), "updated_at": int(time.time()), "seed": 42,
                               "resolution": task.resolution, "ratio": "16:9" if task.width >= task.height else "9:16",
                               "duration": task.seconds, "framespersecond": 24}
        if status == "failed":
            out["error"] = {"code": "OutputVideoSensitiveContentDetected", "message": "Simulated task failure."}
        if status == "succeeded":
            base = str(request.base_url).rstrip("/")
            out["content"] = {"video_url": f"{base}{FILES}/{task.id}.mp4"}
            used = task.width * task.height * 24 * task.seconds // 1024
            out["usage"] = {"completion_tokens": used, "total_tokens": used}
        return mc.ok(out, new_id("req_sim_"))

    async def delete_task(self, request: Request) -> Response:
        await read_recorded(request, self.state)
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return _err(404, "The specified task is not found.", "ResourceNotFound")
        task.cancelled = True
        return mc.ok({}, new_id("req_sim_"))

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name.endswith(".mp4"):
            task = self.tasks.get(name[:-4])
            if task is None or task.status() != "succeeded":
                return _err(404, "NoSuchKey", "NoSuchKey")
            return mc.binary(200, task.video(), "video/mp4")
        if name.startswith("img-") and name.endswith(".png"):
            return mc.binary(200, mc.png(name), "image/png")
        return _err(404, "NoSuchKey", "NoSuchKey")
