"""Walk-forward: fold boundaries (test windows never see their train data), the stitched OOS equity is the
chain of the fold runs, and the known-answer pipeline runs: no edge on a random walk (PBO near one half,
DSR p-value above 0.05), a planted edge found out of sample (positive OOS return, PBO below 0.3)."""

import numpy as np
import pytest

from tests.research.synthetic import SPACE_RAW, LagMomentum, problem, series
from trading.research.evaluate import run_window
from trading.research.space import SearchSpace
from trading.research.walkforward import make_folds, optimise_fold, run_walkforward, split_folds


def _space():
    return SearchSpace.parse(SPACE_RAW, specs=LagMomentum.PARAMS, defaults={
        "leverage": 5, "sizing_mode": "fixed", "allocation": 0.5})


def test_rolling_and_anchored_folds():
    rolling = make_folds(100, train=40, test=20)
    assert [(f.train_start, f.train_end, f.test_start, f.test_end) for f in rolling] == [
        (0, 40, 40, 60), (20, 60, 60, 80), (40, 80, 80, 100)]
    anchored = make_folds(100, train=40, test=20, anchored=True)
    assert [(f.train_start, f.train_end) for f in anchored] == [(0, 40), (0, 60), (0, 80)]
    # 5 folds in 8000 bars at train_ratio 3: test = 8000 // 8 = 1000, train = 8000 - 5 * 1000 = 3000.
    five = split_folds(8000, folds=5)
    assert len(five) == 5 and five[0].train_end == 3000 and five[-1].test_end == 8000
    for f in five + rolling + anchored:
        assert f.train_start < f.train_end == f.test_start < f.test_end
    with pytest.raises(ValueError, match="train"):
        make_folds(50, train=40, test=20)


