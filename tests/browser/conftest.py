"""Real-browser fixtures: Debian's Chromium driven by Playwright (sync API), no browser download.

The local stack counts free runs by the TCP peer address, and Chromium always connects
from 127.0.0.1. So each test's page goes through a tiny relay (``SourceRelay``) that
listens on 127.0.0.1 and opens its upstream connections *from* a test-unique loopback
address: every test is a distinct visitor, exactly as the gateway sees it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _ensure_chromium() -> str | None:
    """The Chromium binary, installing Debian's package if it is missing and we may (CI runs
    `make test`, whose `chromium` target installs it first). None only if that cannot work."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return CHROMIUM if Path(CHROMIUM).exists() else None


class SourceRelay:
    """127.0.0.1:<port> -> the stack, with upstream connections bound to ``source_ip``."""

    def __init__(self, target_port: int, source_ip: str) -> None:
        self.target_port = target_port
        self.source_ip = source_ip
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._closed = False
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), source_address=(self.source_ip, 0))
            except OSError:
                client.close()
                continue
            self._socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = _ensure_chromium()
    if exe is None:
        pytest.skip(f"{CHROMIUM} is absent and Debian's chromium package could not be installed "
                    "(run `make chromium` as root, or set CHROMIUM=/path/to/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


SCREENSHOTS_ENV = "BYTESPIKE_SCREENSHOTS"  # `make screenshots` sets it; `make test` leaves the tree clean


def screenshots_wanted() -> bool:
    return os.environ.get(SCREENSHOTS_ENV, "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def shots() -> Path:
    if screenshots_wanted():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def shot(page: Any, folder: Path, name: str, **kwargs: Any) -> None:
    """A screenshot for the docs, written only when asked (``BYTESPIKE_SCREENSHOTS=1``): a test run
    must not rewrite committed files. The page is still rendered the same way either way."""
    if screenshots_wanted():
        page.screenshot(path=folder / name, full_page=kwargs.pop("full_page", True), **kwargs)


@contextlib.contextmanager
def opened(browser: Any, url: str, **context: Any) -> Iterator[Any]:
    """A fresh browser context (its own sessionStorage) on ``url``, once the page says it is ready;
    any uncaught script error on it fails the test."""
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport=context.pop("viewport", {"width": 1280, "height": 1000}), **context)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        yield page
        assert not errors, errors
    finally:
        ctx.close()
