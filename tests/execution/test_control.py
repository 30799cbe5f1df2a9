"""Never lose control, one rule at a time (in-process; the fault suite in tests/faults runs them against real
workers): the kill switch refuses new exposure at the last moment, leased locks heal, signals and prices have
an age, the monitor never invents a price, and an account with anything open is never deleted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from tests.execution.test_e2e_replay import PARAMS, START, series, store_candles
from trading.exchanges.paper import PaperExchange
from trading.exchanges.types import KILL_SWITCH_REFUSED, ExchangeError, OrderIntent
from trading.marketdata.clock import desk_now_ms
from trading.models import Account, KillSwitchEvent, MonitorDecision, Order, Position, Signal
from trading.services import kill_switch
from trading.services.locks import RELEASE, AccountBusy, account_lock, acquire
from trading.services.monitor import run_monitor
from trading.services.orders import submit_order
from trading.services.positions import open_position
from trading.services.signal_cycle import run_signal_cycle

BAR = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def r() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


# ----- locks -------------------------------------------------------------------------------------------
def test_a_dead_holders_lease_runs_out():
    """A holder that stops renewing (killed) blocks the account for one lease only."""
    key = "qd:lock:account:515151"
    dead = acquire(r(), key, seconds=0.5, wait=0)  # taken, and nobody renews it
    assert dead is not None
    with pytest.raises(AccountBusy), account_lock(515151):
        pass
    t0 = time.monotonic()
    with account_lock(515151, wait=5):
        waited = time.monotonic() - t0
    assert waited <= 0.5 + 0.3  # free once the 0.5 s lease is over (plus a 50 ms poll)


def test_a_live_holder_keeps_its_lock_past_the_lease_and_release_checks_the_owner():
    with account_lock(525252, timeout=0.6) as lease:
        time.sleep(1.5)  # 2.5 leases: the heartbeat renewed it
        assert r().get(lease.key) == lease.token.encode() and not lease.lost.is_set()
        with pytest.raises(AccountBusy), account_lock(525252):
            pass
    assert r().get(lease.key) is None  # released
    # a holder whose lease was taken over does not delete the new holder's lock
    r().set("qd:lock:account:535353", "someone-else")
    assert r().eval(RELEASE, 1, "qd:lock:account:535353", "my-old-token") == 0
    assert r().get("qd:lock:account:535353") == b"someone-else"


# ----- kill switch -------------------------------------------------------------------------------------
def intent(cid: str, *, reduce_only: bool = False, side: str = "Buy") -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side=side, qty=Decimal("0.001"), client_order_id=cid,
                       reduce_only=reduce_only)


@pytest.mark.django_db(transaction=True)
def test_killed_account_sends_no_new_exposure_but_may_reduce(desk, quotes):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    assert submit_order(account=account, exchange=paper, intent=intent("qd-open-1"), action="open").status == "new"
    Account.objects.filter(pk=account.pk).update(kill_switch_engaged=True)  # engaged after the caller checked
    order = submit_order(account=account, exchange=paper, intent=intent("qd-open-2"), action="open")
    assert order.status == "rejected" and "kill switch engaged" in order.reject_reason
    with pytest.raises(ExchangeError) as info:  # the adapter refuses on its own too
        paper.place_order(intent("qd-open-3"))
    assert info.value.code == KILL_SWITCH_REFUSED
    closed = submit_order(account=account, exchange=paper, intent=intent("qd-red-1", reduce_only=True, side="Sell"),
                          action="close")
    assert closed.status == "new"
    assert paper.positions() == []  # one open, one reduce-only close: flat, the refused ones never got there


@pytest.mark.django_db(transaction=True)
def test_kill_switch_closes_and_audits_and_a_stuck_pending_close_is_finished(desk, quotes, monkeypatch):
    """The process that engaged dies after writing the close order (pending) but before sending it: the close
    job's pass (same client order id) asks the exchange, finds nothing, sends it once, and closes the audit."""
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper).placed
    pos = Position.objects.get(account=account, status="open")
    monkeypatch.setattr("trading.exchanges.factory.exchange_for", lambda acc, **kw: paper)
    queued = []
    monkeypatch.setattr("trading.tasks.close_positions_for_kill_switch.delay", queued.append)

    def die(_intent):
        raise SystemExit("web process killed")  # after the Order row was written, before anything was sent

    monkeypatch.setattr(paper, "place_order", die)
    with pytest.raises(SystemExit):
        kill_switch.engage(account=account, user=None, reason="test")
    event = KillSwitchEvent.objects.get(account=account, action="engage")
    assert event.status == "closing" and event.positions == [pos.pk]
    assert queued == [event.pk]  # the durable job was queued when the engage committed
    stuck = Order.objects.get(account=account, action="close")
    assert stuck.status == "pending"
    monkeypatch.undo()
    monkeypatch.setattr("trading.exchanges.factory.exchange_for", lambda acc, **kw: paper)
    event = kill_switch.close_open_positions(event_id=event.pk)  # what the job runs
    stuck.refresh_from_db()
    pos.refresh_from_db()
    assert pos.status == "closed" and pos.exit_reason == "manual"
    assert stuck.status == "filled" and Order.objects.filter(account=account, action="close").count() == 1
    assert event.status == "done" and event.outcomes == {str(pos.pk): "closed"} and event.finished_at


