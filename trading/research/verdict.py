"""The verdict: one red/amber/green judgement of a result with plain reasons, from the numbers every result
panel shows (out-of-sample return vs buy and hold, DSR p-value, PBO, ruin probability, fees and funding as a
share of gross PnL, trade count).

Rules (the first colour that any rule reaches wins; every triggered rule adds its reason):
  red    - the (out-of-sample) return is negative;
         - gross PnL is not positive, or fees + funding eat all of it ("fees exceed gross profit");
         - PBO >= 0.5 (the in-sample best is usually below the median out of sample);
         - ruin probability >= 10 % (Monte Carlo paths falling below the ruin threshold).
  amber  - fewer trades than ``min_trades`` ("not enough trades");
         - DSR p-value > 0.05 (not distinguishable from the best of N noise trials);
         - 0.25 <= PBO < 0.5; ruin probability >= 1 %; fees + funding >= 50 % of gross profit;
         - return below buy and hold; no out-of-sample test (an in-sample backtest or sweep).
  green  - none of the above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MIN_TRADES = 30
RED, AMBER, GREEN = "red", "amber", "green"
_ORDER = {GREEN: 0, AMBER: 1, RED: 2}


@dataclass(frozen=True)
class VerdictInputs:
    """What a verdict reads. ``out_of_sample``: the return was earned on data the choice never saw."""

    total_return: float
    buy_and_hold_return: float | None
    trade_count: int
    gross_pnl: float
    fees: float
    funding: float
    dsr_p_value: float | None = None
    pbo: float | None = None
    ruin_probability: float | None = None
    out_of_sample: bool = False
    min_trades: int = MIN_TRADES
    trials: int = 1


@dataclass
class Verdict:
    colour: str
    reasons: list[str] = field(default_factory=list)
    panel: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"verdict": self.colour, "reasons": list(self.reasons), **self.panel}


def _ok(x) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def judge(v: VerdictInputs) -> Verdict:
    """The colour and reasons for ``v`` (see the module docstring for the rules)."""
    found: list[tuple[str, str]] = []
    where = "out of sample" if v.out_of_sample else "in sample"
    costs = v.fees + v.funding
    if _ok(v.total_return) and v.total_return < 0:
        found.append((RED, f"loses {abs(v.total_return):.1%} {where}"))
    if v.trade_count > 0:
        if v.gross_pnl <= 0:
            found.append((RED, f"loses before costs: gross PnL {v.gross_pnl:.2f} USDT, then fees and funding "
                               f"{costs:.2f}"))
        elif costs >= v.gross_pnl:
            found.append((RED, f"fees exceed gross profit: fees and funding {costs:.2f} USDT against gross "
                               f"profit {v.gross_pnl:.2f}"))
        elif costs >= 0.5 * v.gross_pnl:
            found.append((AMBER, f"fees and funding take {costs / v.gross_pnl:.0%} of gross profit"))
    if _ok(v.pbo):
        if v.pbo >= 0.5:
            found.append((RED, f"PBO {v.pbo:.2f}: the best in-sample choice is usually below median out of sample"))
        elif v.pbo >= 0.25:
            found.append((AMBER, f"PBO {v.pbo:.2f}: the best in-sample choice often falls below median out of "
                                 "sample"))
    if _ok(v.ruin_probability):
        if v.ruin_probability >= 0.10:
            found.append((RED, f"ruin probability {v.ruin_probability:.0%}: resampled trade sequences often lose "
                               "half the capital"))
        elif v.ruin_probability >= 0.01:
            found.append((AMBER, f"ruin probability {v.ruin_probability:.1%}"))
    if v.trade_count < v.min_trades:
        found.append((AMBER, f"not enough trades: {v.trade_count} < {v.min_trades}"))
    if _ok(v.dsr_p_value) and v.dsr_p_value > 0.05:
        found.append((AMBER, f"DSR p-value {v.dsr_p_value:.2f}: the Sharpe is within what the best of "
                             f"{v.trials} trial(s) of noise would show"))
    if _ok(v.buy_and_hold_return) and _ok(v.total_return) and v.total_return < v.buy_and_hold_return:
        found.append((AMBER, f"below buy and hold ({v.total_return:.1%} vs {v.buy_and_hold_return:.1%})"))
    if not v.out_of_sample:
        found.append((AMBER, "in-sample only: no walk-forward test yet"))
    colour = max((c for c, _ in found), key=_ORDER.__getitem__, default=GREEN)
    reasons = [r for c, r in sorted(found, key=lambda cr: -_ORDER[cr[0]])]
    panel = {
        "return": v.total_return, "buy_and_hold_return": v.buy_and_hold_return, "out_of_sample": v.out_of_sample,
        "dsr_p_value": v.dsr_p_value, "pbo": v.pbo, "ruin_probability": v.ruin_probability,
        "cost_share": (costs / v.gross_pnl) if v.gross_pnl > 0 else None, "fees": v.fees, "funding": v.funding,
        "gross_pnl": v.gross_pnl, "trade_count": v.trade_count, "min_trades": v.min_trades, "trials": v.trials,
    }
    return Verdict(colour, reasons or ["no warning sign: out-of-sample profit survives costs, overfitting and "
                                       "ruin checks"], panel)


def walkforward_inputs(summary: dict, *, min_trades: int = MIN_TRADES) -> VerdictInputs:
    """VerdictInputs from a ``WalkForwardResult.summary``."""
    return VerdictInputs(
        total_return=summary["oos_return"], buy_and_hold_return=summary.get("buy_and_hold_return"),
        trade_count=int(summary["trade_count"]), gross_pnl=summary["gross_pnl"], fees=summary["fees"],
        funding=summary["funding"], dsr_p_value=(summary.get("dsr") or {}).get("p_value"), pbo=summary.get("pbo"),
        ruin_probability=(summary.get("monte_carlo") or {}).get("ruin_probability"), out_of_sample=True,
        min_trades=min_trades, trials=int(round(summary.get("trials_per_fold") or 1)))
