"""Measure: how many 5-minute backtest liquidations change when the stored 1-hour mark bounds the last price
(trading/engine/portfolio_inputs.py: a wick the hour's mark never reached no longer liquidates), on the real Bybit
data in ../shared/data (5m trade candles, 1h mark candles, 8h funding; no finer mark is stored there).

Per symbol and leverage: Chandelier Exit (the shipped strategy, default parameters) on 5m bars over the whole file,
fixed allocation 3 % of a 500 USDT plan on a wallet large enough that losses never refuse an entry (both runs then
take the same entries: a difference is the trigger alone), no stop-loss (so every adverse move can reach the
liquidation price), funding on;
run once with no mark (the trigger before this change, when only 1h mark was stored: the last price) and once with
the 1h mark. Prints liquidations per run, the no-mark liquidations the mark run does not have (same entry time),
and the time ratio of the two runs in this process (best of 5 each).

Run: ``python bench/bench_mark_liquidations.py [--symbols BTCUSDT ETHUSDT] [--leverage 50 100] [--since DATE]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.algos.chandelier import ChandelierStrategy  # noqa: E402
from trading.engine.backtest import BacktestConfig, run_backtest  # noqa: E402
from trading.engine.instruments import BTCUSDT, ETHUSDT  # noqa: E402
from trading.research.data import load_shared  # noqa: E402

INSTRUMENTS = {"BTCUSDT": BTCUSDT, "ETHUSDT": ETHUSDT}
WALLET = 10_000_000.0
REPEAT = 5


def liquidations(result):
    t = result.trades
    return t[t["exit_reason"] == "liquidation"] if len(t) else t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", nargs="+", default=["BTCUSDT", "ETHUSDT"])
    parser.add_argument("--leverage", nargs="+", type=float, default=[50.0, 100.0])
    parser.add_argument("--since", default=None)
    parser.add_argument("--data", default=os.environ.get("QUANTDESK_SHARED_DATA", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args()
    data = Path(args.data) / "bybit"
    if not data.exists():
        sys.exit(f"no shared data at {data}: set QUANTDESK_SHARED_DATA")
    print(f"{'symbol':8} {'lev':>5} {'bars':>7} {'liq last':>9} {'liq 1h-mark':>12} {'gone':>5} {'new':>4} "
          f"{'time mark/last':>15}")
    total_last = total_mark = total_gone = 0
    for sym in args.symbols:
        candles, mark, funding = load_shared(data, sym, start=args.since)
        signals = ChandelierStrategy().compute(candles)
        for lev in args.leverage:
            cfg = BacktestConfig(leverage=lev, sizing="fixed", allocation=0.03, initial_capital=500.0, funding=True)
            run_backtest(candles.iloc[:500], signals.iloc[:500], instrument=INSTRUMENTS[sym], config=cfg,
                         mark=mark)  # warm: compiled and cached once
            t_last, t_mark = [], []
            for _ in range(REPEAT):  # the best of REPEAT runs each, alternating (load from other processes)
                t0 = time.perf_counter()
                last = run_backtest(candles, signals, instrument=INSTRUMENTS[sym], config=cfg, funding=funding,
                                    balance=WALLET)
                t1 = time.perf_counter()
                marked = run_backtest(candles, signals, instrument=INSTRUMENTS[sym], config=cfg, funding=funding,
                                      mark=mark, balance=WALLET)
                t2 = time.perf_counter()
                t_last.append(t1 - t0)
                t_mark.append(t2 - t1)
            a, b = liquidations(last), liquidations(marked)
            gone = set(a["entry_time"]) - set(b["entry_time"])
            new = set(b["entry_time"]) - set(a["entry_time"])
            total_last, total_mark, total_gone = total_last + len(a), total_mark + len(b), total_gone + len(gone)
            print(f"{sym:8} {lev:5.0f} {len(candles):7d} {len(a):9d} {len(b):12d} {len(gone):5d} {len(new):4d} "
                  f"{min(t_mark) / min(t_last):15.2f}   trigger={marked.trigger_series}")
    print(f"total: {total_last} liquidations on the last price, {total_mark} with the 1h mark bound; "
          f"{total_gone} of {total_last} were wicks the hour's mark never reached")


if __name__ == "__main__":
    main()
