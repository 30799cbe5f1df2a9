"""Measure how often live windows reproduce the full-history rows, per shipped strategy, on real data.

For each strategy: the full run over the first N BTCUSDT 5-minute bars (ETHUSDT as the drift forecaster's
partner), then ``bias.window_independence_check`` on P windows of the declared warm-up plus K bars (or of
``--warmup`` when given, e.g. 3000 to see what the desk's old fixed window gave). Prints the equal-row rate over
the core columns, over every column, and of the signal column alone.

Run: /work/main/.venv/bin/python scripts/window_equality.py [--bars 30000] [--positions 100] [--rows 50]
     [--warmup 3000] [--only lorentzian,logistic]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from strategies.algos import bias, registry  # noqa: E402
from strategies.algos.base import CORE_COLUMNS, StrategyContext  # noqa: E402
from tests.shared_data import load_candles  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=30_000)
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--rows", type=int, default=50, help="rows checked per window (window = warm-up + rows)")
    ap.add_argument("--warmup", type=int, default=None, help="override the declared warm-up")
    ap.add_argument("--only", default=",".join(registry.names()))
    args = ap.parse_args()
    btc, eth = load_candles("BTCUSDT", args.bars), load_candles("ETHUSDT", args.bars)
    for name in args.only.split(","):
        strat = registry.get(name)()
        ctx = StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": eth}) if name == "drift" else None
        warm = strat.warmup_bars() if args.warmup is None else args.warmup
        t0 = time.perf_counter()
        full = strat.compute(btc, ctx)
        rates = {}
        for label, cols in (("core", list(CORE_COLUMNS)), ("all", None), ("signal", ["signal"])):
            res = bias.window_independence_check(strat, btc, ctx, positions=args.positions, window=warm + args.rows,
                                                 warmup=warm, columns=cols, full=full)
            rates[label] = res.stats["equal_rate"]
        print(f"{name:<11} warm-up {warm:>6}: rows equal  core {rates['core']:8.2%}  all columns {rates['all']:8.2%}"
              f"  signal {rates['signal']:8.2%}   ({args.positions} windows x {args.rows} rows, "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
