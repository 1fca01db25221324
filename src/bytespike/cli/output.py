"""Rendering for the CLI: an aligned table by default, ``--json`` or ``--csv`` for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[c.upper() for c in columns]] + [[_text(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    numeric = [all(_text(r.get(c)).replace(",", "").isdigit() for r in rows if r.get(c) is not None) and rows
               for c in columns]
    lines = []
    for row in cells:
        parts = [cell.rjust(w) if numeric[i] else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def record(obj: dict[str, Any]) -> str:
    width = max((len(k) for k in obj), default=0)
    return "\n".join(f"{k.ljust(width)}  {_text(v)}" for k, v in obj.items())


def emit(fmt: str, data: dict[str, Any] | list[dict[str, Any]], columns: Sequence[str] | None = None,
         out: TextIO | None = None) -> None:
    """Print one object or a list in the chosen format (``columns`` picks and orders table/CSV columns)."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        return
    rows = data if isinstance(data, list) else [data]
    cols = list(columns) if columns else list(rows[0].keys()) if rows else []
    if fmt == "csv":
        from bytespike.admin.usage import to_csv  # the API's CSV writer: the same escaping in both

        out.write(to_csv(rows, cols))
        return
    if isinstance(data, dict):
        out.write(record({c: data.get(c) for c in cols} if columns else data) + "\n")
    elif not rows:
        out.write("(none)\n")
    else:
        out.write(table(rows, cols) + "\n")
