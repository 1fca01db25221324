"""The simulator's ASGI app: provider surfaces under their own prefixes plus ``/_sim`` control.

Each provider is a module with a ``*Simulator(state)`` class exposing ``routes()``; adding
Gemini, Ark or a modality endpoint means adding one module and one entry to
``PROVIDERS`` — the control plane (request log, reset, health) is shared by all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator.anthropic_proto import AnthropicSimulator
from bytespike.simulator.ark_proto import ArkSimulator
from bytespike.simulator.deepseek_proto import DeepSeekSimulator
from bytespike.simulator.gemini_proto import GeminiSimulator
from bytespike.simulator.media_ark import ArkMediaSimulator
from bytespike.simulator.media_gemini import GeminiMediaSimulator
from bytespike.simulator.media_openai import OpenAIMediaSimulator
from bytespike.simulator.media_rerank import RerankSimulator
from bytespike.simulator.openai_proto import OpenAISimulator
from bytespike.simulator.openai_responses_proto import OpenAIResponsesSimulator
from bytespike.simulator.state import SimState
from bytespike.simulator.wire import install_drop_log_filter, json_response


class ProviderSurface(Protocol):
    """What a provider module contributes: its routes, bound to the shared state."""

    def routes(self) -> list[BaseRoute]: ...


PROVIDERS: tuple[Callable[[SimState], ProviderSurface], ...] = (
    # Modality endpoints first: the chat surfaces below end in per-provider catch-alls.
    OpenAIMediaSimulator,
    GeminiMediaSimulator,
    ArkMediaSimulator,
    RerankSimulator,
    AnthropicSimulator,
    OpenAIResponsesSimulator,  # before OpenAISimulator, whose /openai catch-all would shadow it
    OpenAISimulator,
    GeminiSimulator,
    DeepSeekSimulator,
    ArkSimulator,
)


def control_routes(state: SimState) -> list[BaseRoute]:
    """``/_sim/*``: how tests inspect and reset the simulator."""

    async def requests(request: Request) -> Response:
        params = request.query_params
        found = state.search(params.get("contains"), params.get("path"))
        limit = params.get("limit")
        if limit and limit.isdigit():
            found = found[-int(limit) :]
        return json_response(200, {"requests": [r.to_json() for r in found]}, [])

    async def reset(request: Request) -> Response:
        state.reset()
        return json_response(200, {"ok": True}, [])

    async def health(request: Request) -> Response:
        return json_response(200, {"status": "ok"}, [])

    return [
        Route("/_sim/requests", requests, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/health", health, methods=["GET"]),
    ]


def create_simulator_app(state: SimState | None = None) -> Starlette:
    """Build a fresh simulator (own log, caches and counters unless ``state`` is shared)."""
    install_drop_log_filter()
    state = state or SimState()
    routes = control_routes(state)
    for provider in PROVIDERS:
        routes.extend(provider(state).routes())
    app = Starlette(routes=routes)
    app.state.sim = state
    return app
