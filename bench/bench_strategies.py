"""Benchmark: all four registered strategies, default parameters, on the full BTCUSDT 5-minute file in one run.

Prints each one's compute time (after a small warm-up so numba compilation is not counted) and its long/short
signal counts (bars with signal +1/-1, and entries = bars where the signal turns to +1/-1). The drift forecaster
gets ETHUSDT as its cross-asset partner. Run: .venv/bin/python bench/bench_strategies.py
(prints a message and exits 0 if the data is absent).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_lorentzian import load  # noqa: E402

from strategies.algos import registry  # noqa: E402
from strategies.algos.base import StrategyContext  # noqa: E402
from strategies.algos.logistic.strategy import out_of_sample_accuracy  # noqa: E402


def main() -> int:
    btc = load("BTCUSDT")
    eth = load("ETHUSDT")
    if btc is None or eth is None:
        return 0
    ctx = StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": eth})
    print(f"BTCUSDT 5m: {len(btc)} bars, {btc.index[0]} .. {btc.index[-1]}")
    print(f"{'strategy':<12} {'seconds':>8} {'long bars':>10} {'short bars':>11} {'long entries':>13} "
          f"{'short entries':>14}")
    for name, cls in registry.all().items():
        strat = cls()
        strat.compute(btc.iloc[:3000], ctx)  # warm-up: numba compile / cache load
        t0 = time.perf_counter()
        frame = strat.compute(btc, ctx)
        dt = time.perf_counter() - t0
        sig = frame["signal"].to_numpy()
        prev = np.concatenate([[0], sig[:-1]])
        print(f"{name:<12} {dt:8.2f} {(sig == 1).sum():10d} {(sig == -1).sum():11d} "
              f"{((sig == 1) & (prev != 1)).sum():13d} {((sig == -1) & (prev != -1)).sum():14d}")
        if name == "logistic":
            acc = out_of_sample_accuracy(frame, btc, strat.params["horizon"])
            print(f"{'':<12} out-of-sample: signal accuracy {acc['signal_accuracy']:.4f} on {acc['signals']} "
                  f"signal bars; direction accuracy {acc['direction_accuracy']:.4f} on {acc['predictions']} bars")
    return 0


if __name__ == "__main__":
    sys.exit(main())
