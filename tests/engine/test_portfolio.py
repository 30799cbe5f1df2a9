"""run_portfolio against hand-worked cases: the monitor inside a detail bar (30-second sub-bars), a third
signal refused by max_open_positions, a second slot on a held symbol refused, kelly sizing off the shared
wallet, funding and mark per symbol, and run_backtest as the single-slot special case."""

import math

import pandas as pd
import pytest

from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTC_TIERS, BTCUSDT, ETHUSDT, Instrument
from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio

SOLUSDT = Instrument("SOLUSDT", tick_size=0.01, qty_step=0.1, min_qty=0.1, max_leverage=100.0, tiers=BTC_TIERS)
T0 = pd.Timestamp("2025-05-01 00:00", tz="UTC")
FIXED10 = BacktestConfig(slippage_bps=0.0, leverage=10, sizing="fixed", allocation=0.2, initial_capital=1000, funding=False)


def bars(rows, freq="5min", start=T0):
    """OHLC frame from (open, high, low, close) rows."""
    idx = pd.date_range(start, periods=len(rows), freq=freq, tz="UTC")
    return pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"], dtype="float64")


def flat(price, n, freq="5min"):
    return bars([(price, price, price, price)] * n, freq)


def signals(values, freq="5min", **cols):
    idx = pd.date_range(T0, periods=len(values), freq=freq, tz="UTC")
    return pd.DataFrame({"signal": values, "exit_long": False, "exit_short": False, **cols}, index=idx)


def slot(key, inst, sig, config=FIXED10, tf=300):
    return PortfolioSlot(key=key, symbol=inst.symbol, instrument=inst, config=config, signals=sig,
                         timeframe_seconds=tf)


# --- the monitor inside a bar ----------------------------------------------------------------------------------

# bar 1 (00:05-00:10) closes down, so its path is O -> H -> L -> C: 50,000 -> 50,050 (t = 1/3) -> 49,950 (2/3)
# -> 49,980. Cut into ten 30-second sub-bars, sub-bar j closes at t = (j + 1) / 10 on the first leg at
# 50,000 + 50 * 3t: 00:05:30 -> 50,015, 00:06:00 -> 50,030, 00:06:30 -> 50,045.
DECAY_BARS = bars([(50_000, 50_000, 50_000, 50_000), (50_000, 50_050, 49_950, 49_980),
                   (49_980, 49_980, 49_980, 49_980)])
# row 0 closes at 00:05 with forecast 50,500, drift (50,500 - 50,000) / 50,000 = 0.01 (the entry baseline)
DECAY_SIGNALS = signals([1, 1, 1], forecast=50_500.0, drift=[0.01, 0.010404, 0.010404])


def test_drift_decay_at_the_second_30_second_point_reduces_there():
    r = run_portfolio(slots=[slot("drift", BTCUSDT, DECAY_SIGNALS)], detail={"BTCUSDT": DECAY_BARS},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2, monitor_seconds=30))
    # entry at 00:05 open 50,000: notional 1000 x 0.2 x 10 = 2,000 -> qty 0.04; baseline drift 0.01
    # 00:05:30 at 50,015: drift (50,500 - 50,015) / 50,015 = 0.0096971; decay 0.01 - 0.0096971 = 0.0003029
    #   <= 0.0005 -> hold
    # 00:06:00 at 50,030: drift 470 / 50,030 = 0.0093944; decay 0.0006056 > 0.0005 -> reduce 50 % there:
    #   0.02 at 50,030, pnl 0.02 x 30 = 0.6, fee 0.02 x 50,030 x 0.0006 = 0.600360; baseline -> 0.0093944
    # 00:06:30 at 50,045: drift 455 / 50,045 = 0.0090918, decay from 0.0093944 is 0.0003026 -> hold; the price
    #   then falls (drift rises) to the close 49,980, where drift 520 / 49,980 = 0.0104042 is above 0.01
    f = r.fills
    assert list(zip(f["time"], f["reason"], f["qty"], f["price"], strict=True)) == [
        (T0 + pd.Timedelta("5min"), "entry", 0.04, 50_000.0),
        (T0 + pd.Timedelta("6min"), "monitor-decay", 0.02, 50_030.0)]
    assert f["pnl"].iloc[1] == pytest.approx(0.6)
    assert f["fee"].iloc[1] == pytest.approx(0.60036)
    d = r.decisions.iloc[0]
    assert (d["action"], d["reason"], d["time"]) == ("reduce", "monitor-decay", T0 + pd.Timedelta("6min"))
    assert d["drift"] == pytest.approx(470 / 50_030)
    assert d["baseline_drift"] == pytest.approx(0.01)
    assert d["age_seconds"] == pytest.approx(60.0)
    assert len(r.decisions) == 1
    assert r.open_position["qty"] == pytest.approx(0.02)
    # wallet: 1000 - entry fee 2000 x 0.0006 = 1.2, + 0.6 - 0.60036 = 998.79964
    assert r.final_balance == pytest.approx(998.79964)


