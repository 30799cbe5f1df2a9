"""Browser-test fixtures: the real ASGI app (Django + Channels, static files from the finders) served by
daphne in a thread on a free port, and Debian's chromium driven by Playwright for Python. The test skips
with a clear message when /usr/bin/chromium or playwright is absent (.ci/run installs chromium)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_asgi():
    """Base URL of daphne serving quantdesk.asgi in a background thread (one reactor per process)."""
    from channels.routing import ProtocolTypeRouter
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from quantdesk.asgi import application

    app = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(get_asgi_application()),
                              "websocket": application.application_mapping["websocket"]})
    port = _free_port()
    server = Server(application=app, endpoints=build_endpoint_description_strings(host="127.0.0.1", port=port),
                    signal_handlers=False, verbosity=0)
    thread = threading.Thread(target=server.run, daemon=True, name="daphne-test")
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    from twisted.internet import reactor

    reactor.callFromThread(reactor.stop)
    thread.join(10)


@pytest.fixture
def browser_page():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright for Python is not installed (pip install -r requirements-dev.txt)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            browser.close()