# ----- signals with an age -----------------------------------------------------------------------------
@pytest.fixture
def drift_desk(db, quotes):
    from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user

    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    account = make_account(make_user(), starting_capital=Decimal("500"))
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"),
                         params=PARAMS, enabled=True)
    close = series()[:306]
    store_candles(close)
    quotes.set("BTCUSDT", float(close[305]))
    return account, config, PaperExchange(account, quote=quotes)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("late_s", [3600, -60])
def test_a_signal_past_its_bar_is_recorded_expired_and_places_nothing(drift_desk, late_s):
    account, config, paper = drift_desk
    bar_time = START + timedelta(minutes=5 * 305)  # the e2e scenario's entry bar: the strategy says long
    report = run_signal_cycle(config_id=config.pk, end=bar_time, exchange=paper,
                              expires_ms=desk_now_ms() - late_s * 1000)
    signal = Signal.objects.get(config=config, bar_time=bar_time)
    assert signal.signal == 1
    if late_s > 0:  # an hour late: recorded, nothing sent
        assert signal.outcome == "expired" and not signal.acted and signal.note.endswith("s past its bar; nothing placed")
        assert int(signal.note.split()[1]) >= 3600  # how late, in desk-clock seconds
        assert not Order.objects.exists() and "expired" in report.notes[0]
    else:  # within its bar: acted on (the control)
        assert signal.outcome == "acted" and Order.objects.filter(action="open").count() == 1


# ----- prices with an age, and no invented prices ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_paper_refuses_a_stale_or_missing_price_and_says_the_age(desk, quotes):
    account, config, _ = desk
    quotes.set("BTCUSDT", 96_000.0)
    clock = {"ms": quotes.ts + 46_000}  # the feed's last price is 46 s old
    paper = PaperExchange(account, quote=quotes, now_ms=lambda: clock["ms"])
    out = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper)
    assert out.refused.startswith("price of BTCUSDT is 46.0 s old (limit 5 s")
    with pytest.raises(ExchangeError, match="46.0 s old"):
        paper.place_order(intent("qd-stale-1"))
    with pytest.raises(ExchangeError, match="no price for ETHUSDT"):
        paper.place_order(OrderIntent(symbol="ETHUSDT", side="Buy", qty=Decimal("0.01"), client_order_id="x1"))
    clock["ms"] = quotes.ts + 4_000  # 4 s old: within the limit, filled and stamped with the price's time
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper).placed
    fill = paper.executions()[0]
    assert int(fill.executed_at.timestamp() * 1000) == quotes.ts


