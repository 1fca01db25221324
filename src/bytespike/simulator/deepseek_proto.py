"""Simulated DeepSeek Chat Completions under ``/deepseek`` (``/chat/completions`` and ``/v1/…``).

The OpenAI surface with DeepSeek's differences (api-docs.deepseek.com):

* **thinking is on by default**; ``thinking: {"type": "disabled"}`` turns it off,
  ``reasoning_effort`` tunes it. Reasoning comes back as ``reasoning_content`` next to
  ``content`` (message and stream deltas);
* while thinking is on, every assistant message that made ``tool_calls`` must carry its
  ``reasoning_content`` back, else **400** "Missing `reasoning_content` field in the
  assistant message at message index N. …" (DeepSeek's text; ccr #1050/#1249/#1378);
* a body without ``model`` is a **422** with a *plain-text* body ("Failed to deserialize the
  JSON body into the target type: missing field `model` …", ccr #262) — not JSON;
* usage has ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens`` (hit + miss =
  prompt), ``prompt_tokens_details.cached_tokens`` and
  ``completion_tokens_details.reasoning_tokens``;
* errors are ``{"error":{"message","type","param","code"}}`` with DeepSeek's documented
  statuses (400/401/402 Insufficient Balance/422/429/500/503); streams start with an SSE
  ``: keep-alive`` comment, as DeepSeek sends while a request is queued.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator import strict
from bytespike.simulator.directives import Directives
from bytespike.simulator.openai_proto import OpenAISimulator
from bytespike.simulator.reply import ReplyPlan, SimRequest, UserTurn
from bytespike.simulator.wire import (
    Frame,
    FrameKind,
    RawResponse,
    bearer_token,
    dumps,
    html_error,
    json_response,
)

PREFIX = "/deepseek"
INVALID_KEY = "sk-sim-invalid"

# status → (type, code, message) as DeepSeek sends them
ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request_error", "Invalid Format"),
    401: ("authentication_error", "invalid_request_error", "Authentication Fails, Your api key is invalid"),
    402: ("unknown_error", "invalid_request_error", "Insufficient Balance"),
    422: ("invalid_request_error", "invalid_request_error", "Invalid Parameters"),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate Limit Reached"),
    500: ("server_error", "server_error", "Server Error"),
    503: ("server_error", "server_overloaded", "Server Overloaded"),
}
MISSING_REASONING = (
    "Missing `reasoning_content` field in the assistant message at message index {index}. For more "
    "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
)
_KEEP_ALIVE = Frame(FrameKind.HEAD, b": keep-alive\n\n")


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    etype, code, default = ERRORS.get(
        status, ("server_error", "server_error", "Server Error") if status >= 500 else ERRORS[400]
    )
    return {"error": {"message": message or default, "type": etype, "param": None, "code": code}}


def thinking_on(body: dict[str, Any]) -> bool:
    """DeepSeek thinks unless told ``thinking: {"type": "disabled"}`` (or effort ``none``)."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        return False
    return body.get("reasoning_effort") != "none"


def usage_json(prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": plan.output_tokens,
        "total_tokens": prompt + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached},
        "prompt_cache_hit_tokens": cached,
        "prompt_cache_miss_tokens": prompt - cached,
        "completion_tokens_details": {"reasoning_tokens": plan.thinking_tokens},
    }


class DeepSeekSimulator(OpenAISimulator):
    """The OpenAI Chat Completions surface, speaking DeepSeek's dialect."""

    namespace = "deepseek"
    KEEPALIVE = _KEEP_ALIVE.data  # DeepSeek's own ``: keep-alive`` while it thinks (timing.py)

    def _choices(self, body: dict[str, Any]) -> int:
        """DeepSeek's API documents no ``n``: it answers one choice (the gateway still holds for ``n``)."""
        return 1
    ID_PREFIX = ""  # DeepSeek ids are bare UUID-like strings
    INVALID_JSON_MESSAGE = "Failed to parse the request body as JSON"

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/chat/completions", self.chat_completions, methods=["POST"]),
            Route(f"{PREFIX}/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route(PREFIX + "/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]

    @staticmethod
    def _error(  # type: ignore[override]
        status: int,
        request_id: str,
        message: str | None = None,
        etype: str | None = None,
        param: str | None = None,
        code: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> RawResponse:
        return json_response(
            status, error_body(status, message), [("x-request-id", request_id), *(extra or [])]
        )

    def _auth_error(self, request: Request, request_id: str) -> RawResponse | None:  # type: ignore[override]
        key = bearer_token(request.headers)
        if not key or key == INVALID_KEY:
            return self._error(401, request_id)
        return None

    def _forced_failure(self, d: Directives, request_id: str, model: str) -> RawResponse:
        status = d.status if d.status is not None else 502
        extra = [("retry-after", d.retry_after)] if d.retry_after is not None else []
        if d.error_body == "html":
            return html_error(status, [("x-request-id", request_id), *extra])
        return self._error(status, request_id, extra=extra)

    def _pre_validate(self, body: dict[str, Any], request_id: str) -> Response | None:
        if "model" not in body:
            text = json.dumps(body, separators=(",", ":"))
            message = (
                "Failed to deserialize the JSON body into the target type: missing field `model` "
                f"at line 1 column {len(text)}"
            )
            return RawResponse(
                422, message.encode(), [("x-request-id", request_id)], "text/plain; charset=utf-8"
            )
        if thinking_on(body):
            for index, msg in enumerate(body.get("messages") or ()):
                if (
                    isinstance(msg, dict)
                    and msg.get("role") == "assistant"
                    and msg.get("tool_calls")
                    and not isinstance(msg.get("reasoning_content"), str)
                ):
                    return self._error(400, request_id, MISSING_REASONING.format(index=index))
        return None

    def _validate(self, body: dict[str, Any]) -> None:
        strict.deepseek(body)  # DeepSeek's output-limit wording, no images where the model takes none (issue #15)
        super()._validate(body)

    def _sim_request(self, body: dict[str, Any], turn: UserTurn, d: Directives) -> SimRequest:
        sim = super()._sim_request(body, turn, d)
        sim.thinking = thinking_on(body)
        return sim

    def _usage(self, prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
        return usage_json(prompt, cached, plan)

    def _render(
        self, plan: ReplyPlan, completion_id: str, model: str, created: int, usage: dict[str, Any]
    ) -> dict[str, Any]:
        out = super()._render(plan, completion_id, model, created, usage)
        out.pop("service_tier", None)
        out["system_fingerprint"] = "fp_sim_deepseek"
        message = out["choices"][0]["message"]
        message.pop("annotations", None)
        message.pop("refusal", None)
        return out

    def _frames(
        self,
        plan: ReplyPlan,
        completion_id: str,
        model: str,
        created: int,
        usage: dict[str, Any],
        include_usage: bool,
    ) -> Iterator[Frame]:
        return itertools.chain(
            [_KEEP_ALIVE], super()._frames(plan, completion_id, model, created, usage, include_usage)
        )

    def _mid_stream_error(self, request_id: str) -> bytes:
        return b"data: " + dumps(error_body(500)) + b"\n\n"
