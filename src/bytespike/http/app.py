"""The one app factory: every function's app, with identical auth, errors, ids and headers.

The apps are Starlette, not FastAPI: every endpoint takes the raw ``Request`` (bodies are parsed
and validated by the gateway's own wire models, errors rendered in the caller's protocol) and the
OpenAPI document is hand-built (``http/openapi.py``), so FastAPI's dependency injection and schema
generation served nothing, while importing it was ~0.5 s of every function's cold start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bytespike.errors import GatewayError, Kind
from bytespike.gateway.pipeline import new_request_id
from bytespike.http.access import AccessMiddleware
from bytespike.http.render import error_response, surface_for_shared_path
from bytespike.tracing import TraceMiddleware

log = logging.getLogger("bytespike.http")

# Function -> the protocol its errors speak when a path does not say otherwise.
_DEFAULT_SURFACE = {"messages": "anthropic", "chat": "openai", "responses": "responses", "playground": "anthropic",
                    "gemini": "gemini"}


def _surface(function: str, request: Request) -> str:
    if request.url.path.startswith(("/v1/models", "/v1/usage", "/v1/orgs", "/v1/keys", "/v1/alerts", "/console")):
        return surface_for_shared_path(request)
    return _DEFAULT_SURFACE.get(function, "openai")


class GatewayApp(Starlette):
    """A function's app: Starlette plus the one way registrars add routes."""

    def add_api_route(self, path: str, endpoint: Callable[..., Awaitable[Response]], methods: Sequence[str],
                      summary: str | None = None, include_in_schema: bool = True) -> None:
        """Route ``path`` to ``endpoint(request, **path_params)``; ``summary`` lives in http/openapi.py's
        document (checked against these routes by tests/schema), not here."""

        async def handle(request: Request) -> Response:
            return await endpoint(request, **request.path_params)

        handle.__name__ = handle.__qualname__ = getattr(endpoint, "__name__", "endpoint")
        self.router.routes.append(Route(path, handle, methods=list(methods), include_in_schema=include_in_schema))


def _register_messages(app: GatewayApp) -> None:
    from bytespike.gateway import messages
    from bytespike.gateway.lanes.run import run_lane
    from bytespike.protocols import SurfaceName

    async def create_message(request: Request) -> Response:
        return await run_lane(request, SurfaceName.ANTHROPIC)

    async def count_tokens(request: Request) -> Response:
        return await messages.count_tokens(request)

    async def list_models(request: Request) -> Response:
        surface = surface_for_shared_path(request)
        if surface == "gemini":  # google-genai 3.x lists models at /v1 (its default API version)
            from bytespike.gateway import gemini

            return gemini.list_models(request)
        return messages.list_models(request, surface)

    async def get_model(request: Request, model_id: str) -> Response:
        surface = surface_for_shared_path(request)
        if surface == "gemini":
            from bytespike.gateway import gemini

            return gemini.get_model(request, model_id)
        return messages.get_model(request, surface, model_id)

    app.add_api_route("/v1/messages", create_message, methods=["POST"], summary="Create a message (Anthropic Messages)")
    app.add_api_route("/v1/messages/count_tokens", count_tokens, methods=["POST"], summary="Count tokens and estimate credits")
    app.add_api_route("/v1/models", list_models, methods=["GET"], summary="List models (Anthropic or OpenAI shape)")
    app.add_api_route("/v1/models/{model_id:path}", get_model, methods=["GET"], summary="Get a model")
    # Google's Gemini API at version v1 (google-genai 3.x's default): the model methods share the
    # /v1/models path with the model list, which API Gateway sends here (docs/ARCHITECTURE.md).
    _gemini_methods(app, "/v1/models")


