"""Fees (maker/taker by order kind) and funding (size * mark * rate; longs pay when rate > 0)."""

import numpy as np
import pandas as pd
import pytest

from trading.engine.fees import FeeSchedule, liquidity_for
from trading.engine.funding import funding_payment, funding_per_bar


def test_default_rates_and_fee():
    fees = FeeSchedule()
    assert (fees.maker, fees.taker) == (0.0002, 0.0006)
    # 0.01 BTC @ 60,000 = 600 notional: taker 600 * 0.0006 = 0.36; maker 600 * 0.0002 = 0.12
    assert fees.fee(0.01, 60_000, "taker") == pytest.approx(0.36)
    assert fees.fee(0.01, 60_000, "maker") == pytest.approx(0.12)
    assert FeeSchedule(maker=0.0001, taker=0.00055).fee(1, 1000, "taker") == pytest.approx(0.55)


def test_liquidity_by_order_kind():
    assert liquidity_for("Market") == "taker"
    assert liquidity_for("Limit") == "maker"
    assert liquidity_for("Limit", triggered_stop=True) == "taker"


def test_fee_schedule_rejects_nonsense():
    with pytest.raises(ValueError, match="taker"):
        FeeSchedule(taker=0.5)


def test_funding_payment_signs():
    # 0.5 BTC, mark 100,000, rate 0.01 %: 0.5 * 100,000 * 0.0001 = 5 -> long pays 5, short receives 5
    assert funding_payment("long", 0.5, 100_000, 0.0001) == pytest.approx(5.0)
    assert funding_payment("short", 0.5, 100_000, 0.0001) == pytest.approx(-5.0)
    # negative rate: shorts pay
    assert funding_payment("short", 0.5, 100_000, -0.0002) == pytest.approx(10.0)


def test_funding_series_lands_on_bar_opens():
    times = pd.date_range("2025-01-01 06:00", periods=30, freq="30min", tz="UTC")
    ns = times.as_unit("ns").asi8
    rates = pd.Series([0.0001, -0.0002], index=pd.DatetimeIndex(["2025-01-01 08:00", "2025-01-01 16:00"], tz="UTC"))
    mark = pd.DataFrame({"open": [50_000.0, 51_000.0]}, index=pd.DatetimeIndex(
        ["2025-01-01 08:00", "2025-01-01 09:00"], tz="UTC"))
    rate, m = funding_per_bar(ns, rates=rates, mark=mark)
    # 08:00 is bar 4 (06:00 + 4 * 30 min); 16:00 is bar 20
    assert np.flatnonzero(~np.isnan(rate)).tolist() == [4, 20]
    assert rate[4] == 0.0001 and rate[20] == -0.0002
    assert m[4] == 50_000.0 and m[20] == 51_000.0  # as-of mark open


def test_constant_rate_every_interval():
    times = pd.date_range("2025-01-01 00:00", periods=49, freq="1h", tz="UTC")
    rate, _ = funding_per_bar(times.as_unit("ns").asi8, constant_rate=0.0001, interval_minutes=480)
    # 00, 08, 16, 24, 32, 40, 48 hours -> 7 bars
    assert np.flatnonzero(~np.isnan(rate)).tolist() == [0, 8, 16, 24, 32, 40, 48]
