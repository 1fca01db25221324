"""Simulated Volcengine Ark (Doubao) Chat Completions under ``/ark/api/v3``.

The OpenAI surface with Ark's differences:

* ``thinking: {"type": "enabled" | "disabled" | "auto"}`` (default ``enabled``); any other
  value is a 400 ``InvalidParameter``. ``auto`` lets the "model" decide — here,
  deterministically: it thinks when the last user turn has ≥ 12 words or ``[[sim think]]``.
  Reasoning comes back as ``reasoning_content`` (message and deltas);
* usage: ``prompt_tokens`` (cached included), ``prompt_tokens_details.cached_tokens``,
  ``completion_tokens_details.reasoning_tokens``;
* errors: ``{"error":{"code","message","param","type"}}`` with Ark's codes
  (``InvalidParameter``/``MissingParameter`` 400, ``AuthenticationError`` 401,
  ``AccountOverdueError`` 403, ``InvalidEndpointOrModel.NotFound`` 404,
  ``RateLimitExceeded.EndpointRPMExceeded`` 429, ``InternalServiceError`` 500) and the
  request id appended to the message ("… Request id: 0217…"), as Ark does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.simulator.directives import Directives, strip_directives
from bytespike.simulator.openai_proto import OpenAISimulator
from bytespike.simulator.reply import ReplyPlan, SimRequest, UserTurn
from bytespike.simulator.wire import RawResponse, SimError, bearer_token, dumps, html_error, json_response

PREFIX = "/ark/api/v3"
INVALID_KEY = "sk-sim-invalid"
AUTO_THINK_WORDS = 12
THINKING_TYPES = ("enabled", "disabled", "auto")

# status → (code, type, message)
ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("InvalidParameter", "BadRequest", "One or more parameters specified in the request are not valid."),
    401: (
        "AuthenticationError",
        "Unauthorized",
        "The API key or AK/SK in the request is missing or invalid.",
    ),
    403: (
        "AccountOverdueError",
        "Forbidden",
        "The request failed because your account has an overdue balance. Please recharge your account.",
    ),
    404: (
        "InvalidEndpointOrModel.NotFound",
        "NotFound",
        "The model or endpoint does not exist or you do not have access to it.",
    ),
    429: (
        "RateLimitExceeded.EndpointRPMExceeded",
        "TooManyRequests",
        "The request failed because you have exceeded the RPM limit of the inference endpoint. "
        "Please try again later.",
    ),
    500: (
        "InternalServiceError",
        "InternalServerError",
        "The service encountered an unexpected internal error.",
    ),
    503: (
        "ServiceUnavailable",
        "ServiceUnavailable",
        "The service is temporarily unavailable. Please try again later.",
    ),
}


def error_body(
    status: int, request_id: str, message: str | None = None, code: str | None = None, param: str = ""
) -> dict[str, Any]:
    default_code, etype, default_message = ERRORS.get(status, ERRORS[500] if status >= 500 else ERRORS[400])
    return {
        "error": {
            "code": code or default_code,
            "message": f"{message or default_message} Request id: {request_id}",
            "param": param,
            "type": etype,
        }
    }


def thinking_type(body: dict[str, Any]) -> str:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and isinstance(thinking.get("type"), str):
        return thinking["type"]
    return "enabled"


def usage_json(prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
    return {
        "completion_tokens": plan.output_tokens,
        "prompt_tokens": prompt,
        "total_tokens": prompt + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": plan.thinking_tokens},
    }


class ArkSimulator(OpenAISimulator):
    """The OpenAI Chat Completions surface, speaking Volcengine Ark's dialect."""

    namespace = "ark"

    def _choices(self, body: dict[str, Any]) -> int:
        """Ark's API documents no ``n``: it answers one choice (the gateway still holds for ``n``)."""
        return 1
    ID_PREFIX = "0217"
    INVALID_JSON_MESSAGE = "The request body is not valid JSON."

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/ark/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
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
        # OpenAI-style validation messages are re-worded the way Ark names the parameter.
        if message and param and status == 400 and code != "MissingParameter":
            message = f"The parameter `{param}` specified in the request are not valid: {message}"
        ark_code = code if code in ("MissingParameter", "InvalidParameter") else None
        body = error_body(status, request_id, message, ark_code, param or "")
        return json_response(status, body, [("x-request-id", request_id), *(extra or [])])

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
        message = (
            f"The model or endpoint {model} does not exist or you do not have access to it."
            if status == 404
            else None
        )
        return self._error(status, request_id, message, extra=extra)

    def _pre_validate(self, body: dict[str, Any], request_id: str) -> Response | None:
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self._error(
                400,
                request_id,
                "The request failed because it is missing one or multiple required parameters.",
                param="model",
                code="MissingParameter",
            )
        kind = thinking_type(body)
        if kind not in THINKING_TYPES:
            return self._error(
                400,
                request_id,
                f"invalid value: `{kind}`, supported values are: `enabled`, `disabled` and `auto`",
                param="thinking.type",
                code="InvalidParameter",
            )
        return None

    def _validate(self, body: dict[str, Any]) -> None:
        try:
            super()._validate(body)
        except SimError as exc:
            exc.code = "InvalidParameter"
            raise

    def _sim_request(self, body: dict[str, Any], turn: UserTurn, d: Directives) -> SimRequest:
        sim = super()._sim_request(body, turn, d)
        kind = thinking_type(body)
        if kind == "auto":
            sim.thinking = len(strip_directives(turn.text).split()) >= AUTO_THINK_WORDS
        else:
            sim.thinking = kind == "enabled"
        return sim

    def _usage(self, prompt: int, cached: int, plan: ReplyPlan) -> dict[str, Any]:
        return usage_json(prompt, cached, plan)

    def _render(
        self, plan: ReplyPlan, completion_id: str, model: str, created: int, usage: dict[str, Any]
    ) -> dict[str, Any]:
        out = super()._render(plan, completion_id, model, created, usage)
        out.pop("system_fingerprint", None)
        message = out["choices"][0]["message"]
        message.pop("annotations", None)
        message.pop("refusal", None)
        return out

    def _mid_stream_error(self, request_id: str) -> bytes:
        return b"data: " + dumps(error_body(500, request_id)) + b"\n\n"