def _register_admin(app: GatewayApp) -> None:
    from bytespike.gateway import admin, usage

    async def get_usage(request: Request, request_id: str) -> Response:
        operator_view = await admin.request_usage(request, request_id)
        return operator_view or await usage.get_request_usage(request, request_id)

    # Orgs, wallets, keys, usage ledger (issue #5); who may call what: docs/ADMIN.md.
    app.add_api_route("/v1/orgs", admin.create_org, methods=["POST"], summary="Create an org: wallet + master key")
    app.add_api_route("/v1/orgs/{org_id}", admin.get_org, methods=["GET"], summary="An org and its wallet")
    app.add_api_route("/v1/orgs/{org_id}/topups", admin.top_up, methods=["POST"], summary="Top up (idempotent by id)")
    app.add_api_route("/v1/keys", admin.create_key, methods=["POST"], summary="Mint a key (secret shown once)")
    app.add_api_route("/v1/keys", admin.list_keys, methods=["GET"], summary="List keys (never secrets)")
    app.add_api_route("/v1/keys/self", admin.get_self, methods=["GET"], summary="The calling key itself")
    app.add_api_route("/v1/keys/{key_id}", admin.get_key, methods=["GET"], summary="One key")
    app.add_api_route("/v1/keys/{key_id}/revoke", admin.revoke_key, methods=["POST"], summary="Revoke a key")
    app.add_api_route("/v1/keys/{key_id}/rotate", admin.rotate_key, methods=["POST"], summary="Rotate a key's secret")
    app.add_api_route("/v1/usage", admin.usage_rows, methods=["GET"], summary="Usage rows (JSON or CSV)")
    app.add_api_route("/v1/usage/summary", admin.usage_summary, methods=["GET"], summary="Usage per member/model/day")
    app.add_api_route("/v1/usage/{request_id}", get_usage, methods=["GET"], summary="Billed usage of one request")
    # Alerts and the console (issue #19) keep their handlers in their own packages.
    from bytespike.alerts import http as alerts_http
    from bytespike.console import page as console_page

    alerts_http.register(app.add_api_route)
    console_page.register(app.add_api_route)


def _register_chat(app: GatewayApp) -> None:
    from bytespike.gateway.lanes.run import run_lane
    from bytespike.protocols import SurfaceName

    async def chat_completions(request: Request) -> Response:
        return await run_lane(request, SurfaceName.OPENAI_CHAT)

    app.add_api_route("/v1/chat/completions", chat_completions, methods=["POST"],
                      summary="Create a chat completion (OpenAI Chat Completions)")


def _register_responses(app: GatewayApp) -> None:
    from bytespike.gateway import responses
    from bytespike.gateway.lanes.run import run_lane
    from bytespike.protocols import SurfaceName

    async def create(request: Request) -> Response:
        return await run_lane(request, SurfaceName.OPENAI_RESPONSES)

    async def input_tokens(request: Request) -> Response:
        return await responses.input_tokens(request)

    app.add_api_route("/v1/responses", create, methods=["POST"], summary="Create a response (OpenAI Responses)")
    app.add_api_route("/v1/responses/input_tokens", input_tokens, methods=["POST"],
                      summary="Count a response's input tokens and estimate credits")
    # Stored responses (store: true) and compaction (issue 17).
    async def compact(request: Request) -> Response:
        from bytespike.gateway.lanes.responses_surface import CompactSurface

        return await run_lane(request, SurfaceName.OPENAI_RESPONSES, CompactSurface())

    app.add_api_route("/v1/responses/compact", compact, methods=["POST"],
                      summary="Compact a conversation (a billed summary as a compaction item)")
    app.add_api_route("/v1/responses/{response_id}", responses.retrieve, methods=["GET"],
                      summary="Get a stored response")
    app.add_api_route("/v1/responses/{response_id}", responses.delete, methods=["DELETE"],
                      summary="Delete a stored response")
    app.add_api_route("/v1/responses/{response_id}/input_items", responses.input_items, methods=["GET"],
                      summary="List a stored response's input items")
    app.add_api_route("/v1/responses/{response_id}/cancel", responses.cancel, methods=["POST"],
                      summary="Cancel a background response")


