"""What clients read about a model comes from the catalog, in the shape their SDKs type (issue #16).

Anthropic's ``/v1/models`` objects carry ``max_input_tokens`` (the context window), ``max_tokens``
and ``capabilities`` as an object; ByteSpike's flat catalog list was under ``capabilities`` there,
which the anthropic SDKs type as ``ModelCapabilities``.
"""

from __future__ import annotations

from anthropic.types import ModelCapabilities

from bytespike.catalog import catalog
from tests.support.stack import Stack


def test_anthropic_models_carry_the_catalogs_window_and_anthropics_capabilities(stack: Stack) -> None:
    models = list(stack.anthropic().models.list(limit=1000))
    chat = [m for m in models if catalog().model(m.id).modality == "chat"]  # type: ignore[union-attr]
    assert {m.id for m in chat} >= {"claude-sonnet-5-5", "gpt-6.2-sol", "gemini-3.8-flash", "deepseek-flash"}
    for m in chat:
        entry = catalog().model(m.id)
        assert entry is not None
        assert (m.max_input_tokens, m.max_tokens) == (entry.input_limit, entry.max_output_tokens)
        caps = ModelCapabilities.model_validate(m.model_dump()["capabilities"])  # Anthropic's own type
        assert caps.image_input.supported == ("vision" in entry.capabilities)
        assert caps.thinking.supported == ("thinking" in entry.capabilities)
        assert sorted(m.model_extra["features"]) == sorted(entry.capabilities)  # type: ignore[index]
    one = stack.anthropic().models.retrieve("gemini-3.8-flash")
    assert one.max_input_tokens == catalog().model("gemini-3.8-flash").input_limit  # type: ignore[union-attr]
    assert ModelCapabilities.model_validate(one.model_dump()["capabilities"]).structured_outputs is not None
    # The OpenAI shape is unchanged (OpenAI has no capabilities object): the flat list.
    listed = {m.id: m for m in stack.openai().models.list()}
    assert listed["gpt-6.2-sol"].model_extra["capabilities"] == sorted(catalog().model("gpt-6.2-sol").capabilities)  # type: ignore[index,union-attr]
