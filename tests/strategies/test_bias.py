"""The bias checks of strategies/algos/bias.py on planted-bias strategies (issue 12's fixtures): a strategy peeking
one bar ahead fails lookahead, one anchored at the data start (running max since bar 0) fails window independence,
both naming the bar an independent calculation in the test expects; a clean rolling strategy passes both."""

import numpy as np
import pandas as pd
import pytest

from strategies.algos import bias
from strategies.algos.base import ContextNeeds, Strategy, StrategyContext, make_signal_frame


def _walk(n=3000, seed=7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.r_[100.0, close[:-1]]
    idx = pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC", name="open_time")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.001,
                         "low": np.minimum(open_, close) * 0.999, "close": close,
                         "volume": rng.uniform(1, 5, n)}, index=idx)


class _Base(Strategy):
    label = "planted"
    default_sizing = None  # not used by the checks

    def warmup_bars(self) -> int:
        return 50


class PeekAhead(_Base):
    """signal = sign(close[t+1] - close[t]): reads the next bar (shift(-1))."""

    name = "peek"

    def _compute(self, candles, context):
        nxt = candles["close"].shift(-1)
        return make_signal_frame(candles.index, np.sign(np.nan_to_num(nxt - candles["close"])).astype(np.int8),
                                 forecast=nxt.to_numpy())


class RunningMax(_Base):
    """+1 at a new high since bar 0 (cummax): causal, but anchored at the data's first bar."""

    name = "runmax"

    def _compute(self, candles, context):
        top = candles["close"].cummax().to_numpy()
        return make_signal_frame(candles.index, (candles["close"].to_numpy() >= top).astype(np.int8), forecast=top)


class RollingMax(_Base):
    """+1 at a new 20-bar high: causal and window independent after 20 bars."""

    name = "rollmax"

    def _compute(self, candles, context):
        top = candles["close"].rolling(20).max().to_numpy()
        with np.errstate(invalid="ignore"):
            sig = (candles["close"].to_numpy() >= top).astype(np.int8)
        return make_signal_frame(candles.index, sig, forecast=top)


class Noisy(_Base):
    name = "noisy"

    def _compute(self, candles, context):
        return make_signal_frame(candles.index, np.zeros(len(candles), np.int8),
                                 forecast=np.random.default_rng().normal(size=len(candles)))


@pytest.fixture(scope="module")
def candles():
    return _walk()


def test_shift_minus_one_fails_lookahead_at_the_prefix_end(candles):
    res = bias.lookahead_check(PeekAhead(), candles, cut_points=[1000, 2000])
    assert not res.passed
    # the prefix's last bar has no next bar: its forecast is NaN where the full run has close[1000]
    first = res.failures[0]
    assert first.bar_time == candles.index[999]
    assert first.column == "signal" or first.column == "forecast"
    assert {f.bar_time for f in res.failures} == {candles.index[999], candles.index[1999]}
    assert res.stats["rows_failed"] == 2
    assert str(candles.index[999]) in res.detail


def test_running_max_fails_window_independence_at_the_expected_bar(candles):
    strat = RunningMax()
    warm, window = strat.warmup_bars(), strat.warmup_bars() + 10
    res = bias.window_independence_check(strat, candles, positions=500, window=window)
    assert not res.passed
    # independent reference: a window [s, s+window) disagrees at row t (t >= s + warm) where the max since bar s
    # is below the max since bar 0
    close = candles["close"].to_numpy()
    ends = bias.window_positions(len(close), window, 500)
    assert len(ends) == 500
    bad = set()
    for e in ends:
        s = e - window
        since_s = np.maximum.accumulate(close[s:e])
        since_0 = np.maximum.accumulate(close)[s:e]
        bad |= {candles.index[s + i] for i in range(warm, window) if since_s[i] != since_0[i]}
    assert res.failures[0].bar_time == min(bad)
    assert res.stats["rows_failed"] > 0 and res.stats["positions"] == 500
    assert res.stats["rows_compared"] == 500 * 10


def test_running_max_passes_lookahead_and_peek_fails_windows_too(candles):
    assert bias.lookahead_check(RunningMax(), candles, cut_points=[100, 1500, 2999]).passed
    assert not bias.window_independence_check(PeekAhead(), candles, positions=50).passed


def test_rolling_strategy_passes_both(candles):
    strat = RollingMax()
    la = bias.lookahead_check(strat, candles, cut_points=[30, 999, 2500])
    wi = bias.window_independence_check(strat, candles, positions=500, window=80)
    assert la.passed and wi.passed, (la.detail, wi.detail)
    assert wi.stats["rows_compared"] == 500 * 30 and wi.stats["equal_rate"] == 1.0
    # a warm-up shorter than the rolling window is caught: rows 0..18 of a window are NaN, the full run's are not
    short = bias.window_independence_check(strat, candles, positions=20, window=40, warmup=10)
    assert not short.passed


def test_determinism_and_speed(candles):
    assert bias.determinism_check(RollingMax(), candles).passed
    noisy = bias.determinism_check(Noisy(), candles)
    assert not noisy.passed and noisy.failures[0].column == "forecast"
    fast = bias.speed_check(RollingMax(), candles, min_bars_per_second=100.0)
    assert fast.passed and fast.stats["bars_per_second"] > 100.0
    assert not bias.speed_check(RollingMax(), candles, min_bars_per_second=1e15).passed


def test_window_context_is_cut_to_the_span_and_json_is_plain(candles):
    other = _walk(seed=8)
    ctx = StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": other},
                          higher={"1h": other.resample("1h").last()})
    cut = bias.context_window(ctx, candles.index[100], candles.index[199])
    assert len(cut.other["ETHUSDT"]) == 100 and cut.other["ETHUSDT"].index[0] == candles.index[100]
    assert cut.higher["1h"].index[0] >= candles.index[100] and cut.higher["1h"].index[-1] <= candles.index[199]
    res = bias.lookahead_check(PeekAhead(), candles, cut_points=[500])
    js = res.to_json()
    assert js["passed"] is False and js["failures"][0]["bar_time"] == candles.index[499].isoformat()
    assert js["failures"][0]["window_value"] is None or isinstance(js["failures"][0]["window_value"], (int, float))
    assert ContextNeeds() == ContextNeeds((), ())


def test_bad_arguments_are_named(candles):
    with pytest.raises(ValueError, match="cut_points"):
        bias.lookahead_check(RollingMax(), candles, cut_points=[0])
    with pytest.raises(ValueError, match="window 30 must be longer than the warm-up 50"):
        bias.window_independence_check(RollingMax(), candles, window=30)
    with pytest.raises(ValueError, match="longer than the data"):
        bias.window_independence_check(RollingMax(), candles.iloc[:40], window=60)
