"""Sizing: Kelly and fixed allocation (DESIGN.md §3), bands, rejections naming field and limit."""

import pytest

from trading.engine.instruments import BTCUSDT, BTCUSDT_FINE
from trading.engine.sizing import LEVERAGE_BANDS, SizingError, size_fixed, size_kelly, validate_sizing


def test_kelly_worked_example():
    # notional = 25 * 0.5 * 50 = 625; margin = 625 / 50 = 12.50; qty = 625 / 96,000 = 0.0065104 -> 0.00651
    r = size_kelly(balance=25, kelly_fraction=0.5, leverage=50, price=96_000, instrument=BTCUSDT_FINE)
    assert r.notional == 625.0
    assert r.margin == 12.5
    assert r.qty == 0.00651
    assert r.ok and r.reason == ""


def test_kelly_below_min_qty_is_no_order_with_reason():
    # balance 1: notional 1 * 0.5 * 50 = 25; 25 / 96,000 = 0.00026 -> 0 on the 0.001 step, below min 0.001
    r = size_kelly(balance=1, kelly_fraction=0.5, leverage=50, price=96_000, instrument=BTCUSDT)
    assert r.qty == 0 and not r.ok
    assert "below min_qty 0.001" in r.reason


def test_below_min_notional_is_no_order():
    # fine instrument: 0.2 * 0.5 * 50 = 5 USDT notional -> qty 0.00005 at 96,000 = 4.80 < 5
    r = size_kelly(balance=0.2, kelly_fraction=0.5, leverage=50, price=96_000, instrument=BTCUSDT_FINE)
    assert r.qty == 0 and "below min_notional 5" in r.reason


def test_fixed_allocation():
    # margin = 500 * 0.03 = 15; notional = 15 * 100 = 1,500; qty = 1,500 / 60,000 = 0.025
    r = size_fixed(initial_capital=500, allocation=0.03, leverage=100, price=60_000, instrument=BTCUSDT)
    assert r.margin == pytest.approx(15.0)
    assert r.notional == pytest.approx(1500.0)
    assert r.qty == 0.025


def test_band_table():
    assert LEVERAGE_BANDS == ((50.0, 125.0, 0.01, 0.10), (20.0, 49.0, 0.10, 0.20), (1.0, 19.0, 0.20, 1.00))


@pytest.mark.parametrize(
    ("leverage", "allocation", "message"),
    [
        (75, 0.15, "allocation: 0.15 is outside 0.01..0.10 allowed at 75x leverage"),
        (30, 0.05, "allocation: 0.05 is outside 0.10..0.20 allowed at 30x leverage"),
        (10, 0.1, "allocation: 0.1 is outside 0.20..1.00 allowed at 10x leverage"),
    ],
)
def test_allocation_outside_band_rejected(leverage, allocation, message):
    with pytest.raises(SizingError) as err:
        validate_sizing(mode="fixed", leverage=leverage, initial_capital=500, allocation=allocation)
    assert err.value.field == "allocation"
    assert str(err.value) == message
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(("leverage", "allocation"), [(75, 0.05), (50, 0.07), (100, 0.03), (20, 0.1), (1, 1.0)])
def test_design_defaults_pass(leverage, allocation):
    validate_sizing(mode="fixed", leverage=leverage, initial_capital=500, allocation=allocation, instrument=BTCUSDT)


def test_leverage_above_instrument_max_rejected_not_clipped():
    with pytest.raises(SizingError, match="leverage: 125 exceeds BTCUSDT's maximum 100x") as err:
        validate_sizing(mode="fixed", leverage=125, instrument=BTCUSDT, initial_capital=500, allocation=0.05)
    assert err.value.field == "leverage"


@pytest.mark.parametrize("fraction", [0, -0.1, 1.01])
def test_kelly_fraction_must_be_in_0_1(fraction):
    with pytest.raises(SizingError) as err:
        validate_sizing(mode="kelly", leverage=50, kelly_fraction=fraction)
    assert err.value.field == "kelly_fraction"


def test_kelly_fraction_one_allowed_and_bad_mode_rejected():
    validate_sizing(mode="kelly", leverage=50, kelly_fraction=1.0)
    with pytest.raises(SizingError) as err:
        validate_sizing(mode="martingale", leverage=50)
    assert err.value.field == "mode"
