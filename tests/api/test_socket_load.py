"""Sockets that stay up under idleness and load (issue 16): an idle dashboard socket is still open and
receiving after 60 s (channels_redis blocks 5 s in BZPOPMIN; redis-py's 5 s default socket timeout used to
close it with 1011), and 100 sockets fed 20 desk events a second for 3 s get every event, in order; the
latency percentiles are printed. Real Redis channel layer, real sessions, the real ASGI application."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from tests.factories import make_account, make_user
from tests.foundation.test_channels import connect_as
from trading.events import desk_group, make_event, publish

pytestmark = pytest.mark.slow

IDLE_SECONDS = 60
SOCKETS, RATE, SECONDS = 100, 20, 3


async def open_socket(user):
    sock, ok, code = await connect_as(user)
    assert ok, code
    assert (await sock.receive_json_from(timeout=60))["type"] == "hello"
    return sock


@pytest.mark.django_db(transaction=True)
async def test_idle_socket_is_still_open_and_receiving_after_60_s():
    alice = await database_sync_to_async(make_user)("alice")
    acc = await database_sync_to_async(make_account)(alice, "A")
    sock = await open_socket(alice)
    started = time.monotonic()
    await asyncio.sleep(IDLE_SECONDS / 2)
    await database_sync_to_async(publish)(account_id=acc.pk, event_type="equity", data={"n": 1})  # while idle
    assert await sock.receive_json_from(timeout=60) == {"type": "equity", "data": {"n": 1}}
    await asyncio.sleep(max(0.0, IDLE_SECONDS - (time.monotonic() - started)))
    assert time.monotonic() - started >= IDLE_SECONDS
    await database_sync_to_async(publish)(account_id=acc.pk, event_type="equity", data={"n": 2})
    # a closed socket would answer websocket.close (1011) here instead of the event
    assert await sock.receive_output(timeout=60) == {"type": "websocket.send",
                                                     "text": '{"type": "equity", "data": {"n": 2}}'}
    await sock.send_json_to({"action": "ping"})
    assert await sock.receive_json_from(timeout=60) == {"type": "pong", "data": {}}
    await sock.disconnect()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@pytest.mark.django_db(transaction=True)
async def test_100_sockets_at_20_events_per_second_get_every_event(capsys):
    users = [await database_sync_to_async(make_user)(f"u{i}") for i in range(10)]
    socks = [await open_socket(users[i % len(users)]) for i in range(SOCKETS)]
    layer = get_channel_layer()
    total = RATE * SECONDS
    received: list[list[int]] = [[] for _ in socks]
    latencies: list[float] = []

    async def drain(i, sock):
        deadline = time.monotonic() + SECONDS + 60
        while len(received[i]) < total and time.monotonic() < deadline:
            try:
                event = await sock.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            if event["type"] != "tick":
                continue
            received[i].append(event["data"]["seq"])
            latencies.append(time.time() - event["data"]["sent"])

    readers = [asyncio.create_task(drain(i, s)) for i, s in enumerate(socks)]
    start = time.monotonic()
    for seq in range(total):  # 20 a second, on a fixed schedule (a late send does not shift the next)
        await asyncio.sleep(max(0.0, start + seq / RATE - time.monotonic()))
        await layer.group_send(desk_group(), {"type": "desk.event", "event": make_event(
            "tick", {"symbol": "BTCUSDT", "seq": seq, "sent": time.time()})})
    send_seconds = time.monotonic() - start
    await asyncio.gather(*readers)
    delivered = sum(len(r) for r in received)
    with capsys.disabled():
        print(f"\n[socket load] {SOCKETS} sockets x {RATE} events/s x {SECONDS} s (sent in {send_seconds:.2f} s): "
              f"delivered {delivered}/{SOCKETS * total} ({100 * delivered / (SOCKETS * total):.1f} %), "
              f"latency p50 {1000 * statistics.median(latencies):.0f} ms, "
              f"p95 {1000 * percentile(latencies, 0.95):.0f} ms, max {1000 * max(latencies):.0f} ms")
    assert delivered == SOCKETS * total
    assert all(r == list(range(total)) for r in received)  # every socket, every event, in order
    for sock in socks:
        await sock.disconnect()
