"""Research trials read their strategy inputs through the desk's one context reader
(trading/services/strategy_context.py), as backtests and the live cycle do: a trial window gets the
strategy's declared warm-up (from before the study's range too) and its declared partner symbol and higher
timeframe over the same span, exactly the frames ``read_strategy_inputs`` reads straight from the store."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from strategies.algos import registry
from strategies.algos.base import ContextNeeds
from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_instrument
from trading.services.research_data import build_problem
from trading.services.strategy_context import read_strategy_inputs

WARMUP = 50
START = T0 + timedelta(minutes=5 * 200)  # 200 bars stored before the study's range
SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": START.isoformat(),
            "end": (T0 + timedelta(minutes=5 * 1199)).isoformat(), "leverage": 10.0, "sizing_mode": "kelly",
            "kelly_fraction": 0.5, "allocation": None, "take_profit_pct": None, "stop_loss_pct": None,
            "initial_capital": 500.0, "maker_fee": 0.0002, "taker_fee": 0.0006, "funding": False}


@pytest.fixture
def seen(db, monkeypatch):
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", base_coin="ETH")
    seed_candles(1200)
    seed_candles(1200, seed=11, symbol="ETHUSDT", price=3000.0)
    cls = registry.get("chandelier")
    monkeypatch.setattr(cls, "context_needs", lambda self, *, symbol: ContextNeeds(other_symbols=("ETHUSDT",),
                                                                                  higher_timeframes=("1h",)))
    monkeypatch.setattr(cls, "warmup_bars_at", lambda self, timeframe: WARMUP)
    calls = []
    real = cls._compute

    def spy(self, candles, context):
        calls.append((candles, context))
        return real(self, candles, context)

    monkeypatch.setattr(cls, "_compute", spy)
    return calls


@pytest.mark.parametrize(("start", "end", "warmup"), [(0, 300, WARMUP), (400, 1000, WARMUP), (0, 300, 500)])
def test_a_trial_window_gets_the_declared_warmup_and_context_as_the_reader_gives_them(seen, monkeypatch, start,
                                                                                       end, warmup):
    from trading.services.backtest_settings import clean_backtest_inputs

    monkeypatch.setattr(registry.get("chandelier"), "warmup_bars_at", lambda self, timeframe: warmup)
    _p, clean = clean_backtest_inputs(strategy="chandelier", params={}, settings=SETTINGS)
    problem = build_problem(strategy="chandelier", settings=clean)
    assert problem.candles.index[0] == pd.Timestamp(START) and len(problem.candles) == 1000
    signals = problem.signals({"length": 14}, start, end)
    assert list(signals.index) == list(problem.candles.index[start:end])
    [(candles, context)] = seen
    # The warm-up: ``warmup`` bars before the window, read from before the study's range for the first window
    # (200 bars are stored before it: a longer warm-up gets those).
    got = min(warmup, 200 + start)
    assert candles.index[0] == problem.candles.index[start] - timedelta(minutes=5 * got)
    assert candles.index[-1] == problem.candles.index[end - 1] and len(candles) == end - start + got
    # The context: the partner over the same span, the hourly bars closed by the window's last bar.
    assert list(context.other) == ["ETHUSDT"] and list(context.higher) == ["1h"]
    assert list(context.other["ETHUSDT"].index) == list(candles.index)
    assert context.higher["1h"].index[-1] + timedelta(hours=1) <= candles.index[-1] + timedelta(minutes=5)
    # Exactly what the one reader reads straight from the store for this window (no span cache).
    direct = read_strategy_inputs(strategy=registry.get("chandelier")(length=14), symbol="BTCUSDT", timeframe="5m",
                                  start=problem.candles.index[start].to_pydatetime(),
                                  end=problem.candles.index[end - 1].to_pydatetime())
    pd.testing.assert_frame_equal(candles, direct.candles)
    pd.testing.assert_frame_equal(context.other["ETHUSDT"], direct.context.other["ETHUSDT"])
    pd.testing.assert_frame_equal(context.higher["1h"], direct.context.higher["1h"])
