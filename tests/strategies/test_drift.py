"""Drift forecaster layers with known answers, and the strategy's gating and context rules."""

import math

import numpy as np
import pandas as pd
import pytest

from strategies.algos.base import StrategyContext
from strategies.algos.drift import filters, layers
from strategies.algos.drift.kalman import kalman_smoother
from strategies.algos.drift.strategy import DriftStrategy, drift_layers


def test_straight_line_in_log_price():
    # log p = ln 100 + s t: the constant-acceleration filter tracks a ramp with zero steady-state error,
    # so v -> s, a -> 0 and log(1 + drift) = level + v h - log p = s h
    s, h = 2e-4, 12
    logp = math.log(100.0) + s * np.arange(3000)
    level, vel, acc, _ = kalman_smoother(logp, 1e-6, 1e-3)
    assert abs(vel[-1] - s) < 1e-10 and abs(acc[-1]) < 1e-12 and abs(level[-1] - logp[-1]) < 1e-10
    out = drift_layers(np.exp(logp), h, 1e-6, 1e-3)
    assert math.log1p(out["drift"][-1]) == pytest.approx(s * h, rel=1e-6)
    assert out["confidence"][-1] > 0.99


def test_parabola_gives_its_acceleration():
    # log p = c0 + c1 t + c2 t^2: velocity at t = c1 + 2 c2 t, acceleration 2 c2,
    # Taylor log-drift = v h + a h^2 / 2 = (c1 + 2 c2 t) h + c2 h^2 = exactly log p(t+h) - log p(t)
    c1, c2, h = 1e-4, 2e-8, 12
    t = np.arange(4000)
    logp = 11.0 + c1 * t + c2 * t ** 2
    level, vel, acc, _ = kalman_smoother(logp, 1e-6, 1e-3)
    assert acc[-1] == pytest.approx(2 * c2, rel=1e-4)
    assert vel[-1] == pytest.approx(c1 + 2 * c2 * t[-1], rel=1e-6)
    _, drift = layers.taylor_forecast(level, vel, acc, np.exp(logp), h)
    assert math.log1p(drift[-1]) == pytest.approx((c1 + 2 * c2 * t[-1]) * h + c2 * h * h, rel=1e-5)


def test_half_life_formula_and_ar1_fit():
    # b = 0.9: half-life = -ln 2 / ln 0.9 = 0.693147 / 0.105361 = 6.5788 bars
    assert layers.half_life(np.array([0.9]))[0] == pytest.approx(6.5788, abs=1e-4)
    np.testing.assert_array_equal(np.isnan(layers.half_life(np.array([0.0, 1.0, 1.2, -0.5, 0.5]))),
                                  [True, True, True, True, False])
    rng = np.random.default_rng(3)
    x = np.zeros(20000)
    for t in range(1, len(x)):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    b = layers.ar1_coefficient(x, 19000)
    assert np.isnan(b[18999]) and b[-1] == pytest.approx(0.9, abs=0.01)
    assert layers.half_life(b)[-1] == pytest.approx(6.58, abs=0.7)


def test_velocity_confidence():
    # erf(snr / sqrt 2): snr 1 -> 0.682689, snr 2 -> 0.954500, snr 0 -> 0
    conf, snr = layers.velocity_confidence(np.array([1.0, -4.0, 0.0]), np.array([1.0, 4.0, 1.0]))
    np.testing.assert_allclose(snr, [1.0, 2.0, 0.0])
    np.testing.assert_allclose(conf, [0.682689, 0.954500, 0.0], atol=1e-6)


def _frame(close, high=None, low=None, volume=None, start="2025-01-01", freq="5min"):
    close = np.asarray(close, dtype=float)
    idx = pd.date_range(start, periods=len(close), freq=freq, tz="UTC")
    return pd.DataFrame({"open": close, "high": close if high is None else high,
                         "low": close if low is None else low, "close": close,
                         "volume": np.ones(len(close)) if volume is None else volume}, index=idx)


def test_order_flow_clv_and_taker_volume():
    # bar: h 10, l 0, c 7.5 -> CLV = ((7.5-0) - (10-7.5)) / 10 = 0.5; volume 4 -> flow = 0.5*4/4 = 0.5
    f = _frame([7.5], high=[10.0], low=[0.0], volume=[4.0])
    flow, src = filters.order_flow(f, 1)
    assert src == "clv" and flow[0] == pytest.approx(0.5)
    # taker buys 1 of 4 -> (2*1 - 4) / 4 = -0.5
    f["taker_buy_volume"] = 1.0
    flow, src = filters.order_flow(f, 1)
    assert src == "taker_buy_volume" and flow[0] == pytest.approx(-0.5)


def test_hourly_bar_counts_only_once_closed():
    f = _frame(np.arange(1.0, 25.0))  # 24 five-minute bars: 00:00 .. 01:55
    hourly = filters.resample_closed(f, pd.Timedelta("1h"))
    assert hourly["close"].tolist() == [12.0, 24.0]
    vals = filters.align_closed(hourly["close"], pd.Timedelta("1h"), f.index, pd.Timedelta("5min"))
    # hour 0 closes at 01:00, i.e. at the close of the 00:55 bar (row 11); hour 1 at the close of row 23
    assert np.isnan(vals[:11]).all() and (vals[11:23] == 12.0).all() and vals[23] == 24.0


def test_partner_symbol():
    assert filters.partner_symbol("BTCUSDT") == "ETHUSDT" and filters.partner_symbol("SOLUSDT") == "BTCUSDT"


def _rising(n=1500):
    return _frame(100 * np.exp(3e-4 * np.arange(n) + 1e-4 * np.sin(np.arange(n))),
                  high=None, low=None)


def test_entry_gating_and_cross_asset_rules():
    up = _rising()
    up["high"], up["low"] = up["close"] * 1.001, up["close"] * 0.999
    up["open"] = up["close"] * 0.9995  # closes near the high: buying pressure
    s = DriftStrategy(use_order_flow=True)
    alone = s.compute(up, StrategyContext("BTCUSDT", "5m"))
    assert not alone["cross_available"].any() and alone["cross_pass"].all()  # neutral without the partner
    assert (alone["signal"].iloc[200:] == 1).mean() > 0.9
    gate = (alone["drift"].abs() > 0.002) & (alone["confidence"] >= 0.6) & alone["order_flow_pass"] & alone["htf_pass"]
    assert np.array_equal(alone["signal"] != 0, gate)
    falling = up.copy()
    falling["close"] = 1e4 / up["close"]
    with_partner = s.compute(up, StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": falling}))
    assert with_partner["cross_available"].all()
    assert (with_partner["signal"].iloc[200:] == 0).all()  # the partner's drift disagrees
    assert (with_partner["half_life"].dropna() == with_partner["half_life_bars"].dropna() * 300).all()


def test_given_hourly_frame_equals_resampled():
    f = _rising(3000)
    hourly = filters.resample_closed(f, pd.Timedelta("1h"))
    s = DriftStrategy()
    a = s.compute(f, StrategyContext("BTCUSDT", "5m"))
    b = s.compute(f, StrategyContext("BTCUSDT", "5m", higher={"1h": hourly}))
    pd.testing.assert_frame_equal(a, b)
    assert a["htf_drift"].notna().sum() > 2000


@pytest.mark.realdata
def test_real_data_layers(btc5000):
    f = DriftStrategy().compute(btc5000)
    assert (f["signal"] == 1).sum() > 50 and (f["signal"] == -1).sum() > 50
    hl = f["half_life_bars"].dropna()
    assert len(hl) > 4000 and 1 < hl.median() < 200
    assert f["confidence"].between(0, 1).all()
