"""Google's own ``google-genai`` SDK reads what the Gemini surface translators produce.

A small local HTTP server answers the SDK with our translators' output: whole responses,
``alt=sse`` streams (one with an error mid-stream), countTokens, embeddings, the model list
and Google-shaped errors. The SDK parses each with its own types; its accumulated answer
must carry our text, thoughts, calls (with ids and signatures), finish reason and usage. The
requests the SDK itself sent are then run through ``gemini_request_to_anthropic``: what the
real client sends is what the translator must take.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from tests.support.hub_events import CLAUDE_TOOL_ANSWER, message_events

from bytespike.catalog import catalog
from bytespike.errors import GatewayError, Kind, gemini_body, gemini_status
from bytespike.translate import (
    AnthropicToGeminiStream,
    anthropic_count_to_gemini,
    anthropic_response_to_gemini,
    gemini_count_request_to_anthropic,
    gemini_embed_request_to_openai,
    gemini_model,
    gemini_models_page,
    gemini_request_to_anthropic,
    openai_embeddings_to_gemini,
)
from bytespike.translate.gemini_surface import read_hub_marker

MODEL = "claude-sonnet-5-5"
MESSAGE = CLAUDE_TOOL_ANSWER
ROUTE = re.compile(r"^/v1beta/models/(?P<model>[^:/?]+)(?::(?P<method>\w+))?")


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict]]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path.startswith("/v1beta/models/"):
            m = catalog().model(self.path.rsplit("/", 1)[-1])
            body = gemini_model(m) if m else None
            if body is None:
                err = GatewayError(Kind.NOT_FOUND, "model not found")
                return self._send(gemini_status(err), gemini_body(err))
            return self._send(200, body)
        token = re.search(r"pageToken=([^&]+)", self.path)
        page = gemini_models_page(
            catalog().models.values(), page_size=5, page_token=token.group(1) if token else None
        )
        return self._send(200, page)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        match = ROUTE.match(self.path)
        assert match, self.path
        model, method = match["model"], match["method"]
        self.seen.append((method, body))
        if model == "busy":
            err = GatewayError(Kind.RATE_LIMIT, "Too many requests", retry_after="7")
            return self._send(gemini_status(err), gemini_body(err))
        if method == "countTokens":
            gemini_count_request_to_anthropic(body, MODEL)
            return self._send(200, anthropic_count_to_gemini({"input_tokens": 42}))
        if method in ("embedContent", "batchEmbedContents"):
            batch = method == "batchEmbedContents"
            hub, _ = gemini_embed_request_to_openai(body, model, batch=batch)
            data = [{"index": i, "embedding": [0.1 * (i + 1), 0.2]} for i in range(len(hub["input"]))]
            return self._send(
                200, openai_embeddings_to_gemini({"data": data, "usage": {"prompt_tokens": 3}}, batch=batch)
            )
        _, ctx = gemini_request_to_anthropic(body, MODEL)
        if method == "generateContent":
            return self._send(200, anthropic_response_to_gemini(MESSAGE, ctx, credits=9))
        stream = AnthropicToGeminiStream(ctx)
        events = message_events(MESSAGE)
        if model == "flaky":
            events = [
                *events[:6],
                ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ]
        chunks = [c for e, d in events for c in stream.feed(e, d)] + stream.finish(credits=9)
        sse = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
        return self._send(200, sse, "text/event-stream")


@pytest.fixture(scope="module")
def client() -> Iterator[genai.Client]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield genai.Client(
            api_key="sk-bs-test", http_options=types.HttpOptions(base_url=base, api_version="v1beta")
        )
    finally:
        server.shutdown()
        server.server_close()


WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather for a city",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
CONFIG = types.GenerateContentConfig(
    system_instruction="Be brief.",
    tools=[types.Tool(function_declarations=[WEATHER])],
    temperature=1,
    top_p=0.95,
    top_k=64,
    thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_level=types.ThinkingLevel.HIGH),
    safety_settings=[types.SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_NONE")],
)


def _check(response: types.GenerateContentResponse) -> None:
    parts = response.candidates[0].content.parts  # type: ignore[index,union-attr]
    assert parts[0].thought is True and parts[0].text == "The user wants Paris weather."  # type: ignore[index]
    assert parts[1].text == "Let me check."  # type: ignore[index]
    (call,) = response.function_calls  # type: ignore[misc]
    assert (call.id, call.name, call.args) == ("toolu_01", "get_weather", {"city": "Paris"})
    signature = parts[2].thought_signature  # type: ignore[index]
    assert isinstance(signature, bytes)  # the SDK decodes it: the marker had to be base64
    assert read_hub_marker(base64.b64encode(signature).decode())
    assert response.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.cached_content_token_count) == (
        30,
        30,
        10,
    )
    assert usage.total_token_count == 60


def test_generate_content(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="Weather in Paris?", config=CONFIG)
    _check(response)
    assert response.response_id == "msg_01" and response.model_version == MODEL


def test_generate_content_stream(client: genai.Client) -> None:
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents="Weather in Paris?", config=CONFIG)
    )
    assert len(chunks) > 3
    merged = types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(
                    role="model", parts=[p for c in chunks for p in c.candidates[0].content.parts]
                ),  # type: ignore[index,union-attr]
                finish_reason=chunks[-1].candidates[0].finish_reason,  # type: ignore[index]
            )
        ],
        usage_metadata=chunks[-1].usage_metadata,
    )
    thoughts = "".join(p.text or "" for p in merged.candidates[0].content.parts if p.thought)  # type: ignore[index,union-attr]
    text = "".join(p.text or "" for p in merged.candidates[0].content.parts if not p.thought)  # type: ignore[index,union-attr]
    assert (thoughts, text) == ("The user wants Paris weather.", "Let me check.")
    (call,) = merged.function_calls  # type: ignore[misc]
    assert (call.id, call.name, call.args) == ("toolu_01", "get_weather", {"city": "Paris"})
    assert chunks[-1].usage_metadata.total_token_count == 60  # type: ignore[union-attr]


def test_stream_error_raises_the_sdks_error(client: genai.Client) -> None:
    with pytest.raises(genai_errors.ServerError) as info:
        list(client.models.generate_content_stream(model="flaky", contents="hi"))
    assert (
        info.value.code == 503 and info.value.status == "UNAVAILABLE" and info.value.message == "Overloaded"
    )


def test_http_error_is_the_sdks_client_error(client: genai.Client) -> None:
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model="busy", contents="hi")
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    assert info.value.details["error"]["details"][0]["retryDelay"] == "7s"


def test_count_tokens_and_embeddings(client: genai.Client) -> None:
    assert client.models.count_tokens(model=MODEL, contents="hello").total_tokens == 42
    one = client.models.embed_content(model="text-embedding-3-small", contents="hello")
    assert [e.values for e in one.embeddings] == [[0.1, 0.2]]  # type: ignore[union-attr]
    many = client.models.embed_content(
        model="text-embedding-3-small",
        contents=["a", "b"],
        config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=2),
    )
    assert [e.values for e in many.embeddings] == [[0.1, 0.2], [0.2, 0.2]]  # type: ignore[union-attr]


def test_models_list_and_get(client: genai.Client) -> None:
    names = [m.name for m in client.models.list()]  # the SDK follows nextPageToken itself
    served = [m.id for m in catalog().models.values() if m.modality in ("chat", "embeddings")]
    assert names == [f"models/{m}" for m in served]
    model = client.models.get(model=MODEL)
    assert model.display_name == catalog().model(MODEL).display_name  # type: ignore[union-attr]
    assert model.input_token_limit == catalog().model(MODEL).input_limit  # type: ignore[union-attr]
    assert "generateContent" in (model.supported_actions or [])
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.get(model="gpt-image-1")
    assert info.value.code == 404


def test_what_the_sdk_sends_is_what_the_translator_takes(client: genai.Client) -> None:
    """The SDK's own request bodies (after the calls above) through the request translator."""
    _Handler.seen.clear()
    history = [
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(text="Let me check."),
                types.Part(
                    function_call=types.FunctionCall(
                        id="toolu_01", name="get_weather", args={"city": "Paris"}
                    ),
                    thought_signature=b"opaque",
                ),
            ],
        ),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"output": "sunny"})],
        ),
    ]
    client.models.generate_content(model=MODEL, contents=history, config=CONFIG)
    (method, body), *_ = _Handler.seen
    out, ctx = gemini_request_to_anthropic(body, MODEL)
    assert method == "generateContent"
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny"}
    ]
    assert out["tools"][0]["input_schema"]["required"] == ["city"]
    assert out["system"] == "Be brief."
    assert "safetySettings" in ctx.gemini_only


def test_claude_thinking_survives_the_sdks_own_history(client: genai.Client) -> None:
    """The SDK's answer, kept in its chat history and sent back by the SDK itself (which
    re-encodes the signature bytes URL-safe), restores Claude's exact thinking block."""
    chat = client.chats.create(model=MODEL, config=CONFIG)
    first = chat.send_message("Weather in Paris?")
    (call,) = first.function_calls  # type: ignore[misc]
    _Handler.seen.clear()
    chat.send_message(types.Part.from_function_response(name=call.name or "", response={"output": "sunny"}))
    (_, body), *_ = _Handler.seen
    out, _ = gemini_request_to_anthropic(body, MODEL)
    assert out["messages"][1]["content"] == MESSAGE["content"]
    assert out["messages"][2]["content"][0]["tool_use_id"] == "toolu_01"
