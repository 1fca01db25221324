"""What the wrong-type fuzzers share: a path into a JSON request and a copy with one node replaced."""

from __future__ import annotations

import copy
from typing import Any

Path = tuple[str | int, ...]


def replaced(body: dict[str, Any], path: Path, new: Any) -> dict[str, Any]:
    """A deep copy of ``body`` whose node at ``path`` is ``new``."""
    out = copy.deepcopy(body)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out
