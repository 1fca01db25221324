"""What every surface's wire models share: the strict base model and the error report.

Its own module so that a function loads only its own surface's models (issue #20: the chat
function imported all of the Anthropic models for these few names).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Number = Annotated[float, Field(strict=True)]  # a JSON number (an integer is one); never a string or a bool


class Strict(BaseModel):
    """Unknown fields pass through (the upstream judges them); known ones are typed strictly."""

    model_config = ConfigDict(extra="allow", strict=True)


_BRANCHES = frozenset({"str", "int", "float", "bool", "dict", "list", "none", "other"})  # "other": OtherBlock's tag


def _path(loc: tuple[Any, ...]) -> list[str]:
    """A pydantic location without its union-branch and validator labels (``str``, ``list[…]``,
    ``function-after[…]``), i.e. the path into the JSON body."""
    return [str(p) for p in loc if not (isinstance(p, str) and (p in _BRANCHES or "[" in p))]


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(param path, message) in the style of Anthropic's own validation errors.

    Of a union's errors the deepest is reported (a list of blocks with one bad block names that
    block, not "content: Input should be a valid string"); a validator's ``"rel.path: message"``
    extends the path.
    """
    errors = exc.errors(include_url=False)
    err = max(errors, key=lambda e: len(_path(e["loc"])))  # max() keeps the first of equals
    path = _path(err["loc"])
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "Field required"
    elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        msg = "Input should be a valid dictionary"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
        rel, sep, rest = msg.partition(": ")
        if sep and " " not in rel:
            path, msg = [*path, *rel.split(".")], rest
    loc = ".".join(path)
    return loc, f"{loc}: {msg}"
