"""Benchmark: QuantDesk's run_backtest against vectorbt, backtesting.py and a bare numba loop (the floor),
on the same seeded synthetic 1-minute bars and the same Chandelier-Exit-style signals, in one process.

Run: ``python bench/bench_backtest.py [--bars N] [--repeat R]``. vectorbt and backtesting.py are
bench-only (``requirements-bench.txt``): when the running interpreter cannot import vectorbt and
``$QD_BENCH_PYTHON`` names another venv's python that can, the script re-runs itself there once, so every comparator still runs in
one process. A comparator that cannot be imported prints a "skipped: ..." line.
Also prints the first-call wait of QuantDesk's kernel in a NEW process, warm and cold numba cache.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = os.environ.get("QD_BENCH_PYTHON", "")

if (importlib.util.find_spec("vectorbt") is None and not os.environ.get("QD_BENCH_REEXEC")
        and BENCH_PYTHON and Path(BENCH_PYTHON).exists() and Path(sys.prefix).resolve() != Path(BENCH_PYTHON).parents[1].resolve()):
    env = dict(os.environ, QD_BENCH_REEXEC="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"vectorbt not importable here; re-running under {BENCH_PYTHON}", flush=True)
    os.execve(BENCH_PYTHON, [BENCH_PYTHON, __file__, *sys.argv[1:]], env)

sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _bench_data import chandelier_signals, floor_loop, make_bars  # noqa: E402
from _bench_timing import best_of  # noqa: E402

from trading.engine.backtest import BacktestConfig, run_backtest  # noqa: E402
from trading.engine.instruments import BTCUSDT  # noqa: E402

LEVERAGE = 20
FEE = 0.0006
TP, SL = 0.02, 0.01
# Sizing: fixed allocation of a 500 USDT plan (500 x 15 % x 20x = 1,500 USDT notional per trade) on an
# account large enough that fees never stop the strategy, so every engine trades every flip.
ACCOUNT = 10_000_000.0
NOTIONAL = 500.0 * 0.15 * LEVERAGE
CONFIG = BacktestConfig(leverage=LEVERAGE, sizing="fixed", initial_capital=500.0, allocation=0.15,
                        take_profit_pct=TP, stop_loss_pct=SL, funding=True, funding_rate=0.0001)


def bench_quantdesk(candles, signals, repeat):
    def run():
        return run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIG, balance=ACCOUNT)

    result = run()  # loads (or compiles) the kernel
    t = best_of(run, repeat)
    extra = (f"{len(result.trades)} trades, {int((result.fills['kind'] == 'funding').sum())} funding fills, "
             f"exits {result.trades['exit_reason'].astype(str).value_counts().to_dict()}")
    return t, extra


def bench_floor(candles, sig, repeat):
    o, h, lo, c = (candles[k].to_numpy() for k in ("open", "high", "low", "close"))

    def run():
        return floor_loop(o, h, lo, c, sig, FEE, NOTIONAL, TP, SL)

    run()
    return best_of(run, repeat), ""


def bench_vectorbt(candles, sig, repeat, tz_aware: bool, engine: str):
    import vectorbt as vbt

    frame = candles if tz_aware else candles.tz_localize(None)
    # act at the next bar's open like QuantDesk: shift the signals by one bar and trade at the open
    long_entry = pd.Series(np.r_[False, sig[:-1] == 1], index=frame.index)
    short_entry = pd.Series(np.r_[False, sig[:-1] == -1], index=frame.index)

    def run():
        return vbt.Portfolio.from_signals(
            frame["close"], entries=long_entry, short_entries=short_entry, price=frame["open"],
            open=frame["open"], high=frame["high"], low=frame["low"], fees=FEE, sl_stop=SL, tp_stop=TP,
            init_cash=ACCOUNT, size=NOTIONAL, size_type="value", freq="1min", engine=engine)

    pf = run()
    return best_of(run, repeat), f"{pf.trades.count()} trades"


def bench_backtesting_py(candles, sig, repeat, limit):
    import warnings

    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    frame = candles.iloc[:limit].rename(columns=str.capitalize).tz_localize(None)
    signal = sig[:limit]

    class Chandelier(Strategy):
        def init(self):
            pass

        def next(self):
            s = signal[len(self.data) - 1]
            if s == 1:
                price = self.data.Close[-1]  # in units of 0.001 BTC: NOTIONAL / price units
                self.buy(size=max(1, int(NOTIONAL / price)), sl=price * (1 - SL), tp=price * (1 + TP))
            elif s == -1:
                price = self.data.Close[-1]
                self.sell(size=max(1, int(NOTIONAL / price)), sl=price * (1 + SL), tp=price * (1 - TP))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt = FractionalBacktest(frame, Chandelier, fractional_unit=0.001, cash=ACCOUNT, commission=FEE,
                                    margin=1 / LEVERAGE, exclusive_orders=True, finalize_trades=True)
            return bt.run()

    stats = run()
    return best_of(run, repeat), f"{stats['# Trades']} trades"


def paired_cpu(candles, signals, sig, repeat: int) -> dict[str, float]:
    """run_backtest / floor in thread CPU time, one pair after the other: the median of the pairs' ratios, and
    the medians of QuantDesk's own time split into the kernel (``portfolio_kernel.run_steps``) and the Python
    around it, and of the floor's. The floor's own time moves between processes with where its arrays land
    (up to 2x on the same data), so QuantDesk's milliseconds are the figure to follow from run to run."""
    from trading.engine import portfolio_kernel

    o, h, lo, c = (candles[k].to_numpy() for k in ("open", "high", "low", "close"))
    kernel = portfolio_kernel.run_steps
    inside = [0.0]

    def timed_kernel(*args):
        t0 = time.thread_time()
        out = kernel(*args)
        inside[0] += time.thread_time() - t0
        return out

    rows = []
    portfolio_kernel.run_steps = timed_kernel
    try:
        for _ in range(repeat):
            inside[0] = 0.0
            t = time.thread_time()
            run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIG, balance=ACCOUNT)
            a = time.thread_time() - t
            k = inside[0]
            t = time.thread_time()
            floor_loop(o, h, lo, c, sig, FEE, NOTIONAL, TP, SL)
            f = time.thread_time() - t
            rows.append((a / f, a, k, a - k, f))
    finally:
        portfolio_kernel.run_steps = kernel
    med = np.median(np.array(rows) * [1, 1e3, 1e3, 1e3, 1e3], axis=0)
    return dict(zip(("ratio", "qd_ms", "kernel_ms", "python_ms", "floor_ms"), med.tolist(), strict=True))


