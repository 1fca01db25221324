"""Pydantic model of the OpenAI Responses request: the fields the gateway itself reads, typed strictly.

The translator (``translate/responses_surface.py``) checks the shape of everything it converts;
this model checks the types the handler holds and routes on, as OpenAI checks them ("Invalid
type for 'max_output_tokens': expected an integer"), so junk is a 400, never a 5xx. Fields it
does not name pass through to the upstream untouched.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from bytespike.wire.strict import Strict


class ResponsesRequest(Strict):
    model: StrictStr
    input: StrictStr | list[Any]
    stream: StrictBool | None = None
    store: StrictBool | None = None
    max_output_tokens: StrictInt | None = Field(default=None, ge=1)
    previous_response_id: StrictStr | None = None
    instructions: StrictStr | list[Any] | None = None
    tools: list[dict[str, Any]] | None = None
    parallel_tool_calls: StrictBool | None = None
    metadata: dict[str, StrictStr] | None = None
    include: list[StrictStr] | None = None
    background: StrictBool | None = None


class CompactRequest(Strict):
    """``POST /v1/responses/compact``: the conversation to compact (the rest passes through to OpenAI)."""

    model: StrictStr
    input: StrictStr | list[Any] | None = None
    instructions: StrictStr | list[Any] | None = None
    previous_response_id: StrictStr | None = None