@pytest.mark.django_db(transaction=True)
def test_monitor_without_a_price_decides_nothing_and_alerts(desk, quotes):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper, drift=0.004,
                         confidence=0.8, half_life_seconds=1.0).placed  # 2 x half-life long past: would close
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"account.{account.pk}", channel)
    quotes.q.clear()  # the price is gone (Redis flushed, feed dead)
    assert run_monitor(account_id=account.pk, exchange=paper) == []
    assert not MonitorDecision.objects.exists() and Position.objects.get(account=account).status == "open"
    events = []
    for _ in range(10):
        message = async_to_sync(layer.receive)(channel)
        events.append(message["event"])
        if message["event"]["type"] == "alert":
            break
    alert = events[-1]
    assert alert["type"] == "alert" and alert["data"]["kind"] == "no_price"
    assert "no current price" in alert["data"]["message"] and alert["data"]["symbol"] == "BTCUSDT"


# ----- accounts with anything open are not deleted -----------------------------------------------------
@pytest.mark.django_db
def test_account_with_an_open_position_is_refused_deletion_then_archived(client):
    from tests.desk_fixtures import trading_record
    from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user

    make_instrument("BTCUSDT")
    user = make_user("owner", staff=True)
    account = make_account(user, "Live-ish")
    config = make_config(account, make_strategy("chandelier"), enabled=True)
    record = trading_record(account, config)
    client.force_login(user)
    resp = client.delete(f"/api/accounts/{account.pk}/")
    assert resp.status_code == 409
    assert "1 open position(s)" in resp.json()["detail"] and "archive" in resp.json()["detail"]
    assert Position.objects.filter(account=account).count() == 1 and Order.objects.filter(account=account).exists()
    page = client.post(f"/admin/trading/account/{account.pk}/delete/", {"post": "yes"})  # the admin refuses too
    assert page.status_code == 200 and b"1 open position(s)" in page.content
    assert Account.objects.filter(pk=account.pk).exists()
    resp = client.post(f"/api/accounts/{account.pk}/archive/", {"archived": True}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["archived"] is True
    config.refresh_from_db()
    assert not config.enabled
    Position.objects.filter(pk=record["position"].pk).update(status="closed")
    assert client.delete(f"/api/accounts/{account.pk}/").status_code == 204  # nothing open: deleted
    assert not Account.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_kill_switch_close_is_sent_again_with_a_new_id(desk, quotes, monkeypatch):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper).placed
    pos = Position.objects.get(account=account, status="open")
    monkeypatch.setattr("trading.exchanges.factory.exchange_for", lambda acc, **kw: paper)
    monkeypatch.setattr("trading.tasks.close_positions_for_kill_switch.delay", lambda pk: None)
    real = paper.place_order
    refusals = iter([ExchangeError(110017, "position is zero, cannot fix reduce-only order qty")])

    def refuse_once(order_intent):
        err = next(refusals, None)
        if err is not None:
            raise err
        return real(order_intent)

    monkeypatch.setattr(paper, "place_order", refuse_once)
    result = kill_switch.engage(account=account, user=None)
    assert result.still_closing == [pos.pk] and result.close_results == {pos.pk: "order rejected"}
    event = kill_switch.close_open_positions(event_id=result.audit_id)  # the job's next pass
    closes = list(Order.objects.filter(position=pos, action="close").order_by("created_at"))
    assert [o.status for o in closes] == ["rejected", "filled"]
    assert closes[0].client_order_id != closes[1].client_order_id
    assert event.status == "done" and event.outcomes == {str(pos.pk): "closed"} and event.attempts == 2


# ----- queues, start-up reconciliation, missed bars ------------------------------------------------------
def test_trading_and_research_tasks_go_to_their_own_queues_and_rundesk_serves_both():
    from quantdesk.celery import app
    from quantdesk.launcher import process_table

    def queue(name: str) -> str:
        return app.amqp.router.route({}, name)["queue"].name

    for name in ("run_signal_cycle", "dispatch_signal_cycles", "monitor_account", "monitor_positions",
                 "reconcile_account", "close_positions_for_kill_switch", "snapshot_equities"):
        assert queue(f"trading.tasks.{name}") == "trading", name
    for name in ("deliver_alert", "check_alerts", "send_daily_pnl"):  # alerts never wait behind research either
        assert queue(f"trading.tasks_alerts.{name}") == "trading", name
    assert queue("trading.run_backtest") == queue("trading.rank_sweep") == "research"
    workers = {p.name: p.argv for p in process_table("127.0.0.1", 8000, 2)}
    trading, research = workers["trading"], workers["research"]
    assert trading[trading.index("-Q") + 1] == "trading" and trading[trading.index("--concurrency") + 1] == "1"
    assert research[research.index("-Q") + 1] == "research" and research[research.index("--concurrency") + 1] == "2"


