"""The private stream over real pybit against the fake's authenticated /v5/private: every execution, order,
position and wallet message makes the desk reconcile at once, so a fill is recorded once, the desk's positions
equal the exchange's and a position opened without a stop-loss gets one. Faults: a dropped connection, a lost
execution message, duplicated messages, and the stream down while a stop triggers (polling takes over).
A table of counts is printed at the end of the session, like the adapter's fault table."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from fakebybit.pytest_plugin import fake_bybit, pybit_http  # noqa: F401
from tests.execution.test_faults import exchange, live  # noqa: F401  (fixtures)
from trading.exchanges.bybit_stream import PrivateStream, StreamStatus, stream_status
from trading.models import Fill, Position
from trading.services.private_stream import AccountFollower
from trading.services.reconcile import reconcile_account, stop_is_sound

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DEADLINE = 60.0  # generous: a loaded 2-core machine
ROWS: list[str] = []
NO_POLL = 3600.0  # while the stream is up the follower never polls: only messages can make it act


def wait_until(check, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"not within {deadline:.0f} s: {what}")


class Desk:
    """The stream and its follower on threads, reconciling through the fake's REST endpoint."""

    def __init__(self, account, fake, *, poll_every: float = NO_POLL) -> None:
        self.account, self.fake = account, fake
        self.follower = AccountFollower(
            account_id=account.pk, poll_every=poll_every,
            reconcile=lambda: reconcile_account(account_id=account.pk, exchange=exchange(account, fake, timeout=5)))
        self.stream = PrivateStream(account=account, on_change=self.follower.notify, endpoint=fake.urls.ws_private,
                                    status=StreamStatus(account.pk), check_every=0.1, backoff_initial=0.2,
                                    backoff_max=0.5)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=fn, kwargs={"stop": self.stop}, daemon=True)
                        for fn in (self.follower.run, self.stream.run)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_until(lambda: stream_status(account_id=self.account.pk).get("connected"), "private stream connected")
        wait_until(lambda: self.follower.stats.passes >= 1, "the reconciliation after connecting")
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def by_hand(fake, cid: str, side: str = "Sell", qty: str = "0.01", **extra):
    """An order placed outside the desk (as a user on Bybit's site would): the desk learns of it only from the
    exchange."""
    pybit_http(fake).place_order(category="linear", symbol="BTCUSDT", side=side, orderType="Market", qty=qty,
                                 orderLinkId=cid, **extra)
    return time.monotonic()


def exchange_fills(account, fake) -> int:
    return len(exchange(account, fake, timeout=5).executions())


def table(label: str, account, fake, worst: float | None) -> None:
    remote = exchange(account, fake, timeout=5).positions()
    local = Position.objects.filter(account=account, status="open")
    unprotected = sum(1 for p in remote if not stop_is_sound(side=p.side, stop_loss=p.stop_loss,
                                                              liquidation_price=p.liquidation_price))
    worst_txt = "-" if worst is None else f"{worst:.2f} s"
    ROWS.append(f"{label:<36} {exchange_fills(account, fake):>8} {Fill.objects.filter(account=account).count():>6} "
                f"{len(remote):>9} {local.count():>6} {unprotected:>9}  {worst_txt}")
    assert Fill.objects.filter(account=account).count() == exchange_fills(account, fake), "every fill once"
    assert sorted((p.symbol, p.side, p.qty) for p in remote) == sorted((p.symbol, p.side, p.qty) for p in local)
    assert unprotected == 0


@pytest.fixture(scope="module", autouse=True)
def _print_table(request):
    yield
    if ROWS:
        head = f"{'private stream scenario':<36} {'ex fills':>8} {'fills':>6} {'ex pos':>9} {'open':>6} " \
               f"{'no stop':>9}  fill -> verified stop"
        print("\n" + "\n".join([head, *ROWS]))


def protected_after(account, fake, t0: float) -> float:
    """Seconds from ``t0`` until the exchange shows a sound stop on the open position."""
    def sound():
        rows = exchange(account, fake, timeout=5).positions()
        return bool(rows) and all(stop_is_sound(side=p.side, stop_loss=p.stop_loss,
                                                liquidation_price=p.liquidation_price) for p in rows)
    wait_until(sound, "a sound stop-loss on the exchange")
    return time.monotonic() - t0


