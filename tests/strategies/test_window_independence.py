"""Window independence (issue 10, DESIGN section 2) on real data: each shipped strategy, computed on the full
history and on 500 sliding live windows of its declared warm-up plus K bars (the context cut to each window's
span, as the live cycle reads it), gives the same rows after the warm-up: 100 % of rows, every column (discrete
columns exactly, floats to 1e-9 relative / 1e-10 absolute; ``strategies.algos.bias``).

The "full history" is the first 30,000 BTCUSDT 5-minute bars (with ETHUSDT as the drift forecaster's partner and
the hourly candles resampled from BTCUSDT): long enough for the drift forecaster's 15,204-bar warm-up, short
enough to stay within a few minutes for all four.
"""

import pytest

from strategies.algos import bias, registry
from strategies.algos.base import CORE_COLUMNS, StrategyContext
from strategies.algos.drift.filters import resample_closed

pytestmark = pytest.mark.realdata

N_BARS = 30_000
POSITIONS = 500
ROWS_PER_WINDOW = {"lorentzian": 12, "logistic": 40, "chandelier": 40, "drift": 20}


@pytest.fixture(scope="module")
def data(btc_all, eth_all):
    btc, eth = btc_all.iloc[:N_BARS], eth_all.iloc[:N_BARS]
    ctx = StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": eth}, higher={"1h": resample_closed(btc, "1h")})
    return btc, ctx


@pytest.mark.parametrize("name", list(registry.all()))
def test_every_live_window_equals_the_full_history_after_the_warm_up(data, name):
    btc, full_ctx = data
    strat = registry.get(name)()
    assert strat.window_independent()
    needs = strat.context_needs(symbol="BTCUSDT")
    ctx = StrategyContext("BTCUSDT", "5m", other={s: full_ctx.other[s] for s in needs.other_symbols},
                          higher={tf: full_ctx.higher[tf] for tf in needs.higher_timeframes})
    full = strat.compute(btc, ctx)
    warm = strat.warmup_bars()
    assert (full["signal"].iloc[warm:] != 0).sum() > 100, "a strategy without signals would pass vacuously"
    k = ROWS_PER_WINDOW[name]
    res = bias.window_independence_check(strat, btc, ctx, positions=POSITIONS, window=warm + k, full=full)
    print(f"\n{name}: warm-up {warm}: {res.detail}")
    assert res.stats["positions"] == POSITIONS and res.stats["rows_compared"] == POSITIONS * k
    assert res.passed, res.detail
    assert res.stats["equal_rate"] == 1.0
    # the live cycle's own window (warm-up + 1 bars) is the k = 1 case of the above: its last row is the one it acts on
    last = strat.compute(btc.iloc[-(warm + 1):], bias.context_window(ctx, btc.index[-(warm + 1)], btc.index[-1]))
    ok, failures = bias.compare_frames(full, last.iloc[-1:], columns=list(CORE_COLUMNS))
    assert ok.all(), failures


def test_drift_at_15_minutes_needs_a_third_of_the_bars(data):
    """A 15-minute config (the parity replay's) declares its warm-up in 15-minute bars: the hourly Kalman's
    settle time times 4, not 12, and its windows equal the full history after it."""
    btc, full_ctx = data
    strat = registry.get("drift")()
    assert strat.warmup_bars_at("15m") * 3 == strat.warmup_bars() == (strat.warmup_bars_at("1h")) * 12
    b15, e15 = (resample_closed(f, "15min") for f in (btc, full_ctx.other["ETHUSDT"]))
    ctx = StrategyContext("BTCUSDT", "15m", other={"ETHUSDT": e15}, higher={"1h": full_ctx.higher["1h"]})
    warm = strat.warmup_bars_at("15m")
    res = bias.window_independence_check(strat, b15, ctx, positions=POSITIONS, window=warm + 5)
    assert res.stats["warmup"] == warm and res.stats["positions"] == POSITIONS
    assert res.passed, res.detail


def test_drift_declares_its_partner_and_hourly_candles():
    strat = registry.get("drift")()
    assert strat.context_needs(symbol="BTCUSDT").other_symbols == ("ETHUSDT",)
    assert strat.context_needs(symbol="ETHUSDT").other_symbols == ("BTCUSDT",)
    assert strat.context_needs(symbol="BTCUSDT").higher_timeframes == ("1h",)
    bare = registry.get("drift")(use_cross_asset=False, use_htf_filter=False)
    assert bare.context_needs(symbol="BTCUSDT").other_symbols == ()
    assert bare.context_needs(symbol="BTCUSDT").higher_timeframes == ()
    # without the hourly filter the warm-up is the 5-minute Kalman's, twelve times shorter than the hourly one
    assert bare.warmup_bars() * 12 < strat.warmup_bars()
    for name in ("lorentzian", "logistic", "chandelier"):
        assert registry.get(name)().context_needs(symbol="BTCUSDT") == registry.get(name)().context_needs(
            symbol="ETHUSDT") == type(strat.context_needs(symbol="X"))()


def test_a_shorter_window_than_declared_is_caught(data):
    """The check has teeth on the shipped strategies too: half the Chandelier's warm-up leaves its ATR unsettled."""
    btc, _ = data
    strat = registry.get("chandelier")()
    warm = strat.warmup_bars() // 4
    res = bias.window_independence_check(strat, btc, positions=50, window=warm + 20, warmup=warm)
    assert not res.passed and res.stats["rows_failed"] > 0


def test_pine_mode_is_declared_and_found_window_dependent(data):
    btc, _ = data
    strat = registry.get("lorentzian")(neighbors="pine")
    assert not strat.window_independent()
    res = bias.window_independence_check(strat, btc.iloc[:12_000], positions=4, window=strat.warmup_bars() + 20,
                                         columns=["prediction"])
    assert not res.passed


@pytest.mark.parametrize("name", list(registry.all()))
def test_two_runs_are_identical(data, name):
    btc, ctx = data
    res = bias.determinism_check(registry.get(name)(), btc.iloc[:20_000], ctx)
    assert res.passed, res.detail


@pytest.mark.parametrize(("name", "params", "positions"), [
    ("chandelier", {"length": 50, "mult": 5.0}, 200),
    ("chandelier", {"length": 10, "mult": 1.5, "use_close": False}, 200),
    ("logistic", {"horizon": 24, "refit_every": 100, "window": 2000}, 100),
    ("drift", {"htf": "15m", "horizon": 48}, 100),
    ("lorentzian", {"use_dynamic_exits": True, "neighbors_count": 12, "max_bars_back": 1000}, 50),
    ("lorentzian", {"use_ema_filter": True, "use_adx_filter": True, "normalize_window": 500}, 50),
])
def test_warm_up_follows_the_parameters(data, name, params, positions):
    """The declared warm-up is derived from the parameters, not tuned to the defaults."""
    btc, full_ctx = data
    strat = registry.get(name)(**params)
    assert strat.warmup_bars() != registry.get(name)().warmup_bars()
    ctx = full_ctx if name == "drift" else None
    res = bias.window_independence_check(strat, btc, ctx, positions=positions, window=strat.warmup_bars() + 10)
    assert res.passed, res.detail
