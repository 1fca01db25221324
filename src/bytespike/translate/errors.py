"""The one exception translators raise."""

from __future__ import annotations


class TranslationError(Exception):
    """A client request the target protocol cannot honour.

    The gateway renders it as a 400 ``invalid_request`` in the caller's own protocol,
    with ``param`` pointing at the offending field (OpenAI's ``error.param``).
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"TranslationError({self.message!r}, param={self.param!r})"