def test_a_fill_reaches_the_desk_and_its_position_gets_a_stop_through_the_stream(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    with Desk(account, fake_bybit) as desk:
        passes = desk.follower.stats.passes
        t0 = by_hand(fake_bybit, "hand-1")
        took = protected_after(account, fake_bybit, t0)
        wait_until(lambda: Position.objects.filter(account=account, status="open").exists(), "position adopted")
        # no polling while the stream is up: it was the stream's messages that woke the desk (the pass counts
        # itself once its reconciliation has returned, just after the stop shows)
        wait_until(lambda: desk.follower.stats.passes > passes, "a pass woken by the stream")
        table("fill -> adopted + stop (stream)", account, fake_bybit, took)


def test_a_dropped_connection_reconnects_and_reconciles_the_gap(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    with Desk(account, fake_bybit):
        fake_bybit.private_ws_down = True
        fake_bybit.call(fake_bybit.hub.drop_all, True)
        wait_until(lambda: stream_status(account_id=account.pk).get("connected") is False, "the drop seen")
        t0 = by_hand(fake_bybit, "during-gap")  # its messages go nowhere: nobody is connected
        fake_bybit.private_ws_down = False
        wait_until(lambda: stream_status(account_id=account.pk).get("reconnects", 0) >= 1, "reconnected")
        took = protected_after(account, fake_bybit, t0)
        wait_until(lambda: Position.objects.filter(account=account, status="open").exists(), "gap reconciled")
        table("dropped connection (gap)", account, fake_bybit, took)


def test_a_lost_execution_message_is_caught_up_by_the_messages_around_it(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    with Desk(account, fake_bybit):
        fake_bybit.hub.drop_private["execution"] = 1
        t0 = by_hand(fake_bybit, "lost-exec")
        took = protected_after(account, fake_bybit, t0)
        wait_until(lambda: Fill.objects.filter(account=account).count() == 1, "the fill recorded")
        assert fake_bybit.counters.snapshot()["trace"].count(("dropped", "execution")) == 1
        table("lost execution message", account, fake_bybit, took)


def test_duplicated_messages_record_each_fill_once(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    with Desk(account, fake_bybit) as desk:
        for topic in ("execution", "order", "position", "wallet"):
            fake_bybit.hub.duplicate_private[topic] = 2
        t0 = by_hand(fake_bybit, "dup-1", qty="0.01")
        took = protected_after(account, fake_bybit, t0)
        by_hand(fake_bybit, "dup-2", qty="0.01")  # adds to the short
        wait_until(lambda: Fill.objects.filter(account=account).count() == 2, "both fills")
        wait_until(lambda: Position.objects.filter(account=account, status="open", qty=Decimal("0.02")).exists(),
                   "the position's size")
        time.sleep(0.5)  # let any duplicate-triggered pass finish before counting
        assert not desk.follower.stats.errors
        table("duplicated messages", account, fake_bybit, took)


def test_stream_down_while_a_stop_triggers_polling_records_the_close(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    with Desk(account, fake_bybit, poll_every=0.5):
        t0 = by_hand(fake_bybit, "protected", stopLoss="96500", slTriggerBy="LastPrice")
        wait_until(lambda: Position.objects.filter(account=account, status="open").exists(), "position adopted")
        took = time.monotonic() - t0
        fake_bybit.private_ws_down = True
        fake_bybit.call(fake_bybit.hub.drop_all, True)
        wait_until(lambda: stream_status(account_id=account.pk).get("connected") is False, "the drop seen")
        fake_bybit.set_price("BTCUSDT", 96_600.0, bid=96_599.9, ask=96_600.1)  # through the short's stop
        closed = wait_until(lambda: Position.objects.filter(account=account, status="closed").first(),
                            "the stop's close recorded by polling")
        assert closed.exit_reason == "sl"
        assert not Position.objects.filter(account=account, status="open").exists()
        table("stream down, stop triggers (poll)", account, fake_bybit, took)


def test_a_position_whose_stop_cannot_be_set_is_closed_with_an_alert(live, fake_bybit, monkeypatch):  # noqa: F811
    account, _ = live
    alerts = []
    monkeypatch.setattr("trading.services.reconcile.publish",
                        lambda **kw: alerts.append(kw) if kw["event_type"] == "alert" else None)
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    by_hand(fake_bybit, "no-stop-possible")
    fake_bybit.faults.next("/v5/position/trading-stop", "http_500", times=10)  # every retry fails
    report = reconcile_account(account_id=account.pk, exchange=exchange(account, fake_bybit, timeout=5))
    assert report.unprotected_closed == ["BTCUSDT"] and report.stops_set == []
    assert exchange(account, fake_bybit, timeout=5).positions() == []
    reconcile_account(account_id=account.pk, exchange=exchange(account, fake_bybit, timeout=5))
    closed = Position.objects.get(account=account)
    assert (closed.status, closed.exit_reason) == ("closed", "reconcile")
    [alert] = alerts
    assert alert["data"]["level"] == "critical" and "no stop-loss" in alert["data"]["message"]
