"""Margin math against the spec's worked cases (specs/bybit.md §4) and mirrored short cases by hand."""

from decimal import ROUND_HALF_UP, Decimal

import pytest

from trading.engine import margin
from trading.engine.instruments import BTCUSDT


def test_help_centre_long_1btc_20000_50x():
    # IM = 20,000 / 50 = 400; MM = 20,000 * 0.005 = 100
    # liq = 20,000 - (400 - 100)/1 = 19,700; bankruptcy = 20,000 * (1 - 1/50) = 19,600
    f = margin.figures(BTCUSDT, "Buy", 1.0, 20_000, 50)
    assert f.initial_margin == pytest.approx(400)
    assert f.maintenance_margin == pytest.approx(100)
    assert f.liquidation_price == pytest.approx(19_700)
    assert f.bankruptcy_price == pytest.approx(19_600)


def test_long_001_at_65011_10x_and_the_specs_rounding():
    # liq = 65,011 * (1 - 0.1 + 0.005) = 65,011 * 0.905 = 58,834.955 exactly; the spec shows 58,834.96,
    # i.e. the exact value rounded half-up to cents. bankruptcy = 65,011 * 0.9 = 58,509.9
    liq = margin.liquidation_price(BTCUSDT, "Buy", 0.01, 65_011, 10)
    assert liq == pytest.approx(58_834.955, abs=1e-6)
    exact = Decimal("65011") * Decimal("0.905")
    assert exact == Decimal("58834.955")
    assert exact.quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal("58834.96")
    assert margin.bankruptcy_price("Buy", 65_011, 10) == pytest.approx(58_509.9)


def test_short_1btc_20000_50x_mirrored():
    # liq = 20,000 + (400 - 100)/1 = 20,300; bankruptcy = 20,000 * (1 + 1/50) = 20,400
    assert margin.liquidation_price(BTCUSDT, "Sell", 1.0, 20_000, 50) == pytest.approx(20_300)
    assert margin.bankruptcy_price("Sell", 20_000, 50) == pytest.approx(20_400)


def test_short_001_at_65011_10x():
    # liq = 65,011 * (1 + 0.1 - 0.005) = 65,011 * 1.095 = 71,187.045; bankruptcy = 65,011 * 1.1 = 71,512.1
    assert margin.liquidation_price(BTCUSDT, "Sell", 0.01, 65_011, 10) == pytest.approx(71_187.045)
    assert margin.bankruptcy_price("Sell", 65_011, 10) == pytest.approx(71_512.1)


def test_tier2_uses_mm_deduction():
    # 50 BTC @ 44,000 = PV 2,200,000 -> tier 2 (MMR 0.56 %, deduction 1,200), 50x:
    # IM = 44,000; MM = 2,200,000 * 0.0056 - 1,200 = 12,320 - 1,200 = 11,120
    # long liq = 44,000 - (44,000 - 11,120)/50 = 44,000 - 657.6 = 43,342.4
    # short liq = 44,000 + 657.6 = 44,657.6
    assert margin.maintenance_margin(BTCUSDT, 50, 44_000) == pytest.approx(11_120)
    assert margin.liquidation_price(BTCUSDT, "Buy", 50, 44_000, 50) == pytest.approx(43_342.4)
    assert margin.liquidation_price(BTCUSDT, "Sell", 50, 44_000, 50) == pytest.approx(44_657.6)


def test_fee_to_close_and_order_cost():
    # long 1 @ 20,000 50x, taker 0.06 %: fee to close = 1 * 19,600 * 0.0006 = 11.76
    # order cost = IM 400 + open fee 20,000 * 0.0006 = 12 + 11.76 = 423.76
    assert margin.fee_to_close("Buy", 1, 20_000, 50, 0.0006) == pytest.approx(11.76)
    assert margin.order_cost("Buy", 1, 20_000, 50, 0.0006) == pytest.approx(423.76)
    # short: fee to close = 20,400 * 0.0006 = 12.24; cost = 400 + 12 + 12.24 = 424.24
    assert margin.order_cost("Sell", 1, 20_000, 50, 0.0006) == pytest.approx(424.24)


def test_extra_margin_moves_liq_away():
    # long 1 @ 20,000 50x with 100 extra margin: liq = 19,700 - 100/1 = 19,600
    assert margin.liquidation_price(BTCUSDT, "Buy", 1, 20_000, 50, extra_margin=100) == pytest.approx(19_600)


def test_stop_loss_strictly_before_liquidation():
    assert margin.stop_loss_before_liquidation("Buy", 19_701, 19_700)
    assert not margin.stop_loss_before_liquidation("Buy", 19_700, 19_700)
    assert not margin.stop_loss_before_liquidation("Buy", 19_650, 19_700)
    assert margin.stop_loss_before_liquidation("Sell", 20_299, 20_300)
    assert not margin.stop_loss_before_liquidation("Sell", 20_300, 20_300)
    with pytest.raises(ValueError, match="side"):
        margin.stop_loss_before_liquidation("up", 1, 2)
