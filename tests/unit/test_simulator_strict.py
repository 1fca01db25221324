"""The simulator is as strict as the real APIs (issue #15, finding 5), and no stricter.

Before: the simulator answered 200 to requests the real APIs answer with a 400 (an unknown block
type, ``stream: "yes"``, image bytes that are not the declared type, a non-string
``metadata.user_id``, ``max_tokens`` above the model's limit, tool-call arguments that are an
object, GIF images to Gemini, images to a model that takes none, a lone surrogate...), so tests
judged by it passed on requests production would refuse.

Each refusal is checked against the provider's recorded error bodies (tests/fixtures/<provider>/
errors.json, the data the gateway's classifiers are built from): the same body shape as the
recorded 400, and the gateway classifies it the same way (invalid_request, status kept).
"""

from __future__ import annotations

import base64
import json
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bytespike.errors import Kind
from bytespike.simulator.app import create_simulator_app
from bytespike.simulator.strict import ANTHROPIC_BLOCK_TYPES
from bytespike.translate.errors_map import map_upstream_error

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 16).decode()
GIF = base64.b64encode(b"GIF89a" + b"\0" * 16).decode()
CLAUDE = "claude-haiku-5-5"  # upstream ids the catalog knows (output limits come from it)
GPT = "gpt-6-luna"
DEEPSEEK_NO_VISION = "deepseek-v4-pro"
GEMINI = "gemini-3.5-flash-lite"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_simulator_app()), base_url="http://sim") as c:
        yield c


def _limit(model_id: str) -> int:
    from bytespike.catalog import catalog

    model = catalog().model(model_id)
    assert model is not None
    return model.max_output_tokens


# ---------------------------------------------------------------- the requests, per provider
def amsg(**extra: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], **extra}


def ablocks(*blocks: Any) -> dict[str, Any]:
    return amsg(messages=[{"role": "user", "content": [{"type": "text", "text": "look"}, *blocks]}])


def img(data: str, media: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}


