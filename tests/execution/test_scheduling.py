"""Beat's view of the world: a config is due when the feed (live or replay) has closed a bar newer than its
last signal; a replay therefore drives cycles bar by bar even though its candles are all stored already."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.execution.test_e2e_replay import PARAMS, START, series, store_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.marketdata.feed import FeedHandler
from trading.marketdata.replay import ReplayFeed
from trading.models import Signal
from trading.services.scheduling import due_signal_cycles as due_cycles


def due_signal_cycles() -> list[tuple]:
    return [(c.config_id, c.bar_time) for c in due_cycles()]


@pytest.mark.django_db(transaction=True)
def test_replay_clock_drives_due_cycles():
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    config = make_config(make_account(make_user()), make_strategy("drift"), leverage=50, sizing_mode="kelly",
                         allocation=None, kelly_fraction=0.5, stop_loss_pct=0.5, params=PARAMS, enabled=True)
    store_candles(series()[:40])
    # no feed yet: the newest stored bar (bar 39) is due
    assert due_signal_cycles() == [(config.pk, START + timedelta(minutes=5 * 39))]
    handler = FeedHandler(mode="replay", persist=False, tick_every=0)
    ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", until=START + timedelta(minutes=5 * 10),
               speed=0).run()
    # the replay has closed bars 0..10: bar 10 is what is due now, not the stored bar 39
    assert due_signal_cycles() == [(config.pk, START + timedelta(minutes=50))]
    Signal.objects.create(config=config, symbol="BTCUSDT", bar_time=START + timedelta(minutes=50), signal=0)
    assert due_signal_cycles() == []  # acted on: nothing due until the feed closes another bar