class SpyProblem(type(problem(series(10, seed=0)))):
    """Records every window the strategy is computed on."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.windows = []

    def signals(self, params, start, end):
        self.windows.append((start, end))
        return super().signals(params, start, end)


def test_test_windows_never_see_train_data_and_the_oos_curve_chains_the_folds():
    base = problem(series(24 * 200, seed=3, phi=0.2))
    spy = SpyProblem(base.strategy_cls, base.candles, base.instrument, base.base_config, symbol="BTCUSDT",
                     timeframe="1h", period_bars=24)
    folds = split_folds(len(spy.candles), folds=3)
    space = _space()
    # Optimising a fold touches its train window only.
    spy.windows.clear()
    optimise_fold(spy, space, folds[1], n_trials=5, seed=1)
    assert spy.windows and set(spy.windows) == {(folds[1].train_start, folds[1].train_end)}
    spy.windows.clear()
    res = run_walkforward(spy, space, folds, n_trials=6, seed=1, mc_simulations=100)
    test_windows = {(f.test_start, f.test_end) for f in folds}
    train_windows = {(f.train_start, f.train_end) for f in folds}
    assert set(spy.windows) == test_windows | train_windows
    index = spy.candles.index
    for fold, run in zip(folds, res.oos_runs, strict=True):
        assert (run.start, run.end) == (fold.test_start, fold.test_end)
        assert run.result.equity.index[0] == index[fold.test_start]           # no equity from warm-up bars
        assert run.result.equity.index[-1] == index[fold.test_end - 1]
        trades = run.result.trades
        if len(trades):
            assert trades["entry_time"].min() >= index[fold.test_start]      # no trade from warm-up bars
            assert trades["exit_time"].max() <= index[fold.test_end - 1]
        assert run.result.open_position is None                              # every fold ends flat
    # The stitched curve is the fold runs back to back, each starting where the previous one ended ...
    assert len(res.oos_equity) == sum(f.test_end - f.test_start for f in folds)
    for prev, nxt in zip(res.oos_runs, res.oos_runs[1:], strict=False):
        assert nxt.balance == pytest.approx(prev.final_balance)
    # ... its PnL is the sum of the fold runs' PnL, and re-running each fold alone reproduces it.
    s = res.summary
    assert s["oos_pnl"] == pytest.approx(sum(r.pnl for r in res.oos_runs))
    assert res.oos_equity.iloc[-1] == pytest.approx(s["initial_balance"] + s["oos_pnl"])
    balance = s["initial_balance"]
    for fold, row in zip(folds, res.folds, strict=True):
        from trading.research.space import Candidate

        again = run_window(base, Candidate(row["params"], row["config"]), start=fold.test_start, end=fold.test_end,
                           balance=balance)
        assert again.pnl == pytest.approx(row["oos_pnl"])
        balance = again.final_balance
    assert balance == pytest.approx(s["final_balance"])


def _run(seed, phi):
    p = problem(series(24 * 400, seed=seed, phi=phi))
    return run_walkforward(p, _space(), split_folds(len(p.candles), folds=4), n_trials=24, sampler="random", seed=5,
                           mc_simulations=100)


def test_no_edge_on_a_random_walk():
    # PBO of noise is a coin flip per CSCV split: its expectation is 1/2 and one series scatters around it
    # (seeds 0-7 gave 0.35-0.67), so the test averages three seeded walks and also bounds each one.
    results = [_run(seed, 0.0).summary for seed in (0, 1, 2)]
    pbos = [s["pbo"] for s in results]
    assert 0.3 <= float(np.mean(pbos)) <= 0.7, pbos
    assert all(0.2 <= x <= 0.8 for x in pbos), pbos
    assert all(s["dsr"]["p_value"] > 0.05 for s in results), [s["dsr"] for s in results]


def test_a_planted_edge_is_found_out_of_sample():
    # r_t = 0.15 r_(t-1) + noise: yesterday's direction carries over, so short-lookback momentum earns.
    for seed in (0, 1):
        res = _run(seed, 0.15)
        s = res.summary
        assert s["oos_return"] > 0
        assert s["pbo"] < 0.3, s["pbo"]
        assert all(not row["params"]["invert"] for row in res.folds)  # momentum, not reversal, wins each fold


def test_a_searched_leverage_keeps_every_candidate_inside_its_band():
    from trading.engine.sizing import validate_sizing

    space = SearchSpace.parse({"params": {"lookback": {"low": 1, "high": 8}},
                               "leverage": {"values": [3, 10, 25, 50, 100]},
                               "stop_loss_pct": {"low": 0.2, "high": 20.0}},
                              specs=LagMomentum.PARAMS, defaults={"leverage": 100, "sizing_mode": "fixed",
                                                                  "allocation": 0.03})
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(60):
        c = space.suggest(study.ask())
        lev = c.config["leverage"]
        seen.add(lev)
        validate_sizing(mode="fixed", leverage=lev, allocation=c.config["allocation"], initial_capital=500)
        # the stop stays inside the liquidation distance 1/lev - MMR 0.005 (90 % of it at most)
        assert c.config["stop_loss_pct"] <= 0.9 * (1 / lev - 0.005) + 1e-12
    assert seen == {3, 10, 25, 50, 100}


def test_the_grid_sampler_covers_its_grid_once_through_ask_and_tell():
    # Optuna's GridSampler stops the study once the grid is covered, which raises outside optimize(): the
    # ask/tell loop (and the Celery steps) must still finish its last trial.
    space = SearchSpace.parse({"params": {"lookback": {"values": [1, 2, 4]}, "invert": {"values": [False, True]}}},
                              specs=LagMomentum.PARAMS, defaults={"leverage": 5, "sizing_mode": "fixed",
                                                                   "allocation": 0.5})
    p = problem(series(24 * 60, seed=0, phi=0.0))
    [fold] = split_folds(len(p.candles), folds=1)
    records = optimise_fold(p, space, fold, n_trials=50, sampler="grid", seed=0)
    assert sorted((r.candidate.params["lookback"], r.candidate.params["invert"]) for r in records) == \
        [(lb, inv) for lb in (1, 2, 4) for inv in (False, True)]
