"""Rate limits and injected faults through the real pybit client: X-Bapi-Limit* headers, a 10006 burst
pybit retries to success with a reset timestamp in the future (no negative sleep), and each fault
kind with its pybit symptom; counters the execution tests read."""

from __future__ import annotations

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from fakebybit.pytest_plugin import pybit_http

CREATE = "/v5/order/create"


def _order(s, **kw):
    params = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.001"}
    params.update(kw)
    return s.place_order(**params)


def test_private_replies_carry_limit_headers(fake_bybit):
    s = pybit_http(fake_bybit, return_response_headers=True)
    body, _elapsed, headers = s.get_positions(category="linear", symbol="BTCUSDT")
    assert body["retCode"] == 0
    assert headers["X-Bapi-Limit"] == "50" and headers["X-Bapi-Limit-Status"] == "49"
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > 0
    _, _, headers = s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.001")
    assert headers["X-Bapi-Limit"] == "10" and headers["X-Bapi-Limit-Status"] == "9"


def test_burst_over_the_order_limit_gets_10006_and_pybit_retries_to_success(fake_bybit):
    fake_bybit.set_rate_limit(CREATE, 3, window_ms=1500)
    s = pybit_http(fake_bybit, max_retries=5)
    acks = [_order(s, orderLinkId=f"burst-{i}") for i in range(5)]
    assert all(a["retCode"] == 0 for a in acks)
    seen = fake_bybit.counters.snapshot()
    assert seen["orders_accepted"] == 5
    assert seen["orders_rejected"].get(10006, 0) >= 1
    assert seen["requests"][CREATE] == 5 + seen["orders_rejected"][10006]


def test_10006_reset_timestamp_is_in_the_future_so_pybit_never_sleeps_negative(fake_bybit):
    fake_bybit.set_rate_limit(CREATE, 1, window_ms=60_000)
    raw = pybit_http(fake_bybit, retry_codes={-1}, ignore_codes={10006}, return_response_headers=True)
    assert raw.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                           qty="0.001")[0]["retCode"] == 0
    body, _elapsed, headers = raw.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                                              orderType="Market", qty="0.001")
    assert body["retCode"] == 10006 and body["retMsg"] == "Too many visits!"
    assert headers["X-Bapi-Limit-Status"] == "0"
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > body["time"]


def test_injected_10006_is_retried_by_pybit_and_the_order_then_accepted(fake_bybit):
    fake_bybit.faults.next(CREATE, "rate_limit_10006", times=2)
    s = pybit_http(fake_bybit)
    assert _order(s)["retCode"] == 0  # a past reset timestamp would raise ValueError inside pybit
    seen = fake_bybit.counters.snapshot()
    assert seen["requests"][CREATE] == 3 and seen["orders_rejected"] == {10006: 2} and seen["orders_accepted"] == 1
    assert fake_bybit.faults.pending() == 0


def test_10006_on_every_attempt_exhausts_pybit_retries(fake_bybit):
    fake_bybit.faults.next(CREATE, "rate_limit_10006", times=3)
    with pytest.raises(FailedRequestError) as e:
        _order(pybit_http(fake_bybit))
    assert e.value.status_code == 400 and "Retries exceeded maximum" in e.value.message


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_403", 403)])
def test_http_status_faults_fail_at_once_and_process_nothing(fake_bybit, bybit_http, kind, status):
    fake_bybit.faults.next(CREATE, kind)
    with pytest.raises(FailedRequestError) as e:
        _order(bybit_http)
    assert e.value.status_code == status
    if status == 403:
        assert "breached the IP rate limit" in e.value.message
    assert fake_bybit.counters.snapshot()["orders_accepted"] == 0
    assert bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0"


def test_bad_json_is_pybit_409(fake_bybit, bybit_http):
    fake_bybit.faults.next("/v5/market/tickers", "bad_json")
    with pytest.raises(FailedRequestError) as e:
        bybit_http.get_tickers(category="linear", symbol="BTCUSDT")
    assert e.value.status_code == 409
    assert bybit_http.get_tickers(category="linear", symbol="BTCUSDT")["retCode"] == 0


def test_timeout_fault_executes_the_order_but_the_reply_never_arrives_in_time(fake_bybit):
    fake_bybit.faults.next(CREATE, "timeout", seconds=2.0)
    s = pybit_http(fake_bybit, timeout=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _order(s, orderLinkId="slow-1")
    found = pybit_http(fake_bybit).get_open_orders(category="linear", symbol="BTCUSDT",
                                                   orderLinkId="slow-1")["result"]["list"]
    assert [o["orderStatus"] for o in found] == ["Filled"]


def test_drop_after_accept_closes_without_reply_but_the_order_exists(fake_bybit, bybit_http):
    fake_bybit.faults.next(CREATE, "drop_after_accept")
    with pytest.raises(requests.exceptions.ConnectionError):
        _order(bybit_http, orderLinkId="dropped-1")
    found = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="dropped-1")["result"]["list"]
    assert [o["orderStatus"] for o in found] == ["Filled"]
    assert fake_bybit.counters.snapshot()["orders_accepted"] == 1
    with pytest.raises(InvalidRequestError) as e:  # the retry a client might send is a duplicate
        _order(bybit_http, orderLinkId="dropped-1")
    assert e.value.status_code == 110072


def test_fault_validation_and_request_counters(fake_bybit, bybit_http):
    with pytest.raises(ValueError):
        fake_bybit.faults.next(CREATE, "explode")
    bybit_http.get_positions(category="linear", symbol="BTCUSDT")
    bybit_http.get_positions(category="linear", symbol="BTCUSDT")
    assert fake_bybit.counters.snapshot()["requests"]["/v5/position/list"] == 2
