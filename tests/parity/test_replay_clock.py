"""The replay as a faithful clock, piece by piece (no Celery): the order of what it asks of the desk, the price
it publishes at a close, the coarser timeframes a bar closes, paper stepping exactly the published sub-bars,
cycles grouped per account in config id order, beat standing aside, and the window/context a cycle reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from strategies.algos import registry
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.engine.detail_path import subbar
from trading.exchanges.paper import PaperExchange
from trading.marketdata.clock import clear_replay_time, replay_time_ms, set_replay_time
from trading.marketdata.feed import FeedHandler, feed_status, last_closed_bar, latest_price
from trading.marketdata.reader import read_bars
from trading.marketdata.replay import ReplayFeed
from trading.marketdata.store import dt_to_ms
from trading.models import Candle
from trading.selectors import feed_subscriptions
from trading.services import scheduling
from trading.services.replay_desk import ReplayDesk, ReplayRefused
from trading.services.signal_cycle import compute_frame

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def store(symbol: str, n: int, *, start: datetime = T0, base: float = 100.0) -> None:
    """Bar i: open base + i, high open + 2, low open - 1, close open + 1 (up bars: path O -> L -> H -> C)."""
    Candle.objects.bulk_create([
        Candle(symbol=symbol, interval="5m", kind="trade", open_time=start + timedelta(minutes=5 * i),
               open=Decimal(base + i), high=Decimal(base + i + 2), low=Decimal(base + i - 1),
               close=Decimal(base + i + 1), volume=Decimal(1)) for i in range(n)])


class FakeDesk:
    """Records what the replay asks, with the replay clock and the published price at that moment."""

    def __init__(self, busy: dict[int, set[str]], watched: list[int]):
        self._busy, self.watched, self.calls = busy, watched, []

    def busy(self):
        return self._busy

    def step(self, *, account_id, symbol, start, end, bar):
        self.calls.append(("step", symbol, start, end, tuple(round(float(x), 9) for x in bar)))

    def monitor(self, *, account_ids):
        self.calls.append(("monitor", tuple(account_ids), replay_time_ms(), latest_price(symbol="BTCUSDT")["last"]))

    def cycles(self):
        self.calls.append(("cycles", replay_time_ms(), latest_price(symbol="BTCUSDT")["last"],
                           last_closed_bar(symbol="BTCUSDT", interval="15m")))
        return 0


@pytest.mark.django_db(transaction=True)
def test_replay_walks_sub_bars_then_closes_at_the_next_open():
    store("BTCUSDT", 3)  # bars 00:00, 00:05, 00:10: the third closes the 15m bar of 00:00
    desk = FakeDesk({1: {"BTCUSDT"}}, [1])
    handler = FeedHandler(mode="replay", persist=False, derived_intervals=["15m"], publish=lambda **kw: None)
    played = ReplayFeed(handler=handler, symbols=["BTCUSDT"], interval="5m", speed=0, desk=desk).run()
    assert played == 3
    steps = [c for c in desk.calls if c[0] == "step"]
    monitors = [c for c in desk.calls if c[0] == "monitor"]
    cycles = [c for c in desk.calls if c[0] == "cycles"]
    assert len(steps) == len(monitors) == 30 and len(cycles) == 3  # ten 30-second sub-bars per 5m bar
    # bar 0 (O 100, H 102, L 99, C 101), sub-bar 3 of 10: the engine's own path, stamped at its start
    t0 = dt_to_ms(T0)
    assert steps[3] == ("step", "BTCUSDT", t0 + 90_000, t0 + 120_000,
                        tuple(round(x, 9) for x in subbar(100.0, 102.0, 99.0, 101.0, 10, 3)))
    # each monitor runs after its sub-bar, on the replay clock at the sub-bar's end and its close as the price
    assert monitors[9][2] == t0 + 300_000 and float(monitors[9][3]) == 101.0
    assert desk.calls.index(steps[4]) < desk.calls.index(monitors[4]) < desk.calls.index(steps[5])
    # at the close of bar 0 (00:05) the price is bar 1's open (101), at the clock 00:05; no 15m bar closed yet
    assert cycles[0][1:] == (t0 + 300_000, "101", None)
    # the close of bar 2 (00:15) closes the 15m bar of 00:00; no next bar: its own close (103)
    assert cycles[2][1:] == (t0 + 900_000, "103", t0)
    assert replay_time_ms() is None  # the desk is handed back to the wall clock
    status = feed_status()
    assert (status["bars_done"], status["bars_total"], status["bar_time"]) == (3, 3, (T0 + timedelta(minutes=10))
                                                                               .isoformat())


@pytest.mark.django_db(transaction=True)
def test_speed_paces_sub_bars_against_simulated_time_and_never_skips_one():
    store("BTCUSDT", 2)
    desk = FakeDesk({1: {"BTCUSDT"}}, [1])
    waits: list[float] = []
    subbar(1.0, 2.0, 0.5, 1.5, 10, 0)  # compiled before the clock runs (a first call may take a second)
    handler = FeedHandler(mode="replay", persist=False, publish=lambda **kw: None)
    ReplayFeed(handler=handler, symbols=["BTCUSDT"], interval="5m", speed=30, desk=desk, wait=waits.append).run()
    # 30 simulated seconds at 30x = 1 s per sub-bar (recorded, not slept), less the time the desk took; every
    # sub-bar was played
    assert len([c for c in desk.calls if c[0] == "monitor"]) == 20
    assert len(waits) == 20 and all(0.5 < w <= 1.0 for w in waits)


@pytest.mark.django_db(transaction=True)
def test_replay_skips_the_monitor_when_nothing_is_watched():
    store("BTCUSDT", 2)
    desk = FakeDesk({1: {"BTCUSDT"}}, [])  # a position the monitor provably holds: stepped, not monitored
    handler = FeedHandler(mode="replay", persist=False, publish=lambda **kw: None)
    ReplayFeed(handler=handler, symbols=["BTCUSDT"], interval="5m", speed=0, desk=desk).run()
    assert [c[0] for c in desk.calls].count("monitor") == 0 and [c[0] for c in desk.calls].count("step") == 20


@pytest.mark.django_db(transaction=True)
def test_paper_steps_the_published_sub_bar_and_ignores_the_replayed_tick():
    make_instrument("BTCUSDT")
    account = make_account(make_user(), starting_capital=Decimal("500"),
                           slippage_bps=Decimal("0"))  # the stop fills AT its level here (slippage: test_replay_parity)
    quotes = {"BTCUSDT": {"last": 100_000.0, "ts": 1_000, "stepped": True}}
    paper = PaperExchange(account, quote=quotes.get)
    from trading.exchanges.types import OrderIntent

    paper.set_leverage("BTCUSDT", Decimal("10"))
    paper.place_order(OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.01"), client_order_id="a",
                                  stop_loss=Decimal("99500")))
    assert len(paper.positions()) == 1
    # a replayed tick through the stop is only a price: no second interpretation of the bar
    quotes["BTCUSDT"] = {"last": 99_000.0, "ts": 31_000, "stepped": True}
    assert len(paper.positions()) == 1
    # the stored bars after the tick are never read ahead of it
    store("BTCUSDT", 2, start=datetime.fromtimestamp(31, tz=UTC), base=90_000.0)
    assert len(paper.positions()) == 1
    # the replay's sub-bar reaching the stop: a stop-loss fill at the SL, stamped at the sub-bar's start
    paper.step("BTCUSDT", start=31_000, end=61_000, open=99_900.0, high=99_950.0, low=99_400.0, close=99_450.0)
    assert paper.positions() == []
    exit_fill = [f for f in paper.executions() if f.exit_reason == "sl"][0]
    assert (exit_fill.price, dt_to_ms(exit_fill.executed_at)) == (Decimal("99500"), 31_000)


@pytest.mark.django_db(transaction=True)
def test_cycles_grouped_per_account_in_config_id_order_and_beat_stands_aside():
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    a, b = make_account(make_user("u1")), make_account(make_user("u2"))
    strategy = make_strategy("chandelier")
    common = dict(leverage=Decimal("100"), allocation=Decimal("0.03"), stop_loss_pct=Decimal("0.4"), enabled=True)
    c2 = make_config(a, strategy, name="second", symbols=["ETHUSDT"], **common)
    c1 = make_config(a, strategy, name="first", symbols=["BTCUSDT"], **common)
    c3 = make_config(b, strategy, name="other", symbols=["BTCUSDT"], **common)
    store("BTCUSDT", 2)
    store("ETHUSDT", 2)
    due = scheduling.due_cycles_by_account()
    assert [d.config_id for d in due[a.pk]] == sorted([c1.pk, c2.pk]) and [d.config_id for d in due[b.pk]] == [c3.pk]
    assert not scheduling.beat_yields_to_replay()
    set_replay_time(ms=dt_to_ms(T0))
    try:
        assert scheduling.beat_yields_to_replay()
        from trading.tasks import dispatch_signal_cycles, monitor_positions

        assert dispatch_signal_cycles() == 0 and monitor_positions() == 0  # nothing sent while a replay drives
    finally:
        clear_replay_time()


@pytest.mark.django_db
def test_a_replay_refuses_live_accounts():
    make_instrument("BTCUSDT")
    account = make_account(make_user(), name="Real money")
    make_config(account, make_strategy("chandelier"), leverage=Decimal("100"), allocation=Decimal("0.03"),
                stop_loss_pct=Decimal("0.4"), enabled=True, symbols=["BTCUSDT"])
    type(account).objects.filter(pk=account.pk).update(mode="live")
    with pytest.raises(ReplayRefused, match="Real money"):
        ReplayDesk()
    type(account).objects.filter(pk=account.pk).update(mode="paper")
    ReplayDesk()  # a paper desk replays
    from trading.models import Position

    live = make_account(make_user("bob"), name="Held live")
    type(live).objects.filter(pk=live.pk).update(mode="live")
    Position.objects.create(account=live, symbol="BTCUSDT", side="long", qty=Decimal("0.001"),
                            entry_price=Decimal("90000"), leverage=Decimal("10"), margin=Decimal("9"))
    with pytest.raises(ReplayRefused, match="Held live"):
        ReplayDesk()  # its position needs the wall-clock monitor


@pytest.mark.django_db
def test_resampled_read_ends_at_the_bar_asked_for():
    store("BTCUSDT", 12)  # 5m bars 00:00..00:55: four complete 15m bars
    frame = read_bars(symbol="BTCUSDT", interval="15m", bars=2, end=T0 + timedelta(minutes=30))
    assert list(frame.index) == [T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)]
    # the 00:30 bar: opens at bar 6's open (106), high bar 8's (110), low bar 6's (105), closes at bar 8's (109)
    assert frame.iloc[-1][["open", "high", "low", "close"]].tolist() == [106.0, 110.0, 105.0, 109.0]


@pytest.mark.django_db
def test_cycle_reads_the_declared_window_and_context():
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    strategy = registry.get("drift")()
    warm = strategy.warmup_bars_at("15m")
    n = (warm + 10) * 3 + 24
    rng = np.random.default_rng(3)
    for symbol, base in (("ETHUSDT", 2000.0), ("BTCUSDT", 90_000.0)):
        close = base * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
        Candle.objects.bulk_create([
            Candle(symbol=symbol, interval="5m", kind="trade", open_time=T0 + timedelta(minutes=5 * i),
                   open=Decimal(f"{c:.2f}"), high=Decimal(f"{c * 1.001:.2f}"), low=Decimal(f"{c * 0.999:.2f}"),
                   close=Decimal(f"{c:.2f}"), volume=Decimal(1)) for i, c in enumerate(close)])
    config = make_config(make_account(make_user()), make_strategy("drift"), leverage=Decimal("50"),
                         sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                         stop_loss_pct=Decimal("1"), symbols=["ETHUSDT"], timeframe="15m", enabled=True)
    end = T0 + timedelta(minutes=15 * (warm + 5))
    seen = {}
    original = type(strategy).compute

    def spy(self, candles, context=None):
        seen["candles"], seen["context"] = candles, context
        return original(self, candles, context)

    type(strategy).compute = spy
    try:
        compute_frame(config=config, symbol="ETHUSDT", end=end)
    finally:
        type(strategy).compute = original
    candles, context = seen["candles"], seen["context"]
    assert len(candles) == warm + 1 and candles.index[-1] == end  # warm-up + the bar decided, 15m from 5m
    assert list(context.other) == ["BTCUSDT"] and context.other["BTCUSDT"].index.equals(candles.index)
    hourly = context.higher["1h"]
    # only hourly bars closed by the 15m bar's close (end + 15 min)
    assert hourly.index[-1] + timedelta(hours=1) <= end + timedelta(minutes=15)
    assert hourly.index[-1] + timedelta(hours=2) > end + timedelta(minutes=15)


@pytest.mark.django_db
def test_feed_subscribes_partner_symbols_and_higher_timeframes():
    make_instrument("ETHUSDT")
    make_config(make_account(make_user()), make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("1"), symbols=["ETHUSDT"],
                timeframe="15m", enabled=True)
    assert feed_subscriptions() == (["BTCUSDT", "ETHUSDT"], ["15m", "1h"])
