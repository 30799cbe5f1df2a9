"""Manual control and the event log over the API: close by hand answers with the fill's order (reason manual),
a stop beyond liquidation is 400 naming the field and the limit, an open under the kill switch is 409 with the
reason, others' positions are 404, the three actions share the ``orders`` throttle, and /api/events/ filters
by account and level and shows only the user's own events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from tests.execution.conftest import Quotes
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.exchanges.paper import PaperExchange
from trading.models import Account, DeskEvent, Fill, ManualAction, Position
from trading.services.desk_events import record_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paper_desk(monkeypatch):
    quotes = Quotes()
    alice, bob = make_user("alice"), make_user("bob")
    make_instrument("BTCUSDT", qty_step=Decimal("0.00001"), min_qty=Decimal("0.00001"))
    account = make_account(alice, starting_capital=Decimal("25"),
                           slippage_bps=Decimal("0"))  # DESIGN's worked example: fills at the quote
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), take_profit_pct=Decimal("0.15625"),
                         stop_loss_pct=Decimal("0.05208"))
    monkeypatch.setattr("trading.services.manual.exchange_for", lambda acc: PaperExchange(acc, quote=quotes))
    quotes.set("BTCUSDT", 96_000.0)
    return {"alice": alice, "bob": bob, "account": account, "config": config, "quotes": quotes}


def test_open_move_stop_and_close_by_hand(paper_desk, api):
    d = paper_desk
    api.login(d["alice"])
    resp = api.post(f"/api/configs/{d['config'].pk}/open/", {"symbol": "btcusdt", "side": "long"})
    assert resp.status_code == 200, resp.content
    pos = Position.objects.get(pk=resp.json()["position"])
    assert pos.qty == Decimal("0.00651")  # 25 x 0.5 x 50 / 96,000 on the 0.00001 step

    resp = api.post(f"/api/positions/{pos.pk}/protection/", {"stop_loss": "94000"})
    assert resp.status_code == 400
    assert "liquidation price 94560" in resp.json()["stop_loss"][0]  # 96,000 x (1 - 1/50 + 0.005)
    resp = api.post(f"/api/positions/{pos.pk}/protection/", {"stop_loss": "95000"})
    assert resp.status_code == 200 and resp.json()["ok"], resp.content
    pos.refresh_from_db()
    assert pos.stop_loss == Decimal("95000")

    api.login(d["bob"])
    assert api.post(f"/api/positions/{pos.pk}/close/").status_code == 404  # not bob's
    api.login(d["alice"])
    assert api.post(f"/api/positions/{pos.pk}/close/", {"fraction": 0}).status_code == 400
    resp = api.post(f"/api/positions/{pos.pk}/close/")
    assert resp.status_code == 200 and resp.json()["ok"], resp.content
    fill = Fill.objects.get(position=pos, exit_reason="manual")
    assert fill.order_id == resp.json()["order"] and fill.qty == Decimal("0.00651")
    pos.refresh_from_db()
    assert pos.status == "closed" and pos.exit_reason == "manual"
    assert ManualAction.objects.filter(user=d["alice"]).count() == 3  # open, protect, close (not the 400s)


def test_open_under_the_kill_switch_is_409(paper_desk, api):
    d = paper_desk
    Account.objects.filter(pk=d["account"].pk).update(kill_switch_engaged=True)
    api.login(d["alice"])
    resp = api.post(f"/api/configs/{d['config'].pk}/open/", {"symbol": "BTCUSDT", "side": "short"})
    assert resp.status_code == 409 and "kill switch engaged" in resp.json()["message"]
    assert not Position.objects.exists()
    resp = api.post(f"/api/configs/{d['config'].pk}/open/", {"symbol": "DOGEUSDT", "side": "sideways"})
    assert resp.status_code == 400 and set(resp.json()) == {"side"}
    resp = api.post(f"/api/configs/{d['config'].pk}/open/", {"symbol": "DOGEUSDT", "side": "long"})
    assert resp.status_code == 400 and "DOGEUSDT" in resp.json()["symbol"]


@override_settings(QUANTDESK_THROTTLE_RATES={"orders": "2/min"})
def test_manual_actions_are_throttled_per_user(paper_desk, api):
    d = paper_desk
    api.login(d["alice"])
    codes = [api.post(f"/api/positions/{999999}/close/").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_event_list_filters_and_is_user_scoped(paper_desk, api):
    d = paper_desk
    other = make_account(d["bob"], name="B")
    record_event(account_id=d["account"].pk, kind="order_refused", level="warning", message="no price for X")
    record_event(account_id=d["account"].pk, kind="manual", level="info", message="by hand: close")
    record_event(account_id=other.pk, kind="no_price", level="error", message="bob's")
    api.login(d["alice"])
    rows = api.get("/api/events/").json()["results"]
    assert [r["message"] for r in rows] == ["by hand: close", "no price for X"]  # newest first, only hers
    rows = api.get("/api/events/", level="warning", account=d["account"].pk).json()["results"]
    assert [r["kind"] for r in rows] == ["order_refused"]
    resp = api.get("/api/events/", level="loud")
    assert resp.status_code == 400 and "info, warning or error" in resp.json()["level"]
    assert api.get("/api/events/", account=other.pk).json()["results"] == []
    assert DeskEvent.objects.count() == 3


def test_history_and_trades_csv_are_the_users_own(paper_desk, api):
    import csv
    import io

    d = paper_desk
    api.login(d["alice"])
    pos = Position.objects.get(pk=api.post(f"/api/configs/{d['config'].pk}/open/",
                                           {"symbol": "BTCUSDT", "side": "long"}).json()["position"])
    d["quotes"].set("BTCUSDT", 96_100.0)
    assert api.post(f"/api/positions/{pos.pk}/close/").json()["ok"]
    body = api.get("/api/history/", account=d["account"].pk).json()
    (trip,) = body["trades"]
    # gross (96,100 - 96,000) x 0.00651 = 0.651; fees 0.0006 x (624.96 + 625.611) = 0.7503426 -> net -0.0993426
    assert trip["net_pnl"] == pytest.approx(-0.0993426, abs=1e-9) and trip["exit_reason"] == "manual"
    assert body["by_config"][0]["trades"] == 1 and body["by_config"][0]["win_rate_pct"] == 0.0
    resp = api.get("/api/trades.csv")
    assert resp.status_code == 200 and resp["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert len(rows) == 1 and rows[0]["symbol"] == "BTCUSDT" and Decimal(rows[0]["net_pnl"]) == Decimal("-0.0993426")
    api.login(d["bob"])
    assert api.get("/api/trades.csv").content.decode().strip().count("\n") == 0  # header only
    assert api.get("/api/history/").json()["trades"] == []
    assert api.get("/api/history/", account="x").status_code == 400