@pytest.mark.django_db(transaction=True)
def test_start_up_reconciliation_waits_for_a_dead_holders_lease(desk, quotes):
    from trading.services.reconcile import reconcile_account

    account, config, paper = desk
    assert acquire(r(), f"qd:lock:account:{account.pk}", seconds=1.0, wait=0) is not None  # a dead holder
    t0 = time.monotonic()
    report = reconcile_account(account_id=account.pk, exchange=paper)  # waits instead of AccountBusy
    assert report.errors == [] and 0.8 <= time.monotonic() - t0 < 5


@pytest.mark.django_db(transaction=True)
def test_missed_bars_are_alerted_to_the_account():
    from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
    from trading.services.scheduling import due_signal_cycles

    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    config = make_config(make_account(make_user()), make_strategy("drift"), leverage=50, sizing_mode="kelly",
                         allocation=None, kelly_fraction=0.5, stop_loss_pct=0.5, params=PARAMS, enabled=True)
    store_candles(series()[:40])
    Signal.objects.create(config=config, symbol="BTCUSDT", bar_time=START + timedelta(minutes=5 * 36), signal=0)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"account.{config.account_id}", channel)
    [due] = due_signal_cycles()
    # bar 39 is due; bars 37 and 38 got no cycle. It may be acted on until one bar after bar 39's close.
    assert due.bar_time == START + timedelta(minutes=5 * 39)
    assert due.expires_ms == int((START + timedelta(minutes=5 * 41)).timestamp() * 1000)
    event = async_to_sync(layer.receive)(channel)["event"]
    assert event["type"] == "alert" and event["data"]["kind"] == "missed_bars" and event["data"]["missed"] == 2


@pytest.mark.django_db(transaction=True)
def test_kill_switch_and_no_price_reach_the_owners_alert_channels(desk, quotes, monkeypatch):
    from trading.models import AlertChannel
    from trading.services.alerts import save_channel

    account, config, paper = desk
    save_channel(channel=AlertChannel(owner=account.owner), url="json://127.0.0.1:9/hook", name="pager",
                 kinds=["kill_switch", "alert"])
    sent = []
    monkeypatch.setattr("trading.tasks_alerts.deliver_alert.delay", lambda channel, title, body: sent.append(title))
    monkeypatch.setattr("trading.exchanges.factory.exchange_for", lambda acc, **kw: paper)
    monkeypatch.setattr("trading.tasks.close_positions_for_kill_switch.delay", lambda pk: None)
    quotes.set("BTCUSDT", 96_000.0)
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper).placed
    quotes.q.clear()
    run_monitor(account_id=account.pk, exchange=paper)
    run_monitor(account_id=account.pk, exchange=paper)  # the same missing price is notified once
    quotes.set("BTCUSDT", 96_000.0)
    kill_switch.engage(account=account, user=None, reason="drill")
    assert sent == ["BTCUSDT: no price, no monitor decision", "kill switch engaged on Paper",
                    "kill switch on Paper: closing finished"]


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_lock_was_taken_over_sends_nothing(desk, quotes):
    from trading.services.locks import LockLost

    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    with account_lock(account.pk, timeout=0.3) as lease:
        r().set(lease.key, "another-holder")  # our lease ran out (a long pause) and someone else took it
        assert lease.lost.wait(60)  # the heartbeat noticed (a ceiling: it returns as soon as it is set)
        with pytest.raises(LockLost):
            submit_order(account=account, exchange=paper, intent=intent("qd-late-1"), action="open")
    assert Order.objects.get(client_order_id="qd-late-1").status == "pending" and paper.positions() == []
    assert r().get(lease.key) == b"another-holder"  # and our release left the new holder's lock alone