def test_a_round_trip_lists_its_partial_close_inside():
    bars4 = pd.concat([DECAY_BARS, flat(49_980.0, 1).set_axis([T0 + pd.Timedelta("15min")])])
    sig = signals([1, 1, 0, 0], forecast=50_500.0, drift=0.01, exit_long=[False, False, True, False])
    r = run_portfolio(slots=[slot("drift", BTCUSDT, sig)], detail={"BTCUSDT": bars4},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=1))
    # the reduce at 00:06 (0.02 at 50,030, pnl +0.6) then row 2's exit flag closes the other 0.02 at the
    # 00:15 open 49,980 (pnl 0.02 x -20 = -0.4): ONE trade of 0.04 with the reduce listed inside it
    (t,) = r.trades.itertuples()
    assert (t.qty, t.exits, t.exit_reason, t.exit_time) == (0.04, 2, "signal", T0 + pd.Timedelta("15min"))
    assert t.partials == [{"time": T0 + pd.Timedelta("6min"), "qty": 0.02, "price": 50_030.0,
                           "reason": "monitor-decay", "pnl": pytest.approx(0.6)}]
    assert t.exit_price == pytest.approx((0.02 * 50_030 + 0.02 * 49_980) / 0.04)  # 50,005
    assert t.gross_pnl == pytest.approx(0.2)
    # fees: entry 1.2 + reduce 0.60036 + exit 0.02 x 49,980 x 0.0006 = 0.59976 -> 2.40012
    assert t.fees == pytest.approx(2.40012)
    assert t.pnl == pytest.approx(0.2 - 2.40012)
    m = r.metrics()
    assert m["trade_count"] == 1 and m["worst_trade"] == pytest.approx(-2.20012)
    assert r.final_balance == pytest.approx(1000 - 2.20012)


def test_the_same_bar_checked_only_at_its_close_does_not_reduce():
    # the single-symbol run with one check per bar sees the close 49,980 (drift 0.0104 > baseline): no reduce;
    # asked for 30-second checks it is the same code as the portfolio run and reduces at 00:06:00
    cfg = FIXED10
    per_bar = run_backtest(DECAY_BARS, DECAY_SIGNALS, instrument=BTCUSDT, config=cfg)
    assert per_bar.fills["reason"].tolist() == ["entry"]
    fine = run_backtest(DECAY_BARS, DECAY_SIGNALS, instrument=BTCUSDT, config=cfg, monitor_seconds=30)
    assert fine.fills["reason"].tolist() == ["entry", "monitor-decay"]
    assert fine.fills["time"].iloc[1] == T0 + pd.Timedelta("6min")


# --- max_open_positions, one position per symbol, the shared wallet ----------------------------------------------

def test_third_signal_refused_by_max_open_positions():
    detail = {"BTCUSDT": flat(50_000.0, 4), "ETHUSDT": flat(2_500.0, 4), "SOLUSDT": flat(100.0, 4)}
    slots = [slot("btc", BTCUSDT, signals([1, 1, -1, 0])), slot("eth", ETHUSDT, signals([1, 1, 1, 1])),
             slot("sol", SOLUSDT, signals([1, 0, 0, 1]))]
    r = run_portfolio(slots=slots, detail=detail, spec=PortfolioSpec(initial_capital=1000, max_open_positions=2,
                                                                      funding=False))
    # 00:05 (row 0 closes), slots in order: btc enters 2,000 / 50,000 = 0.04; eth 2,000 / 2,500 = 0.8;
    # sol is the third: refused. 00:15: btc's -1 reverses (close, then a short: 2 positions again);
    # 00:20 is the last bar's close: sol's row 3 is never acted on (no next bar)
    entries = r.fills[r.fills["kind"] == "entry"]
    assert list(zip(entries["slot"], entries["time"], entries["qty"], entries["side"], strict=True)) == [
        ("btc", T0 + pd.Timedelta("5min"), 0.04, "long"), ("eth", T0 + pd.Timedelta("5min"), 0.8, "long"),
        ("btc", T0 + pd.Timedelta("15min"), 0.04, "short")]
    ref = r.refusals
    assert list(zip(ref["slot"], ref["time"], ref["reason"], strict=True)) == [
        ("sol", T0 + pd.Timedelta("5min"), "max-open-positions")]
    exits = r.fills[r.fills["kind"] == "exit"]
    assert list(zip(exits["slot"], exits["reason"], exits["reverse"], strict=True)) == [("btc", "signal", True)]