def _gemini_methods(app: GatewayApp, prefix: str) -> None:
    """Google's model methods under ``prefix`` (``/v1beta/models``, and ``/v1/models``: google-genai
    3.x defaults to API version v1). The method is part of the last path segment
    (``models/{model}:generateContent``): each is its own route, ``{model}`` matching up to the
    colon (Starlette's ``[^/]+`` backtracks to the literal method). ``gateway.gemini`` is imported
    by the methods that use it, so the messages function (which serves ``/v1/models``) does not
    load it at start."""
    from bytespike.gateway.lanes.run import run_lane
    from bytespike.protocols import SurfaceName

    async def generate(request: Request, model: str) -> Response:
        return await run_lane(request, SurfaceName.GEMINI)

    async def count_tokens(request: Request, model: str) -> Response:
        from bytespike.gateway import gemini

        return await gemini.count_tokens(request, model)

    async def embed_content(request: Request, model: str) -> Response:
        from bytespike.gateway import gemini

        return await gemini.embed(request, model, batch=False)

    async def batch_embed_contents(request: Request, model: str) -> Response:
        from bytespike.gateway import gemini

        return await gemini.embed(request, model, batch=True)

    app.add_api_route(prefix + "/{model}:generateContent", generate, methods=["POST"],
                      summary="Generate content (Gemini API)")
    app.add_api_route(prefix + "/{model}:streamGenerateContent", generate, methods=["POST"],
                      summary="Stream generated content (Gemini API; alt=sse or a JSON array)")
    app.add_api_route(prefix + "/{model}:countTokens", count_tokens, methods=["POST"],
                      summary="Count tokens and estimate credits (Gemini API)")
    app.add_api_route(prefix + "/{model}:embedContent", embed_content, methods=["POST"],
                      summary="Embed content (Gemini API)")
    app.add_api_route(prefix + "/{model}:batchEmbedContents", batch_embed_contents, methods=["POST"],
                      summary="Embed a batch of contents (Gemini API)")


def _register_gemini(app: GatewayApp) -> None:
    """Google's Gemini API, ``/v1beta`` (Gemini CLI, google-genai with ``api_version="v1beta"``)."""
    from bytespike.gateway import gemini

    async def list_models(request: Request) -> Response:
        return gemini.list_models(request)

    async def get_model(request: Request, model: str) -> Response:
        return gemini.get_model(request, model)

    app.add_api_route("/v1beta/models", list_models, methods=["GET"], summary="List models (Gemini API shape)")
    app.add_api_route("/v1beta/models/{model}", get_model, methods=["GET"], summary="Get a model (Gemini API shape)")
    _gemini_methods(app, "/v1beta/models")


def _register_playground(app: GatewayApp) -> None:
    from bytespike.gateway import playground

    async def index(request: Request) -> Response:
        return playground.serve_asset(request, "index.html")

    async def asset(request: Request, name: str) -> Response:
        return playground.serve_asset(request, name)

    async def config(request: Request) -> Response:
        return await playground.config(request)

    async def estimate(request: Request) -> Response:
        return await playground.estimate(request)

    async def run(request: Request) -> Response:
        return await playground.run(request)

    for path in ("/", "/playground", "/playground/"):
        app.add_api_route(path, index, methods=["GET"], include_in_schema=False)
    app.add_api_route("/playground/static/{name}", asset, methods=["GET"], include_in_schema=False)
    app.add_api_route("/playground/config", config, methods=["GET"], summary="Playground: free-run rules and runs left")
    app.add_api_route("/playground/estimate", estimate, methods=["POST"], summary="Playground: estimate a free run")
    app.add_api_route("/playground/run", run, methods=["POST"], summary="Playground: one free run (streaming)")


def _register_embeddings(app: GatewayApp) -> None:
    from bytespike.gateway.media import embeddings

    async def create(request: Request) -> Response:
        return await embeddings.create_embeddings(request)

    app.add_api_route("/v1/embeddings", create, methods=["POST"], summary="Create embeddings (OpenAI shape)")


def _register_rerank(app: GatewayApp) -> None:
    from bytespike.gateway.media import rerank

    async def create(request: Request) -> Response:
        return await rerank.rerank(request)

    app.add_api_route("/v1/rerank", create, methods=["POST"], summary="Rerank documents (Cohere/Jina shape)")


def _register_images(app: GatewayApp) -> None:
    from bytespike.gateway.media import images

    async def generate(request: Request) -> Response:
        return await images.generate(request)

    async def edit(request: Request) -> Response:
        return await images.edit(request)

    app.add_api_route("/v1/images/generations", generate, methods=["POST"], summary="Generate images")
    app.add_api_route("/v1/images/edits", edit, methods=["POST"], summary="Edit images (multipart)")


