"""The shared per-bar rule ``step_bar``: conservative order of TP / SL / liquidation, gaps at the open."""

import math

import pytest

from trading.engine.rules import EV_LIQ, EV_NONE, EV_SL, EV_TP, protective_prices, reduce_qty, step_bar

NAN = math.nan
# long at 100 with liq 95, bankruptcy 94, SL 97, TP 105 (short mirrors: liq 105, bk 106, SL 103, TP 95)


def long_step(o, h, lo, mark_h=None, mark_l=None, tp=105.0, sl=97.0):
    return step_bar(1.0, o, h, lo, h if mark_h is None else mark_h, lo if mark_l is None else mark_l, tp, sl, 95.0, 94.0)


def short_step(o, h, lo, mark_h=None, mark_l=None, tp=95.0, sl=103.0):
    return step_bar(-1.0, o, h, lo, h if mark_h is None else mark_h, lo if mark_l is None else mark_l, tp, sl, 105.0, 106.0)


def test_quiet_bar_nothing():
    assert long_step(100, 104, 98)[0] == EV_NONE


def test_tp_and_sl_in_one_bar_assumes_sl_first():
    assert long_step(100, 106, 96) == (EV_SL, 97.0)
    assert short_step(100, 104, 94) == (EV_SL, 103.0)


def test_tp_alone_fills_at_tp_or_gap_open():
    assert long_step(100, 106, 99) == (EV_TP, 105.0)
    assert long_step(106, 107, 105.5) == (EV_TP, 106.0)  # gapped above the TP: fills at the open
    assert short_step(100, 101, 94) == (EV_TP, 95.0)


def test_sl_gap_fills_at_open():
    assert long_step(96, 96.5, 95.5) == (EV_SL, 96.0)
    assert short_step(104, 104.5, 103.5) == (EV_SL, 104.0)


def test_liquidation_settles_at_bankruptcy():
    # no SL: the low 94.5 crosses liq 95 -> liquidation at the bankruptcy price 94
    assert long_step(100, 101, 94.5, sl=NAN) == (EV_LIQ, 94.0)
    assert short_step(100, 105.5, 99, sl=NAN) == (EV_LIQ, 106.0)


def test_sl_before_liq_on_the_adverse_path_wins():
    # SL 97 sits above liq 95: going down from 100 the SL fills first
    assert long_step(100, 101, 90) == (EV_SL, 97.0)


def test_liq_first_when_liq_level_comes_first():
    # a (mis-set) SL at 93 below liq 95: liq is met first on the way down
    assert long_step(100, 101, 90, sl=93.0) == (EV_LIQ, 94.0)
    assert short_step(100, 110, 99, sl=107.0) == (EV_LIQ, 106.0)


def test_gap_through_liq_is_liquidation():
    assert long_step(94.8, 96, 94.0) == (EV_LIQ, 94.0)


def test_mark_triggers_liq_even_when_last_does_not():
    # last low 96 touches SL 97 and mark low 94.9 touches liq 95: SL 97 is met first going down from 100
    assert long_step(100, 101, 96, mark_l=94.9) == (EV_SL, 97.0)
    # no SL: only the mark crossing matters
    assert long_step(100, 101, 96, mark_l=94.9, sl=NAN) == (EV_LIQ, 94.0)
    # last low crosses 95 but mark stays above: no liquidation
    assert long_step(100, 101, 94.9, mark_l=95.5, sl=NAN)[0] == EV_NONE


def test_protective_prices_drop_sl_not_before_liq():
    # long @ 100,000, 1 % TP -> 101,000; 0.4 % SL -> 99,600 (liq 99,500 -> kept)
    assert protective_prices(1.0, 100_000.0, 0.01, 0.004, 0.1, 99_500.0) == (101_000.0, 99_600.0)
    tp, sl = protective_prices(1.0, 100_000.0, 0.01, 0.006, 0.1, 99_500.0)  # 99,400 is past liq -> dropped
    assert tp == 101_000.0 and math.isnan(sl)
    assert protective_prices(-1.0, 100_000.0, 0.01, 0.004, 0.1, 100_500.0) == (99_000.0, 100_400.0)


@pytest.mark.parametrize(("qty", "expected"), [(0.01, 0.005), (0.003, 0.001), (0.001, 0.001), (0.0015, 0.0015)])
def test_reduce_qty(qty, expected):
    # half of 0.01 = 0.005; half of 0.003 = 0.0015 -> 0.001 (step); 0.001 cannot be halved -> whole
    assert reduce_qty(qty, 0.5, 0.001, 0.001) == pytest.approx(expected)