def test_max_open_positions_frees_a_place_when_a_position_closes():
    detail = {"BTCUSDT": flat(50_000.0, 5), "ETHUSDT": flat(2_500.0, 5), "SOLUSDT": flat(100.0, 5)}
    btc = signals([1, 0, 0, 0, 0], exit_long=[False, True, False, False, False])
    slots = [slot("btc", BTCUSDT, btc), slot("eth", ETHUSDT, signals([1, 0, 0, 0, 0])),
             slot("sol", SOLUSDT, signals([1, 1, 0, 0, 0]))]
    r = run_portfolio(slots=slots, detail=detail, spec=PortfolioSpec(initial_capital=1000, max_open_positions=2,
                                                                      funding=False))
    # 00:05 sol refused; 00:10 btc's exit flag closes btc first (slot order), then sol's row 1 enters:
    # 2,000 / 100 = 20 SOL
    sol = r.fills[(r.fills["slot"] == "sol")]
    assert list(zip(sol["time"], sol["kind"], sol["qty"], strict=True)) == [(T0 + pd.Timedelta("10min"), "entry",
                                                                             20.0)]
    assert r.refusals["reason"].tolist() == ["max-open-positions"]
    btc_exit = r.fills[(r.fills["slot"] == "btc") & (r.fills["kind"] == "exit")]
    assert btc_exit[["reason", "reverse"]].values.tolist() == [["signal", False]]  # an exit flag, no reversal


def test_second_slot_on_a_held_symbol_is_refused():
    a = slot("a", BTCUSDT, signals([1, 1, 1, 1]))
    b = slot("b", BTCUSDT, signals([0, 1, -1, 1]), config=BacktestConfig(slippage_bps=0.0, leverage=20, sizing="fixed", allocation=0.1,
                                                                       initial_capital=1000, funding=False))
    r = run_portfolio(slots=[a, b], detail={"BTCUSDT": flat(50_000.0, 4)},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2, funding=False))
    # a holds BTC from 00:05; b's +1 at 00:10 and -1 at 00:15 are refused (it never touches a's position)
    assert r.fills["slot"].tolist() == ["a"]
    assert list(zip(r.refusals["slot"], r.refusals["time"], r.refusals["side"], r.refusals["reason"],
                    r.refusals["held_by"], strict=True)) == [
        ("b", T0 + pd.Timedelta("10min"), "long", "symbol-held", "a"),
        ("b", T0 + pd.Timedelta("15min"), "short", "symbol-held", "a")]


@pytest.mark.parametrize(("basis", "eth_qty"), [
    # wallet (the desk: size_kelly on the exchange wallet's balance, which still holds btc's margin):
    #   998.5 x 0.25 x 10 = 2,496.25 -> 2,496.25 / 2,500 = 0.9985 -> 0.99 ETH
    ("wallet", 0.99),
    # available: btc's margin 2,500 / 10 = 250 locked as well: (998.5 - 250) x 0.25 x 10 = 1,871.25 -> 0.74 ETH
    ("available", 0.74),
])
def test_second_kelly_entry_sizes_off_the_wallet_after_the_first(basis, eth_qty):
    kelly = BacktestConfig(slippage_bps=0.0, leverage=10, sizing="kelly", kelly_fraction=0.25, initial_capital=1000, funding=False)
    slots = [slot("btc", BTCUSDT, signals([1, 0, 0]), kelly), slot("eth", ETHUSDT, signals([1, 0, 0]), kelly)]
    r = run_portfolio(slots=slots, detail={"BTCUSDT": flat(50_000.0, 3), "ETHUSDT": flat(2_500.0, 3)},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2, funding=False, kelly_basis=basis))
    # btc first: 1000 x 0.25 x 10 = 2,500 -> 0.05 BTC at 50,000, fee 2,500 x 0.0006 = 1.5 -> wallet 998.5
    entries = r.fills[r.fills["kind"] == "entry"]
    assert entries["qty"].tolist() == pytest.approx([0.05, eth_qty])
    assert r.final_balance == pytest.approx(1000 - 1.5 - eth_qty * 2_500 * 0.0006)


