"""Typed junk gets a 4xx in the caller's protocol, never a 5xx, and nothing is held (issue #15).

Findings reproduced here (each failed before the fix):
3. ``"max_tokens": "100"`` -> 500 on both surfaces (pydantic coerced it, the handler compared the
   raw string); a lone surrogate (``"\\ud800x"``) in content -> 500.
4. Requests certain to fail upstream were held and sent: invalid base64 image data (both
   surfaces), ``stream: "yes"``, a non-string ``metadata.user_id``, malformed ``tool_calls``.
   (``max_tokens: 0`` is *not* one of them on Claude: Anthropic documents it as cache
   pre-warming, so it is forwarded there and refused only on lanes whose upstream cannot do it.)

The hypothesis fuzz over every field of both request models: tests/security/test_wire_fuzz.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.support.stack import Org, Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
GEMINI = "gemini-3.5-flash-lite"
DEEPSEEK = "deepseek-flash"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
USER = [{"role": "user", "content": "hi"}]


def _anthropic(stack: Stack, key: str, raw: bytes) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/messages", content=raw, timeout=30,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"})


def _openai(stack: Stack, key: str, raw: bytes) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/chat/completions", content=raw, timeout=30,
                      headers={"authorization": f"Bearer {key}", "content-type": "application/json"})


def _refused(stack: Stack, org: Org, r: httpx.Response, surface: str, mentions: str | None = None) -> None:
    assert r.status_code == 400, (r.status_code, r.text[:400])
    body = r.json()
    if surface == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
    else:
        assert body["error"]["type"] == "invalid_request_error", body
    if mentions:
        assert mentions in body["error"]["message"], body
    assert int(r.headers["estimated_credits"]) >= 0  # the estimate when one was made, else 0; nothing held
    assert stack.reservations(org.org_id) == [] and stack.sim_requests(org.org_id) == []
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


def _a(org: Org, **fields: Any) -> bytes:
    return json.dumps({"model": CLAUDE, "max_tokens": 20, "messages": [{"role": "user", "content": org.org_id}],
                       **fields}).encode()


def _o(org: Org, model: str = GPT, **fields: Any) -> bytes:
    return json.dumps({"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": org.org_id}],
                       **fields}).encode()


# ---------------------------------------------------------------- finding 3
@pytest.mark.parametrize("value", ["100", 100.0, True, None, [100], {"n": 100}, 10**30, -1])
def test_a_max_tokens_of_the_wrong_type_is_400_on_the_anthropic_surface(stack: Stack, value: Any) -> None:
    org = stack.new_org(1_000_000)
    _refused(stack, org, _anthropic(stack, org.master_key, _a(org, max_tokens=value)), "anthropic", "max_tokens")


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("value", ["100", 100.5, True, [1], 10**30, 0])
def test_a_max_tokens_of_the_wrong_type_is_400_on_the_openai_surface(stack: Stack, field: str, value: Any) -> None:
    org = stack.new_org(1_000_000)
    raw = json.dumps({"model": GPT, field: value, "messages": USER}).encode()
    _refused(stack, org, _openai(stack, org.master_key, raw), "openai", field)


def test_a_lone_surrogate_is_400_on_both_surfaces(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    # json.dumps writes a lone surrogate as the escape "\ud800", exactly what a broken client sends.
    for text in ("\ud800x", "x\udfff", "\udc00\ud800"):
        raw = json.dumps({"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": text}]}).encode()
        assert b"\\ud" in raw
        _refused(stack, org, _anthropic(stack, org.master_key, raw), "anthropic", "surrogate")
        raw = json.dumps({"model": GPT, "messages": [{"role": "user", "content": text}]}).encode()
        _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "surrogate")
    # In a key, in a system prompt, in a tool description: the same.
    raw = json.dumps({"model": CLAUDE, "max_tokens": 5, "system": "s\ud83dx", "messages": USER}).encode()
    _refused(stack, org, _anthropic(stack, org.master_key, raw), "anthropic", "surrogate")
    raw = json.dumps({"model": CLAUDE, "max_tokens": 5, "messages": USER, "metadata": {"\udfffk": "v"}}).encode()
    _refused(stack, org, _anthropic(stack, org.master_key, raw), "anthropic", "surrogate")


def test_a_surrogate_pair_and_an_escaped_backslash_u_are_fine(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    raw = json.dumps({"model": CLAUDE, "max_tokens": 5,
                      "messages": [{"role": "user", "content": "emoji \U0001f600 and a literal \\ud800"}]}).encode()
    assert b"\\ud83d\\ude00" in raw and b"\\\\ud800" in raw
    assert _anthropic(stack, org.master_key, raw).status_code == 200


# ---------------------------------------------------------------- finding 4
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "false", None])
def test_stream_must_be_a_boolean(stack: Stack, value: Any) -> None:
    org = stack.new_org(1_000_000)
    if value is None:  # null means "not set" on both APIs: a normal answer
        assert _anthropic(stack, org.master_key, _a(org, stream=value)).status_code == 200
        return
    _refused(stack, org, _anthropic(stack, org.master_key, _a(org, stream=value)), "anthropic", "stream")
    _refused(stack, org, _openai(stack, org.master_key, _o(org, stream=value)), "openai", "stream")


@pytest.mark.parametrize("value", [42, True, {"id": "u"}, ["u"]])
def test_metadata_user_id_must_be_a_string(stack: Stack, value: Any) -> None:
    org = stack.new_org(1_000_000)
    r = _anthropic(stack, org.master_key, _a(org, metadata={"user_id": value}))
    _refused(stack, org, r, "anthropic", "metadata.user_id")


def _image(data: str, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


@pytest.mark.parametrize("data", ["not base64!!", "iVBORw0KGgo", "====", "ab$c", "iVBORw0K\x00Ggo="])
@pytest.mark.parametrize("model", [CLAUDE, GPT, GEMINI])
def test_invalid_base64_image_data_is_400_on_the_anthropic_surface(stack: Stack, data: str, model: str) -> None:
    org = stack.new_org(1_000_000)
    body = {"model": model, "max_tokens": 20,
            "messages": [{"role": "user", "content": [{"type": "text", "text": org.org_id}, _image(data)]}]}
    _refused(stack, org, _anthropic(stack, org.master_key, json.dumps(body).encode()), "anthropic", "base64")


def test_an_image_media_type_anthropic_does_not_take_is_400(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    body = {"model": CLAUDE, "max_tokens": 20,
            "messages": [{"role": "user", "content": [{"type": "text", "text": org.org_id}, _image(PNG, "image/bmp")]}]}
    _refused(stack, org, _anthropic(stack, org.master_key, json.dumps(body).encode()), "anthropic", "media_type")


@pytest.mark.parametrize("data", ["not base64!!", "iVBORw0KGgo", "ab$c"])
@pytest.mark.parametrize("model", [GPT, CLAUDE, GEMINI])
def test_invalid_base64_image_data_is_400_on_the_openai_surface(stack: Stack, data: str, model: str) -> None:
    org = stack.new_org(1_000_000)
    content = [{"type": "text", "text": org.org_id}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]
    raw = json.dumps({"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": content}]}).encode()
    _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "base64")


def test_valid_base64_images_still_run(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    body = {"model": CLAUDE, "max_tokens": 20,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, _image(PNG)]}]}
    assert _anthropic(stack, org.master_key, json.dumps(body).encode()).status_code == 200
    content = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    raw = json.dumps({"model": GPT, "max_tokens": 20, "messages": [{"role": "user", "content": content}]}).encode()
    assert _openai(stack, org.master_key, raw).status_code == 200


def _calls(*calls: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "tool_calls": list(calls)},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]


MALFORMED_TOOL_CALLS = {
    "not a list": "call_1",
    "not an object": ["call_1"],
    "function not an object": [{"id": "call_1", "type": "function", "function": "get_weather"}],
    "name missing": [{"id": "call_1", "type": "function", "function": {"arguments": "{}"}}],
    "name not a string": [{"id": "call_1", "type": "function", "function": {"name": 7, "arguments": "{}"}}],
    "id not a string": [{"id": 1, "type": "function", "function": {"name": "w", "arguments": "{}"}}],
    "arguments an object": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": {"c": 1}}}],
    "arguments a number": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": 5}}],
}


@pytest.mark.parametrize("case", sorted(MALFORMED_TOOL_CALLS))
@pytest.mark.parametrize("model", [GPT, DEEPSEEK])
def test_malformed_tool_calls_are_400_before_anything_is_held(stack: Stack, case: str, model: str) -> None:
    org = stack.new_org(1_000_000)
    messages = _calls(MALFORMED_TOOL_CALLS[case])
    messages[0]["content"] = org.org_id
    raw = json.dumps({"model": model, "max_tokens": 20, "messages": messages,
                      "tools": [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}]}
                     ).encode()
    _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "tool_calls")


def test_stream_options_without_stream_is_400_on_openai_models(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    r = _openai(stack, org.master_key, _o(org, stream_options={"include_usage": True}))
    _refused(stack, org, r, "openai", "stream_options")


# ---------------------------------------------------------------- max_tokens: 0
def test_max_tokens_zero_prewarms_claude_and_bills_only_input(stack: Stack) -> None:
    """Anthropic: "Set to 0 to populate the prompt cache without generating a response"
    (anthropic SDK, MessageCreateParams.max_tokens). Not refused: never stricter than the upstream."""
    org = stack.new_org(1_000_000)
    r = _anthropic(stack, org.master_key, _a(org, max_tokens=0))
    assert r.status_code == 200, r.text
    assert r.json()["content"] == [] and r.json()["usage"]["output_tokens"] == 0
    [res] = stack.wait_all_released(org.org_id)
    billed = r.json()["usage"]["credits"]
    assert res["cost"] == billed and 0 < billed <= int(r.headers["estimated_credits"])
    # The hold is the input alone: no output can come.
    empty = _anthropic(stack, org.master_key, _a(org, max_tokens=1))
    assert int(r.headers["estimated_credits"]) < int(empty.headers["estimated_credits"])


@pytest.mark.parametrize("model", [GPT, GEMINI, DEEPSEEK])
def test_max_tokens_zero_is_400_where_the_upstream_cannot_prewarm(stack: Stack, model: str) -> None:
    org = stack.new_org(1_000_000)
    raw = json.dumps({"model": model, "max_tokens": 0, "messages": [{"role": "user", "content": org.org_id}]}).encode()
    _refused(stack, org, _anthropic(stack, org.master_key, raw), "anthropic", "max_tokens")
    _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "max_tokens")


# ---------------------------------------------------------------- image bytes and lanes that take no such image
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 32).decode()
GIF = base64.b64encode(b"GIF89a" + b"\x00" * 32).decode()


@pytest.mark.parametrize(("data", "media_type", "says"), [
    (JPEG, "image/png", "The image was specified using the image/png media type, but the image appears to be a "
                        "image/jpeg image"),
    (base64.b64encode(b"plain text, not an image").decode(), "image/png",
     "Image does not match the provided media type image/png"),
])
def test_image_bytes_must_be_the_declared_type(stack: Stack, data: str, media_type: str, says: str) -> None:
    """Anthropic's own 400s (claude-code #13131, litellm #24900), checked before anything is held."""
    org = stack.new_org(1_000_000)
    body = {"model": CLAUDE, "max_tokens": 20,
            "messages": [{"role": "user", "content": [{"type": "text", "text": org.org_id}, _image(data, media_type)]}]}
    _refused(stack, org, _anthropic(stack, org.master_key, json.dumps(body).encode()), "anthropic", says)
    content = [{"type": "text", "text": org.org_id},
               {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}]
    raw = json.dumps({"model": GPT, "max_tokens": 20, "messages": [{"role": "user", "content": content}]}).encode()
    r = _openai(stack, org.master_key, raw)
    if "appears to be" in says:  # OpenAI reads the bytes, whatever the URL names: not refused there
        assert r.status_code == 200, r.text
    else:
        _refused(stack, org, r, "openai", "not a image/png image")


