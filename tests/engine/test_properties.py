"""Hypothesis properties of the Simulator and the backtest: equity = balance + unrealised PnL, margin never
negative, reduce-only never increases a position, and fills' PnL, fees and funding add up to the wallet."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.test_one_simulator import scenario
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTCUSDT, ETHUSDT
from trading.engine.orders import OrderRequest
from trading.engine.simulator import Simulator

SYMS = ("BTCUSDT", "ETHUSDT")
BASE = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0}

action = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(SYMS), st.sampled_from(("Buy", "Sell")), st.integers(1, 40),
              st.booleans()),
    st.tuples(st.just("limit"), st.sampled_from(SYMS), st.sampled_from(("Buy", "Sell")), st.integers(1, 40),
              st.floats(-0.02, 0.02)),
    st.tuples(st.just("tick"), st.sampled_from(SYMS), st.floats(-0.03, 0.03), st.floats(-0.01, 0.01)),
    st.tuples(st.just("bar"), st.sampled_from(SYMS), st.floats(-0.02, 0.02), st.floats(0, 0.03), st.floats(0, 0.03)),
    st.tuples(st.just("funding"), st.sampled_from(SYMS), st.floats(-0.001, 0.001)),
    st.tuples(st.just("stop"), st.sampled_from(SYMS), st.floats(0.001, 0.05), st.floats(0.001, 0.05)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
)


def upnl(sim):
    # independent of Simulator.unrealised_pnl: side * (mark - entry) * qty
    return sum(p.side * (sim.mark[s] - p.entry_price) * p.qty for s, p in sim.positions.items())


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=1, max_size=40), st.sampled_from((5, 20, 50, 100)))
def test_simulator_invariants(actions, leverage):
    sim = Simulator({"BTCUSDT": BTCUSDT, "ETHUSDT": ETHUSDT}, 2_000.0)
    price = dict(BASE)
    for s in SYMS:
        sim.set_leverage(s, leverage)
        sim.on_price(s, 0, price[s])
    start_equity = sim.equity
    for ts, a in enumerate(actions, start=1):
        kind, sym = a[0], a[1] if a[0] != "cancel" else None
        before = sim.positions.get(sym)
        before = (before.side, before.qty) if before else (0, 0.0)
        step = BTCUSDT.qty_step if sym == "BTCUSDT" else ETHUSDT.qty_step
        if kind == "market":
            _, _, side, n, reduce_only = a
            r = sim.place_order(OrderRequest(sym, side, "Market", round(n * step * 10, 6), reduce_only=reduce_only))
            others = [o for o in sim.open_orders(sym) if o.order_id != r.order_id]
            seen = len(sim.fills)
            sim.on_price(sym, ts, price[sym])
            after = sim.positions.get(sym)
            if reduce_only and r.accepted:
                # its fills only close; with no other order able to fill, the position shrinks and never flips
                mine = [f for f in sim.fills[seen:] if f.order_id == r.order_id]
                assert all(f.closed_qty == f.qty > 0 and f.exit_reason != "entry" for f in mine)
                if not others:
                    assert after is None or (after.side == before[0] and after.qty <= before[1] + 1e-12)
        elif kind == "limit":
            _, _, side, n, off = a
            sim.place_order(OrderRequest(sym, side, "Limit", round(n * step * 10, 6),
                                         price=sim.instruments[sym].snap_price(price[sym] * (1 + off))))
        elif kind == "tick":
            _, _, move, mark_off = a
            price[sym] *= 1 + move
            sim.on_price(sym, ts, price[sym], mark=price[sym] * (1 + mark_off))
        elif kind == "bar":
            _, _, move, up, down = a
            o = price[sym]
            c = o * (1 + move)
            sim.on_bar(sym, ts, o, max(o, c) * (1 + up), min(o, c) * (1 - down), c)
            price[sym] = c
        elif kind == "funding":
            sim.apply_funding(sym, ts, a[2], price[sym])
        elif kind == "stop" and sym in sim.positions:
            p = sim.positions[sym]
            sim.set_trading_stop(sym, take_profit=price[sym] * (1 + p.side * a[2]),
                                 stop_loss=price[sym] * (1 - p.side * a[3]))
        elif kind == "cancel" and sim.open_orders():
            sim.cancel_order(sim.open_orders()[a[1] % len(sim.open_orders())].order_id)
        # invariants after every event
        assert math.isclose(sim.equity, sim.balance + upnl(sim), rel_tol=1e-12, abs_tol=1e-9)
        assert all(p.margin >= 0 and p.qty > 0 for p in sim.positions.values())
        assert sim.used_margin >= 0 and sim.order_margin >= 0
        for p in sim.positions.values():
            if p.stop_loss is not None:
                assert p.side * (p.stop_loss - p.liq_price) > 0
    # the wallet moved by exactly the fills' realised PnL - fees - funding; equity adds the open PnL
    flows = sum(f.realised_pnl - f.fee - f.funding for f in sim.fills)
    assert math.isclose(sim.balance - 2_000.0, flows, abs_tol=1e-7)
    assert math.isclose(sim.equity - start_equity, flows + upnl(sim), abs_tol=1e-7)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.sampled_from((10, 20, 50, 100)), st.booleans())
def test_backtest_books_balance(seed, leverage, drift):
    candles, signals = scenario(seed, n=800, with_drift=drift)
    config = BacktestConfig(leverage=leverage, sizing="kelly", kelly_fraction=0.5, take_profit_pct=0.01,
                            funding_rate=0.0002)
    r = run_backtest(candles, signals, instrument=BTCUSDT, config=config)
    f = r.fills
    # wallet change = sum over fills of pnl - fee (funding fills carry -payment as pnl)
    assert math.isclose(r.final_balance - 500.0, float((f["pnl"] - f["fee"]).sum()), abs_tol=1e-7)
    # when flat at the end, every entry and exit fee has been booked to a trade, and so has all funding
    if r.open_position is None:
        assert math.isclose(r.trades["fees"].sum(), f["fee"].sum(), abs_tol=1e-7)
        assert math.isclose(r.trades["funding"].sum(), -f.loc[f["kind"] == "funding", "pnl"].sum(), abs_tol=1e-7)
        assert math.isclose(r.trades["pnl"].sum(), r.final_balance - 500.0, abs_tol=1e-7)
    assert np.all(np.isfinite(r.equity.to_numpy()))
    # a liquidation never loses more than the (remaining) position's margin plus the fee to close
    entry_price = f[f["kind"] == "entry"].set_index("trade")["price"]
    liq = f[f["reason"] == "liquidation"]
    assert np.allclose(liq["pnl"], -liq["qty"] * entry_price.loc[liq["trade"]].to_numpy() / leverage)
    # a round trip closes exactly what it opened: its partial closes plus its final exit
    for t in r.trades.itertuples():
        closed = sum(p["qty"] for p in t.partials) + float(f.loc[(f["trade"] == t.trade) & (f["kind"] == "exit"),
                                                                 "qty"].iloc[-1])
        assert math.isclose(closed, t.qty, rel_tol=1e-9)
