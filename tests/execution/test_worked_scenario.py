"""The seed desk's worked trade, end to end on the paper exchange: sizing, TP/SL, then the monitor holds,
reduces 50 % on drift decay, and closes on a drift flip (DESIGN.md section 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.models import Fill, MonitorDecision, Order, Position, Signal
from trading.services.monitor import check_position
from trading.services.positions import open_position

BAR = datetime(2024, 11, 15, 7, 0, tzinfo=UTC)


def forecast_signal(config, *, bar_time, forecast):
    return Signal.objects.create(config=config, symbol="BTCUSDT", bar_time=bar_time, signal=1, forecast=forecast,
                                 confidence=0.43, half_life_seconds=600.0)


@pytest.mark.django_db(transaction=True)
def test_seed_desk_trade(desk, quotes):
    account, config, exchange = desk
    quotes.set("BTCUSDT", 96_000.0)
    out = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=exchange,
                        drift=0.0012, confidence=0.45, half_life_seconds=600.0)
    assert out.placed, out.refused
    pos = Position.objects.get(account=account, status="open")
    # notional = 25 x 0.5 x 50 = 625; qty = 625 / 96,000 = 0.0065104 -> 0.00651 on the 0.00001 step
    assert pos.qty == Decimal("0.00651") and pos.entry_price == Decimal("96000")
    assert pos.take_profit == Decimal("96150") and pos.stop_loss == Decimal("95950")
    # isolated margin = 0.00651 x 96,000 / 50 = 12.4992
    assert pos.margin == Decimal("12.4992") and pos.leverage == 50
    # liquidation = 96,000 x (1 - 1/50 + 0.005) = 94,560 (tier 1, no deduction): the SL sits before it
    assert pos.liquidation_price == Decimal("94560") and pos.stop_loss > pos.liquidation_price
    entry_fill = Fill.objects.get(position=pos)
    assert entry_fill.fee == Decimal("0.374976")  # 0.00651 x 96,000 x 0.0006 taker

    # 30 s later: price 96,050, forecast 96,120 -> drift = 70 / 96,050 = +0.0729 %; decayed 0.047 pp < 0.05 -> hold
    quotes.set("BTCUSDT", 96_050.0)
    forecast_signal(config, bar_time=BAR + timedelta(minutes=5), forecast=96_120.0)
    d1 = check_position(position=pos, exchange=exchange, now=pos.opened_at + timedelta(seconds=30))
    assert d1.action == "hold" and d1.drift == pytest.approx(70 / 96_050)
    assert d1.baseline_drift == pytest.approx(0.0012)

    # 30 s later: price 96,100, forecast 96,110 -> drift = 10 / 96,100 = +0.0104 %; decayed 0.11 pp -> reduce 50 %
    quotes.set("BTCUSDT", 96_100.0)
    forecast_signal(config, bar_time=BAR + timedelta(minutes=10), forecast=96_110.0)
    pos.refresh_from_db()
    d2 = check_position(position=pos, exchange=exchange, now=pos.opened_at + timedelta(seconds=60))
    assert (d2.action, d2.reason) == ("reduce", "monitor-decay")
    pos.refresh_from_db()
    # 0.00651 x 0.5 = 0.003255 -> 0.00325 closed on the step; 0.00326 left
    assert pos.qty == Decimal("0.00326") and pos.status == "open"
    assert pos.drift_baseline == pytest.approx(10 / 96_100)  # the current drift is the new baseline
    reduce_fill = Fill.objects.get(position=pos, exit_reason="monitor-decay")
    assert reduce_fill.qty == Decimal("0.00325")
    assert reduce_fill.realised_pnl == Decimal("0.325")  # (96,100 - 96,000) x 0.00325
    assert d2.order.reduce_only and d2.order.qty == Decimal("0.00325")
    # margin is freed pro rata: 12.4992 x 0.00326 / 0.00651 = 6.2592
    assert pos.margin == Decimal("6.2592")

    # 30 s later: forecast below price -> drift -0.01 % has flipped against the long -> close all
    quotes.set("BTCUSDT", 96_100.0)
    forecast_signal(config, bar_time=BAR + timedelta(minutes=15), forecast=96_100.0 * (1 - 0.0001))
    d3 = check_position(position=pos, exchange=exchange, now=pos.opened_at + timedelta(seconds=90))
    assert (d3.action, d3.reason) == ("close", "monitor-drift-flip") and d3.drift == pytest.approx(-0.0001)
    pos.refresh_from_db()
    assert pos.status == "closed" and pos.exit_reason == "monitor-drift-flip"
    assert Fill.objects.get(position=pos, exit_reason="monitor-drift-flip").qty == Decimal("0.00326")
    assert MonitorDecision.objects.filter(position=pos).count() == 3
    assert Order.objects.filter(account=account).count() == 3
    # the wallet: 25 - entry fee + PnL of both exits - their fees
    wallet = exchange.wallet()
    fees = sum(f.fee for f in Fill.objects.filter(account=account))
    pnl = sum(f.realised_pnl for f in Fill.objects.filter(account=account))
    assert wallet.balance == pytest.approx(Decimal("25") + pnl - fees, abs=Decimal("1e-8"))
    assert pnl == Decimal("0.651")  # 0.00325 x 100 + 0.00326 x 100
