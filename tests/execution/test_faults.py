"""Faults between the desk and Bybit (real pybit against the local fake): timeouts, 10006 bursts, HTTP 5xx,
a connection dropped after the order was accepted, and a worker killed mid-cycle. Afterwards: zero duplicate
orders, zero lost positions, and no open position without a stop-loss once reconciliation has run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from fakebybit.pytest_plugin import API_KEY, API_SECRET, fake_bybit  # noqa: F401
from tests.execution.test_e2e_replay import PARAMS, START, series, store_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.shared_data import REPO_ROOT
from trading import tasks
from trading.exchanges.bybit import BybitExchange
from trading.exchanges.types import ExchangeError
from trading.models import Order, Position
from trading.services.positions import open_position
from trading.services.reconcile import reconcile_account
from trading.services.signal_cycle import run_signal_cycle

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BAR = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
COUNTS: list[str] = []


@pytest.fixture
def live(fake_bybit):  # noqa: F811
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    account = make_account(make_user(), starting_capital=Decimal("500"))
    account.set_api_credentials(api_key=API_KEY, api_secret=API_SECRET)
    account.mode, account.live_trading_enabled = "live", True
    account.save()
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"),
                         params=PARAMS, enabled=True)
    return account, config


def exchange(account, fake, timeout=0.5):
    return BybitExchange(account, endpoint=fake.urls.http, backoff=(0.01, 0.02, 0.05), timeout=timeout)


def check_outcome(account, fake, label):
    """One order on the exchange, one open local position with a stop-loss, nothing sent twice."""
    remote = exchange(account, fake, timeout=5).positions()
    local = list(Position.objects.filter(account=account, status="open"))
    orders = Order.objects.filter(account=account)
    accepted = fake.counters.snapshot()["orders_accepted"]
    COUNTS.append(f"{label:<28} orders sent {orders.count()}  accepted by exchange {accepted}  "
                  f"exchange positions {len(remote)}  local open {len(local)}  "
                  f"without stop {sum(p.stop_loss is None for p in local)}")
    print("\n[faults] " + COUNTS[-1])
    assert accepted == 1 and orders.count() == 1
    assert len(remote) == 1 and len(local) == 1
    assert local[0].qty == remote[0].qty and local[0].stop_loss is not None and remote[0].stop_loss is not None
    assert orders.get().status == "filled"


@pytest.mark.parametrize(("kind", "times", "seconds"), [
    ("timeout", 1, 2.0),            # accepted and executed, reply held past the 0.5 s client timeout
    ("drop_after_accept", 1, None),  # accepted and executed, connection closed with no reply
    ("http_500", 1, None),          # refused before processing
    ("rate_limit_10006", 3, 0.05),  # a burst pybit waits out itself
])
def test_order_faults_place_exactly_once(live, fake_bybit, kind, times, seconds):  # noqa: F811
    account, config = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    fake_bybit.faults.next("/v5/order/create", kind, times=times, seconds=seconds)
    ex = exchange(account, fake_bybit)
    for _attempt in range(3):  # the task's retries: same bar, same client order id
        try:
            open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=ex)
            break
        except ExchangeError as exc:
            assert exc.retryable
    reconcile_account(account_id=account.pk, exchange=exchange(account, fake_bybit, timeout=5))
    check_outcome(account, fake_bybit, kind)


def test_position_without_stop_gets_one(live, fake_bybit):  # noqa: F811
    account, _ = live
    fake_bybit.set_price("BTCUSDT", 96_000.0, bid=95_999.9, ask=96_000.1)
    from fakebybit.pytest_plugin import pybit_http

    pybit_http(fake_bybit).place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market",
                                       qty="0.01", orderLinkId="by-hand")  # opened outside the desk, no SL
    report = reconcile_account(account_id=account.pk, exchange=exchange(account, fake_bybit, timeout=5))
    assert report.sync.adopted == ["BTCUSDT"] and report.stops_set == ["BTCUSDT"]
    remote = exchange(account, fake_bybit, timeout=5).positions()[0]
    # short from the bid 95,999.9 at 10x (the fake's default leverage): 0.25 % above entry
    assert remote.stop_loss == Decimal(f"{95_999.9 * 1.0025:.1f}")
    assert Position.objects.get(account=account, status="open").stop_loss == remote.stop_loss


def _worker_env(fake) -> dict:
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, BYBIT_HTTP_ENDPOINT=fake.urls.http,
               QUANTDESK_FERNET_KEY=settings.QUANTDESK_FERNET_KEY, PYTHONUNBUFFERED="1",
               QUANTDESK_ACCOUNT_LOCK_SECONDS="3")  # so the killed worker's lock expires within the test
    return env


def test_worker_killed_mid_cycle(live, fake_bybit):  # noqa: F811
    """The worker dies while its order's reply is in flight (the exchange has filled it). Reconciliation
    adopts the position for its config; the cycle re-run for the same bar sends nothing."""
    account, config = live
    close = series()[:306]
    store_candles(close)
    bar_time = START + timedelta(minutes=5 * 305)  # the replay scenario's entry bar
    fake_bybit.set_price("BTCUSDT", float(close[305]), bid=float(close[305]), ask=float(close[305]))
    fake_bybit.faults.next("/v5/order/create", "timeout", seconds=8.0)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "quantdesk", "worker", "-P", "solo", "-l",
                               "warning"], cwd=REPO_ROOT, env=_worker_env(fake_bybit), stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        tasks.run_signal_cycle.delay(config.pk, bar_time.isoformat())
        deadline = time.monotonic() + 90
        while fake_bybit.counters.snapshot()["orders_accepted"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fake_bybit.counters.snapshot()["orders_accepted"] == 1, "the worker never placed its order"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    time.sleep(3.5)  # the dead worker's account lock expires (QUANTDESK_ACCOUNT_LOCK_SECONDS=3 above)
    pending = Order.objects.get(account=account)
    assert pending.status == "pending" and not Position.objects.filter(account=account).exists()
    reconcile_account(account_id=account.pk, exchange=exchange(account, fake_bybit, timeout=5))
    pos = Position.objects.get(account=account, status="open")
    assert pos.config_id == config.pk and pos.entry_drift is not None  # claimed by its order's config
    run_signal_cycle(config_id=config.pk, end=bar_time, exchange=exchange(account, fake_bybit, timeout=5))
    check_outcome(account, fake_bybit, "worker killed mid-cycle")


def teardown_module(module):
    if COUNTS:
        print("\n[faults] summary\n" + "\n".join("  " + c for c in COUNTS))
