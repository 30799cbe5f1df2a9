"""What the chart pages draw for a range of time: candles of ANY interval (resampled from the stored base
interval when the store does not hold it), downsampled for display to at most ``max_points`` points so a range
of any length (a year of 5-minute bars) comes back whole, and the marks on it (signals, fills, open positions).

Time is the desk's: while a replay drives the desk (``trading/marketdata/clock.py``), the range ends at the
replay's simulated time, so stored bars after it and records stamped later (by the wall clock, before the
replay started) never stretch the axis. Backtest charts pass ``desk_clock=False`` (a finished run's range is
history, not "now").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from trading import selectors
from trading.choices import TIMEFRAMES, CandleKind, PositionStatus
from trading.marketdata.clock import desk_now
from trading.marketdata.reader import read_range, stored_base_interval
from trading.marketdata.resample import downsample_frame, resample_frame
from trading.models import Candle
from trading.services.broadcast import fill_payload, position_payload

DEFAULT_BARS = 500  # the first view: the latest 500 bars of the chosen interval
DEFAULT_MAX_POINTS = 3_000
MAX_POINTS = 5_000
MIN_POINTS = 50
MAX_MARKS = 5_000  # signals or fills per answer; more in the range are counted and the newest kept
COARSE_DAYS = (2, 3, 7, 14, 28)  # display steps past 1d (then whole multiples of 28 days)


def _aligned(t: datetime, seconds: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def step_label(seconds: int) -> str:
    for name, (secs, _) in TIMEFRAMES.items():
        if secs == seconds:
            return name
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds}s"


def display_step(*, interval_seconds: int, first: int, last: int, max_points: int) -> int:
    """The finest display step (seconds: the interval itself, a coarser interval it divides, or whole days) whose
    epoch-aligned buckets between bar open times ``first`` and ``last`` (epoch seconds) number <= max_points."""
    def count(step: int) -> int:
        return last // step - first // step + 1

    candidates = sorted({s for s, _ in TIMEFRAMES.values() if s >= interval_seconds and s % interval_seconds == 0}
                        | {86400 * k for k in COARSE_DAYS})
    for step in candidates:
        if count(step) <= max_points:
            return step
    step = 86400 * 28 * max(1, math.ceil((last - first) / (86400 * 28 * (max_points - 1))))
    while count(step) > max_points:
        step += 86400 * 28
    return step


def history_bounds(*, symbol: str, interval: str, desk_clock: bool = True) -> dict[str, Any]:
    """``{"base", "first", "last"}``: the stored base interval for ``interval`` and its first and last bar open
    times (the last one no later than the desk's clock when ``desk_clock``). None values when nothing is stored."""
    base = stored_base_interval(symbol=symbol, interval=interval)
    if base is None:
        return {"base": None, "first": None, "last": None}
    qs = Candle.objects.filter(symbol=symbol, interval=base, kind=CandleKind.TRADE)
    if desk_clock:
        qs = qs.filter(open_time__lte=desk_now() - timedelta(seconds=TIMEFRAMES[base][0]))
    first = qs.order_by("open_time").values_list("open_time", flat=True).first()
    last = qs.order_by("-open_time").values_list("open_time", flat=True).first()
    return {"base": base, "first": first, "last": last}


def _iso(t) -> str | None:
    return None if t is None else pd.Timestamp(t).tz_convert("UTC").isoformat()


def chart_candles(*, symbol: str, interval: str, start: datetime | None = None, end: datetime | None = None,
                  max_points: int = DEFAULT_MAX_POINTS, desk_clock: bool = True) -> dict[str, Any]:
    """Candles of ``interval`` whose open time is in [start, end], at most ``max_points`` of them.

    ``end`` defaults to the last stored bar (no later than the desk's clock: a replay's time), ``start`` to
    ``DEFAULT_BARS`` bars before it. Bars of an interval the store lacks are the complete ones resampled from
    the stored base interval (``base`` in the answer). When the range holds more bars than ``max_points``, they
    are aggregated into coarser epoch-aligned buckets (``step``), the partial ones at the edges kept, so the
    first bar's open and the last bar's close are always in the answer. ValueError names the field."""
    if interval not in TIMEFRAMES:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
    if not MIN_POINTS <= max_points <= MAX_POINTS:
        raise ValueError(f"max_points: {max_points} is outside {MIN_POINTS}..{MAX_POINTS}")
    if start is not None and end is not None and start > end:
        raise ValueError(f"start: {start.isoformat()} is after end {end.isoformat()}")
    iv = TIMEFRAMES[interval][0]
    hist = history_bounds(symbol=symbol, interval=interval, desk_clock=desk_clock)
    out: dict[str, Any] = {"symbol": symbol, "interval": interval, "base": hist["base"],
                           "history": {"first": _iso(hist["first"]), "last": _iso(hist["last"])},
                           "step": interval, "step_seconds": iv, "downsampled": False, "bars": 0,
                           "first_bar": None, "last_bar": None, "t": [], "o": [], "h": [], "l": [], "c": [], "v": []}
    if hist["base"] is None or hist["last"] is None:
        out["range"] = {"start": _iso(start), "end": _iso(end)}
        return out
    base, base_s = hist["base"], TIMEFRAMES[hist["base"]][0]
    limit = _aligned(hist["last"], iv)  # the newest bar of `interval` the history can fill (perhaps partly)
    end = limit if end is None else min(_aligned(end, iv), limit)
    start = end - timedelta(seconds=iv * (DEFAULT_BARS - 1)) if start is None else _aligned(start, iv)
    out["range"] = {"start": _iso(start), "end": _iso(end)}
    if start > end:
        return out
    frame = read_range(symbol=symbol, interval=base, start=start, end=end + timedelta(seconds=iv - base_s))
    if base != interval:
        frame = resample_frame(frame, source=base, target=interval)
    if frame.empty:
        return out
    secs = frame.index.as_unit("s").asi8
    out.update(bars=len(frame), first_bar=_iso(frame.index[0]), last_bar=_iso(frame.index[-1]))
    step = display_step(interval_seconds=iv, first=int(secs[0]), last=int(secs[-1]), max_points=max_points)
    if step != iv:
        frame = downsample_frame(frame, seconds=step)
        out.update(step=step_label(step), step_seconds=step, downsampled=True)
    out.update(t=[t.isoformat() for t in frame.index], o=_floats(frame["open"]), h=_floats(frame["high"]),
               l=_floats(frame["low"]), c=_floats(frame["close"]), v=_floats(frame["volume"]))
    return out


def _floats(col: pd.Series) -> list[float]:
    return [round(float(x), 10) for x in col.to_numpy(dtype="float64")]


def chart_marks(*, user, symbol: str, start: datetime, end: datetime, step_seconds: int,
                desk_clock: bool = True) -> dict[str, Any]:
    """The user's marks on ``symbol`` between ``start`` and ``end`` (times, not bar open times): non-zero signals
    (by bar time), trade fills split into entries and exits (by execution time), the drift forecaster's forecast
    (the last one per display step) and the open positions (their TP/SL/liquidation lines). Anything stamped after
    the desk's clock (wall-clock records during a replay) is left out. At most ``MAX_MARKS`` signals and fills
    each (the newest); ``counts`` gives how many the range holds."""
    if desk_clock:
        end = min(end, desk_now())
    signals = selectors.signals_for(user=user).filter(symbol=symbol, bar_time__gte=start, bar_time__lte=end)
    fills = selectors.fills_for(user=user).filter(symbol=symbol, exec_type="Trade", executed_at__gte=start,
                                                   executed_at__lte=end)
    entries = signals.exclude(signal=0)
    n_sig, n_fill = entries.count(), fills.count()
    sig_rows = list(entries.select_related("config__strategy").order_by("-bar_time", "-id")[:MAX_MARKS])[::-1]
    fill_rows = list(fills.order_by("-executed_at", "-id")[:MAX_MARKS])[::-1]
    forecast = _forecast(signals.filter(config__strategy__key="drift", forecast__isnull=False), step_seconds)
    positions = selectors.positions_for(user=user).filter(symbol=symbol, status=PositionStatus.OPEN)
    return {
        "symbol": symbol, "start": start.isoformat(), "end": end.isoformat(),
        "counts": {"signals": n_sig, "fills": n_fill},
        "signals": [{"t": s.bar_time.isoformat(), "signal": s.signal, "price": _f(s.price),
                     "strategy": s.config.strategy.key, "config": s.config.name} for s in sig_rows],
        "fills": [{**fill_payload(f), "kind": "exit" if f.exit_reason else "entry"} for f in fill_rows],
        "forecast": forecast,
        "positions": [position_payload(p) for p in positions],
    }


def _f(x) -> float | None:
    return None if x is None else float(x)


def _forecast(qs, step_seconds: int) -> dict[str, list]:
    """The forecast line, one point (the last) per display step."""
    rows = list(qs.order_by("bar_time", "id").values_list("bar_time", "forecast"))
    last: dict[int, tuple[datetime, float]] = {}
    for t, f in rows:
        last[int(t.timestamp()) // step_seconds] = (t, float(f))
    points = [last[k] for k in sorted(last)]
    return {"t": [t.isoformat() for t, _ in points], "y": [y for _, y in points]}
