"""``python -m tests.clients install``: install every pinned third-party client (``make test`` does)."""

from __future__ import annotations

import sys

from tests.clients.harness import install_all

if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tests.clients install")
    sys.exit(install_all())
