"""Manual control on the paper exchange, with the seed desk's worked numbers (25 USDT, 50x, kelly 0.5, BTCUSDT
at 96,000 -> 0.00651 BTC, margin 12.4992, liquidation 94,560; see test_worked_scenario): close and reduce by
hand land as fills with exit reason ``manual``; a stop beyond liquidation is refused naming the limit; an open
by hand passes the same sizing and checks as a signal and is refused under the kill switch; every action is in
the audit log and the event log; the account card's figures (the equity snapshot taken after every change)
add up after open, reduce and close."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.factories import make_user
from trading.models import Account, DeskEvent, EquitySnapshot, Fill, ManualAction, Order, Position
from trading.services.manual import close_by_hand, move_protection, open_by_hand

pytestmark = pytest.mark.django_db(transaction=True)


def opened(desk, quotes, user):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    result = open_by_hand(config=config, user=user, symbol="BTCUSDT", side=1, exchange=paper)
    assert result.ok, result.message
    return Position.objects.get(account=account, status="open")


def card(account) -> EquitySnapshot:
    return EquitySnapshot.objects.filter(account=account).order_by("-taken_at").first()


def assert_card_adds_up(account):
    snap = card(account)
    open_margin = sum((p.margin for p in Position.objects.filter(account=account, status="open")), Decimal(0))
    assert snap.equity == pytest.approx(snap.balance + snap.unrealised_pnl, abs=Decimal("1e-8"))
    assert snap.margin_used == pytest.approx(open_margin, abs=Decimal("1e-8"))
    return snap


def test_open_by_hand_sizes_like_a_signal_and_the_card_adds_up(desk, quotes):
    account, config, paper = desk
    user = account.owner
    pos = opened(desk, quotes, user)
    # notional = 25 x 0.5 x 50 = 625 -> 625 / 96,000 = 0.0065104 -> 0.00651; TP/SL from the config's percentages
    assert pos.qty == Decimal("0.00651") and pos.take_profit == Decimal("96150") and pos.stop_loss == Decimal("95950")
    order = Order.objects.get(account=account, action="open")
    assert order.config_id == config.pk and order.client_order_id.startswith("qd-")
    audit = ManualAction.objects.get(action="open")
    assert audit.ok and audit.user == user and audit.order == order
    snap = assert_card_adds_up(account)
    # margin 0.00651 x 96,000 / 50 = 12.4992; balance 25 - entry fee 0.374976 = 24.625024
    assert snap.margin_used == Decimal("12.4992") and snap.balance == pytest.approx(Decimal("24.625024"))


def test_reduce_then_close_by_hand_are_manual_fills_and_margin_goes_to_zero(desk, quotes):
    account, config, paper = desk
    user = account.owner
    pos = opened(desk, quotes, user)
    quotes.set("BTCUSDT", 96_100.0)
    reduced = close_by_hand(position=pos, user=user, fraction=0.5, exchange=paper)
    assert reduced.ok, reduced.message
    pos.refresh_from_db()
    # 0.00651 x 0.5 = 0.003255 -> 0.00325 on the step; 0.00326 left, margin 12.4992 x 0.00326 / 0.00651 = 6.2592
    fill = Fill.objects.get(position=pos, exit_reason="manual")
    assert fill.qty == Decimal("0.00325") and fill.realised_pnl == Decimal("0.325")  # (96,100 - 96,000) x 0.00325
    assert pos.qty == Decimal("0.00326") and pos.status == "open"
    assert assert_card_adds_up(account).margin_used == Decimal("6.2592")

    quotes.set("BTCUSDT", 96_140.0)  # below the TP at 96,150
    closed = close_by_hand(position=pos, user=user, exchange=paper)
    assert closed.ok, closed.message
    pos.refresh_from_db()
    assert pos.status == "closed" and pos.exit_reason == "manual"
    last = Fill.objects.filter(position=pos, exit_reason="manual").order_by("-executed_at", "-id").first()
    assert last.qty == Decimal("0.00326") and last.realised_pnl == Decimal("0.4564")  # 140 x 0.00326
    snap = assert_card_adds_up(account)
    assert snap.margin_used == 0 and snap.unrealised_pnl == 0
    fees = sum(f.fee for f in Fill.objects.filter(account=account))
    assert snap.balance == pytest.approx(Decimal(25) + Decimal("0.7814") - fees, abs=Decimal("1e-8"))
    assert list(ManualAction.objects.order_by("id").values_list("action", "ok")) == [
        ("open", True), ("reduce", True), ("close", True)]
    assert DeskEvent.objects.filter(account=account, kind="manual").count() == 3
    # closing again: refused, nothing sent
    again = close_by_hand(position=pos, user=user, exchange=paper)
    assert not again.ok and "already closed" in again.message
    assert Order.objects.filter(account=account).count() == 3


def test_a_stop_beyond_liquidation_is_refused_naming_the_limit(desk, quotes):
    account, config, paper = desk
    pos = opened(desk, quotes, account.owner)
    assert pos.liquidation_price == Decimal("94560")  # 96,000 x (1 - 1/50 + 0.005)
    with pytest.raises(ValidationError) as info:
        move_protection(position=pos, user=account.owner, stop_loss=Decimal("94500"), exchange=paper)
    msg = info.value.message_dict["stop_loss"][0]
    assert "liquidation price 94560" in msg and "above" in msg
    with pytest.raises(ValidationError) as info:  # exactly at liquidation is not "strictly before" either
        move_protection(position=pos, user=account.owner, stop_loss=Decimal("94560"), exchange=paper)
    assert "94560" in info.value.message_dict["stop_loss"][0]
    with pytest.raises(ValidationError) as info:  # a stop above the market would fire at once
        move_protection(position=pos, user=account.owner, stop_loss=Decimal("96010"), exchange=paper)
    assert "current price" in info.value.message_dict["stop_loss"][0]
    with pytest.raises(ValidationError) as info:
        move_protection(position=pos, user=account.owner, take_profit=Decimal("96100.05"), exchange=paper)
    assert "tick 0.1" in info.value.message_dict["take_profit"][0]
    pos.refresh_from_db()
    assert pos.stop_loss == Decimal("95950")  # nothing changed
    ok = move_protection(position=pos, user=account.owner, stop_loss=Decimal("94560.1"),
                         take_profit=Decimal("96500"), exchange=paper)
    assert ok.ok, ok.message
    pos.refresh_from_db()
    assert (pos.stop_loss, pos.take_profit) == (Decimal("94560.1"), Decimal("96500"))
    # the new stop is the exchange's: the price falling through it closes the position there
    quotes.set("BTCUSDT", 94_560.1)
    paper.positions()
    from trading.services.recording import sync_account
    sync_account(account=account, exchange=paper)
    pos.refresh_from_db()
    assert pos.status == "closed" and pos.exit_reason == "sl"


def test_a_manual_open_under_the_kill_switch_is_refused(desk, quotes):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    Account.objects.filter(pk=account.pk).update(kill_switch_engaged=True)
    account.refresh_from_db()
    config.refresh_from_db()
    result = open_by_hand(config=config, user=account.owner, symbol="BTCUSDT", side=-1, exchange=paper)
    assert not result.ok and "kill switch engaged" in result.message
    assert not Order.objects.filter(account=account).exists()
    assert not Position.objects.filter(account=account).exists()
    audit = ManualAction.objects.get()
    assert not audit.ok and "kill switch" in audit.outcome
    event = DeskEvent.objects.get(account=account, kind="manual")
    assert event.level == "warning" and "kill switch" in event.message


def test_bad_input_names_the_field(desk, quotes):
    account, config, paper = desk
    pos = opened(desk, quotes, account.owner)
    with pytest.raises(ValidationError) as info:
        close_by_hand(position=pos, user=account.owner, fraction=1.5, exchange=paper)
    assert "(0, 1]" in info.value.message_dict["fraction"][0]
    with pytest.raises(ValidationError) as info:
        open_by_hand(config=config, user=account.owner, symbol="BTCUSDT", side=2, exchange=paper)
    assert "side" in info.value.message_dict


def test_refusals_reach_the_event_log(desk, quotes):
    account, config, paper = desk
    other = make_user("bob")
    # no price yet: refused by the risk checks, nothing sent
    result = open_by_hand(config=config, user=other, symbol="BTCUSDT", side=1, exchange=paper)
    assert not result.ok and "no price for BTCUSDT" in result.message
    refused = DeskEvent.objects.get(account=account, kind="order_refused")
    assert refused.level == "warning" and "no price for BTCUSDT" in refused.message


def test_history_round_trip_per_config_and_day(desk, quotes):
    """The worked trade (open 0.00651 at 96,000; reduce 0.00325 at 96,100; close 0.00326 at 96,140) as the
    desk's history shows it."""
    from datetime import date

    from trading.services.history import history

    account, config, paper = desk
    user = account.owner
    pos = opened(desk, quotes, user)
    quotes.set("BTCUSDT", 96_100.0)
    close_by_hand(position=pos, user=user, fraction=0.5, exchange=paper)
    quotes.set("BTCUSDT", 96_140.0)
    close_by_hand(position=pos, user=user, exchange=paper)
    h = history(user=user, account_id=account.pk, today=date.today())
    (trip,) = h["trades"]
    assert trip["qty"] == Decimal("0.00651") and trip["entry_price"] == Decimal("96000")
    # exit = (0.00325 x 96,100 + 0.00326 x 96,140) / 0.00651 = 625.7414 / 0.00651
    assert float(trip["exit_price"]) == pytest.approx(625.7414 / 0.00651)
    assert trip["gross_pnl"] == Decimal("0.7814")  # 0.325 + 0.4564
    # taker fees 0.0006 x (624.96 + 312.325 + 313.4164) = 0.374976 + 0.187395 + 0.18804984 = 0.75042084
    assert trip["fees"] == Decimal("0.75042084")
    assert trip["net_pnl"] == pytest.approx(Decimal("0.03097916"), abs=Decimal("1e-8"))
    # on the opening margin 0.00651 x 96,000 / 50 = 12.4992
    assert trip["pnl_pct"] == pytest.approx(0.03097916 / 12.4992 * 100)
    # from the entry fill to the last exit: two quote steps of 30 s (the fills carry their price's time)
    assert trip["exit_reason"] == "manual" and trip["duration_seconds"] == 60
    (perf,) = h["by_config"]
    assert (perf["config"], perf["trades"], perf["wins"], perf["win_rate_pct"]) == (config.pk, 1, 1, 100.0)
    # all fills of this trade fall on one UTC day: that day's net equals the trip's
    assert sum(d["net_pnl"] for d in h["daily"]) == pytest.approx(Decimal("0.03097916"), abs=Decimal("1e-8"))


def test_after_the_kill_switch_closes_the_only_position_the_card_shows_no_margin(desk, quotes, monkeypatch):
    """The issue's stale card: margin in use 12.95 with nothing open. The close's change takes a snapshot."""
    from trading.services import kill_switch

    account, config, paper = desk
    pos = opened(desk, quotes, account.owner)
    assert card(account).margin_used == Decimal("12.4992")
    monkeypatch.setattr("trading.exchanges.factory.exchange_for", lambda acc, **kw: paper)
    monkeypatch.setattr("trading.tasks.close_positions_for_kill_switch.delay", lambda pk: None)
    quotes.set("BTCUSDT", 96_050.0)
    result = kill_switch.engage(account=account, user=None, reason="test")
    assert result.close_results == {pos.pk: "closed"}
    snap = assert_card_adds_up(account)
    assert snap.margin_used == 0 and snap.unrealised_pnl == 0 and snap.equity == snap.balance
