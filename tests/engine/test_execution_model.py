"""Post-only entries and slippage, worked by hand, in the backtest kernel (run_backtest) and in the object
Simulator (the paper exchange's engine) driven with the same bars: the same fills, prices and fees.

The case: BTCUSDT (tick 0.1, qty step 0.001), kelly 0.5 at 10x on a 1,000 USDT wallet, fees maker 0.02 % /
taker 0.06 %, 1 bp slippage, 5-minute bars. Bar 0 closes with signal +1; bar 1 opens at 50,000, so the
post-only buy rests at 50,000 for qty = 1,000 x 0.5 x 10 / 50,000 = 0.1."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.fees import FeeSchedule
from trading.engine.instruments import BTCUSDT
from trading.engine.orders import POST_ONLY_WOULD_TAKE, OrderRequest
from trading.engine.rules import post_only_filled, slipped_price
from trading.engine.simulator import Simulator
from trading.engine.sizing import SizingError

IDX = pd.date_range("2025-05-01 06:00", periods=4, freq="5min", tz="UTC")
BAR_S = 300


def bars(low1: float, low2: float = 50_050.0) -> pd.DataFrame:
    return pd.DataFrame({
        "open": [50_000, 50_000, 50_100, 50_150],
        "high": [50_100, 50_200, 50_250, 50_300],
        "low": [49_950, low1, low2, 50_100],
        "close": [50_000, 50_100, 50_150, 50_200],
        "volume": 1.0,
    }, index=IDX, dtype="float64")


SIGNALS = pd.DataFrame({"signal": [1, 0, 0, 0], "exit_long": False, "exit_short": False}, index=IDX)


def config(timeout: int = 60) -> BacktestConfig:
    return BacktestConfig(leverage=10, sizing="kelly", kelly_fraction=0.5, initial_capital=1000, funding=False,
                          entry_order="post_only", entry_timeout_seconds=timeout, slippage_bps=1.0)


def same(got, expected):
    """Fills equal: bar, kind exactly; qty, price, fee to float noise."""
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        assert g[:2] == e[:2] and g[2:] == pytest.approx(e[2:], rel=1e-12, abs=1e-9), (g, e)


def kernel_fills(candles, cfg):
    f = run_backtest(candles, SIGNALS, instrument=BTCUSDT, config=cfg).fills
    return [(int(r.bar), r.kind, float(r.qty), float(r.price), float(r.fee)) for r in f.itertuples()]


def simulator_fills(candles, timeout):
    """The paper side: the same post-only order on the Simulator, stepped bar by bar; at the timeout the desk's
    fallback (cancel, then a market order filled at the bar's close)."""
    sim = Simulator({"BTCUSDT": BTCUSDT}, 1000.0, FeeSchedule(), slippage_bps=1.0)
    sim.set_leverage("BTCUSDT", 10)
    sim.on_price("BTCUSDT", 1, 50_000.0)  # the price at the signal: bar 1's open
    placed = sim.place_order(OrderRequest("BTCUSDT", "Buy", "Limit", 0.1, price=50_000.0, time_in_force="PostOnly",
                                          client_order_id="entry"), ts=1)
    assert placed.accepted and sim.orders[placed.order_id].status == "New"
    for i in range(1, len(candles)):
        o, h, lo, c = (float(candles.iloc[i][k]) for k in ("open", "high", "low", "close"))
        sim.on_bar("BTCUSDT", i, o, h, lo, c)
        sim.set_bar_range("BTCUSDT", h, lo)
        if sim.positions:
            break
        if (i - 1 + 1) * BAR_S >= timeout:
            assert sim.cancel_order(placed.order_id).accepted
            assert sim.place_order(OrderRequest("BTCUSDT", "Buy", "Market", 0.1, client_order_id="entry-taker"),
                                   ts=i).accepted
            sim.on_price("BTCUSDT", i, c)
            break
    return [(int(f.ts), "entry", f.qty, f.price, f.fee) for f in sim.fills]


def test_a_limit_traded_through_fills_at_the_limit_at_maker():
    # bar 1 trades at 49,990 < 50,000: filled in bar 1 at 50,000; maker fee 0.1 x 50,000 x 0.0002 = 1.00
    candles = bars(low1=49_990.0)
    expected = [(1, "entry", 0.1, 50_000.0, 1.0)]
    same(kernel_fills(candles, config()), expected)
    same(simulator_fills(candles, 60), expected)


def test_a_limit_only_touched_falls_back_to_market_at_taker_after_the_timeout():
    # bar 1's low IS 50,000 (a touch, not a fill); the 60 s timeout ends within bar 1, so at its close 50,100 a
    # market buy: 50,100 x (1 + 1 bp) = 50,105.01, rounded up to the tick = 50,105.1;
    # taker fee 0.1 x 50,105.1 x 0.0006 = 3.006306
    candles = bars(low1=50_000.0)
    expected = [(1, "entry", 0.1, 50_105.1, 3.006306)]
    same(kernel_fills(candles, config()), expected)
    same(simulator_fills(candles, 60), expected)


def test_the_limit_rests_until_its_timeout_and_fills_when_a_later_bar_trades_through():
    # a 600 s timeout covers bars 1 and 2: bar 1 only touches, bar 2 trades at 49,999 < 50,000 -> maker at 50,000
    candles = bars(low1=50_000.0, low2=49_999.0)
    expected = [(2, "entry", 0.1, 50_000.0, 1.0)]
    same(kernel_fills(candles, config(600)), expected)
    same(simulator_fills(candles, 600), expected)


def test_the_rule_is_strict_and_side_aware():
    assert post_only_filled(1.0, 100.0, 99.9, 101.0) and not post_only_filled(1.0, 100.0, 100.0, 101.0)
    assert post_only_filled(-1.0, 100.0, 99.0, 100.1) and not post_only_filled(-1.0, 100.0, 99.0, 100.0)


def test_slippage_is_against_the_taker_and_rounds_away_from_it():
    # buy 50,000 + 1 bp = 50,005 exactly (no rounding); sell 50,000.05 - 5.0000005 = 49,995.0499995 -> 49,995.0
    assert slipped_price(1.0, 50_000.0, 1.0, 0.0, math.nan, 0.1) == pytest.approx(50_005.0)
    assert slipped_price(-1.0, 50_000.05, 1.0, 0.0, math.nan, 0.1) == pytest.approx(49_995.0)
    # range model: 10 % of a 200 range = 20 on top of 1 bp (5): a sell at 50,000 gets 49,975
    assert slipped_price(-1.0, 50_000.0, 1.0, 0.1, 200.0, 0.1) == pytest.approx(49_975.0)
    assert slipped_price(1.0, 50_000.0, 0.0, 0.0, 200.0, 0.1) == 50_000.0


def test_a_post_only_limit_that_would_cross_is_cancelled_at_once():
    sim = Simulator({"BTCUSDT": BTCUSDT}, 1000.0, FeeSchedule())
    sim.set_leverage("BTCUSDT", 10)
    sim.on_price("BTCUSDT", 1, 50_000.0, bid=49_999.9, ask=50_000.0)
    r = sim.place_order(OrderRequest("BTCUSDT", "Buy", "Limit", 0.1, price=50_000.0, time_in_force="PostOnly"), ts=1)
    assert r.accepted and sim.orders[r.order_id].status == "Cancelled"
    assert sim.orders[r.order_id].reject_reason == POST_ONLY_WOULD_TAKE and not sim.fills
    r = sim.place_order(OrderRequest("BTCUSDT", "Buy", "Limit", 0.1, price=49_999.9, time_in_force="PostOnly"), ts=1)
    assert sim.orders[r.order_id].status == "New"


def test_funding_is_charged_once_per_funding_time():
    sim = Simulator({"BTCUSDT": BTCUSDT}, 1000.0, FeeSchedule(), slippage_bps=0.0)
    sim.set_leverage("BTCUSDT", 10)
    sim.on_price("BTCUSDT", 1, 50_000.0)
    assert sim.place_order(OrderRequest("BTCUSDT", "Buy", "Market", 0.1), ts=1).accepted
    sim.on_price("BTCUSDT", 1, 50_000.0)
    # a long pays 0.1 x 50,000 x 0.0001 = 0.5
    assert sim.apply_funding_due("BTCUSDT", 28_800_000, 0.0001, 50_000.0) == pytest.approx(0.5)
    assert sim.apply_funding_due("BTCUSDT", 28_800_000, 0.0001, 50_000.0) is None
    restored = Simulator.from_state(sim.to_state())
    assert restored.apply_funding_due("BTCUSDT", 28_800_000, 0.0001, 50_000.0) is None
    assert sum(f.funding for f in restored.fills) == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, field", [
    ({"entry_order": "limit"}, "entry_order"), ({"entry_timeout_seconds": 45}, "entry_timeout_seconds"),
    ({"entry_timeout_seconds": 7200}, "entry_timeout_seconds"), ({"slippage_bps": -1}, "slippage_bps"),
    ({"slippage_range_fraction": 1.5}, "slippage_range_fraction")])
def test_bad_execution_settings_name_the_field(kwargs, field):
    with pytest.raises(SizingError) as err:
        BacktestConfig(**kwargs).validate(BTCUSDT)
    assert err.value.field == field and field in str(err.value)