ANTHROPIC_REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "unknown block type": (ablocks({"type": "sparkle", "text": "x"}),
                           "messages.0.content.1: Input tag 'sparkle' found using 'type' does not match"),
    "stream a string": (amsg(stream="yes"), "stream: Input should be a valid boolean"),
    "temperature a string": (amsg(temperature="1"), "temperature: Input should be a valid number"),
    "temperature above 1": (amsg(temperature=1.5), "temperature: Input should be less than or equal to 1"),
    "top_k a float": (amsg(top_k=1.5), "top_k: Input should be a valid integer"),
    "metadata.user_id a number": (amsg(metadata={"user_id": 7}), "metadata.user_id: Input should be a valid string"),
    "stop_sequences not strings": (amsg(stop_sequences=[1]), "stop_sequences"),
    "max_tokens above the model's": (amsg(max_tokens=10_000_000), "which is the maximum allowed number of output "
                                                                  f"tokens for {CLAUDE}"),
    "text block text a number": (ablocks({"type": "text", "text": 5}), "messages.0.content.1.text.text"),
    "image bytes of another type": (ablocks(img(JPEG)), "The image was specified using the image/png media type, "
                                                        "but the image appears to be a image/jpeg image"),
    "image bytes of no image": (ablocks(img(base64.b64encode(b"hello there").decode())),
                                "Image does not match the provided media type image/png"),
    "image not base64": (ablocks(img("!!notbase64")), "image.source.base64.data"),
    "image in a tool result": (amsg(messages=[
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [img(JPEG)]}]}],
        tools=[{"name": "t", "input_schema": {"type": "object"}}]), "tool_result.content.0.image.source.base64"),
    "pdf not base64": (ablocks({"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                               "data": "%%%"}}), "document.source.base64.data"),
    "disable_parallel_tool_use a string": (amsg(tools=[{"name": "t", "input_schema": {"type": "object"}}],
                                                tool_choice={"type": "auto", "disable_parallel_tool_use": "no"}),
                                           "disable_parallel_tool_use"),
}


def omsg(model: str = GPT, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def calls(arguments: Any) -> dict[str, Any]:
    return omsg(tools=[{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}], messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}])


def parts(*content: Any, role: str = "user", model: str = GPT) -> dict[str, Any]:
    return omsg(model=model, messages=[{"role": role, "content": list(content)}])


OPENAI_REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "stream a string": (omsg(stream="yes"), "Invalid type for 'stream': expected a boolean, but got a string instead."),
    "max_tokens a string": (omsg(max_tokens="100"), "Invalid type for 'max_tokens': expected an integer"),
    "max_tokens above the model's": (omsg(max_tokens=10_000_000), "max_tokens is too large: 10000000."),
    "temperature above 2": (omsg(temperature=3), "Invalid 'temperature': decimal above maximum value."),
    "n a string": (omsg(n="2"), "Invalid type for 'n'"),
    "user a number": (omsg(user=5), "Invalid type for 'user': expected a string"),
    "tool_choice unknown": (omsg(tool_choice="sometimes"), "Supported values are: 'none', 'auto', and 'required'."),
    "arguments an object": (calls({"city": "x"}), "Invalid type for 'messages[1].tool_calls[0].function.arguments': "
                                                  "expected a string, but got an object instead."),
    "unknown part type": (parts({"type": "sparkle"}), "Invalid value: 'sparkle'."),
    "image in a system message": (parts({"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                                        role="system"), "Image URLs are only allowed for messages with role 'user'"),
    "image_url a string": (parts({"type": "image_url", "image_url": "https://x.test/a.png"}),
                           "Invalid type for 'messages[0].content[0].image_url': expected an object"),
    "data URL not base64": (parts({"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}),
                            "but got an invalid base64-encoded value."),
    "data URL of no image": (parts({"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(b"hello").decode()}}), "You uploaded an unsupported image."),
}

def rsp(**extra: Any) -> dict[str, Any]:
    return {"model": GPT, "input": "hi", **extra}


# The Responses API words its type errors as Chat Completions does (one validator); each was a 200 here.
OPENAI_RESPONSES_REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "tool_choice a number": (rsp(tool_choice=5), "Invalid type for 'tool_choice': expected one of a string or object"),
    "text a number": (rsp(text=5), "Invalid type for 'text': expected an object, but got an integer instead."),
    "text.format a string": (rsp(text={"format": "json"}), "Invalid type for 'text.format': expected an object"),
    "reasoning a string": (rsp(reasoning="low"), "Invalid type for 'reasoning': expected an object, but got a string"),
    "reasoning.summary a number": (rsp(reasoning={"summary": 1}), "Invalid type for 'reasoning.summary': expected a string"),
    "metadata an array": (rsp(metadata=["a"]), "Invalid type for 'metadata': expected an object, but got an array"),
    "tools an object": (rsp(tools={"type": "function"}), "Invalid type for 'tools': expected an array"),
    "include a string": (rsp(include="reasoning.encrypted_content"), "Invalid type for 'include': expected an array"),
    "stream a string": (rsp(stream="yes"), "Invalid type for 'stream': expected a boolean"),
}

DEEPSEEK_REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "max_tokens above the model's": (omsg(model=DEEPSEEK_NO_VISION, max_tokens=_limit(DEEPSEEK_NO_VISION) + 1),
                                     "Invalid max_tokens value, the valid range of max_tokens is [1, "),
    "an image to a model without vision": (parts({"type": "text", "text": "x"}, {"type": "image_url", "image_url": {
        "url": f"data:image/png;base64,{PNG}"}}, model=DEEPSEEK_NO_VISION), "unknown variant `image_url`, expected `text`"),
    "stream a string": (omsg(model=DEEPSEEK_NO_VISION, stream="yes"), "stream"),
}


def gbody(*parts_: Any, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "look"}, *parts_]}], **extra}


GEMINI_REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "gif image": (gbody({"inlineData": {"mimeType": "image/gif", "data": GIF}}), "Unsupported MIME type: image/gif"),
    "image/jpg": (gbody({"inlineData": {"mimeType": "image/jpg", "data": JPEG}}), "Unsupported MIME type: image/jpg"),
    "inline data not base64": (gbody({"inlineData": {"mimeType": "image/png", "data": "!!!"}}),
                               "(TYPE_BYTES), Base64 decoding failed for"),
    "maxOutputTokens a word": (gbody(generationConfig={"maxOutputTokens": "many"}),
                               "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), \"many\""),
    "calling mode unknown": (gbody(toolConfig={"functionCallingConfig": {"mode": "SOMETIMES"}}),
                             "function_calling_config.mode"),
}

ENDPOINTS = {
    "anthropic": ("/anthropic/v1/messages", {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}),
    "openai": ("/openai/v1/chat/completions", {"authorization": "Bearer sk-test"}),
    "openai-responses": ("/openai/v1/responses", {"authorization": "Bearer sk-test"}),
    "deepseek": ("/deepseek/chat/completions", {"authorization": "Bearer sk-test"}),
    "gemini": (f"/gemini/v1beta/models/{GEMINI}:generateContent", {"x-goog-api-key": "sk-test"}),
}
REFUSED = {"anthropic": ANTHROPIC_REFUSED, "openai": OPENAI_REFUSED, "openai-responses": OPENAI_RESPONSES_REFUSED,
           "deepseek": DEEPSEEK_REFUSED,
           "gemini": GEMINI_REFUSED}
CASES = [(p, name) for p, table in REFUSED.items() for name in table]


def _recorded_400(provider: str) -> Any:
    data = json.loads((FIXTURES / provider / "errors.json").read_text())
    return next(c for c in data["cases"] if c["status"] == 400 and c["kind"] == "invalid_request")


def _shape(value: Any) -> Any:
    """Keys and JSON types, recursively (the values may differ, the shape may not)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k != "request_id"}
    return type(value).__name__ if value is not None else "null"


@pytest.mark.parametrize(("provider", "name"), CASES, ids=[f"{p}-{n}" for p, n in CASES])
async def test_the_simulator_refuses_what_the_real_api_refuses(client: httpx.AsyncClient, provider: str,
                                                               name: str) -> None:
    body, says = REFUSED[provider][name]
    path, headers = ENDPOINTS[provider]
    r = await client.post(path, headers=headers, json=body)
    assert r.status_code == 400, (r.status_code, r.text)
    assert says in r.json()["error"]["message"], r.text
    provider = provider.removesuffix("-responses")  # one API, one error vocabulary
    recorded = _recorded_400(provider)
    answered = r.json()
    shape, want = _shape(answered), _shape(recorded["body"])
    if provider == "openai":  # OpenAI's param and code are a string or null, depending on the error
        for err in (shape["error"], want["error"]):
            err["param"] = err["code"] = "str|null"
    if provider == "deepseek":
        for err in (shape["error"], want["error"]):
            err["param"] = "str|null"
    assert shape == want, (answered, recorded["body"])
    mapped = map_upstream_error(provider, r.status_code, r.content)
    assert (mapped.kind, mapped.status, mapped.account_fault) == (Kind.INVALID_REQUEST, 400, False)


async def test_a_lone_surrogate_is_refused_as_invalid_json_by_every_simulated_provider(
        client: httpx.AsyncClient) -> None:
    bodies = {"anthropic": amsg(messages=[{"role": "user", "content": "\ud800x"}]),
              "openai": omsg(messages=[{"role": "user", "content": "\ud800x"}]),
              "deepseek": omsg(model=DEEPSEEK_NO_VISION, messages=[{"role": "user", "content": "\ud800x"}]),
              "gemini": gbody({"text": "\udfff"})}
    for provider, body in bodies.items():
        path, headers = ENDPOINTS[provider]
        r = await client.post(path, headers={**headers, "content-type": "application/json"},
                              content=json.dumps(body).encode())
        assert r.status_code == 400, (provider, r.status_code, r.text)


# ---------------------------------------------------------------- and no stricter
def _sdk_block_types() -> set[str]:
    import re

    from anthropic.types.beta.beta_content_block import BetaContentBlock
    from anthropic.types.beta.beta_content_block_param import BetaContentBlockParam

    def members(union: Any) -> list[Any]:
        args = typing.get_args(union)
        return members(args[0]) if typing.get_origin(union) is typing.Annotated else list(args)

    def tag(cls: Any) -> set[str]:
        if hasattr(cls, "model_fields"):
            return set(typing.get_args(cls.model_fields["type"].annotation))
        ann = cls.__annotations__["type"]
        return set(re.findall(r"""['"]([a-z_0-9]+)['"]""", ann if isinstance(ann, str) else repr(ann)))

    out: set[str] = set()
    for m in members(BetaContentBlockParam):
        for cls in (members(BetaContentBlock) if m is BetaContentBlock else [m]):
            out |= tag(cls)
    return out


