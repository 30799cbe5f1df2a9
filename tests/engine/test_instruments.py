"""Instruments: mmDeduction per spec, tier choice by notional, rounding helpers and Decimal strings."""

import pytest

from trading.engine.instruments import BTC_TIERS, BTCUSDT, BTCUSDT_FINE, ETHUSDT, build_tiers
from trading.engine.rounding import floor_to_step, snap_to_tick, to_decimal_str


def test_btc_tier2_deduction_from_spec_formula():
    # mmDeduction_2 = RL_1 * (MMR_2 - MMR_1) + mmDeduction_1 = 2,000,000 * (0.0056 - 0.005) + 0 = 1,200
    assert BTC_TIERS[0].mm_deduction == 0.0
    assert BTC_TIERS[1].mm_deduction == pytest.approx(1200.0, abs=1e-6)
    assert BTC_TIERS[0].max_leverage == 100.0
    assert BTC_TIERS[1].max_leverage == 90.0


def test_three_tier_deduction_accumulates():
    # tier 3: 1,000 * (0.03 - 0.02) + tier-2 deduction 100 * (0.02 - 0.01) = 10 + 1 = 11
    tiers = build_tiers([(100, 0.01, 0.02), (1000, 0.02, 0.04), (5000, 0.03, 0.05)])
    assert [t.mm_deduction for t in tiers] == pytest.approx([0.0, 1.0, 11.0])


def test_tier_chosen_by_position_value():
    assert BTCUSDT.tier_for(2_000_000).mmr == 0.005  # the limit itself is still tier 1
    assert BTCUSDT.tier_for(2_000_001).mmr == 0.0056
    assert BTCUSDT.tier_index(2_600_001) == -1
    with pytest.raises(ValueError, match="notional"):
        BTCUSDT.tier_for(3_000_000)


def test_qty_rounds_down_and_prices_snap():
    # 625 / 96,000 = 0.006510416... -> 0.00651 on a 0.00001 step, 0.006 on a 0.001 step
    assert BTCUSDT_FINE.round_qty(625 / 96000) == 0.00651
    assert BTCUSDT.round_qty(625 / 96000) == 0.006
    assert floor_to_step(0.003, 0.001) == 0.003  # 0.003/0.001 = 2.9999999999999996 in floats
    assert snap_to_tick(65011.04, 0.1) == 65011.0
    assert snap_to_tick(65011.06, 0.1) == 65011.1
    assert ETHUSDT.snap_price(2500.123) == 2500.12
    assert not BTCUSDT.qty_on_step(0.0015)
    assert BTCUSDT.qty_on_step(0.002)


def test_decimal_strings_never_use_exponents():
    assert str(0.00001) == "1e-05"  # the trap
    assert to_decimal_str(0.00001) == "0.00001"
    assert BTCUSDT_FINE.qty_str(0.00001) == "0.00001"
    assert BTCUSDT_FINE.qty_str(625 / 96000) == "0.00651"
    assert BTCUSDT.price_str(65000.0) == "65000.0"
    assert BTCUSDT.price_str(58834.955) == "58835.0"
    assert to_decimal_str(58834.955, "0.01") == "58834.96"


def test_tier_cap_is_the_exchanges_max_leverage_not_the_rounded_imr():
    # BTCUSDT tier 2 (2,000,000 < value <= 2,600,000): Bybit publishes maxLeverage 90 and IMR 0.0111 (rounded);
    # 1 / 0.0111 = 90.09, which would admit 90.05x. The cap is the published 90.
    from trading.engine.rules import LEVERAGE_ABOVE_TIER, OK, entry_check

    assert [t.max_leverage for t in BTC_TIERS] == [100.0, 90.0]
    risk_limits, _, _, caps = BTCUSDT.tier_arrays
    # 22 BTC at 100,000 = 2,200,000 notional -> tier 2; plenty of balance so only the cap can refuse
    args = (22.0, 100_000.0, 1.0)
    rest = (0.00055, 1e9, BTCUSDT.min_qty, 5.0, risk_limits, caps)
    assert entry_check(*args, 90.05, *rest) == LEVERAGE_ABOVE_TIER
    assert entry_check(*args, 90.0, *rest) == OK


def test_rows_without_a_published_cap_fall_back_to_truncated_inverse_imr():
    # 1 / 0.0111 = 90.0900.. truncated (never rounded up) to 90.09; 1 / 0.015 = 66.666.. -> 66.66
    tiers = build_tiers([(100, 0.005, 0.0111), (1000, 0.0075, 0.015)])
    assert [t.max_leverage for t in tiers] == [90.09, 66.66]


def test_built_in_tier_tables_equal_the_shipped_instruments_yaml():
    """One source of truth: the engine's offline defaults are the desk's configs/instruments.yaml."""
    from pathlib import Path

    import yaml

    from trading.engine.instruments import DEFAULT_INSTRUMENTS, parse_risk_tiers

    shipped = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "instruments.yaml").read_text())
    for symbol, inst in DEFAULT_INSTRUMENTS.items():
        assert parse_risk_tiers(shipped[symbol]["risk_tiers"]) == inst.tiers, symbol
        assert float(shipped[symbol]["max_leverage"]) == inst.max_leverage
