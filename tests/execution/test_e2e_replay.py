"""End to end with a real Celery worker and real Redis: a replayed series (through the feed's replay path:
stored candles -> kline/ticker messages -> Redis prices) opens a drift-forecaster long, the 30-second monitor
reduces it on drift decay and closes it on a drift flip — on the paper exchange, and the same scenario on
the Bybit adapter with real pybit against the local fake Bybit V5 server.

The series: flat, then a steady rise of 0.1 % a bar, a slower rise of 0.03 % a bar, then a fall (seeded
noise of 0.002 %). Each replayed bar is followed by a monitor run and then a signal cycle, as beat would
run them, both as tasks on the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from celery.contrib.testing.worker import start_worker

from fakebybit.pytest_plugin import API_KEY, API_SECRET, fake_bybit  # noqa: F401
from quantdesk.celery import app
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading import tasks
from trading.marketdata.feed import FeedHandler
from trading.marketdata.replay import ReplayFeed
from trading.models import Candle, Fill, MonitorDecision, Order, Position

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
START = datetime(2025, 3, 1, tzinfo=UTC)
PARAMS = {"use_order_flow": False, "use_htf_filter": False, "use_cross_asset": False,
          "drift_threshold": 0.001, "min_confidence": 0.5}


def series(n: int = 440) -> np.ndarray:
    rng = np.random.default_rng(7)
    logp = np.empty(n)
    slopes = [(0, 300, 0.0), (300, 360, 0.001), (360, 420, 0.0003), (420, n, -0.003)]
    for a, b, slope in slopes:
        for i in range(a, b):
            logp[i] = (logp[i - 1] if i else np.log(96_000.0)) + slope
    return np.exp(logp + rng.normal(0, 0.00002, n))


def store_candles(close: np.ndarray) -> None:
    Candle.objects.bulk_create([
        Candle(symbol="BTCUSDT", interval="5m", kind="trade", open_time=START + timedelta(minutes=5 * i),
               open=Decimal(f"{c:.1f}"), high=Decimal(f"{c * 1.0005:.1f}"), low=Decimal(f"{c * 0.9995:.1f}"),
               close=Decimal(f"{c:.1f}"), volume=Decimal("100"))
        for i, c in enumerate(close)])


@pytest.fixture
def worker():
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30) as w:
        yield w


def run_scenario(account, config, *, on_bar=None) -> dict:
    """Replay bars 290.. through the feed; after each bar: monitor task, then signal-cycle task."""
    events: dict = {"open": None, "reduce": None, "close": None, "bars": 0}
    handler = FeedHandler(mode="replay", symbols=["BTCUSDT"], tick_every=0)
    bars = list(Candle.objects.filter(symbol="BTCUSDT").order_by("open_time").values_list("open_time", "close"))
    played = {"i": 289}
    stop = __import__("threading").Event()

    def step(_pause: float = 0.0) -> None:
        played["i"] += 1
        bar_time, close = bars[played["i"]]
        if on_bar is not None:
            on_bar(float(close))
        tasks.monitor_account.delay(account.pk).get(timeout=120)
        tasks.run_signal_cycle.delay(config.pk, bar_time.isoformat()).get(timeout=120)
        events["bars"] += 1
        pos = Position.objects.filter(account=account).order_by("-opened_at").first()
        if pos is not None and events["open"] is None:
            events["open"] = played["i"]
        if MonitorDecision.objects.filter(action="reduce").exists() and events["reduce"] is None:
            events["reduce"] = played["i"]
        if pos is not None and pos.status == "closed":
            events["close"] = played["i"]
            stop.set()

    feed = ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", since=bars[290][0], speed=1e9, wait=step)
    feed.run(stop=stop)
    if not stop.is_set():
        step()
    return events


def assert_story(account, events):
    assert events["open"] is not None and events["reduce"] is not None and events["close"] is not None, events
    assert events["open"] < events["reduce"] < events["close"]
    pos = Position.objects.get(account=account)  # one position, opened once
    assert pos.status == "closed" and pos.exit_reason == "monitor-drift-flip" and pos.side == "long"
    decisions = list(MonitorDecision.objects.filter(position=pos).exclude(action="hold").order_by("decided_at"))
    assert [(d.action, d.reason) for d in decisions][0] == ("reduce", "monitor-decay")
    assert (decisions[-1].action, decisions[-1].reason) == ("close", "monitor-drift-flip")
    orders = Order.objects.filter(account=account)
    assert orders.values("client_order_id").distinct().count() == orders.count()  # no order sent twice
    assert orders.filter(action="open").count() == 1 and orders.filter(status="rejected").count() == 0
    exits = Fill.objects.filter(position=pos).exclude(exit_reason="")
    assert sum(f.qty for f in exits) == Fill.objects.get(position=pos, exit_reason="", exec_type="Trade").qty
    print(f"\n[e2e] bars replayed {events['bars']}, open at bar {events['open']}, reduce at {events['reduce']}, "
          f"close at {events['close']}; orders {orders.count()}, fills {Fill.objects.filter(account=account).count()}")


def setup_desk(*, live: bool):
    user = make_user()
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    account = make_account(user, starting_capital=Decimal("500"))
    if live:
        account.environment = "mainnet"
        account.set_api_credentials(api_key=API_KEY, api_secret=API_SECRET)
        account.mode, account.live_trading_enabled = "live", True
        account.save()
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"),
                         params=PARAMS, enabled=True)
    store_candles(series())
    return account, config


def test_paper_open_reduce_flip(worker):
    account, config = setup_desk(live=False)
    assert_story(account, run_scenario(account, config))


def test_bybit_open_reduce_flip(worker, fake_bybit, settings):  # noqa: F811
    settings.BYBIT_HTTP_ENDPOINT = fake_bybit.urls.http
    account, config = setup_desk(live=True)
    assert_story(account, run_scenario(
        account, config, on_bar=lambda close: fake_bybit.set_price("BTCUSDT", close, bid=close, ask=close)))