def test_block_types_are_exactly_what_the_pinned_sdk_can_send() -> None:
    """A new block type in the pinned SDK fails here until the simulator accepts it too."""
    assert set(ANTHROPIC_BLOCK_TYPES) == _sdk_block_types()


ACCEPTED_BLOCKS = [
    {"type": "search_result", "source": "https://x.test", "title": "t", "content": [{"type": "text", "text": "r"}]},
    {"type": "container_upload", "file_id": "file_1"},
    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
    img(GIF, "image/gif"), img(JPEG, "image/jpeg"), img(PNG),
    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
]


async def test_what_the_real_apis_accept_the_simulator_accepts(client: httpx.AsyncClient) -> None:
    path, headers = ENDPOINTS["anthropic"]
    r = await client.post(path, headers=headers, json=ablocks(*ACCEPTED_BLOCKS))
    assert r.status_code == 200, r.text
    assistant_blocks = [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                         "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}},
                        {"type": "text", "text": "done"}]
    body = amsg(max_tokens=0, messages=[{"role": "user", "content": "search"},
                                        {"role": "assistant", "content": assistant_blocks},
                                        {"role": "user", "content": "thanks"}], temperature=0, top_p=1, top_k=0,
                metadata={"user_id": None}, stop_sequences=[], stream=False)
    r = await client.post(path, headers=headers, json=body)
    assert r.status_code == 200, r.text  # max_tokens 0 pre-warms; nulls and bounds are fine
    path, headers = ENDPOINTS["openai"]
    for body in (calls("{}"), omsg(max_tokens=_limit(GPT), temperature=2, n=1, stream=False, tool_choice=None),
                 parts({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{JPEG}"}})):
        r = await client.post(path, headers=headers, json=body)
        assert r.status_code == 200, r.text  # OpenAI reads the bytes, not the name in the data URL
    path, headers = ENDPOINTS["gemini"]
    for part in ({"inlineData": {"mimeType": "image/heic", "data": PNG}},
                 {"inlineData": {"mimeType": "application/pdf", "data": PNG.rstrip("=")}}):
        r = await client.post(path, headers=headers, json=gbody(part, generationConfig={"maxOutputTokens": "64"}))
        assert r.status_code == 200, r.text  # protobuf JSON: unpadded base64, an integer as a string
