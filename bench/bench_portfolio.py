"""Benchmark: the portfolio backtest (2 symbols x 1 year of seeded synthetic 1-minute detail bars, 5-minute
signals with a forecast so the 30-second monitor re-prices drift at every sub-bar, 2 checkpoints per detail
bar) beside the single-symbol kernel (run_backtest over 1-minute bars, one check per bar), in one process.
Both hold the Chandelier direction (open / keep), so positions are open nearly all year.

Run: ``python bench/bench_portfolio.py [--days D] [--repeat R]``. Prints detail bars/s of the portfolio,
bars/s of the single kernel and the ratio (target: the portfolio at most 3x slower per detail bar).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _bench_data import chandelier_signals, make_bars  # noqa: E402

from trading.engine.backtest import BacktestConfig, run_backtest  # noqa: E402
from trading.engine.fees import FeeSchedule  # noqa: E402
from trading.engine.instruments import BTCUSDT, ETHUSDT  # noqa: E402
from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio  # noqa: E402

# Kelly sizing without fees, so the wallet never runs dry and every slot trades all year: the bench times the
# kernel's work with positions open, not a wallet that went broke on day one and refuses everything after.
CONFIG = BacktestConfig(leverage=20, sizing="kelly", kelly_fraction=0.05, initial_capital=100_000.0,
                        take_profit_pct=0.02, stop_loss_pct=0.01, fees=FeeSchedule(maker=0.0, taker=0.0),
                        funding=True, funding_rate=0.0001)


def best_of(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def direction(high, low, close) -> np.ndarray:
    """The Chandelier direction held bar after bar (+1 / -1: open or keep), from its flips."""
    flips = chandelier_signals(high, low, close)
    return pd.Series(flips, dtype=float).replace(0.0, np.nan).ffill().fillna(0.0).to_numpy().astype(np.int8)


def five_minute_signals(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The Chandelier direction on 5-minute bars resampled from the 1-minute ones, with a forecast (drift) layer
    the monitor re-prices every 30 seconds; after a monitor close the next 5-minute row re-enters."""
    five = bars.resample("5min").agg({"open": "first", "high": "max", "low": "min", "close": "last"})
    sig = direction(five["high"].to_numpy(), five["low"].to_numpy(), five["close"].to_numpy())
    rng = np.random.default_rng(seed)
    drift = sig * 0.004 + rng.normal(0.0, 0.0005, len(five))
    return pd.DataFrame({"signal": sig, "exit_long": False, "exit_short": False,
                         "forecast": five["close"].to_numpy() * (1.0 + drift), "drift": drift,
                         "confidence": rng.uniform(0.3, 0.6, len(five)), "half_life": rng.uniform(1800, 7200, len(five))},
                        index=five.index)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.days * 1440
    btc = make_bars(n, seed=42)
    eth = make_bars(n, seed=7)
    eth[["open", "high", "low", "close"]] = (eth[["open", "high", "low", "close"]] / 20.0).round(2)
    slots = [PortfolioSlot(key=sym, symbol=sym, instrument=inst, config=CONFIG, signals=five_minute_signals(bars, k),
                           timeframe_seconds=300)
             for k, (sym, inst, bars) in enumerate((("BTCUSDT", BTCUSDT, btc), ("ETHUSDT", ETHUSDT, eth)))]
    spec = PortfolioSpec(initial_capital=CONFIG.initial_capital, max_open_positions=2, monitor_seconds=30)
    detail = {"BTCUSDT": btc, "ETHUSDT": eth}
    single_sig = direction(btc["high"].to_numpy(), btc["low"].to_numpy(), btc["close"].to_numpy())
    single = pd.DataFrame({"signal": single_sig, "exit_long": False, "exit_short": False}, index=btc.index)
    print(f"python {sys.version.split()[0]}; {n:,} synthetic 1-minute bars per symbol (seeds 42, 7); best of "
          f"{args.repeat}")

    def portfolio():
        return run_portfolio(slots=slots, detail=detail, spec=spec)

    def kernel():
        return run_backtest(btc, single, instrument=BTCUSDT, config=CONFIG)

    portfolio()  # loads (or compiles) the kernel
    kernel()
    # interleaved rounds (single, then portfolio): on a shared machine the load moves between rounds, and each
    # round's own ratio shows how far that moves the result
    singles, ports, ratios = [], [], []
    for _ in range(args.repeat):
        t_s, r_single = best_of(kernel, 1)
        t_p, r_port = best_of(portfolio, 1)
        singles.append(t_s)
        ports.append(t_p)
        ratios.append((t_p / (2 * n)) / (t_s / n))
    t_single, t_port = min(singles), min(ports)
    single_rate = n / t_single
    port_rate = 2 * n / t_port
    fills = r_port.fills
    held = r_port.metrics()["exposure"] / 2
    print(f"single-symbol kernel (run_backtest, 1m bars, 1 check/bar): {single_rate:14,.0f} bars/s   "
          f"({t_single:.3f} s, {len(r_single.trades):,} trades)")
    print(f"portfolio (2 symbols, 1m detail, 5m signals, 30 s monitor): {port_rate:14,.0f} detail bars/s "
          f"({t_port:.3f} s, {len(r_port.trades):,} round trips, {len(fills):,} fills, "
          f"{len(r_port.decisions):,} monitor reduces/closes, {len(r_port.refusals):,} refusals, "
          f"each symbol held {held:.0%} of the time)")
    print(f"ratio: portfolio is {single_rate / port_rate:.2f}x slower per detail bar than the single kernel per bar "
          f"(best of each; target <= 3); per round: median {float(np.median(ratios)):.2f}x, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}x")


if __name__ == "__main__":
    main()
