"""The lane registry: every surface and wire has its codec, every pair has a lane (issue 17).

A new ``SurfaceName`` or ``WireName`` member without a module in the registry fails here,
before it can fall into another protocol's error shape or framing.
"""

from __future__ import annotations

import pytest

from bytespike.catalog import catalog
from bytespike.errors import GatewayError, Kind, error_body, error_status
from bytespike.gateway.lanes import registry
from bytespike.gateway.lanes.base import Lane, Surface, Wire
from bytespike.gateway.lanes.run import HubLane
from bytespike.protocols import SurfaceName, WireName


@pytest.mark.parametrize("name", list(SurfaceName))
def test_every_surface_has_a_codec_and_an_error_shape(name: SurfaceName) -> None:
    # Every surface is served now (the Gemini one last, issue 18): a member without a codec fails.
    assert name in registry.SURFACES, f"surface {name} has no codec in the registry"
    codec = registry.surface(name)
    assert isinstance(codec, Surface) and codec.name is name and codec.ping
    err = GatewayError(Kind.RATE_LIMIT, "slow down")
    assert error_status(err, name) == 429 and error_body(err, name, "req_1")


@pytest.mark.parametrize("name", list(WireName))
def test_every_wire_has_an_adapter(name: WireName) -> None:
    assert name in registry.WIRES, f"wire {name} has no adapter in the registry"
    adapter = registry.wire(name)
    assert isinstance(adapter, Wire) and adapter.name is name


def test_every_served_pair_has_a_lane_and_same_protocol_pairs_pass_through() -> None:
    for provider in catalog().providers.values():
        for name in registry.SURFACES:
            if not provider.wires:
                continue
            lane = registry.lane_for(name, provider)
            assert isinstance(lane, Lane)
            own = [w for (s, w) in registry.PASSTHROUGH if s is name and w.value in provider.wires]
            if own:
                assert not isinstance(lane, HubLane), (name, provider.name)
            else:
                assert isinstance(lane, HubLane) and lane.wire.name.value == provider.wires[0], (name, provider.name)
    # OpenAI models: Chat clients and Responses clients pass through; every other client reaches them
    # through Responses, which carries reasoning across turns.
    openai = catalog().providers["openai"]
    assert not isinstance(registry.lane_for(SurfaceName.OPENAI_CHAT, openai), HubLane)
    assert not isinstance(registry.lane_for(SurfaceName.OPENAI_RESPONSES, openai), HubLane)
    lane = registry.lane_for(SurfaceName.ANTHROPIC, openai)
    assert isinstance(lane, HubLane) and lane.wire.name is WireName.OPENAI_RESPONSES


def test_modules_load_only_when_used() -> None:
    """Cold start: importing the registry imports no codec (each loads on first use)."""
    import subprocess
    import sys

    code = ("import sys, bytespike.gateway.lanes.registry; "
            "print([m for m in sys.modules if m.startswith('bytespike.gateway.lanes.') and not m.endswith(('registry', 'base'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out
