"""Benchmark: how fast a NEW process gets going, with the numba cache warm (run the desk or a test once first).

1. A new Python process to its first backtest result: imports + one ``run_backtest`` (goal: 2 s in all), timed
   inside the child and from the parent's spawn to the child's exit (interpreter start included).
2. A worker's first signal-cycle compute against its tenth, in a new process: every shipped strategy's
   ``compute`` over the window a cycle reads (warm-up + 1 bars), without the worker's start-up warm-up and with it
   (``trading.services.warmup.warm_process``, what quantdesk/celery.py runs at worker start). The goal: with the
   warm-up, the first cycle is as fast as the tenth (ratio about 1).

Medians of 3 new processes each. Run: ``python bench/bench_first_result.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_RESULT = """
import time; t0 = time.perf_counter()
import numpy as np, pandas as pd
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTCUSDT
t1 = time.perf_counter()
idx = pd.date_range('2025-01-01', periods=100, freq='1min', tz='UTC')
c = pd.DataFrame({'open': 100.0, 'high': 101.0, 'low': 99.0, 'close': 100.0, 'volume': 1.0}, index=idx)
s = pd.DataFrame({'signal': np.int8(1), 'exit_long': False, 'exit_short': False}, index=idx)
cfg = BacktestConfig(leverage=20, sizing='fixed', allocation=0.15, take_profit_pct=0.02, stop_loss_pct=0.01,
                     funding_rate=0.0001)
run_backtest(c, s, instrument=BTCUSDT, config=cfg).metrics
t2 = time.perf_counter()
print({"import": t1 - t0, "first": t2 - t1})
"""

CYCLES = """
import json, sys, time
import django
django.setup()
from strategies.algos import registry
from trading.services.warmup import synthetic_candles, warm_process
warm = sys.argv[1] == "warm"
t0 = time.perf_counter()
if warm:
    warm_process()
t_warm = time.perf_counter() - t0
strategies = {name: cls() for name, cls in sorted(registry.all().items()) if not registry.is_user(name)}
windows = {name: synthetic_candles(s.warmup_bars() + 1, seed=11) for name, s in strategies.items()}
cycles = []
for i in range(10):
    t = time.perf_counter()
    for name, s in strategies.items():
        s.compute(windows[name])
    cycles.append(time.perf_counter() - t)
print(json.dumps({"warm_up": t_warm, "cycles": cycles, "strategies": list(strategies)}))
"""


def child(code: str, *args: str) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="quantdesk.settings")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT,
                         stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1], wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    child(FIRST_RESULT)  # make sure the on-disk numba cache is warm before timing anything
    rows = []
    for _ in range(args.runs):
        text, wall = child(FIRST_RESULT)
        rows.append((eval(text), wall))  # noqa: S307 - our own child's dict literal
    imp = statistics.median(r[0]["import"] for r in rows)
    first = statistics.median(r[0]["first"] for r in rows)
    wall = statistics.median(r[1] for r in rows)
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} cores); medians of {args.runs} new processes")
    print(f"new process, warm numba cache: imports {imp:.3f} s + first run_backtest {first:.3f} s = "
          f"{imp + first:.3f} s; spawn to exit {wall:.3f} s (goal 2 s)")
    for mode in ("cold", "warm"):
        runs = [json.loads(child(CYCLES, mode)[0]) for _ in range(args.runs)]
        ratio = statistics.median(r["cycles"][0] / r["cycles"][9] for r in runs)
        c1 = statistics.median(r["cycles"][0] for r in runs)
        c10 = statistics.median(r["cycles"][9] for r in runs)
        warm = statistics.median(r["warm_up"] for r in runs)
        label = "with the start-up warm-up" if mode == "warm" else "without warm-up       "
        print(f"worker cycle compute ({', '.join(runs[0]['strategies'])}) {label}: first {c1 * 1000:8.1f} ms, "
              f"tenth {c10 * 1000:8.1f} ms, first / tenth = {ratio:5.2f}x"
              + (f" (warm-up at start {warm:.2f} s)" if mode == "warm" else ""))


if __name__ == "__main__":
    main()
