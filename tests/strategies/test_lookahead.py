"""The shared lookahead test (DESIGN section 2): for every registered strategy, the rows computed on a prefix of
the data equal the same rows computed on all of it (``bias.lookahead_check`` with no tolerance: bit for bit). Lorentzian ``pine`` mode is exempt
by design (its training set is the oldest maxBarsBack bars of whatever data it gets); ``rolling`` must pass."""

import pandas as pd
import pytest

from strategies.algos import bias, registry
from strategies.algos.base import StrategyContext
from strategies.algos.drift.filters import resample_closed

pytestmark = pytest.mark.realdata

N_BARS = 8000  # past the longest declared warm-up (logistic, 4,844 bars), so every strategy signals
PREFIXES = (1000, 2345, 3001, 5555, 7999)


@pytest.fixture(scope="module")
def data(btc_all, eth_all):
    return btc_all.iloc[:N_BARS], eth_all.iloc[:N_BARS]


def _contexts(btc, eth):
    # the context deliberately holds the FULL partner and hourly data: a strategy must not read past bar t
    return [StrategyContext("BTCUSDT", "5m"),
            StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": eth},
                            higher={"1h": resample_closed(btc, pd.Timedelta("1h"))})]


@pytest.mark.parametrize("name", list(registry.all()))
def test_prefix_rows_equal_full_rows(data, name):
    btc, eth = data
    cls = registry.get(name)
    params = {"neighbors": "rolling"} if name == "lorentzian" else {}
    strat = cls(**params)
    for ctx in _contexts(btc, eth) if name == "drift" else [None]:
        full = strat.compute(btc, ctx)
        assert (full["signal"] != 0).sum() > 50, "a strategy with no signals would pass vacuously"
        res = bias.lookahead_check(strat, btc, ctx, cut_points=PREFIXES, rtol=0.0, atol=0.0, full=full)
        assert res.passed, res.detail
        assert res.stats["rows_compared"] == sum(PREFIXES)


def test_pine_mode_is_exempt_because_it_does_depend_on_length(data):
    btc, _ = data
    strat = registry.get("lorentzian")(neighbors="pine")
    full, part = strat.compute(btc), strat.compute(btc.iloc[:3001])
    assert not part["prediction"].equals(full["prediction"].iloc[:3001])
