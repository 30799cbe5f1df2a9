"""Test helper: drive the object Simulator (the paper exchange's engine) through a portfolio with the order of
events portfolio.py documents, as a client of its public API: per detail bar, funding at the open, then each
slot's signal rows in slot order (exit, entry with the desk's checks) filling at the open; then per 30-second
sub-bar (detail_path.subbars) and symbol: the Simulator's bar step (TP / SL / liquidation), then the monitor
(rebalance.decide, drift re-priced from the slot's latest forecast) filling a reduce at the sub-bar's close."""

from __future__ import annotations

import math

import numpy as np

from trading.engine.detail_path import subbars
from trading.engine.funding import _ns, funding_per_bar
from trading.engine.orders import OrderRequest
from trading.engine.rebalance import decide
from trading.engine.rules import protective_prices, reduce_qty, signal_decision
from trading.engine.simulator import Simulator
from trading.engine.sizing import size_fixed, size_kelly


def _nan(x):
    return math.nan if x is None else x


def drive_portfolio(slots, detail, spec, n_sub, funding=None, mark=None):
    """(fills as tuples (step, symbol, kind, qty, price, fee, pnl, reason), refusals as (step, slot, reason),
    equity per step). Every symbol's detail frame must share one index. ``funding``/``mark``: per-symbol
    rate series and (coarser than detail: funding mark only) mark candles."""
    symbols = list(dict.fromkeys(s.symbol for s in slots))
    index = detail[symbols[0]].index
    axis = _ns(index)
    n = len(index)
    prices = {sym: {k: detail[sym][k].to_numpy() for k in ("open", "high", "low", "close")} for sym in symbols}
    insts = {s.symbol: s.instrument for s in slots}
    fees = slots[0].config.fees
    cfg0 = slots[0].config
    sim = Simulator(insts, spec.initial_capital, fees, max_open_positions=spec.max_open_positions,
                    slippage_bps=cfg0.slippage_bps, slippage_range_fraction=cfg0.slippage_range_fraction)
    # rows per slot by the step at whose open they act: close = open + timeframe -> first axis open >= close
    acts = []
    for slot in slots:
        closes = _ns(slot.signals.index) + int(slot.timeframe_seconds * 1e9)
        steps = np.searchsorted(axis, closes)
        by_step = {}
        for r, st in enumerate(steps):
            if closes[r] >= axis[0]:
                by_step.setdefault(int(st), []).append(r)
        acts.append(by_step)
    latest = [-1] * len(slots)
    owner = {}
    state = {}  # symbol -> dict(base, cbase, hl, entry_t)
    frate, fmark = {}, {}
    for sym in symbols:
        rates = [s.config.funding_rate for s in slots if s.symbol == sym and s.config.funding_rate is not None]
        frate[sym] = fmark[sym] = None
        if spec.funding and funding is not None and sym in funding:
            frate[sym], fmark[sym] = funding_per_bar(axis, rates=funding[sym], mark=(mark or {}).get(sym))
        elif spec.funding and rates:
            frate[sym], fmark[sym] = funding_per_bar(axis, constant_rate=rates[0])
    sub_s = (axis[1] - axis[0]) / 1e9 / n_sub
    equity = np.empty(n)
    refusals = []
    for s in range(n):
        t0 = (axis[s] - axis[0]) / 1e9
        for sym in symbols:
            if frate[sym] is not None and not math.isnan(frate[sym][s]) and sym in sim.positions:
                k = owner[sym]
                if slots[k].config.funding:
                    m = fmark[sym][s]
                    sim.apply_funding(sym, s, frate[sym][s], prices[sym]["open"][s] if math.isnan(m) else m)
        for k, slot in enumerate(slots):
            for r in acts[k].get(s, []):
                latest[k] = r
                sym = slot.symbol
                row = slot.signals.iloc[r]
                pos = sim.positions.get(sym)
                mine = pos is not None and owner[sym] == k
                side = float(pos.side) if mine else 0.0
                do_exit, enter = signal_decision(side, float(row["signal"]), bool(row["exit_long"]),
                                                 bool(row["exit_short"]))
                price = prices[sym]["open"][s]
                if do_exit:
                    assert sim.place_order(OrderRequest(sym, "Sell" if pos.side > 0 else "Buy", "Market", pos.qty,
                                                        reduce_only=True, exit_reason="signal"), ts=s).accepted
                    sim.on_price(sym, s, price)
                if not enter:
                    continue
                if sym in sim.positions:
                    refusals.append((s, slot.key, "symbol-held"))
                    continue
                if len(sim.positions) >= spec.max_open_positions:
                    refusals.append((s, slot.key, "max-open-positions"))
                    continue
                cfg = slot.config
                if cfg.sizing == "kelly":
                    size = size_kelly(balance=sim.balance, kelly_fraction=cfg.kelly_fraction, leverage=cfg.leverage,
                                      price=price, instrument=slot.instrument)
                else:
                    size = size_fixed(initial_capital=spec.initial_capital, allocation=cfg.allocation,
                                      leverage=cfg.leverage, price=price, instrument=slot.instrument)
                if not size.ok:
                    refusals.append((s, slot.key, "sizing"))
                    continue
                sim.set_leverage(sym, cfg.leverage)
                sim.on_price(sym, s, price)  # the exchange knows the price at the open (flat symbol: no trigger)
                result = sim.place_order(OrderRequest(sym, "Buy" if enter > 0 else "Sell", "Market", size.qty), ts=s)
                if not result.accepted:
                    refusals.append((s, slot.key, "insufficient-balance"))
                    continue
                sim.on_price(sym, s, price)
                pos = sim.positions[sym]
                tp, sl = protective_prices(float(pos.side), price, _nan(cfg.take_profit_pct),
                                           _nan(cfg.stop_loss_pct), slot.instrument.tick_size, pos.liq_price)
                assert sim.set_trading_stop(sym, None if math.isnan(tp) else tp, None if math.isnan(sl) else sl).accepted
                owner[sym] = k
                get = row.get
                state[sym] = {"base": float(get("drift", math.nan)), "cbase": float(get("confidence", math.nan)),
                              "hl": float(get("half_life", math.nan)), "entry_t": t0}
        for j in range(n_sub):
            for sym in symbols:
                p = prices[sym]
                so, sh, sl_, sc = subbars(p["open"][s], p["high"][s], p["low"][s], p["close"][s], n_sub)[j]
                sim.on_bar(sym, s, so, sh, sl_, sc)
                if j == n_sub - 1:  # the detail bar has closed: the range part of slippage reads it from here on
                    sim.set_bar_range(sym, p["high"][s], p["low"][s])
                pos = sim.positions.get(sym)
                if pos is None:
                    continue
                k = owner[sym]
                sig = slots[k].signals
                if not any(c in sig.columns for c in ("forecast", "drift", "confidence", "half_life")):
                    continue
                row = sig.iloc[latest[k]]
                fc = float(row.get("forecast", math.nan))
                d = (fc - sc) / sc if not math.isnan(fc) else float(row.get("drift", math.nan))
                st = state[sym]
                cfg = slots[k].config
                dec = decide(side=pos.side, baseline_drift=st["base"], drift=d, entry_confidence=st["cbase"],
                             confidence=float(row.get("confidence", math.nan)),
                             age_seconds=t0 + (j + 1) * sub_s - st["entry_t"], half_life_seconds=st["hl"],
                             decay_threshold=cfg.decay_threshold)
                if dec.action == "hold":
                    continue
                inst = slots[k].instrument
                qty = pos.qty if dec.action == "close" else reduce_qty(pos.qty, dec.fraction, inst.qty_step,
                                                                      inst.min_qty)
                assert sim.place_order(OrderRequest(sym, "Sell" if pos.side > 0 else "Buy", "Market", qty,
                                                    reduce_only=True, exit_reason=dec.reason), ts=s).accepted
                sim.on_price(sym, s, sc)
                if dec.action == "reduce":
                    st["base"], st["cbase"] = dec.new_baseline, dec.new_confidence_baseline
        equity[s] = sim.equity
    fills = []
    for f in sim.fills:
        kind = "funding" if f.kind == "funding" else ("entry" if f.exit_reason == "entry" else "exit")
        pnl = -f.funding if kind == "funding" else f.realised_pnl
        fills.append((f.ts, f.symbol, kind, f.qty, f.price, f.fee, pnl, f.exit_reason))
    return fills, refusals, equity
