"""Start-up warm-up of a worker process: load (or compile) every numba kernel and every strategy before the first
task, so a worker's first signal cycle or backtest is as fast as its tenth.

``warm_process()`` runs each registered strategy's ``compute`` over synthetic candles (its declared warm-up plus
a few bars: every numba function it calls is loaded from the on-disk cache, or compiled once), one tiny
``run_backtest`` (the portfolio kernel and its input helpers) and one paper Simulator bar (the shared rules).
quantdesk/celery.py calls it from ``worker_process_init`` (each pool process) or ``worker_ready`` (solo and
thread pools). A part that fails is logged and skipped: warming never stops a worker.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MAX_BARS = 6000  # the longest synthetic series a strategy's warm-up gets


def synthetic_candles(n: int, *, freq: str = "5min", seed: int = 3) -> pd.DataFrame:
    """A seeded random walk with trending stretches (so strategies trade), UTC open times."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-1.0, 1.0], size=n // 150 + 1), 150)[:n] * 4e-4
    close = 50_000.0 * np.exp(np.cumsum(drift + rng.normal(0, 1.5e-3, n)))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, 8e-4, (2, n)))
    index = pd.date_range("2025-01-01", periods=n, freq=freq, tz="UTC", name="open_time")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + wick[0]),
                         "low": np.minimum(open_, close) * (1 - wick[1]), "close": close,
                         "volume": rng.uniform(1, 10, n)}, index=index)


def _backtest() -> None:
    from trading.engine.backtest import BacktestConfig, run_backtest
    from trading.engine.instruments import BTCUSDT

    candles = synthetic_candles(300, freq="1min")
    signals = pd.DataFrame({"signal": np.tile(np.array([1, 0, 0, -1, 0, 0], dtype=np.int8), 50),
                            "exit_long": False, "exit_short": False}, index=candles.index)
    config = BacktestConfig(leverage=20, sizing="fixed", allocation=0.15, take_profit_pct=0.02, stop_loss_pct=0.01,
                            funding_rate=0.0001)
    run_backtest(candles, signals, instrument=BTCUSDT, config=config).trades  # noqa: B018 - builds the records


def _simulator() -> None:
    from trading.engine.instruments import BTCUSDT
    from trading.engine.simulator import Simulator

    sim = Simulator({"BTCUSDT": BTCUSDT}, 1000.0)
    sim.on_bar("BTCUSDT", 0, 50_000.0, 50_100.0, 49_900.0, 50_050.0)


def _strategy(cls) -> None:
    strategy = cls()
    n = min(MAX_BARS, int(strategy.warmup_bars()) + 200)
    strategy.compute(synthetic_candles(n))


def warm_process() -> dict[str, float]:
    """Warm every kernel and strategy in this process; seconds per part (a failed part is logged, not raised)."""
    from strategies.algos import registry

    parts = {"backtest kernel": _backtest, "paper simulator": _simulator}
    for name, cls in sorted(registry.all().items()):
        parts[f"strategy {name}"] = lambda cls=cls: _strategy(cls)
    took: dict[str, float] = {}
    start = time.perf_counter()
    for name, part in parts.items():
        t0 = time.perf_counter()
        try:
            part()
        except Exception:  # noqa: BLE001 - a strategy that cannot warm still runs (and reports) in its cycle
            log.exception("warm-up of %s failed; it loads on first use instead", name)
            continue
        took[name] = time.perf_counter() - t0
    log.info("worker warmed in %.2f s: %s", time.perf_counter() - start,
             ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    return took
