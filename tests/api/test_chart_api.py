"""The chart API: any interval resampled from the stored 5m bars (a worked 1h aggregation), downsampling that keeps
the range's first and last bar and never exceeds the point budget (up to a year of 5m bars), marks and the axis
on the desk's clock during a replay, indicators at the display step, and bad queries named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.marketdata.clock import clear_replay_time, set_replay_time
from trading.models import Candle, Fill, Order

T0 = datetime(2025, 3, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def hand_bars(n: int, start: datetime = T0) -> list[Candle]:
    """Bar i: open 100 + i, high open + 3 (+10 on bar 7), low open - 2, close open + 1, volume i + 1."""
    rows = []
    for i in range(n):
        o = 100 + i
        rows.append(Candle(symbol="BTCUSDT", interval="5m", kind="trade", open_time=start + i * FIVE,
                           open=Decimal(o), high=Decimal(o + 3 + (10 if i == 7 else 0)), low=Decimal(o - 2),
                           close=Decimal(o + 1), volume=Decimal(i + 1)))
    return Candle.objects.bulk_create(rows)


def walk_bars(n: int, start: datetime = T0, seed: int = 3) -> dict[str, np.ndarray]:
    """A seeded random walk of ``n`` 5m bars, stored; returns its columns for the test's own reference sums."""
    rng = np.random.default_rng(seed)
    close = np.round(50_000 * np.exp(np.cumsum(rng.normal(0, 1e-3, n))), 1)
    open_ = np.r_[50_000.0, close[:-1]]
    high = np.round(np.maximum(open_, close) + rng.uniform(0, 20, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(0, 20, n), 1)
    vol = np.round(rng.uniform(1, 9, n), 3)
    Candle.objects.bulk_create(
        [Candle(symbol="BTCUSDT", interval="5m", kind="trade", open_time=start + i * FIVE, open=Decimal(str(open_[i])),
                high=Decimal(str(high[i])), low=Decimal(str(low[i])), close=Decimal(str(close[i])),
                volume=Decimal(str(vol[i]))) for i in range(n)], batch_size=5000)
    times = np.array([int((start + i * FIVE).timestamp()) for i in range(n)])
    return {"t": times, "o": open_, "h": high, "l": low, "c": close, "v": vol}


def ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.fixture
def alice(db):
    make_instrument("BTCUSDT")
    return make_user("alice")


def candles(api, **q):
    resp = api.get("/api/chart/candles/", symbol="BTCUSDT", **q)
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_one_hour_from_five_minutes_is_the_worked_aggregation(alice, api):
    hand_bars(24 + 5)  # 00:00 .. 02:20: two whole hours and an incomplete third
    api.login(alice)
    body = candles(api, interval="1h", start="2025-03-01T00:00:00Z", end="2025-03-01T02:00:00Z")
    # 00:00 <- bars 0..11: open 100, high max(bar 11: 111 + 3, bar 7: 107 + 13 = 120) = 120, low 98,
    #          close 111 + 1 = 112, volume 1 + ... + 12 = 78
    # 01:00 <- bars 12..23: open 112, high 123 + 3 = 126, low 110, close 124, volume 13 + ... + 24 = 222
    # 02:00 <- bars 24..28 only: incomplete, not drawn (the bars a strategy sees are the complete ones)
    assert body["base"] == "5m" and body["interval"] == "1h" and body["downsampled"] is False
    assert body["t"] == ["2025-03-01T00:00:00+00:00", "2025-03-01T01:00:00+00:00"]
    assert (body["o"], body["h"], body["l"], body["c"], body["v"]) == (
        [100, 112], [120, 126], [98, 110], [112, 124], [78, 222])
    assert body["bars"] == 2 and body["last_bar"] == "2025-03-01T01:00:00+00:00"


@pytest.mark.parametrize(("budget", "skip", "keep"), [(50, 0, 3000), (97, 37, 2801), (400, 5, 2222), (3000, 0, 700)])
def test_downsampling_keeps_both_ends_and_the_budget(alice, api, budget, skip, keep):
    ref = walk_bars(3000)
    api.login(alice)
    sl = slice(skip, skip + keep)
    t, o, h, lo, c, v = (ref[k][sl] for k in ("t", "o", "h", "l", "c", "v"))
    start, end = datetime.fromtimestamp(t[0], UTC), datetime.fromtimestamp(t[-1], UTC)
    body = candles(api, interval="5m", start=start.isoformat(), end=end.isoformat(), max_points=budget)
    n = len(body["t"])
    assert 0 < n <= budget
    assert body["downsampled"] is (keep > budget)
    step = body["step_seconds"]
    assert step % 300 == 0 and (step == 300) is (keep <= budget)
    assert body["first_bar"] == start.isoformat() and body["last_bar"] == end.isoformat() and body["bars"] == keep
    # the first point holds the first bar, the last point the last bar
    assert ts(body["t"][0]) <= t[0] < ts(body["t"][0]) + step and body["o"][0] == o[0]
    assert ts(body["t"][-1]) <= t[-1] < ts(body["t"][-1]) + step and body["c"][-1] == c[-1]
    # nothing dropped in between: the extremes and the summed volume of every bar are in the points
    assert max(body["h"]) == h.max() and min(body["l"]) == lo.min()
    assert sum(body["v"]) == pytest.approx(v.sum(), rel=1e-12)
    # the points are on one regular grid (candle widths stay equal)
    assert set(np.diff([ts(x) for x in body["t"]])) <= {step} or n == 1


@pytest.mark.slow
def test_a_year_of_five_minute_bars_comes_back_whole(alice, api):
    n = 365 * 288
    ref = walk_bars(n, start=datetime(2025, 1, 1, tzinfo=UTC))
    api.login(alice)
    for interval in ("5m", "1h"):
        body = candles(api, interval=interval, start="2025-01-01T00:00:00Z", end="2025-12-31T23:55:00Z")
        assert len(body["t"]) <= 3000 and body["downsampled"] and body["base"] == "5m"
        assert body["first_bar"] == "2025-01-01T00:00:00+00:00"
        assert body["last_bar"] == ("2025-12-31T23:55:00+00:00" if interval == "5m" else "2025-12-31T23:00:00+00:00")
        assert body["o"][0] == ref["o"][0] and body["c"][-1] == ref["c"][-1]
        assert body["t"][0] == "2025-01-01T00:00:00+00:00" and body["t"][-1].startswith("2025-12-31")
        # 2h buckets would be 4,380 points > 3,000: the 4h step (2,190 points) is the finest that fits
        assert body["step"] == "4h" and len(body["t"]) == 2190
    assert body["history"] == {"first": "2025-01-01T00:00:00+00:00", "last": "2025-12-31T23:55:00+00:00"}


@pytest.fixture
def replay_clock():
    yield set_replay_time
    clear_replay_time()


def test_during_a_replay_the_range_and_the_marks_end_at_the_desk_clock(alice, api, replay_clock):
    hand_bars(288)  # 2025-03-01, one day of 5m bars, all stored (a replay plays stored bars)
    account = make_account(alice, "A")
    config = make_config(account, make_strategy("chandelier"), name="a-cfg")
    order = Order.objects.create(account=account, config=config, client_order_id="o-1", symbol="BTCUSDT",
                                 side="Buy", qty=Decimal("0.01"), status="filled")

    def fill(tag, at, reason=""):
        return Fill.objects.create(account=account, order=order, exec_id=tag, symbol="BTCUSDT", side="Buy",
                                   qty=Decimal("0.01"), price=Decimal("150"), fee=Decimal("0"), executed_at=at,
                                   exit_reason=reason)

    fill("replayed-entry", T0 + timedelta(hours=6))
    fill("replayed-exit", T0 + timedelta(hours=6, minutes=1), reason="tp")
    fill("wall-clock", datetime(2026, 11, 20, 12, tzinfo=UTC))  # stamped by the wall clock before the replay
    replay_clock(ms=int((T0 + timedelta(hours=12)).timestamp() * 1000))  # the replay has reached 12:00
    api.login(alice)
    body = candles(api, interval="5m")
    # the newest bar that has closed by 12:00 opened at 11:55; the stored afternoon is not drawn
    assert body["last_bar"] == "2025-03-01T11:55:00+00:00" and body["history"]["last"] == body["last_bar"]
    assert body["bars"] == 144 and body["t"][0] == "2025-03-01T00:00:00+00:00"
    marks = api.get("/api/chart/marks/", **{"symbol": "BTCUSDT", "start": "2025-03-01T00:00:00Z",
                                                 "end": "2026-12-31T00:00:00Z"}).json()
    assert [(f["kind"], f["executed_at"]) for f in marks["fills"]] == [
        ("entry", "2025-03-01T06:00:00+00:00"), ("exit", "2025-03-01T06:01:00+00:00")]
    assert marks["end"] == "2025-03-01T12:00:00+00:00" and marks["counts"]["fills"] == 2


def test_marks_are_the_users_own(alice, api):
    bob = make_user("bob")
    strategy = make_strategy("chandelier")
    for user in (alice, bob):
        account = make_account(user, user.username)
        config = make_config(account, strategy, name=f"{user.username}-cfg")
        order = Order.objects.create(account=account, config=config, client_order_id=f"o-{user.username}",
                                     symbol="BTCUSDT", side="Sell", qty=Decimal("0.01"), status="filled")
        Fill.objects.create(account=account, order=order, exec_id=f"e-{user.username}", symbol="BTCUSDT",
                            side="Sell", qty=Decimal("0.01"), price=Decimal("150"), fee=Decimal("0"),
                            executed_at=T0, exit_reason="")
    api.login(alice)
    marks = api.get("/api/chart/marks/", **{"symbol": "BTCUSDT", "start": "2025-02-28T00:00:00Z",
                                                 "end": "2025-03-02T00:00:00Z"}).json()
    assert [f["account"] for f in marks["fills"]] == [alice.accounts.get().pk]


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"interval": "7m"}, "interval", "7m"),
    ({"interval": "5m", "max_points": 10}, "max_points", "50"),
    ({"interval": "5m", "max_points": 50_000}, "max_points", "5000"),
    ({"interval": "5m", "start": "2025-03-02T00:00:00Z", "end": "2025-03-01T00:00:00Z"}, "start", "after end"),
    ({"interval": "5m", "start": "yesterday"}, "start", "ISO-8601"),
    ({"interval": "5m", "start": "0001-01-01T00:00:00Z"}, "start", "outside 1970..2200"),
    ({"interval": "5m", "end": "9999-12-31T23:59:59Z"}, "end", "outside 1970..2200"),
])
def test_bad_queries_name_the_field(alice, api, query, field, words):
    api.login(alice)
    resp = api.get("/api/chart/candles/", symbol="BTCUSDT", **query)
    assert resp.status_code == 400 and field in resp.json()
    assert words in str(resp.json()[field])