def first_call_in_new_process(cold: bool) -> str:
    import subprocess
    import tempfile

    code = (
        "import time; t0 = time.perf_counter()\n"
        "import numpy as np, pandas as pd\n"
        "from trading.engine.backtest import BacktestConfig, run_backtest\n"
        "from trading.engine.instruments import BTCUSDT\n"
        "t1 = time.perf_counter()\n"
        "idx = pd.date_range('2025-01-01', periods=100, freq='1min', tz='UTC')\n"
        "c = pd.DataFrame({'open': 100.0, 'high': 101.0, 'low': 99.0, 'close': 100.0, 'volume': 1.0}, index=idx)\n"
        "s = pd.DataFrame({'signal': np.int8(1), 'exit_long': False, 'exit_short': False}, index=idx)\n"
        "cfg = BacktestConfig(leverage=20, sizing='fixed', allocation=0.15, take_profit_pct=0.02,"
        " stop_loss_pct=0.01, funding_rate=0.0001)\n"
        "run_backtest(c, s, instrument=BTCUSDT, config=cfg)\n"
        "t2 = time.perf_counter()\n"
        "print(f'import {t1 - t0:.3f} s, first run_backtest call {t2 - t1:.3f} s')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = tmp
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    return (out.stdout or out.stderr).strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--bt-bars", type=int, default=None, help="bars for backtesting.py (default: all)")
    args = ap.parse_args()
    n = args.bars
    print(f"python {sys.version.split()[0]} at {sys.executable}; numpy {np.__version__}, pandas {pd.__version__}")
    candles = make_bars(n, seed=42)
    sig = chandelier_signals(candles["high"].to_numpy(), candles["low"].to_numpy(), candles["close"].to_numpy())
    signals = pd.DataFrame({"signal": sig, "exit_long": False, "exit_short": False}, index=candles.index)
    print(f"{n:,} synthetic 1-minute bars (seed 42), chandelier(22, 3.0) flips: {int((sig != 0).sum()):,}; "
          f"leverage {LEVERAGE}x, fees {FEE:.2%}, TP {TP:.0%}, SL {SL:.0%}; best of {args.repeat}")
    rows = []
    t, extra = bench_quantdesk(candles, signals, args.repeat)
    rows.append(("QuantDesk run_backtest (liq + funding + TP/SL on)", t, extra))
    t, extra = bench_floor(candles, sig, args.repeat)
    rows.append(("bare numba loop (floor: flips, fees, TP/SL, equity)", t, extra))
    for label, tz, engine in [("vectorbt from_signals, tz-naive index, numba", False, "numba"),
                              ("vectorbt from_signals, tz-naive index, rust", False, "rust"),
                              ("vectorbt from_signals, UTC index, numba", True, "numba"),
                              ("vectorbt from_signals, UTC index, rust", True, "rust")]:
        try:
            t, extra = bench_vectorbt(candles, sig, args.repeat, tz, engine)
            rows.append((label, t, extra))
        except Exception as exc:  # noqa: BLE001 - a comparator that cannot run is reported, not fatal
            print(f"skipped: {label}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    limit = args.bt_bars or n
    try:
        t, extra = bench_backtesting_py(candles, sig, 1, limit)
        rows.append((f"backtesting.py ({limit:,} bars, 1 run)", t * n / limit, extra))
    except Exception as exc:  # noqa: BLE001
        print(f"skipped: backtesting.py: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    qd = rows[0][1]
    cpu = paired_cpu(candles, signals, sig, args.repeat)
    print(f"QuantDesk / floor, CPU time of this thread (what other jobs' load changes least), "
          f"median of {args.repeat} back-to-back pairs: {cpu['ratio']:.2f}x (goal <= 3x)")
    print(f"  QuantDesk's own CPU time {cpu['qd_ms']:.1f} ms ({n / cpu['qd_ms'] / 1e3:.1f} M bars/s): kernel "
          f"{cpu['kernel_ms']:.1f} ms + Python around it {cpu['python_ms']:.1f} ms; the floor {cpu['floor_ms']:.1f} ms")
    print(f"\n{'engine':58s} {'bars/s':>14s} {'x QuantDesk':>12s}  notes")
    for label, t, extra in rows:
        print(f"{label:58s} {n / t:14,.0f} {qd / t:12.2f}  {extra}")
    print("\nQuantDesk kernel in a NEW process:")
    print(f"  warm on-disk numba cache: {first_call_in_new_process(cold=False)}")
    print(f"  cold (empty NUMBA_CACHE_DIR): {first_call_in_new_process(cold=True)}")


if __name__ == "__main__":
    main()
