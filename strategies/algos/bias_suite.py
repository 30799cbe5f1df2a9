"""The bias-check suite run on every strategy version (pure: no Django): builds the check data (the shared real
candles when present, else a seeded synthetic series with the partner symbols and higher timeframes the
strategy declares) and runs the four checks of ``bias.py`` on it: lookahead, window independence,
determinism and speed. Returns plain JSON the Django side stores per source version.

``BLOCKING`` are the checks whose failure keeps a strategy from being enabled for paper or live trading.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import Strategy, StrategyContext
from .plots import PlotSpec

BLOCKING = ("lookahead", "window_independence")
CHECKS = ("lookahead", "window_independence", "determinism", "speed")
MAX_FAILURES_STORED = 20
FIVE_MIN = pd.Timedelta("5min")
WINDOW_EXTRA = 20  # each live window checks its last 20 rows after the warm-up


def synthetic_candles(n: int, *, seed: int, start: str = "2025-01-01", freq: pd.Timedelta = FIVE_MIN,
                      price: float = 50_000.0) -> pd.DataFrame:
    """A seeded random walk with trending and ranging stretches (so strategies trade), OHLCV, UTC open times."""
    rng = np.random.default_rng(seed)
    regime = np.repeat(rng.normal(0, 0.0004, n // 500 + 1), 500)[:n]
    ret = rng.normal(0, 0.0015, n) + regime
    close = price * np.exp(np.cumsum(ret))
    open_ = np.concatenate(([price], close[:-1]))
    wick = np.abs(rng.normal(0, 0.0008, n)) * close
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="open_time")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + wick,
                         "low": np.minimum(open_, close) - wick, "close": close,
                         "volume": rng.gamma(2.0, 50.0, n)}, index=idx)


def _read_shared(folder: Path, symbol: str, n: int) -> pd.DataFrame | None:
    path = folder / "bybit" / f"{symbol}_5m.csv.gz"
    if not path.exists():
        return None
    frame = pd.read_csv(path, nrows=n)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="open_time")
    return frame[["open", "high", "low", "close", "volume"]].astype("float64")


def check_data(strategy: Strategy, *, bars: int, symbol: str = "BTCUSDT", shared_dir: Path | str | None = None
               ) -> tuple[pd.DataFrame, StrategyContext, str]:
    """(candles, context, description) for ``bars`` 5-minute bars of ``symbol``: the shared real data when it
    holds every symbol the strategy reads, else synthetic series (the partner a different seed)."""
    from .drift.filters import resample_closed

    needs = strategy.context_needs(symbol=symbol)
    symbols = (symbol, *needs.other_symbols)
    frames = {}
    source = "synthetic"
    if shared_dir is not None and Path(shared_dir).is_dir():
        frames = {s: _read_shared(Path(shared_dir), s, bars) for s in symbols}
        if all(f is not None and len(f) >= bars for f in frames.values()):
            source = f"shared Bybit data ({', '.join(symbols)} 5m)"
        else:
            frames = {}
    if not frames:
        frames = {s: synthetic_candles(bars, seed=11 + i, price=50_000.0 / (i * 15 + 1))
                  for i, s in enumerate(symbols)}
    candles = frames[symbol]
    context = StrategyContext(symbol=symbol, timeframe=strategy.timeframe,
                              other={s: frames[s] for s in needs.other_symbols},
                              higher={tf: resample_closed(candles, tf) for tf in needs.higher_timeframes})
    return candles, context, f"{source}, {len(candles):,} bars from {candles.index[0]:%Y-%m-%d}"


def result_json(result: Any) -> dict:
    """A bias.py CheckResult as JSON: passed, detail, stats, failure_count and the earliest failures
    ({bar_time, column, full_value, window_value})."""
    out = result.to_json()
    out["failure_count"] = int(out["stats"].get("rows_failed", len(out["failures"])))
    out["failures"] = out["failures"][:MAX_FAILURES_STORED]
    return out


def _guard(name: str, fn) -> dict:
    try:
        return result_json(fn())
    except Exception as exc:  # a strategy that raises fails the check, with the traceback to read
        return {"passed": False, "detail": f"{name} raised {type(exc).__name__}: {exc}", "failure_count": 0,
                "failures": [], "traceback": traceback.format_exc()}


def plots_check(strategy: Strategy, frame: pd.DataFrame) -> dict:
    """Every declared plot names a column ``compute`` produces."""
    specs: tuple[PlotSpec, ...] = type(strategy).plots()
    missing = [s.column for s in specs if s.column not in frame.columns]
    return {"passed": not missing, "detail": f"plots name missing columns: {missing}" if missing else
            f"{len(specs)} plot(s), all columns present", "failure_count": len(missing), "failures": []}


def run_suite(strategy: Strategy, *, bars: int, speed_bars: int, positions: int,
              shared_dir: Path | str | None = None) -> dict:
    """All checks on one strategy instance: ``{"data": ..., "checks": {name: result json}, "passed": bool,
    "blocking_failures": [names]}``."""
    from . import bias

    started = time.perf_counter()
    window = strategy.warmup_bars() + WINDOW_EXTRA
    bars = max(bars, 3 * window)
    candles, context, description = check_data(strategy, bars=bars, shared_dir=shared_dir)
    cuts = sorted({int(bars * f) for f in (0.25, 0.5, 0.75)} | {bars - 1})
    checks = {
        "lookahead": _guard("lookahead", lambda: bias.lookahead_check(strategy, candles, context, cut_points=cuts)),
        "window_independence": _guard("window_independence", lambda: bias.window_independence_check(
            strategy, candles, context, positions=positions, window=window)),
        "determinism": _guard("determinism", lambda: bias.determinism_check(strategy, candles, context)),
    }
    speed_candles, speed_context, speed_description = check_data(strategy, bars=speed_bars, shared_dir=shared_dir)
    checks["speed"] = _guard("speed", lambda: bias.speed_check(strategy, speed_candles, speed_context))
    checks["speed"]["data"] = speed_description
    checks["speed"]["bars_per_second"] = checks["speed"].get("stats", {}).get("bars_per_second")
    try:
        checks["plots"] = plots_check(strategy, strategy.compute(candles, context))
    except Exception as exc:
        checks["plots"] = {"passed": False, "detail": f"compute raised {type(exc).__name__}: {exc}",
                           "failure_count": 0, "failures": []}
    blocking = [name for name in BLOCKING if not checks[name]["passed"]]
    return {"data": description, "warmup_bars": strategy.warmup_bars(), "checks": checks,
            "passed": all(c["passed"] for c in checks.values()), "blocking_failures": blocking,
            "seconds": round(time.perf_counter() - started, 3)}


def first_failure_text(check: dict) -> str:
    """"bar 2025-01-03T10:05:00+00:00, column signal (full 1, window 0)" for a check's first failure."""
    if not check.get("failures"):
        return check.get("detail") or "failed"
    f = check["failures"][0]
    return f"bar {f['bar_time']}, column {f['column']} (full {f['full_value']}, other run {f['window_value']})"