def test_indicators_at_the_display_step_are_the_last_value_of_each_bucket(alice, api):
    import pandas as pd

    from strategies.algos import registry
    from strategies.algos.base import StrategyContext
    from trading.marketdata.reader import read_range

    walk_bars(2000)
    account = make_account(alice, "A")
    config = make_config(account, make_strategy("chandelier"), name="a-cfg", params={"length": 14})
    api.login(alice)
    start, end = T0 + 400 * FIVE, T0 + 1999 * FIVE
    body = api.get("/api/chart/indicators/", **{
        "config": config.pk, "symbol": "BTCUSDT", "interval": "5m", "start": start.isoformat(),
        "end": end.isoformat(), "step": 3600}).json()
    # the reference: the strategy over every stored bar, the last row of each hour from `start` on
    frame = registry.get("chandelier")(length=14).compute(read_range(symbol="BTCUSDT", interval="5m"),
                                                           StrategyContext(symbol="BTCUSDT", timeframe="5m"))
    shown = frame[frame.index >= pd.Timestamp(start)]
    hourly = shown["long_stop"].groupby(shown.index.floor("1h")).last()
    plot = next(p for p in body["plots"] if p["column"] == "long_stop")
    assert body["t"] == [t.isoformat() for t in hourly.index]
    assert plot["y"] == pytest.approx([None if np.isnan(x) else x for x in hourly.to_numpy()], rel=1e-9)
    other = make_account(make_user("bob"), "B")
    foreign = make_config(other, make_strategy("chandelier"), name="b-cfg")
    resp = api.get("/api/chart/indicators/", **{"config": foreign.pk, "symbol": "BTCUSDT", "interval": "5m",
                                                     "start": start.isoformat(), "end": end.isoformat()})
    assert resp.status_code == 400 and "config" in resp.json()


@pytest.mark.parametrize("budget", [50, 51, 120, 365])
def test_the_display_step_fits_any_span_in_the_budget(budget):
    from trading.services.chart_data import display_step

    ten_years = 10 * 365 * 86400
    for first, last in ((0, ten_years), (86400 * 3 + 300, ten_years + 86400 * 5 + 600)):
        step = display_step(interval_seconds=300, first=first, last=last, max_points=budget)
        buckets = last // step - first // step + 1  # epoch-aligned buckets holding a bar
        assert buckets <= budget and step % 300 == 0
        # and it is the finest of its kind: a 28-day-multiple step one notch finer would not fit
        if step > 86400 * 28 and step % (86400 * 28) == 0:
            finer = step - 86400 * 28
            assert last // finer - first // finer + 1 > budget
