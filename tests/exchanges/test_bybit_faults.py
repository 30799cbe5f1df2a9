"""Faults through real pybit against the fake: a lost reply to order/create (``timeout``,
``drop_after_accept``) must leave exactly ONE order on the exchange and return its ack; HTTP 500s and 10006
bursts are retried a bounded number of times; a 10006 whose reset time is already past (pybit's negative
sleep) cannot crash the adapter. Each scenario adds its counts to the summary printed after the run."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from trading.exchanges.bybit import BybitExchange
from trading.exchanges.types import ExchangeError, OrderIntent

from .conftest import FAST, FAULT_SUMMARY
from .wire import WireRelay

CREATE, REALTIME, POSITIONS = "/v5/order/create", "/v5/order/realtime", "/v5/position/list"


def buy(cid: str) -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.001"), client_order_id=cid)


def record(fake, scenario: str, outcome: str) -> dict:
    seen = fake.counters.snapshot()
    row = {"scenario": scenario, "sent": seen["requests"].get(CREATE, 0), "accepted": seen["orders_accepted"],
           "duplicates": seen["orders_rejected"].get(110072, 0), "lookups": seen["requests"].get(REALTIME, 0),
           "outcome": outcome}
    FAULT_SUMMARY.append(row)
    print(f"\n[{scenario}] order/create sent {row['sent']}, orders on the fake {row['accepted']}, "
          f"110072 duplicates {row['duplicates']}, order lookups {row['lookups']} -> {outcome}")
    return row


@pytest.mark.parametrize("kind", ["timeout", "drop_after_accept"])
def test_lost_reply_after_accept_leaves_one_order_and_returns_its_ack(account, fake_bybit, kind):
    fake_bybit.faults.next(CREATE, kind, seconds=2.0)
    ex = BybitExchange(account, endpoint=fake_bybit.urls.http, backoff=FAST, timeout=0.5)
    ex.instrument("BTCUSDT")
    started = time.monotonic()
    ack = ex.place_order(buy(f"lost-{kind}"))
    row = record(fake_bybit, f"{kind} on order/create", f"ack {ack.order_id} in {time.monotonic() - started:.2f}s")
    # one send, the reply lost, then a lookup by orderLinkId found it: nothing was sent twice
    assert (row["sent"], row["accepted"], row["duplicates"]) == (1, 1, 0)
    assert row["lookups"] == 1
    assert not ack.duplicate and ack.client_order_id == f"lost-{kind}"
    assert ack.order_id == ex.find_order("BTCUSDT", f"lost-{kind}").order_id
    assert [p.qty for p in ex.positions()] == [Decimal("0.001")]


def test_http_500_before_processing_is_looked_up_then_resent_with_the_same_link_id(bybit, fake_bybit):
    fake_bybit.faults.next(CREATE, "http_500")
    ack = bybit.place_order(buy("five-1"))
    row = record(fake_bybit, "http_500 x1 on order/create", f"ack {ack.order_id}")
    assert (row["sent"], row["accepted"], row["duplicates"], row["lookups"]) == (2, 1, 0, 1)
    assert bybit.find_order("BTCUSDT", "five-1").order_id == ack.order_id


def test_http_500_every_time_gives_up_after_max_attempts_with_a_retryable_error(bybit, fake_bybit):
    fake_bybit.faults.next(CREATE, "http_500", times=10)
    with pytest.raises(ExchangeError) as e:
        bybit.place_order(buy("five-all"))
    row = record(fake_bybit, "http_500 x10 on order/create", f"ExchangeError {e.value.code}")
    assert e.value.code == 500 and e.value.retryable and "not placed after 4 attempts" in e.value.message
    # 4 sends (max_attempts), a lookup before each resend (3) and one after the last failure
    assert (row["sent"], row["accepted"], row["lookups"]) == (4, 0, 4)


def test_http_403_is_not_hammered(bybit, fake_bybit):
    fake_bybit.faults.next(CREATE, "http_403", times=3)
    with pytest.raises(ExchangeError) as e:
        bybit.place_order(buy("ban-1"))
    row = record(fake_bybit, "http_403 on order/create", f"ExchangeError {e.value.code}")
    assert e.value.code == 403 and e.value.retryable and row["sent"] == 1 and row["accepted"] == 0


def test_10006_burst_is_retried_by_pybit_to_success(bybit, fake_bybit):
    bybit.instrument("BTCUSDT")
    fake_bybit.set_rate_limit(CREATE, 3, window_ms=1500)
    acks = [bybit.place_order(buy(f"burst-{i}")) for i in range(5)]
    row = record(fake_bybit, "10006 burst (3 per 1.5 s, 5 orders)", f"{len(acks)} acks")
    seen = fake_bybit.counters.snapshot()
    assert row["accepted"] == 5 and len({a.order_id for a in acks}) == 5
    assert seen["orders_rejected"].get(10006, 0) >= 1
    assert row["sent"] == 5 + seen["orders_rejected"][10006]


def test_10006_on_every_pybit_attempt_is_a_retryable_error_without_more_sends(bybit, fake_bybit):
    fake_bybit.faults.next(CREATE, "rate_limit_10006", times=10)
    with pytest.raises(ExchangeError) as e:
        bybit.place_order(buy("limited-1"))
    row = record(fake_bybit, "10006 x10 on order/create", f"ExchangeError {e.value.code}")
    # pybit's own attempts (max_retries = max_attempts = 4), then a retryable error; nothing placed
    assert e.value.retryable and "Retries exceeded" in e.value.message
    assert (row["sent"], row["accepted"]) == (4, 0)
    fake_bybit.faults.clear()


def test_idempotent_get_is_retried_through_http_500(bybit, fake_bybit):
    fake_bybit.faults.next(POSITIONS, "http_500", times=2)
    assert bybit.positions() == []
    assert fake_bybit.counters.snapshot()["requests"][POSITIONS] == 3
    fake_bybit.faults.next(POSITIONS, "http_500", times=10)
    with pytest.raises(ExchangeError) as e:
        bybit.positions()
    assert (e.value.code, e.value.retryable) == (500, True)
    assert fake_bybit.counters.snapshot()["requests"][POSITIONS] == 3 + 4


def test_set_leverage_is_retried_and_a_landed_first_try_is_fine(bybit, fake_bybit):
    fake_bybit.faults.next("/v5/position/set-leverage", "drop_after_accept")
    bybit.set_leverage("BTCUSDT", Decimal("25"))  # 1st landed, reply lost; 2nd answers 110043 = success
    seen = fake_bybit.counters.snapshot()
    assert seen["requests"]["/v5/position/set-leverage"] == 2 and seen["ret_codes"].get(110043) == 1


def test_past_reset_10006_cannot_crash_the_adapter(account, fake_bybit):
    relay = WireRelay(fake_bybit.urls.http).start()
    try:
        ex = BybitExchange(account, endpoint=relay.url, backoff=FAST)
        relay.past_reset("/v5/account/wallet-balance", times=2)
        assert ex.wallet().balance == Decimal("10000")  # ValueError inside pybit twice, then the real reply
        assert relay.injected["/v5/account/wallet-balance"] == 2
        ex.instrument("BTCUSDT")
        relay.past_reset(CREATE, times=1)
        ack = ex.place_order(buy("past-1"))
        row = record(fake_bybit, "10006 past reset (relay, 1st send)", f"ack {ack.order_id}")
        # the relay answered the 1st send; the lookup found nothing; the resend reached the fake once
        assert (row["accepted"], row["duplicates"], row["lookups"]) == (1, 0, 1)
        assert sum(1 for m, p, _q, _b in relay.sent if p == CREATE) == 2
        relay.past_reset("/v5/market/tickers", times=10)
        with pytest.raises(ExchangeError) as e:
            ex.last_price("BTCUSDT")
        assert (e.value.code, e.value.retryable) == (10006, True)
    finally:
        relay.stop()


def test_clock_behind_the_server_is_healed_by_pybit_widening_recv_window(bybit, fake_bybit):
    # the server is 6 s ahead: ts = server - 6,000 < server - recv_window 5,000 -> 10002; pybit retries
    # with recv_window 7,500, which admits it
    fake_bybit.set_clock_offset(6_000)
    assert bybit.wallet().balance == Decimal("10000")
    seen = fake_bybit.counters.snapshot()
    assert seen["ret_codes"] == {10002: 1} and seen["requests"]["/v5/account/wallet-balance"] == 2


def test_a_read_timeout_on_a_get_is_retried(account, fake_bybit):
    fake_bybit.faults.next(POSITIONS, "timeout", seconds=1.0)
    ex = BybitExchange(account, endpoint=fake_bybit.urls.http, backoff=FAST, timeout=0.3)
    assert ex.positions() == []
    assert fake_bybit.counters.snapshot()["requests"][POSITIONS] == 2
