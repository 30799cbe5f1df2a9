"""Desk backtest through the service vs the engine alone, on real Bybit data (``../shared/data`` or
``$QUANTDESK_SHARED_DATA``): two drift-forecaster configs (BTCUSDT, ETHUSDT) over the last ``--days`` of the
first ``--days`` + warm-up days stored, with the hourly mark and 8h funding.

Prints the wall time of ``run_backtest_job`` (load from the database, warm-up and context, signals, the
portfolio run, storing the result) and of ``run_portfolio`` alone on the same frames in the same process, and
their ratio (the service's overhead over the engine). A scratch SQLite database (or BENCH_DATABASE_URL).

    .venv/bin/python bench/bench_desk_backtest.py --days 30
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench_desk import setup_django, teardown  # noqa: E402


def _data_dir() -> Path:
    env = os.environ.get("QUANTDESK_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _read(name: str, nrows: int | None = None):
    import pandas as pd

    frame = pd.read_csv(_data_dir() / "bybit" / name, nrows=nrows)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="open_time")
    return frame.astype("float64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days in the backtest range")
    args = parser.parse_args()
    started = setup_django()
    try:
        run(args.days)
    finally:
        teardown(started)


def run(days: int) -> None:
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from strategies.algos import registry
    from strategies.models import Strategy, StrategyConfig
    from trading.models import Account, Candle, FundingRate, Instrument
    from trading.services.backtests import run_backtest_job
    from trading.services.desk_backtests import create_desk_backtest
    from trading.services.desk_execute import build_portfolio_inputs

    drift = registry.get("drift")
    warmup = drift().warmup_bars_at("5m")
    bars = warmup + days * 288
    user = get_user_model().objects.create_user("bench", password="bench-pass-123")
    account = Account.objects.create(owner=user, name="bench", starting_capital=Decimal("500"), max_open_positions=2)
    strategy = Strategy.objects.create(key="drift", label="drift")
    tiers = [{"risk_limit_value": "2000000", "mmr": "0.005", "imr": "0.01", "max_leverage": "100"}]
    configs = []
    for symbol, step in (("BTCUSDT", "0.001"), ("ETHUSDT", "0.01")):
        Instrument.objects.create(symbol=symbol, base_coin=symbol[:-4], tick_size=Decimal("0.01"),
                                  qty_step=Decimal(step), min_qty=Decimal(step), min_notional=Decimal("5"),
                                  max_leverage=Decimal("100"), risk_tiers=tiers)
        candles = _read(f"{symbol}_5m.csv.gz", nrows=bars)
        marks = _read(f"{symbol}_mark_1h.csv.gz", nrows=bars // 12 + 2)
        rates = _read(f"{symbol}_funding_8h.csv.gz")["funding_rate"]
        Candle.objects.bulk_create([Candle(symbol=symbol, interval="5m", kind="trade", open_time=t, open=r.open,
                                           high=r.high, low=r.low, close=r.close, volume=r.volume)
                                    for t, r in zip(candles.index.to_pydatetime(), candles.itertuples(), strict=True)],
                                   batch_size=5000)
        Candle.objects.bulk_create([Candle(symbol=symbol, interval="1h", kind="mark", open_time=t, open=r.open,
                                           high=r.high, low=r.low, close=r.close, volume=0)
                                    for t, r in zip(marks.index.to_pydatetime(), marks.itertuples(), strict=True)])
        rates = rates[rates.index <= candles.index[-1]]
        FundingRate.objects.bulk_create([FundingRate(symbol=symbol, funding_time=t, rate=Decimal(str(v)))
                                         for t, v in zip(rates.index.to_pydatetime(), rates, strict=True)])
        configs.append(StrategyConfig.objects.create(
            name=f"drift-{symbol}", strategy=strategy, account=account, symbols=[symbol], timeframe="5m",
            leverage=Decimal("50"), sizing_mode="kelly", kelly_fraction=Decimal("0.5"),
            stop_loss_pct=Decimal("0.5"), enabled=True))
        index = candles.index
    start, end = index[warmup], index[-1]
    run = create_desk_backtest(owner=user, config_ids=[c.pk for c in configs],
                               settings={"start": start.isoformat(), "end": end.isoformat()})
    from trading.engine.portfolio import run_portfolio

    t0 = time.perf_counter()
    kw = build_portfolio_inputs(settings=run.settings)
    inputs = time.perf_counter() - t0
    kw.pop("slot_info"), kw.pop("symbol_info")
    run_portfolio(**kw)  # numba compiled (or loaded from its cache) before either timing
    t0 = time.perf_counter()
    run = run_backtest_job(run_id=run.pk)
    service = time.perf_counter() - t0
    assert run.status == "done", run.error
    t0 = time.perf_counter()
    result = run_portfolio(**kw)
    engine = time.perf_counter() - t0
    m = run.metrics
    print(f"range {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} ({days} days, {m['bars']} detail bars, "
          f"{warmup} warm-up bars per slot)")
    print(f"round trips {m['trade_count']} (engine alone {len(result.trades)}), final equity "
          f"{m['final_equity']:.2f}, funding {m['funding_paid']:.4f}, trigger {m['trigger_series']}")
    print(f"service run_backtest_job  {service:8.3f} s")
    print(f"inputs alone              {inputs:8.3f} s (database reads, warm-up, context, signals; own call)")
    print(f"engine run_portfolio      {engine:8.3f} s")
    print(f"ratio service / engine    {service / engine:8.1f}x")


if __name__ == "__main__":
    main()
