"""The dashboard socket: events published by services reach the owner's socket and nobody else's
(backtest progress to the user group, positions to the account group), and desk-wide events reach
every logged-in socket. Real Redis channel layer, real sessions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from tests.desk_fixtures import seed_candles
from tests.factories import make_account, make_instrument, make_user
from tests.foundation.test_channels import connect_as
from trading.events import publish_desk
from trading.models import Position
from trading.services.backtests import create_backtest, run_backtest_job
from trading.services.broadcast import broadcast_position

SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": "2025-03-01T00:00:00+00:00",
            "end": "2025-03-02T00:00:00+00:00", "leverage": "10", "sizing_mode": "kelly", "kelly_fraction": "0.5",
            "funding": False}


async def hello(sock):
    msg = await sock.receive_json_from(timeout=60)
    assert msg["type"] == "hello"
    return msg["data"]


@pytest.mark.django_db(transaction=True)
async def test_backtest_progress_reaches_only_its_owner():
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    await database_sync_to_async(make_instrument)("BTCUSDT")
    await database_sync_to_async(seed_candles)(300)
    sock_a, ok_a, _ = await connect_as(alice)
    sock_b, ok_b, _ = await connect_as(bob)
    assert ok_a and ok_b
    assert (await hello(sock_a))["user"] == alice.pk and (await hello(sock_b))["user"] == bob.pk
    run = await database_sync_to_async(create_backtest)(owner=alice, strategy="chandelier", params={},
                                                        settings=SETTINGS)
    await database_sync_to_async(run_backtest_job)(run_id=run.pk)
    seen = []
    while not seen or seen[-1]["status"] not in ("done", "failed"):
        event = await sock_a.receive_json_from(timeout=60)
        assert event["type"] == "backtest" and event["data"]["id"] == run.pk
        seen.append(event["data"])
    # running 0 %, then loaded 5 %, signals 20 %, the engine's one chunk (99 %), then done at 100 %
    assert [(e["status"], e["progress"]) for e in seen] == [
        ("running", 0.0), ("running", 0.05), ("running", 0.2), ("running", 0.99), ("done", 1.0)]
    assert seen[-1]["metrics"]["trade_count"] is not None
    assert await sock_b.receive_nothing(timeout=0.5)
    await sock_a.disconnect()
    await sock_b.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_position_broadcast_reaches_the_account_owner_only_after_commit():
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    acc = await database_sync_to_async(make_account)(alice, "A")
    await database_sync_to_async(make_account)(bob, "B")
    sock_a, _, _ = await connect_as(alice)
    sock_b, _, _ = await connect_as(bob)
    await hello(sock_a)
    await hello(sock_b)

    def open_position():
        with transaction.atomic():
            pos = Position.objects.create(account=acc, symbol="BTCUSDT", side="short", qty=Decimal("0.01"),
                                          entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("19.2"),
                                          liquidation_price=Decimal("97440"))
            broadcast_position(position=pos)
        return pos

    pos = await database_sync_to_async(open_position)()
    event = await sock_a.receive_json_from(timeout=60)
    assert event["type"] == "position"
    assert event["data"]["id"] == pos.pk and event["data"]["side"] == "short"
    assert event["data"]["qty"] == 0.01 and event["data"]["liquidation_price"] == 97440.0
    assert await sock_b.receive_nothing(timeout=0.5)
    await sock_a.disconnect()
    await sock_b.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_desk_wide_events_reach_every_logged_in_socket():
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    sock_a, _, _ = await connect_as(alice)
    sock_b, _, _ = await connect_as(bob)
    await hello(sock_a)
    await hello(sock_b)
    await database_sync_to_async(publish_desk)(event_type="tick", data={"symbol": "BTCUSDT", "mark": "96000.5"})
    for sock in (sock_a, sock_b):
        assert await sock.receive_json_from(timeout=60) == {"type": "tick",
                                                            "data": {"symbol": "BTCUSDT", "mark": "96000.5"}}
    await sock_a.disconnect()
    await sock_b.disconnect()
