"""Tool name and tool id mapping between a client and an upstream.

OpenAI and Anthropic both cap tool names at 64 characters of ``[a-zA-Z0-9_-]``;
Anthropic tool ids must match ``^[a-zA-Z0-9_-]+$`` and OpenAI rejects ids longer than
40 characters. Names and ids that do not fit are rewritten deterministically (so the
same foreign id maps the same way in every request of a conversation) and mapped back
on the way out, so the client only ever sees its own names and valid ids.
"""

from __future__ import annotations

import hashlib
import re

_VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def _sha8(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def safe_tool_name(name: str) -> str:
    """``name`` if both protocols accept it, else the first 55 safe chars + ``_`` + 8 hex of sha256."""
    if _VALID_NAME.match(name):
        return name
    return _INVALID_CHARS.sub("_", name)[:55] + "_" + _sha8(name)


def safe_tool_id(tool_id: str) -> str:
    """``tool_id`` if both protocols accept it, else a deterministic 40-char rewrite."""
    if _VALID_ID.match(tool_id):
        return tool_id
    return _INVALID_CHARS.sub("_", tool_id)[:31] + "_" + _sha8(tool_id)


class ToolNameMap:
    """Per-request two-way map of tool names and tool ids (client side ↔ upstream side).

    Identity for everything that is already valid on both sides; only rewritten names
    and ids are stored, so the common case costs one regex match per lookup.
    """

    __slots__ = ("_id_down", "_id_up", "_name_down", "_name_up")

    def __init__(self) -> None:
        self._name_up: dict[str, str] = {}
        self._name_down: dict[str, str] = {}
        self._id_up: dict[str, str] = {}
        self._id_down: dict[str, str] = {}

    # names -------------------------------------------------------------------------
    def upstream_name(self, client_name: str) -> str:
        """The name to send upstream for a client's tool name (registers the mapping)."""
        up = self._name_up.get(client_name)
        if up is not None:
            return up
        up = safe_tool_name(client_name)
        if up != client_name:
            self._name_up[client_name] = up
            self._name_down[up] = client_name
        return up

    def client_name(self, upstream_name: str) -> str:
        """The client's name for a name the upstream returned (identity if unknown)."""
        return self._name_down.get(upstream_name, upstream_name)

    # ids ---------------------------------------------------------------------------
    def upstream_id(self, client_id: str) -> str:
        """The id to send upstream for a client's tool-call id (registers the mapping)."""
        up = self._id_up.get(client_id)
        if up is not None:
            return up
        up = safe_tool_id(client_id)
        if up != client_id:
            self._id_up[client_id] = up
            self._id_down[up] = client_id
        return up

    def client_id(self, upstream_id: str) -> str:
        """The id the client sees for an upstream id: the client's original if it was
        rewritten on the way up, else the upstream id made safe for both protocols."""
        down = self._id_down.get(upstream_id)
        if down is not None:
            return down
        return safe_tool_id(upstream_id)

    # introspection -----------------------------------------------------------------
    @property
    def is_identity(self) -> bool:
        """True when no name or id needed rewriting."""
        return not self._name_up and not self._id_up

    @property
    def renamed_tools(self) -> dict[str, str]:
        """client name -> upstream name, for the names that were rewritten."""
        return dict(self._name_up)

    @property
    def renamed_ids(self) -> dict[str, str]:
        """client id -> upstream id, for the ids that were rewritten."""
        return dict(self._id_up)

    def __repr__(self) -> str:
        return f"ToolNameMap(names={self._name_up!r}, ids={self._id_up!r})"
