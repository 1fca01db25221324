"""Nothing installed is committed: the bench's peers install from their lock files at bench time.

A committed ``.bench/portkey/node_modules`` (3,528 files) with its install marker but without the
package's ignored ``build/`` directory made ``make bench`` skip the install in a fresh clone and
Portkey exit at start (issue #20).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return out.stdout.splitlines()


def test_no_installed_tree_or_install_marker_is_tracked() -> None:
    bad = [p for p in _tracked() if "node_modules/" in p or p.startswith(".bench/") or
           re.search(r"(^|/)\.installed[^/]*$", p)]
    assert bad == [], f"{len(bad)} installed files are committed, e.g. {bad[:3]}"


def test_portkey_installs_from_its_lock_with_the_pins_the_docs_name() -> None:
    manifest = json.loads((ROOT / "bench/portkey/package.json").read_text())
    lock = json.loads((ROOT / "bench/portkey/package-lock.json").read_text())["packages"]
    assert manifest["dependencies"] == {"@portkey-ai/gateway": "1.15.2"}
    assert lock["node_modules/@portkey-ai/gateway"]["version"] == "1.15.2"
    assert manifest["overrides"]["@hono/node-server"] == lock["node_modules/@hono/node-server"]["version"] == "1.14.1"
    makefile = (ROOT / "Makefile").read_text()
    assert "npm ci --prefix $(PORTKEY_DIR)" in makefile
    assert ".bench/" in (ROOT / ".gitignore").read_text().split()