def test_gif_images_are_refused_for_gemini_models_only(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for model in (GEMINI,):
        body = {"model": model, "max_tokens": 20, "messages": [
            {"role": "user", "content": [{"type": "text", "text": org.org_id}, _image(GIF, "image/gif")]}]}
        _refused(stack, org, _anthropic(stack, org.master_key, json.dumps(body).encode()), "anthropic", "image/gif")
        content = [{"type": "text", "text": org.org_id},
                   {"type": "image_url", "image_url": {"url": f"data:image/gif;base64,{GIF}"}}]
        raw = json.dumps({"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": content}]}).encode()
        _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "image/gif")
    ok = {"model": CLAUDE, "max_tokens": 20, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, _image(GIF, "image/gif")]}]}
    assert _anthropic(stack, org.master_key, json.dumps(ok).encode()).status_code == 200


def test_images_are_refused_for_a_model_without_vision(stack: Stack) -> None:
    """deepseek-v4-pro: "No image input" (catalog); DeepSeek's 400 "unknown variant `image_url`"."""
    org = stack.new_org(1_000_000)
    body = {"model": "deepseek-v4-pro", "max_tokens": 20, "messages": [
        {"role": "user", "content": [{"type": "text", "text": org.org_id}, _image(PNG)]}]}
    _refused(stack, org, _anthropic(stack, org.master_key, json.dumps(body).encode()), "anthropic", "no image input")
    content = [{"type": "text", "text": org.org_id}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]
    raw = json.dumps({"model": "deepseek-v4-pro", "messages": [{"role": "user", "content": content}]}).encode()
    _refused(stack, org, _openai(stack, org.master_key, raw), "openai", "no image input")


# ---------------------------------------------------------------- what the gateway passes through
def test_an_unknown_block_type_passes_through_and_the_upstreams_verdict_comes_back(stack: Stack) -> None:
    """Never stricter than the upstream: the gateway forwards block types it does not model; the
    simulator, as strict as the real API, answers Anthropic's 400; the hold is released in full."""
    org = stack.new_org(1_000_000)
    body = {"model": CLAUDE, "max_tokens": 20, "messages": [
        {"role": "user", "content": [{"type": "text", "text": org.org_id}, {"type": "sparkle", "x": 1}]}]}
    r = _anthropic(stack, org.master_key, json.dumps(body).encode())
    assert r.status_code == 400 and "Input tag 'sparkle'" in r.json()["error"]["message"], r.text
    [res] = stack.wait_all_released(org.org_id)
    assert res["cost"] == 0 and stack.wallet(org.org_id)["balance"] == org.topped_up
    ok = {"model": CLAUDE, "max_tokens": 20, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"},
        {"type": "search_result", "source": "https://x.test", "title": "t", "content": [{"type": "text", "text": "r"}]}]}]}
    assert _anthropic(stack, org.master_key, json.dumps(ok).encode()).status_code == 200
