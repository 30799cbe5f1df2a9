"""Benchmark: push latency from a service's broadcast to the browser's DOM update. A real chromium (via
Playwright) logged in on the desk page served by daphne (ASGI, Channels over Redis); for each of 200 events
``broadcast_position`` publishes a new position and a MutationObserver in the page stamps the moment its
row appears. Latency = DOM stamp - publish stamp (same machine clock). Reference in the same process:
a bare channel-layer round trip (group_send -> receive on a subscribed channel, same Redis).

Run: ``python bench/bench_push_latency.py [--events 200]`` (needs /usr/bin/chromium and playwright).
Scratch database and Redis; see bench/_bench_desk.py.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from _bench_desk import percentile, setup_django, teardown

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

OBSERVER = """
window.__seen = {};
new MutationObserver(() => {
  const now = performance.timeOrigin + performance.now();
  document.querySelectorAll('#positions tr[data-position]').forEach((tr) => {
    const id = tr.dataset.position; if (!(id in window.__seen)) window.__seen[id] = now; });
}).observe(document.querySelector('#positions tbody'), {childList: true, subtree: true});
"""


def serve() -> str:
    from channels.routing import ProtocolTypeRouter
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from quantdesk.asgi import application

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(get_asgi_application()),
                              "websocket": application.application_mapping["websocket"]})
    server = Server(application=app, endpoints=build_endpoint_description_strings(host="127.0.0.1", port=port),
                    signal_handlers=False, verbosity=0)
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def in_thread(fn, *args, **kwargs):
    """ORM and publish calls off Playwright's event-loop thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def channel_layer_reference(n: int) -> list[float]:
    """group_send -> receive through the same Redis channel layer, in ms."""
    from channels.layers import get_channel_layer

    async def run():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("bench.ref", channel)
        out = []
        for i in range(n + 1):
            t = time.time()
            await layer.group_send("bench.ref", {"type": "desk.event", "i": i})
            await layer.receive(channel)
            if i:
                out.append((time.time() - t) * 1000.0)
        await layer.group_discard("bench.ref", channel)
        return out

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200)
    args = ap.parse_args()
    started = setup_django()
    try:
        from playwright.sync_api import sync_playwright

        from tests.factories import make_account, make_user
        from trading.models import Position
        from trading.services.broadcast import broadcast_position

        user = make_user("bench", password="bench-pass-123")
        account = make_account(user, "Bench")
        base = serve()

        def publish(i: int) -> float:
            pos = Position(pk=1_000_000 + i, account_id=account.pk, symbol="BTCUSDT", side="long",
                           qty=Decimal("0.001"), entry_price=Decimal("96000"), leverage=Decimal("50"),
                           margin=Decimal("1.92"), liquidation_price=Decimal("94560"),
                           opened_at=datetime.now(UTC))
            t = time.time() * 1000.0
            broadcast_position(position=pos)  # outside a transaction: on_commit publishes at once
            return t

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", "bench-pass-123")
            page.click("button[type=submit]")
            page.wait_for_function("(document.getElementById('socket-status') || {}).textContent === 'connected'")
            page.evaluate(OBSERVER)
            latencies = []
            for i in range(args.events + 5):  # the first 5 warm the path and are not counted
                sent = in_thread(publish, i)
                pid = str(1_000_000 + i)
                page.wait_for_function(f"'{pid}' in window.__seen", timeout=30_000)
                seen = page.evaluate(f"window.__seen['{pid}']")
                if i >= 5:
                    latencies.append(seen - sent)
            browser.close()
        ref = in_thread(channel_layer_reference, args.events)
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        r50, r95 = percentile(ref, 50), percentile(ref, 95)
        print(f"push latency, broadcast_position -> row in the DOM ({args.events} events, rows growing 1..{args.events}):")
        print(f"  browser  p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   max {max(latencies):7.2f} ms")
        print(f"  reference (channel layer group_send -> receive, same Redis): p50 {r50:6.2f} ms   p95 {r95:6.2f} ms")
        print(f"  ratio browser/reference: p50 {p50 / r50:5.1f}x   p95 {p95 / r95:5.1f}x")
    finally:
        teardown(started)


if __name__ == "__main__":
    main()
