"""The lane registry: which codec serves each surface, which adapter each wire, which pairs override.

Adding a surface or a wire is one module and one line here. Modules load on first use, so a
function's cold start imports only the lanes it serves (the import budget, issue 20).
Surfaces and wires are enums; ``tests/unit/test_lane_registry.py`` checks every member has a
codec here and every codec loads.
"""

from __future__ import annotations

import importlib
from functools import cache

from bytespike.catalog import Provider
from bytespike.gateway.lanes.base import Lane, Surface, Wire
from bytespike.protocols import SurfaceName, WireName

SURFACES: dict[SurfaceName, str] = {
    SurfaceName.ANTHROPIC: "bytespike.gateway.lanes.anthropic_surface:AnthropicSurface",
    SurfaceName.OPENAI_CHAT: "bytespike.gateway.lanes.chat_surface:ChatSurface",
    SurfaceName.OPENAI_RESPONSES: "bytespike.gateway.lanes.responses_surface:ResponsesSurface",
    SurfaceName.GEMINI: "bytespike.gateway.lanes.gemini_surface:GeminiSurface",
}

WIRES: dict[WireName, str] = {
    WireName.ANTHROPIC: "bytespike.gateway.lanes.anthropic_wire:AnthropicWire",
    WireName.OPENAI_CHAT: "bytespike.gateway.lanes.chat_wire:ChatWire",
    WireName.GEMINI: "bytespike.gateway.lanes.gemini_wire:GeminiWire",
    WireName.OPENAI_RESPONSES: "bytespike.gateway.lanes.responses_wire:ResponsesWire",
}

# Same-protocol pairs keep the client's bytes: the whole lane is overridden.
PASSTHROUGH: dict[tuple[SurfaceName, WireName], str] = {
    (SurfaceName.ANTHROPIC, WireName.ANTHROPIC): "bytespike.gateway.lanes.passthrough:ClaudePassthrough",
    (SurfaceName.OPENAI_CHAT, WireName.OPENAI_CHAT): "bytespike.gateway.lanes.passthrough:ChatPassthrough",
    (SurfaceName.OPENAI_RESPONSES, WireName.OPENAI_RESPONSES): "bytespike.gateway.lanes.passthrough:ResponsesPassthrough",
    (SurfaceName.GEMINI, WireName.GEMINI): "bytespike.gateway.lanes.passthrough:GeminiPassthrough",
}


@cache
def _load(path: str) -> object:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)()


def surface(name: SurfaceName) -> Surface:
    codec = _load(SURFACES[name])
    assert isinstance(codec, Surface)
    return codec


def wire(name: WireName) -> Wire:
    adapter = _load(WIRES[name])
    assert isinstance(adapter, Wire)
    return adapter


def wires_of(provider: Provider) -> list[WireName]:
    """The chat protocols a provider speaks upstream, most capable first (the catalog's ``wires``)."""
    return [WireName(w) for w in provider.wires]


def lane_for(surface_name: SurfaceName, provider: Provider) -> Lane:
    """A pass-through when the provider speaks the client's protocol, else the hub lane to its first wire."""
    names = wires_of(provider)
    for name in names:
        override = PASSTHROUGH.get((surface_name, name))
        if override is not None:
            lane = _load(override)
            assert isinstance(lane, Lane)
            return lane
    return _hub_lane(names[0])


@cache
def _hub_lane(name: WireName) -> Lane:
    from bytespike.gateway.lanes.run import HubLane

    return HubLane(wire(name))
