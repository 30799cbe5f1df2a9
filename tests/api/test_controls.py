"""Kill switch, config enable/disable, throttles and the candles endpoint: behaviour and 400 messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import override_settings

from strategies.models import StrategyConfig
from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_config


def test_kill_switch_disables_configs_and_requests_close_of_open_positions(desk, api):
    acc = desk["acc_a"]
    second = make_config(acc, desk["strategy"], name="a-second", enabled=True)
    api.login(desk["alice"])
    resp = api.post(f"/api/accounts/{acc.pk}/kill-switch/", {"reason": "flash crash"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body == {"account_id": acc.pk, "engaged": True,
                    "configs_disabled": sorted([desk["cfg_a"].pk, second.pk]),
                    "close_requested": [desk["rec_a"]["position"].pk],
                    # the paper exchange never held this hand-made row, so reconciliation closes it locally
                    "close_results": {str(desk["rec_a"]["position"].pk): "closed"},
                    "still_closing": [], "audit_id": body["audit_id"]}
    acc.refresh_from_db()
    assert acc.kill_switch_engaged
    assert not StrategyConfig.objects.filter(account=acc, enabled=True).exists()
    assert StrategyConfig.objects.filter(account=desk["acc_b"]).get().enabled is False  # untouched (was off)
    entry = LogEntry.objects.get(object_id=str(acc.pk))
    assert "flash crash" in entry.change_message and str(desk["rec_a"]["position"].pk) in entry.change_message
    # a config cannot be enabled while the switch is engaged; the message says why
    resp = api.post(f"/api/configs/{desk['cfg_a'].pk}/enable/")
    assert resp.status_code == 400 and "kill switch" in resp.json()["enabled"][0]
    # release: configs stay disabled until enabled by hand
    resp = api.post(f"/api/accounts/{acc.pk}/kill-switch/", {"engage": False})
    assert resp.json()["engaged"] is False
    assert not StrategyConfig.objects.filter(account=acc, enabled=True).exists()
    resp = api.post(f"/api/configs/{desk['cfg_a'].pk}/enable/")
    assert resp.status_code == 200 and resp.json()["enabled"] is True


def test_enable_and_disable_actions(desk, api):
    api.login(desk["bob"])
    cfg = desk["cfg_b"]
    assert api.post(f"/api/configs/{cfg.pk}/enable/").json()["enabled"] is True
    cfg.refresh_from_db()
    assert cfg.enabled
    assert api.post(f"/api/configs/{cfg.pk}/disable/").json()["enabled"] is False
    cfg.refresh_from_db()
    assert not cfg.enabled


def test_kill_switch_body_is_validated(desk, api):
    api.login(desk["alice"])
    resp = api.post(f"/api/accounts/{desk['acc_a'].pk}/kill-switch/", {"engage": "maybe", "reason": "x" * 201})
    assert resp.status_code == 400
    assert set(resp.json()) == {"engage", "reason"} and "200" in resp.json()["reason"][0]


def test_config_update_is_fully_validated(desk, api):
    api.login(desk["alice"])
    # 30x sits in the 20-49x band: allocation must be 10-20 %; 5 % is refused, naming the band
    resp = api.patch(f"/api/configs/{desk['cfg_a'].pk}/", {"leverage": "30"})
    assert resp.status_code == 400 and "allocation" in resp.json()
    assert "0.1" in resp.json()["allocation"][0] and "0.2" in resp.json()["allocation"][0]
    resp = api.patch(f"/api/configs/{desk['cfg_a'].pk}/", {"leverage": "30", "allocation": "0.15"})
    assert resp.status_code == 200, resp.content
    desk["cfg_a"].refresh_from_db()
    assert str(desk["cfg_a"].leverage) == "30.00"


@override_settings(QUANTDESK_THROTTLE_RATES={"login": "3/min", "kill_switch": "2/min"})
def test_login_token_and_kill_switch_are_throttled(desk, api, client):
    for _ in range(3):
        assert client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}).status_code == 400
    assert client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass-123"}).status_code == 429
    api.login(desk["alice"])
    url = f"/api/accounts/{desk['acc_a'].pk}/kill-switch/"
    assert [api.post(url).status_code for _ in range(3)] == [200, 200, 429]


@override_settings(QUANTDESK_THROTTLE_RATES={"login": "2/min"})
def test_login_page_is_throttled(desk, client):
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "alice", "password": "s3cret-pass-123"}).status_code == 429


def test_candles_need_symbol_and_interval_and_page_is_capped(desk, api):
    seed_candles(30)
    api.login(desk["alice"])
    resp = api.get("/api/candles/")
    assert resp.status_code == 400 and set(resp.json()) == {"symbol", "interval"}
    resp = api.get("/api/candles/", symbol="BTCUSDT", interval="7m")
    assert resp.status_code == 400 and "7m" in resp.json()["interval"][0]
    start, end = T0 + timedelta(minutes=50), T0 + timedelta(minutes=100)
    body = api.get("/api/candles/", symbol="BTCUSDT", interval="5m", start=start.isoformat(),
                   end=end.isoformat()).json()
    # bars open at 50, 55, ..., 100 minutes: 11 bars, oldest first
    assert body["count"] == 11
    assert body["results"][0]["open_time"].startswith("2025-03-01T00:50")
    assert body["results"][-1]["open_time"].startswith("2025-03-01T01:40")
    capped = api.get("/api/candles/", symbol="BTCUSDT", interval="5m", limit=100000).json()
    assert len(capped["results"]) == 30  # all 30 fit under the 5,000 cap
    from trading.api.pagination import CandlePagination

    assert CandlePagination.max_limit == 5000


@pytest.mark.parametrize(("url", "params", "field"), [
    ("/api/fills/", {"since": "yesterday"}, "since"),
    ("/api/positions/", {"status": "maybe"}, "status"),
    ("/api/orders/", {"account": "abc"}, "account"),
])
def test_bad_filters_are_400_naming_the_field(desk, api, url, params, field):
    api.login(desk["alice"])
    resp = api.get(url, **params)
    assert resp.status_code == 400 and field in resp.json()


def test_lists_order_and_paginate(desk, api):
    api.login(desk["staff"])
    body = api.get("/api/fills/", ordering="executed_at", limit=1).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]


def test_time_filters_take_any_offset_as_utc(desk, api):
    """Found by schemathesis on PostgreSQL: offsets beyond +-15:59 used to reach the database (500)."""
    api.login(desk["alice"])
    # the fill is at 2025-03-02 12:00 UTC; 2025-03-03 11:00+23:30 is 2025-03-02 11:30 UTC, before it
    resp = api.get("/api/fills/", since="2025-03-03T11:00:00+23:30")
    assert resp.status_code == 200 and resp.json()["count"] == 1
    resp = api.get("/api/fills/", since="2025-03-03T13:00:00+23:30")  # 12:30 UTC, after it
    assert resp.status_code == 200 and resp.json()["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_kill_switch_closes_a_paper_position_through_the_exchange(api):
    """A position opened on the paper exchange is closed by the kill switch with a reduce-only market
    order at the feed's price (exit reason manual)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    import redis
    from django.conf import settings

    from tests.factories import make_account, make_instrument, make_strategy, make_user
    from trading.exchanges.paper import PaperExchange
    from trading.marketdata.feed import PRICE_KEY
    from trading.models import Fill, Position
    from trading.services.positions import open_position

    user = make_user("trader")
    make_instrument("BTCUSDT", qty_step=Decimal("0.00001"), min_qty=Decimal("0.00001"))
    account = make_account(user, "Paper", starting_capital=Decimal("25"),
                           slippage_bps=Decimal("0"))  # DESIGN's worked example: fills at the quote
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"), enabled=True)
    r = redis.Redis.from_url(settings.REDIS_URL)
    key = PRICE_KEY.format(symbol="BTCUSDT")

    def quote(price: str) -> None:
        ts = str(int(datetime.now(UTC).timestamp() * 1000))
        r.hset(key, mapping={"last": price, "mark": price, "bid": price, "ask": price, "ts": ts})

    try:
        quote("96000")
        out = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=datetime(2025, 3, 1, tzinfo=UTC),
                            exchange=PaperExchange(account))
        assert out.placed, out.refused
        pos = Position.objects.get(account=account, status="open")
        assert pos.qty == Decimal("0.00651")  # 25 x 0.5 x 50 = 625 USDT / 96,000 -> 0.00651
        quote("96100")
        api.login(user)
        body = api.post(f"/api/accounts/{account.pk}/kill-switch/", {"reason": "test"}).json()
        assert body["close_requested"] == [pos.pk] and body["close_results"] == {str(pos.pk): "closed"}
        assert body["configs_disabled"] == [config.pk]
        pos.refresh_from_db()
        assert pos.status == "closed" and pos.exit_reason == "manual"
        exit_fill = Fill.objects.filter(position=pos, exit_reason="manual").get()
        # closed at the 96,100 bid: gross PnL = (96,100 - 96,000) x 0.00651 = 0.651
        assert exit_fill.side == "Sell" and exit_fill.price == Decimal("96100")
        assert exit_fill.realised_pnl == Decimal("0.651")
    finally:
        r.delete(key)


@override_settings(QUANTDESK_THROTTLE_RATES={"backtests": "2/min"})
def test_backtest_and_sweep_starts_are_throttled_per_user(desk, api):
    api.login(desk["alice"])
    codes = [api.post("/api/backtests/", {}).status_code, api.post("/api/sweeps/", {}).status_code,
             api.post("/api/backtests/", {}).status_code]
    assert codes == [400, 400, 429]  # bad bodies still count; the third start in a minute is refused
    assert api.get("/api/backtests/").status_code == 200  # reading is not throttled
    api.login(desk["bob"])
    assert api.post("/api/backtests/", {}).status_code == 400  # another user has their own budget


@pytest.mark.parametrize("url", ["/api/decisions/", "/api/positions/", "/api/fills/", "/api/orders/"])
def test_out_of_range_ids_in_filters_are_400_not_500(desk, api, url):
    """Found by schemathesis on SQLite: an account id beyond 64 bits reached the database (OverflowError)."""
    api.login(desk["alice"])
    resp = api.get(url, account="99999999999999999999999")
    assert resp.status_code == 400 and "account" in resp.json()
