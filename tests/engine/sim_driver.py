"""Test helper: drive the object Simulator bar by bar with the backtest's documented semantics
(signals act at the next open; funding, then exits, then entries at the open; then the bar; then the
monitor at the close), as a
client of the Simulator's public API. Used to prove that the Simulator and run_backtest share rules."""

from __future__ import annotations

import math

import numpy as np

from trading.engine.funding import _ns
from trading.engine.orders import OrderRequest
from trading.engine.rebalance import decide
from trading.engine.rules import protective_prices, reduce_qty
from trading.engine.simulator import Simulator
from trading.engine.sizing import size_fixed, size_kelly


def drive(candles, signals, instrument, config, balance, frate=None, fmark=None):
    """The monitor runs at each bar's close on the last row closed before it (drift, confidence), with the
    drift/confidence baselines and half-life of the entry row, and fills at the close (portfolio.py's order).
    Returns (fills as tuples (bar, kind, side, qty, price, fee, pnl, reason), equity array)."""
    sym = instrument.symbol
    n = len(candles)
    o, h, lo, c = (candles[k].to_numpy() for k in ("open", "high", "low", "close"))
    ts = _ns(candles.index)
    bar_s = (ts[1] - ts[0]) / 1e9
    sig = signals["signal"].to_numpy()
    exl, exs = signals["exit_long"].to_numpy(), signals["exit_short"].to_numpy()
    has_drift = "drift" in signals.columns
    sim = Simulator({sym: instrument}, balance, config.fees, max_open_positions=config.max_open_positions,
                    slippage_bps=config.slippage_bps, slippage_range_fraction=config.slippage_range_fraction)
    sim.set_leverage(sym, config.leverage)
    pend_exit = None
    pend_entry, pbase, pconf, phl = 0, math.nan, math.nan, math.nan
    base = cbase = hl = math.nan
    entry_bar = -1
    equity = np.empty(n)
    out = []
    seen = 0
    for i in range(n):
        pos = sim.positions.get(sym)
        if config.funding and frate is not None and pos is not None and not math.isnan(frate[i]):
            m = fmark[i] if fmark is not None and not math.isnan(fmark[i]) else o[i]
            sim.apply_funding(sym, i, frate[i], m)
        if pos is not None and pend_exit:
            close_side = "Sell" if pos.side > 0 else "Buy"
            r = sim.place_order(OrderRequest(sym, close_side, "Market", pos.qty, reduce_only=True,
                                             exit_reason=pend_exit), ts=i)
            assert r.accepted, r
        sim.on_price(sym, i, o[i])
        pend_exit = None
        if pend_entry and sym not in sim.positions:
            if config.sizing == "kelly":
                size = size_kelly(balance=sim.balance, kelly_fraction=config.kelly_fraction,
                                  leverage=config.leverage, price=o[i], instrument=instrument)
            else:
                size = size_fixed(initial_capital=config.initial_capital, allocation=config.allocation,
                                  leverage=config.leverage, price=o[i], instrument=instrument)
            if size.ok:
                side = "Buy" if pend_entry > 0 else "Sell"
                if sim.place_order(OrderRequest(sym, side, "Market", size.qty), ts=i).accepted:
                    sim.on_price(sym, i, o[i])
                    pos = sim.positions[sym]
                    tp, sl = protective_prices(float(pos.side), o[i],
                                               _nan(config.take_profit_pct), _nan(config.stop_loss_pct),
                                               instrument.tick_size, pos.liq_price)
                    assert sim.set_trading_stop(sym, None if math.isnan(tp) else tp,
                                                None if math.isnan(sl) else sl).accepted
                    base, cbase, hl, entry_bar = pbase, pconf, phl, i
        pend_entry = 0
        sim.on_bar(sym, i, o[i], h[i], lo[i], c[i])
        sim.set_bar_range(sym, h[i], lo[i])  # closed: the range part of slippage reads it from here on
        pos = sim.positions.get(sym)
        # the monitor at the bar's close, with the latest row closed BEFORE it (row i-1): a reduce or close
        # fills at once at the close
        if pos is not None and has_drift and i > 0:
            dec = decide(side=pos.side, baseline_drift=base, drift=signals["drift"].iloc[i - 1],
                         entry_confidence=cbase, confidence=signals["confidence"].iloc[i - 1],
                         age_seconds=(ts[i] - ts[entry_bar]) / 1e9 + bar_s, half_life_seconds=hl,
                         decay_threshold=config.decay_threshold)
            if dec.action != "hold":
                qty = pos.qty if dec.action == "close" else reduce_qty(pos.qty, dec.fraction, instrument.qty_step,
                                                                       instrument.min_qty)
                r = sim.place_order(OrderRequest(sym, "Sell" if pos.side > 0 else "Buy", "Market", qty,
                                                 reduce_only=True, exit_reason=dec.reason), ts=i)
                assert r.accepted, r
                sim.on_price(sym, i, c[i])
                base, cbase = dec.new_baseline, dec.new_confidence_baseline
        equity[i] = sim.equity
        for f in sim.fills[seen:]:
            kind = "funding" if f.kind == "funding" else ("entry" if f.exit_reason == "entry" else "exit")
            pnl = -f.funding if kind == "funding" else f.realised_pnl
            out.append((f.ts, kind, f.qty, f.price, f.fee, pnl, f.exit_reason))
        seen = len(sim.fills)
        pos = sim.positions.get(sym)
        s = int(sig[i])
        if pos is not None:
            flag = exl[i] if pos.side > 0 else exs[i]
            if flag or s == -pos.side:
                pend_exit = "signal"
                if s == -pos.side and not (exl[i] if s > 0 else exs[i]):
                    pend_entry = s
                    if has_drift:
                        pbase, pconf, phl = (signals[k].iloc[i] for k in ("drift", "confidence", "half_life"))
        elif s != 0 and not (exl[i] if s > 0 else exs[i]):
            pend_entry = s
            if has_drift:
                pbase, pconf, phl = (signals[k].iloc[i] for k in ("drift", "confidence", "half_life"))
    return out, equity


def _nan(x):
    return math.nan if x is None else x
