"""Bad API bodies refused at the edge (issue 16): a NUL character in a string field (``symbols``, ``params``,
a backtest's settings; PostgreSQL cannot store one and used to answer 500), JSON nested 1,000 deep (500 from
the recursive parser), NaN, 10,000 duplicate symbols (accepted before): each a 400 naming the field or the
limit, and nothing written. Run on PostgreSQL with DATABASE_URL=postgres://... (CI does)."""

from __future__ import annotations

import json

import pytest

from strategies.models import StrategyConfig
from trading.models import BacktestRun


def config_body(desk, **changes) -> dict:
    body = {"name": "new-cfg", "strategy": desk["strategy"].pk, "account": desk["acc_a"].pk, "symbols": ["BTCUSDT"],
            "timeframe": "5m", "leverage": "50", "sizing_mode": "fixed", "allocation": "0.05",
            "stop_loss_pct": "0.005", "params": {}}
    body.update(changes)
    return body


def post_raw(client, url: str, text: str):
    return client.post(url, text, content_type="application/json")


@pytest.fixture
def alice_client(desk, client):
    client.force_login(desk["alice"])
    return client


def test_the_good_body_is_accepted(desk, alice_client):
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk)))
    assert resp.status_code == 201, resp.content
    assert StrategyConfig.objects.filter(name="new-cfg").exists()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"symbols": ["BTC\x00USDT"]}, "symbols[0]", "NUL character"),
    ({"symbols": ["BTCUSDT", "\x00"]}, "symbols[1]", "NUL character"),
    ({"params": {"atr_period": "2\x002"}}, "params.atr_period", "NUL character"),
    ({"params": {"\x00key": 1}}, "params.'\\x00key'", "NUL character"),
    ({"name": "cfg\x00"}, "name", "NUL character"),
])
def test_a_nul_character_is_a_400_naming_the_field(desk, alice_client, changes, field, words):
    before = StrategyConfig.objects.count()
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, **changes)))
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert field in body, body
    assert words in json.dumps(body[field]), body
    assert StrategyConfig.objects.count() == before


def test_a_nul_character_in_a_backtest_body_is_a_400(desk, alice_client):
    body = {"strategy": "chandelier", "params": {}, "settings": {"symbol": "BTC\x00USDT", "timeframe": "5m"}}
    resp = post_raw(alice_client, "/api/backtests/", json.dumps(body))
    assert resp.status_code == 400 and "settings.symbol" in resp.json(), resp.content
    assert not BacktestRun.objects.exists()


@pytest.mark.parametrize("url", ["/api/configs/", "/api/backtests/", "/api/sweeps/",
                                 "/api/accounts/{acc}/kill-switch/"])
def test_json_nested_1000_deep_is_a_400_naming_the_limit(desk, alice_client, url):
    deep = "[" * 1000 + "]" * 1000
    # the whole body; and a deep value inside an otherwise good body (object > params > x > 1,000 lists)
    for text, depth in ((deep, 1000), (json.dumps(config_body(desk))[:-1] + ', "params": {"x": ' + deep + "}}", 1002)):
        resp = post_raw(alice_client, url.format(acc=desk["acc_a"].pk), text)
        assert resp.status_code == 400, resp.content
        assert f"the body is nested {depth} deep, over the limit of 16" in resp.json()["detail"]
    assert StrategyConfig.objects.count() == 2 and not BacktestRun.objects.exists()
    desk["acc_a"].refresh_from_db()
    assert not desk["acc_a"].kill_switch_engaged


def test_nan_is_not_a_json_number(desk, alice_client):
    text = json.dumps(config_body(desk)).replace('"leverage": "50"', '"leverage": NaN')
    resp = post_raw(alice_client, "/api/configs/", text)
    assert resp.status_code == 400 and "NaN is not a valid JSON number" in resp.json()["detail"]


def test_10000_duplicate_symbols_are_refused(desk, alice_client):
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, symbols=["BTCUSDT"] * 10_000)))
    assert resp.status_code == 400
    assert resp.json()["symbols"] == ["symbols: 10000 listed, over the limit of 50"]
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, symbols=["BTCUSDT"] * 3)))
    assert resp.status_code == 400
    assert resp.json()["symbols"] == ["symbols: BTCUSDT is listed 3 times; list each symbol once"]
    assert not StrategyConfig.objects.filter(name="new-cfg").exists()


@pytest.mark.parametrize(("symbols", "message"), [
    (["btcusdt"], "symbols[0]: 'btcusdt' is not a symbol"),
    (["BTC USDT"], "symbols[0]: 'BTC USDT' is not a symbol"),
    (["X" * 31], "is not a symbol (2-30 capital letters and digits"),
    ([["BTCUSDT"]], "a non-empty list of symbols is required"),
    ([{"s": "BTCUSDT"}], "a non-empty list of symbols is required"),
    ("BTCUSDT", "a non-empty list of symbols is required"),
])
def test_malformed_symbols_are_named(desk, alice_client, symbols, message):
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, symbols=symbols)))
    assert resp.status_code == 400 and message in resp.json()["symbols"][0], resp.content


def test_nul_in_a_query_filter_is_a_400_not_a_500(desk, alice_client):
    resp = alice_client.get("/api/positions/", {"symbol": "BTC\x00USDT"})
    assert resp.status_code == 400 and "symbol" in resp.json()
    resp = alice_client.get("/api/candles/", {"symbol": "BTC\x00", "interval": "5m"})
    assert resp.status_code == 400 and "symbol" in resp.json()
