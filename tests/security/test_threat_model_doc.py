"""docs/SECURITY.md cites a test for every mitigation: each cited file and test must exist."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "SECURITY.md"


@functools.cache
def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.name.startswith("test_")}


def test_every_test_the_threat_model_cites_exists() -> None:
    text = DOC.read_text()
    missing: list[str] = []
    cited_files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    assert len(cited_files) >= 15, cited_files
    for rel in sorted(cited_files):
        if not (REPO / rel).is_file():
            missing.append(rel)
    # "file::test" and the "`::test`" shorthand that follows a cited file in the same cell.
    for cell in re.split(r"\|", text):
        current: str | None = None
        for m in re.finditer(r"`(tests/[\w/]+\.py)?(::(test_\w+))?`", cell):
            if m.group(1):
                current = m.group(1)
            if m.group(3) and current and (REPO / current).is_file() and m.group(3) not in _tests_in(REPO / current):
                missing.append(f"{current}::{m.group(3)}")
    assert not missing, "docs/SECURITY.md cites what does not exist:\n" + "\n".join(missing)
