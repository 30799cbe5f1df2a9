"""Exit-reason and fill-kind codes shared by the backtest kernel (ints) and the simulator (strings)."""

from __future__ import annotations

SIGNAL, TP, SL, LIQUIDATION, DRIFT_FLIP, DECAY, TIMEOUT, CONFIDENCE, MANUAL, FUNDING, ENTRY = range(11)

EXIT_REASONS: tuple[str, ...] = (
    "signal",
    "tp",
    "sl",
    "liquidation",
    "monitor-drift-flip",
    "monitor-decay",
    "monitor-timeout",
    "monitor-confidence",
    "manual",
    "funding",
    "entry",
)
REASON_CODE: dict[str, int] = {name: code for code, name in enumerate(EXIT_REASONS)}

# rebalance.R_* (1..4) -> exit reason code
MONITOR_REASON = (SIGNAL, DRIFT_FLIP, DECAY, TIMEOUT, CONFIDENCE)

KIND_ENTRY, KIND_EXIT, KIND_FUNDING = 0, 1, 2
KINDS = ("entry", "exit", "funding")
