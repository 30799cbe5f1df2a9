"""Private-request authentication through the real pybit client: 10003 / 10004 / 10002 in spec order,
signatures verified over the RAW query and RAW body pybit really sends (spaced JSON, sorted params),
shown against hand-signed requests whose bytes differ from what was signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from fakebybit.pytest_plugin import API_SECRET, pybit_http


def _signed_headers(key: str, secret: str, payload: str, recv: str = "5000") -> dict:
    ts = str(int(time.time() * 1000))
    sig = hmac.new(secret.encode(), (ts + key + recv + payload).encode(), hashlib.sha256).hexdigest()
    return {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": recv, "X-BAPI-SIGN": sig,
            "X-BAPI-SIGN-TYPE": "2", "Content-Type": "application/json"}


def test_unknown_key_is_10003(fake_bybit):
    s = pybit_http(fake_bybit, api_key="nobody", api_secret=API_SECRET)
    with pytest.raises(InvalidRequestError) as e:
        s.get_positions(category="linear", symbol="BTCUSDT")
    assert e.value.status_code == 10003 and e.value.message == "API key is invalid."


def test_wrong_secret_is_10004_and_names_the_spaced_body_that_was_signed(fake_bybit):
    s = pybit_http(fake_bybit, api_secret="wrong-secret")
    with pytest.raises(InvalidRequestError) as e:
        s.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="20", sellLeverage="20")
    assert e.value.status_code == 10004
    assert '{"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "20", "sellLeverage": "20"}]' in e.value.message
    with pytest.raises(InvalidRequestError) as e:
        s.get_positions(category="linear", symbol="BTCUSDT")
    assert e.value.status_code == 10004 and "category=linear&symbol=BTCUSDT]" in e.value.message


def test_clock_outside_the_window_is_10002_retried_then_retries_exceeded(fake_bybit):
    s = pybit_http(fake_bybit)
    fake_bybit.set_clock_offset(60_000)
    with pytest.raises(FailedRequestError) as e:
        s.get_wallet_balance(accountType="UNIFIED")
    assert e.value.status_code == 400 and "Retries exceeded maximum" in e.value.message
    seen = fake_bybit.counters.snapshot()
    assert seen["requests"]["/v5/account/wallet-balance"] == 3 and seen["ret_codes"][10002] == 3
    fake_bybit.set_clock_offset(0)
    assert s.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


def test_key_is_checked_before_timestamp_and_timestamp_before_signature(fake_bybit):
    url = fake_bybit.urls.http + "/v5/position/list?category=linear&symbol=BTCUSDT"
    stale = _signed_headers("nobody", "x", "category=linear&symbol=BTCUSDT")
    stale["X-BAPI-TIMESTAMP"] = "1"
    assert requests.get(url, headers=stale, timeout=60).json()["retCode"] == 10003
    bad_sig_stale = _signed_headers(fake_bybit.api_key, "wrong", "category=linear&symbol=BTCUSDT")
    bad_sig_stale["X-BAPI-TIMESTAMP"] = "1"
    assert requests.get(url, headers=bad_sig_stale, timeout=60).json()["retCode"] == 10002
    assert requests.get(url, timeout=60).json()["retCode"] == 10003


def test_pybit_spaced_json_body_and_unquoted_leverage_number_verify(fake_bybit, bybit_http):
    res = bybit_http.set_leverage(category="linear", symbol="ETHUSDT", buyLeverage=25, sellLeverage=25)
    assert res["retCode"] == 0
    pos = bybit_http.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"][0]
    assert pos["leverage"] == "25" and pos["size"] == "0" and pos["side"] == ""


def test_body_is_verified_as_raw_bytes_not_reserialised(fake_bybit):
    url = fake_bybit.urls.http + "/v5/position/set-leverage"
    params = {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "30", "sellLeverage": "30"}
    compact, spaced = json.dumps(params, separators=(",", ":")), json.dumps(params)
    k, s = fake_bybit.api_key, API_SECRET
    wrong = requests.post(url, data=spaced, headers=_signed_headers(k, s, compact), timeout=60).json()
    assert wrong["retCode"] == 10004
    right = requests.post(url, data=compact, headers=_signed_headers(k, s, compact), timeout=60).json()
    assert right["retCode"] == 0


def test_query_is_verified_raw_sorted_or_not(fake_bybit, bybit_http):
    k, s = fake_bybit.api_key, API_SECRET
    unsorted = "symbol=BTCUSDT&category=linear"
    url = f"{fake_bybit.urls.http}/v5/position/list?{unsorted}"
    assert requests.get(url, headers=_signed_headers(k, s, unsorted), timeout=60).json()["retCode"] == 0
    sorted_sig = _signed_headers(k, s, "category=linear&symbol=BTCUSDT")
    assert requests.get(url, headers=sorted_sig, timeout=60).json()["retCode"] == 10004
    # pybit sorts and does not URL-encode: an already percent-encoded value (a cursor's %3D) passes through
    res = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="x%3D1", openOnly=0)
    assert res["retCode"] == 0 and res["result"]["list"] == []


def test_requests_unquotes_unreserved_escapes_so_the_signature_no_longer_matches(bybit_http):
    # requests rewrites %2D to '-' on the wire while pybit signed '%2D': the raw-query check sees the mismatch
    with pytest.raises(InvalidRequestError) as e:
        bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="x%2D1")
    assert e.value.status_code == 10004 and "orderLinkId=x-1" in e.value.message


def test_public_market_paths_need_no_keys(fake_bybit):
    from pybit.unified_trading import HTTP

    s = HTTP(retry_delay=0.05)
    s.endpoint = fake_bybit.urls.http
    assert s.get_tickers(category="linear", symbol="ETHUSDT")["retCode"] == 0
    with pytest.raises(PermissionError):
        s.get_positions(category="linear", symbol="ETHUSDT")