def _register_audio(app: GatewayApp) -> None:
    from bytespike.gateway.media import audio

    async def speech(request: Request) -> Response:
        return await audio.speech(request)

    async def transcriptions(request: Request) -> Response:
        return await audio.transcriptions(request)

    app.add_api_route("/v1/audio/speech", speech, methods=["POST"], summary="Text to speech (streamed audio)")
    app.add_api_route("/v1/audio/transcriptions", transcriptions, methods=["POST"], summary="Transcribe audio (multipart)")


def _register_video(app: GatewayApp) -> None:
    from bytespike.gateway.media import video

    async def create(request: Request) -> Response:
        return await video.create_video(request)

    async def retrieve(request: Request, video_id: str) -> Response:
        return await video.retrieve_video(request, video_id)

    async def content(request: Request, video_id: str) -> Response:
        return await video.video_content(request, video_id)

    async def delete(request: Request, video_id: str) -> Response:
        return await video.delete_video(request, video_id)

    app.add_api_route("/v1/videos", create, methods=["POST"], summary="Create a video job (async)")
    app.add_api_route("/v1/videos/{video_id}", retrieve, methods=["GET"], summary="Get a video job (polls upstream)")
    app.add_api_route("/v1/videos/{video_id}", delete, methods=["DELETE"], summary="Cancel or delete a video job")
    app.add_api_route("/v1/videos/{video_id}/content", content, methods=["GET"], summary="Download the video")


REGISTRARS: dict[str, Callable[[GatewayApp], None]] = {
    "messages": _register_messages,
    "chat": _register_chat,
    "responses": _register_responses,
    "gemini": _register_gemini,
    "admin": _register_admin,
    "playground": _register_playground,
    "embeddings": _register_embeddings,
    "rerank": _register_rerank,
    "images": _register_images,
    "audio": _register_audio,
    "video": _register_video,
}


def register(function: str, registrar: Callable[[GatewayApp], None]) -> None:
    """Other modules (issues #3-#7) add their functions here."""
    REGISTRARS[function] = registrar


def _openapi_document(function: str) -> dict[str, object]:
    """GET /openapi.json: this function's part of the gateway's document (``http/openapi.py``),
    imported on first use to keep it off the cold start."""
    from bytespike.http import openapi

    return openapi.document_for(function)


def create_app(function: str) -> GatewayApp:
    async def _gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return error_response(exc, _surface(function, request), new_request_id())

    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: Kind.NOT_FOUND, 405: Kind.INVALID_REQUEST}.get(exc.status_code, Kind.INVALID_REQUEST)
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return error_response(GatewayError(kind, message, status=exc.status_code), _surface(function, request),
                              new_request_id())

    async def _unexpected(request: Request, exc: Exception) -> Response:
        request_id = new_request_id()
        log.exception("unhandled error on %s %s (%s)", request.method, request.url.path, request_id)
        return error_response(GatewayError(Kind.API, "Internal gateway error."), _surface(function, request), request_id)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        GatewayError: _gateway_error, StarletteHTTPException: _http_error, Exception: _unexpected}
    app = GatewayApp(exception_handlers=handlers)
    REGISTRARS[function](app)
    app.add_middleware(TraceMiddleware)
    app.add_middleware(AccessMiddleware, function=function)  # estimated_credits on every response; rejections logged

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True, "function": function})

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(_openapi_document(function))

    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)
    _add_snapstart_hooks(app)
    return app


def _add_snapstart_hooks(app: GatewayApp) -> None:
    """The web adapter's SnapStart hooks (``bytespike.snapstart``), where the template configures them."""
    import os

    from bytespike import snapstart

    async def before_checkpoint(_: Request) -> Response:
        snapstart.prime()
        return JSONResponse({"ok": True})

    async def after_restore(_: Request) -> Response:
        await snapstart.after_restore()
        return JSONResponse({"ok": True})

    for env, endpoint in ((snapstart.BEFORE_CHECKPOINT_ENV, before_checkpoint),
                          (snapstart.AFTER_RESTORE_ENV, after_restore)):
        if path := os.environ.get(env):
            app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
