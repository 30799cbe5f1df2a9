"""Parsing the desk's configurable tables: leverage bands and risk tiers, and the liquidation distance
that bounds a stop-loss. Errors name the row, the field and the limit."""

from __future__ import annotations

import pytest

from trading.engine.instruments import parse_risk_tiers
from trading.engine.margin import liquidation_distance
from trading.engine.sizing import LEVERAGE_BANDS, SizingError, parse_bands, validate_sizing

DESIGN_ROWS = [
    {"min_leverage": 50, "max_leverage": 125, "min_allocation": 0.01, "max_allocation": 0.10},
    {"min_leverage": 20, "max_leverage": 49, "min_allocation": 0.10, "max_allocation": 0.20},
    {"min_leverage": 1, "max_leverage": 19, "min_allocation": 0.20, "max_allocation": 1.00},
]


def test_design_rows_parse_to_the_engine_table():
    assert parse_bands(DESIGN_ROWS) == LEVERAGE_BANDS


@pytest.mark.parametrize(("rows", "message"), [
    ([], "non-empty"),
    ([{**DESIGN_ROWS[0], "min_allocation": "x"}], "[0].min_allocation: 'x' is not a number"),
    ([{**DESIGN_ROWS[0], "max_leverage": 150}], "[0]: leverage 50..150 must lie within 1..125"),
    ([{**DESIGN_ROWS[0], "min_allocation": 0.5}], "[0]: allocation 0.5..0.1"),
    ([DESIGN_ROWS[0], {**DESIGN_ROWS[1], "max_leverage": 60}], "overlap"),
])
def test_bad_bands_are_named(rows, message):
    with pytest.raises(ValueError) as info:
        parse_bands(rows)
    assert message in str(info.value)


def test_validate_sizing_uses_the_desks_bands():
    # A desk that allows 1-20 % at 50-125x: 15 % at 75x passes here but not under DESIGN's table.
    wide = [{**DESIGN_ROWS[0], "max_allocation": 0.20}, *DESIGN_ROWS[1:]]
    validate_sizing(mode="fixed", leverage=75, initial_capital=500, allocation=0.15, bands=wide)
    with pytest.raises(SizingError) as info:
        validate_sizing(mode="fixed", leverage=75, initial_capital=500, allocation=0.15)
    assert info.value.field == "allocation" and "0.01..0.10" in str(info.value)


def test_risk_tiers_parse_with_mm_deduction():
    tiers = parse_risk_tiers([{"risk_limit_value": "2000000", "mmr": "0.005", "imr": "0.01"},
                              {"risk_limit_value": "2600000", "mmr": "0.0056", "imr": "0.0111"}])
    # mmDeduction_2 = RL_1 * (MMR_2 - MMR_1) + 0 = 2,000,000 * 0.0006 = 1,200
    assert tiers[0].mm_deduction == 0 and tiers[1].mm_deduction == pytest.approx(1200)
    assert tiers[0].max_leverage == 100


@pytest.mark.parametrize(("rows", "message"), [
    ([], "at least one tier"),
    ([{"risk_limit_value": "100", "mmr": "1.5", "imr": "0.02"}], "[0].mmr: 1.5"),
    ([{"risk_limit_value": "100", "mmr": "0.005"}], "[0].imr: None is not a number"),
    ([{"risk_limit_value": "100", "mmr": "0.005", "imr": "0.01"},
      {"risk_limit_value": "50", "mmr": "0.006", "imr": "0.012"}], "[1].risk_limit_value: 50 must exceed"),
])
def test_bad_tiers_are_named(rows, message):
    with pytest.raises(ValueError) as info:
        parse_risk_tiers(rows)
    assert message in str(info.value)


@pytest.mark.parametrize(("leverage", "mmr", "expected"), [
    (50, 0.005, 0.015),        # 1/50 - 0.005: the help-centre long at 20,000 liquidates at 19,700 = -1.5 %
    (100, 0.005, 0.005),       # 1/100 - 0.005
    (75, 0.005, 1 / 75 - 0.005),
])
def test_liquidation_distance(leverage, mmr, expected):
    assert liquidation_distance(leverage=leverage, mmr=mmr) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("cap, message", [("95", "[1].max_leverage: 95 is outside 1..90.09"),
                                          ("0.5", "[1].max_leverage: 0.5 is outside"),
                                          ("x", "[1].max_leverage: 'x' is not a number")])
def test_a_tier_cap_above_its_imr_or_not_a_number_is_refused(cap, message):
    rows = [{"risk_limit_value": "2000000", "mmr": "0.005", "imr": "0.01", "max_leverage": "100"},
            {"risk_limit_value": "2600000", "mmr": "0.0056", "imr": "0.0111", "max_leverage": cap}]
    with pytest.raises(ValueError) as exc:
        parse_risk_tiers(rows)
    assert message in str(exc.value)
