"""The 30-second monitor rules (DESIGN.md §3) as one numba function shared by the backtest kernel and
the Python ``decide`` the live/paper monitor calls. Checked in this order:

1. drift flipped against the position -> close (monitor-drift-flip);
2. drift decayed by more than ``decay_threshold`` (0.0005 = 0.05 percentage points) from its baseline
   in the position's direction -> reduce 50 %, the current drift becomes the new baseline (monitor-decay);
3. held longer than ``timeout_multiple`` (2) x half-life -> close (monitor-timeout);
4. confidence fallen more than ``confidence_drop`` (30 %, relative) from its baseline -> reduce 50 %
   (monitor-confidence); the current confidence becomes the new confidence baseline so one fall is
   acted on once, not every 30 seconds.

NaN inputs switch the rule that needs them off (no half-life: no timeout; no confidence: no rule 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from numba import njit

from .margin import side_sign

HOLD, REDUCE, CLOSE = 0, 1, 2
R_NONE, R_FLIP, R_DECAY, R_TIMEOUT, R_CONFIDENCE = 0, 1, 2, 3, 4
ACTIONS = ("hold", "reduce", "close")
REASONS = ("", "monitor-drift-flip", "monitor-decay", "monitor-timeout", "monitor-confidence")

DECAY_THRESHOLD = 0.0005
TIMEOUT_MULTIPLE = 2.0
CONFIDENCE_DROP = 0.30
REDUCE_FRACTION = 0.5
_EPS = 1e-12


@njit(cache=True, inline="always")
def decide_code(side: float, baseline: float, drift: float, conf_baseline: float, confidence: float,
                age_s: float, half_life_s: float, decay_threshold: float, timeout_multiple: float,
                confidence_drop: float, reduce_fraction: float):
    """(action, fraction, reason, new_baseline, new_conf_baseline) for one position at one check."""
    if drift == drift:
        if side * drift < 0.0:
            return CLOSE, 1.0, R_FLIP, baseline, conf_baseline
        if side * (baseline - drift) > decay_threshold + _EPS:
            return REDUCE, reduce_fraction, R_DECAY, drift, conf_baseline
    if half_life_s == half_life_s and half_life_s > 0.0 and age_s > timeout_multiple * half_life_s:
        return CLOSE, 1.0, R_TIMEOUT, baseline, conf_baseline
    if (conf_baseline == conf_baseline and confidence == confidence and conf_baseline > 0.0
            and confidence < conf_baseline * (1.0 - confidence_drop) - _EPS):
        return REDUCE, reduce_fraction, R_CONFIDENCE, baseline, confidence
    return HOLD, 0.0, R_NONE, baseline, conf_baseline


@dataclass(frozen=True)
class Decision:
    """One monitor decision with the inputs that produced it (stored for the dashboard and audits)."""

    action: str
    fraction: float
    reason: str
    new_baseline: float
    new_confidence_baseline: float
    inputs: dict = field(default_factory=dict)


def decide(
    *,
    side,
    baseline_drift: float,
    drift: float,
    entry_confidence: float | None = None,
    confidence: float | None = None,
    age_seconds: float = 0.0,
    half_life_seconds: float | None = None,
    decay_threshold: float = DECAY_THRESHOLD,
    timeout_multiple: float = TIMEOUT_MULTIPLE,
    confidence_drop: float = CONFIDENCE_DROP,
    reduce_fraction: float = REDUCE_FRACTION,
) -> Decision:
    """Apply the four monitor rules in order; ``entry_confidence`` is the confidence baseline."""

    def f(x):
        return math.nan if x is None else float(x)

    s = side_sign(side)
    action, fraction, reason, new_base, new_conf = decide_code(
        s, float(baseline_drift), float(drift), f(entry_confidence), f(confidence), float(age_seconds),
        f(half_life_seconds), decay_threshold, timeout_multiple, confidence_drop, reduce_fraction,
    )
    inputs = {
        "side": "long" if s > 0 else "short",
        "baseline_drift": baseline_drift,
        "drift": drift,
        "entry_confidence": entry_confidence,
        "confidence": confidence,
        "age_seconds": age_seconds,
        "half_life_seconds": half_life_seconds,
    }
    return Decision(ACTIONS[action], float(fraction), REASONS[reason], float(new_base), float(new_conf), inputs)