# --- funding and mark per symbol ---------------------------------------------------------------------------------

def test_funding_and_mark_reach_only_their_symbol():
    start = pd.Timestamp("2025-05-01 07:50", tz="UTC")
    idx = pd.date_range(start, periods=4, freq="5min", tz="UTC")
    btc = flat(50_000.0, 4).set_axis(idx)
    eth = flat(2_500.0, 4).set_axis(idx)
    sig = pd.DataFrame({"signal": [1, 0, 0, 0], "exit_long": False, "exit_short": False}, index=idx)
    cfg = BacktestConfig(slippage_bps=0.0, leverage=10, sizing="fixed", allocation=0.2, initial_capital=1000, funding=True)
    slots = [slot("btc", BTCUSDT, sig, cfg), slot("eth", ETHUSDT, sig, cfg)]
    eth_mark = pd.DataFrame({"open": [2_500.0, 2_500.0, 2_510.0, 2_505.0], "high": 2_520.0, "low": 2_490.0,
                             "close": 2_505.0}, index=idx)
    btc_mark_hourly = pd.DataFrame({"open": 50_000.0, "high": 50_100.0, "low": 49_000.0, "close": 50_000.0},
                                   index=pd.DatetimeIndex([start.floor("1h"), start.ceil("1h")]))
    rates = pd.Series([0.0001], index=pd.DatetimeIndex([pd.Timestamp("2025-05-01 08:00", tz="UTC")]))
    r = run_portfolio(slots=slots, detail={"BTCUSDT": btc, "ETHUSDT": eth}, funding={"ETHUSDT": rates},
                      mark={"ETHUSDT": eth_mark, "BTCUSDT": btc_mark_hourly},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2))
    # both long from 07:55 (btc 0.04, eth 0.8). 08:00 funding on ETH only, at ETH's mark open then (2,510):
    # 0.8 x 2,510 x 0.0001 = 0.2008 paid; BTC has no funding series and no constant rate: nothing
    fund = r.fills[r.fills["kind"] == "funding"]
    assert list(zip(fund["symbol"], fund["time"], fund["price"], strict=True)) == [
        ("ETHUSDT", pd.Timestamp("2025-05-01 08:00", tz="UTC"), 2_510.0)]
    assert fund["pnl"].tolist() == pytest.approx([-0.2008])
    assert r.final_balance == pytest.approx(1000 - 2_000 * 0.0006 * 2 - 0.2008)
    assert r.metrics()["funding_paid"] == pytest.approx(0.2008)
    # ETH's 5-minute mark drives its liquidation trigger; BTC's hourly mark is coarser than the detail bars: it
    # only bounds the last price
    assert r.trigger_series == {"ETHUSDT": "mark", "BTCUSDT": "last:bounded-by-coarser-mark"}


def test_mark_at_detail_granularity_liquidates_one_symbol():
    btc = flat(50_000.0, 3)
    eth = flat(2_500.0, 3)
    sig = signals([1, 0, 0])
    cfg = BacktestConfig(slippage_bps=0.0, leverage=100, sizing="fixed", allocation=0.03, initial_capital=1000, funding=False)
    mark = flat(2_500.0, 3)
    mark.loc[mark.index[1], "low"] = 2_480.0
    r = run_portfolio(slots=[slot("btc", BTCUSDT, sig, cfg), slot("eth", ETHUSDT, sig, cfg)],
                      detail={"BTCUSDT": btc, "ETHUSDT": eth}, mark={"ETHUSDT": mark},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2))
    # ETH long 100x at 2,500: liq = 2,500 x (1 - 0.01 + 0.005) = 2,487.5; the mark's low 2,480 in bar 1 crosses
    # it (the last price never moves) -> liquidated at the bankruptcy price 2,500 x 0.99 = 2,475
    exits = r.fills[r.fills["kind"] == "exit"]
    assert list(zip(exits["symbol"], exits["reason"], exits["price"], strict=True)) == [
        ("ETHUSDT", "liquidation", 2_475.0)]
    assert [p["symbol"] for p in r.open_positions] == ["BTCUSDT"]


# --- validation ---------------------------------------------------------------------------------------------

