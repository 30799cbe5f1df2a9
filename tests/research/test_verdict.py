"""The verdict rules: each red and amber trigger with its plain reason, and green when nothing triggers."""

from trading.research.verdict import VerdictInputs, judge

GOOD = dict(total_return=0.4, buy_and_hold_return=0.1, trade_count=120, gross_pnl=300.0, fees=40.0, funding=5.0,
            dsr_p_value=0.01, pbo=0.1, ruin_probability=0.0, out_of_sample=True, trials=50)


def _v(**kw):
    return judge(VerdictInputs(**{**GOOD, **kw}))


def test_green_when_nothing_triggers():
    v = _v()
    assert v.colour == "green"
    assert v.panel["cost_share"] == 45.0 / 300.0


def test_fees_exceeding_gross_profit_is_red_with_the_reason():
    v = _v(gross_pnl=100.0, fees=95.0, funding=10.0, total_return=-0.01)
    assert v.colour == "red"
    assert any(r.startswith("fees exceed gross profit") for r in v.reasons)


def test_high_pbo_is_red_and_says_what_it_means():
    v = _v(pbo=0.71)
    assert v.colour == "red"
    assert "PBO 0.71: the best in-sample choice is usually below median out of sample" in v.reasons


def test_amber_rules():
    assert _v(trade_count=12).reasons == ["not enough trades: 12 < 30"]
    assert _v(trade_count=12).colour == "amber"
    assert _v(dsr_p_value=0.3).colour == "amber"
    assert _v(pbo=0.3).colour == "amber"
    assert _v(ruin_probability=0.02).colour == "amber"
    assert _v(total_return=0.05).colour == "amber"  # below buy and hold 10 %
    assert _v(out_of_sample=False).reasons == ["in-sample only: no walk-forward test yet"]


def test_ruin_and_losses_are_red():
    assert _v(ruin_probability=0.35).colour == "red"
    v = _v(total_return=-0.2, gross_pnl=-50.0)
    assert v.colour == "red" and v.reasons[0] == "loses 20.0% out of sample"
    assert any(r.startswith("loses before costs") for r in v.reasons)
