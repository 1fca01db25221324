"""Refusals of requests certain to fail upstream, checked before anything is held.

The wire models (``bytespike.wire``) check what every lane of a surface shares; the rules here
depend on where the request goes. Each names the upstream's documented or recorded 400 it
anticipates and applies only on the lanes that forward to that upstream: the gateway is never
stricter than the upstream it forwards to, so a rule of OpenAI's never refuses a request bound
for Claude (whose lane translates the same field and accepts it).

Issue #15; the table of every refusal and its source is docs/SECURITY.md, "Input".
"""

from __future__ import annotations

from bytespike.catalog import Provider
from bytespike.errors import GatewayError, Kind
from bytespike.wire.openai import ChatRequest


def _refuse(message: str, param: str) -> GatewayError:
    return GatewayError(Kind.INVALID_REQUEST, message, param=param)


def chat(req: ChatRequest, provider: Provider) -> None:
    """Chat Completions on an OpenAI-format upstream (OpenAI, DeepSeek, Doubao/Ark)."""
    if provider.wire != "openai":
        return
    # tool_calls[].function.arguments: "string, Required" in the Chat Completions reference of
    # OpenAI, DeepSeek (api-docs.deepseek.com, create-chat-completion) and Ark; an object is
    # OpenAI's 400 "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a
    # string, but got an object instead."
    for i, message in enumerate(req.messages):
        for j, call in enumerate(message.tool_calls or ()):
            if call.function is not None and isinstance(call.function.arguments, dict):
                raise _refuse(f"messages.{i}.tool_calls.{j}.function.arguments: Input should be a string "
                              "(JSON-encoded arguments)", f"messages.{i}.tool_calls.{j}.function.arguments")
    if provider.name != "openai":
        return
    # OpenAI's 400 (recorded in the simulator, openai_proto.validate): "The 'stream_options'
    # parameter is only allowed when 'stream' is enabled."
    if req.stream_options is not None and req.stream is not True:
        raise _refuse("stream_options: only allowed when 'stream' is enabled", "stream_options")
    # OpenAI's 400: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools'
    # are specified."
    if req.tool_choice is not None and not req.tools:
        raise _refuse("tool_choice: only allowed when 'tools' are specified", "tool_choice")