def test_bad_slots_are_named():
    detail = {"BTCUSDT": flat(1.0, 3), "ETHUSDT": flat(1.0, 3)}
    spec = PortfolioSpec(initial_capital=1000, max_open_positions=2)
    first = slot("x", BTCUSDT, signals([1, 0, 0]))
    with pytest.raises(ValueError, match="slots\\[1\\].timeframe_seconds: 120 is not a whole multiple"):
        run_portfolio(slots=[first, slot("y", ETHUSDT, signals([1, 0, 0]), tf=120)], detail=detail, spec=spec)
    with pytest.raises(ValueError, match="slots\\[1\\].key: 'x' is used twice"):
        run_portfolio(slots=[first, slot("x", ETHUSDT, signals([1, 0, 0]))], detail=detail, spec=spec)


def test_spec_limits_are_named():
    with pytest.raises(ValueError, match="max_open_positions: 0"):
        run_portfolio(slots=[slot("x", BTCUSDT, signals([1, 0, 0]))], detail={"BTCUSDT": flat(1.0, 3)},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=0))
    with pytest.raises(ValueError, match="detail\\['ETHUSDT'\\]"):
        run_portfolio(slots=[slot("x", ETHUSDT, signals([1, 0, 0]))], detail={"BTCUSDT": flat(1.0, 3)},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=1))


def test_single_slot_portfolio_equals_run_backtest():
    from tests.engine.test_one_simulator import CONFIGS, scenario

    candles, sig = scenario(5)
    one = run_backtest(candles, sig, instrument=BTCUSDT, config=CONFIGS[0], balance=CONFIGS[0].initial_capital)
    port = run_portfolio(slots=[slot("s", BTCUSDT, sig, CONFIGS[0], tf=60)], detail={"BTCUSDT": candles},
                         spec=PortfolioSpec(initial_capital=CONFIGS[0].initial_capital, max_open_positions=1,
                                            monitor_seconds=60))
    cols = ["time", "kind", "qty", "price", "fee", "pnl", "reason"]
    pd.testing.assert_frame_equal(one.fills[cols], port.fills[cols])
    assert len(one.trades) > 20 and math.isclose(one.final_balance, port.final_balance)


def test_rows_closing_before_the_detail_starts_are_not_acted_on():
    # warm-up rows: 23:50 (+1, closes 23:55, before the first detail bar) is history; 23:55 closes at 00:00,
    # the first detail open, and is acted on there (it says 0: nothing); 00:00 (+1) closes at 00:05 -> entry
    idx = pd.date_range(T0 - pd.Timedelta("10min"), periods=4, freq="5min", tz="UTC")
    sig = pd.DataFrame({"signal": [1, 0, 1, 0], "exit_long": False, "exit_short": False}, index=idx)
    r = run_portfolio(slots=[slot("x", BTCUSDT, sig)], detail={"BTCUSDT": flat(50_000.0, 3)},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=1, funding=False))
    assert r.fills["time"].tolist() == [T0 + pd.Timedelta("5min")]


def test_a_symbol_without_bars_yet_is_refused_for_want_of_a_price():
    # ETH's detail starts at 00:10: its 00:00 row (closing 00:05) finds no ETH price yet -> refused "no-price";
    # its 00:05 row closes at 00:10, ETH's first open 2,500 -> entered there. BTC trades all along.
    eth = flat(2_500.0, 2).set_axis(pd.date_range(T0 + pd.Timedelta("10min"), periods=2, freq="5min", tz="UTC"))
    slots = [slot("btc", BTCUSDT, signals([1, 0, 0, 0])), slot("eth", ETHUSDT, signals([1, 1, 0, 0]))]
    r = run_portfolio(slots=slots, detail={"BTCUSDT": flat(50_000.0, 4), "ETHUSDT": eth},
                      spec=PortfolioSpec(initial_capital=1000, max_open_positions=2, funding=False))
    assert list(zip(r.refusals["slot"], r.refusals["reason"], strict=True)) == [("eth", "no-price")]
    entries = r.fills[r.fills["kind"] == "entry"]
    assert list(zip(entries["slot"], entries["time"], entries["price"], strict=True)) == [
        ("btc", T0 + pd.Timedelta("5min"), 50_000.0), ("eth", T0 + pd.Timedelta("10min"), 2_500.0)]
    # equity at 00:05's close: ETH has no bar yet, BTC flat: wallet 1000 - BTC's entry fee 1.2
    assert r.equity.iloc[1] == pytest.approx(998.8)
