"""The 30-second monitor rules (DESIGN.md §3) in order, with the seed desk's worked case."""

import pytest

from trading.engine.rebalance import decide


def test_seed_desk_worked_case():
    # long, baseline drift +0.12 %: +0.073 % -> decay 0.12 - 0.073 = 0.047 pp < 0.05 -> hold
    d = decide(side="long", baseline_drift=0.0012, drift=0.00073, entry_confidence=0.45, confidence=0.43,
               age_seconds=30, half_life_seconds=600)
    assert (d.action, d.reason) == ("hold", "")
    # +0.01 % -> decay 0.11 pp > 0.05 -> reduce 50 %, new baseline 0.0001
    d = decide(side="long", baseline_drift=0.0012, drift=0.0001, age_seconds=60, half_life_seconds=600)
    assert (d.action, d.fraction, d.reason) == ("reduce", 0.5, "monitor-decay")
    assert d.new_baseline == 0.0001
    assert d.inputs["baseline_drift"] == 0.0012 and d.inputs["drift"] == 0.0001
    # -0.01 % -> flipped against the long -> close
    d = decide(side="long", baseline_drift=0.0001, drift=-0.0001, age_seconds=120, half_life_seconds=600)
    assert (d.action, d.fraction, d.reason) == ("close", 1.0, "monitor-drift-flip")


def test_short_mirror():
    # short, baseline -0.12 %: -0.01 % is a 0.11 pp decay towards zero -> reduce; +0.01 % -> flip -> close
    assert decide(side="short", baseline_drift=-0.0012, drift=-0.0001).reason == "monitor-decay"
    assert decide(side="short", baseline_drift=-0.0012, drift=0.0001).reason == "monitor-drift-flip"
    # drift growing in the short's favour is no decay
    assert decide(side="short", baseline_drift=-0.0012, drift=-0.003).action == "hold"


def test_rule_order_flip_beats_timeout_and_decay_beats_timeout():
    assert decide(side="long", baseline_drift=0.001, drift=-0.001, age_seconds=10_000,
                  half_life_seconds=60).reason == "monitor-drift-flip"
    assert decide(side="long", baseline_drift=0.003, drift=0.001, age_seconds=10_000,
                  half_life_seconds=60).reason == "monitor-decay"


def test_timeout_after_two_half_lives():
    # half-life 300 s: 600 s is not "longer than", 601 s is
    assert decide(side="long", baseline_drift=0.001, drift=0.001, age_seconds=600, half_life_seconds=300).action == "hold"
    d = decide(side="long", baseline_drift=0.001, drift=0.001, age_seconds=601, half_life_seconds=300)
    assert (d.action, d.reason) == ("close", "monitor-timeout")


def test_confidence_drop_more_than_30_percent():
    # entry 0.5: 0.35 is exactly -30 % -> hold; 0.34 is -32 % -> reduce, confidence baseline becomes 0.34
    assert decide(side="long", baseline_drift=0.001, drift=0.001, entry_confidence=0.5, confidence=0.35).action == "hold"
    d = decide(side="long", baseline_drift=0.001, drift=0.001, entry_confidence=0.5, confidence=0.34)
    assert (d.action, d.fraction, d.reason, d.new_confidence_baseline) == ("reduce", 0.5, "monitor-confidence", 0.34)


def test_thresholds_are_parameters():
    # with a 0.1 pp threshold the 0.11 pp decay still reduces, with 0.2 pp it holds
    assert decide(side="long", baseline_drift=0.0012, drift=0.0001, decay_threshold=0.001).action == "reduce"
    assert decide(side="long", baseline_drift=0.0012, drift=0.0001, decay_threshold=0.002).action == "hold"
    d = decide(side="long", baseline_drift=0.0012, drift=0.0001, reduce_fraction=0.25)
    assert d.fraction == pytest.approx(0.25)
