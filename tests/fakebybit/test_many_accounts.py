"""One fake, many accounts: every API key added with ``add_key`` trades its own account (wallet, positions,
orders, executions, private stream) while market data stays shared, so N live desk accounts can run on one fake
without colliding."""

from __future__ import annotations

import pytest

from fakebybit.pytest_plugin import API_SECRET, DEFAULT_BALANCE, pybit_http

OTHER_KEY, OTHER_SECRET = "second-key", "second-secret"


@pytest.fixture
def two(fake_bybit):
    """(fake, session of the first key, session of a second key with its own account)."""
    fake_bybit.add_key(OTHER_KEY, OTHER_SECRET)
    return fake_bybit, pybit_http(fake_bybit), pybit_http(fake_bybit, api_key=OTHER_KEY, api_secret=OTHER_SECRET)


def _buy(s, link: str, qty: str = "0.010", **kw):
    return s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty=qty,
                         orderLinkId=link, **kw)["result"]


def _usdt(s) -> dict:
    return s.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]


def test_an_order_on_one_key_is_invisible_to_the_other(two):
    _, a, b = two
    _buy(a, "a-1")
    b.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Limit", qty="0.020", price="70000",
                  orderLinkId="b-rest")
    a_pos = a.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    b_pos = b.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (a_pos["side"], a_pos["size"]) == ("Buy", "0.010")
    assert (b_pos["side"], b_pos["size"]) == ("", "0")
    assert [o["orderLinkId"] for o in a.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]] == []
    assert [o["orderLinkId"] for o in b.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]] \
        == ["b-rest"]
    assert [e["orderLinkId"] for e in a.get_executions(category="linear")["result"]["list"]] == ["a-1"]
    assert b.get_executions(category="linear")["result"]["list"] == []
    # the resting order is b's: a cannot cancel it by its link id
    with pytest.raises(Exception, match="Order does not exist"):
        a.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="b-rest")


def test_wallets_are_independent_and_a_new_key_starts_with_the_default_balance(two):
    _, a, b = two
    assert float(_usdt(b)["walletBalance"]) == pytest.approx(DEFAULT_BALANCE)
    _buy(a, "a-fee")  # a pays a taker fee; b's wallet does not move
    assert float(_usdt(a)["walletBalance"]) < DEFAULT_BALANCE
    assert float(_usdt(b)["walletBalance"]) == pytest.approx(DEFAULT_BALANCE)


def test_market_data_is_shared_and_a_price_move_reaches_only_the_holder(two):
    fake, a, b = two
    _buy(a, "a-sl", stopLoss="64000")
    _buy(b, "b-held")
    fake.set_price("BTCUSDT", 63_900.0)  # a's stop triggers; b holds no stop
    for s in (a, b):
        assert s.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"] == "63900.00"
    assert a.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0"
    assert b.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0.010"


def test_order_and_execution_ids_are_unique_across_accounts(two):
    _, a, b = two
    ids = [_buy(s, f"{n}-id")["orderId"] for n, s in (("a", a), ("b", b))]
    execs = [s.get_executions(category="linear")["result"]["list"][0]["execId"] for s in (a, b)]
    assert ids[0] != ids[1] and execs[0] != execs[1]


def test_a_known_key_keeps_its_account_when_its_secret_changes(two):
    fake, _, b = two
    _buy(b, "b-keep")
    fake.add_key(OTHER_KEY, "rotated-secret")
    b2 = pybit_http(fake, api_key=OTHER_KEY, api_secret="rotated-secret")
    assert b2.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0.010"


def test_each_private_stream_gets_only_its_own_accounts_events(two, ws_factory, inbox):
    from tests.fakebybit.conftest import Inbox

    fake, a, b = two
    inbox_b = Inbox()
    ws_a = ws_factory(channel_type="private", api_key=fake.api_key, api_secret=API_SECRET)
    ws_b = ws_factory(channel_type="private", api_key=OTHER_KEY, api_secret=OTHER_SECRET)
    for ws, box in ((ws_a, inbox), (ws_b, inbox_b)):
        for stream in (ws.order_stream, ws.execution_stream, ws.position_stream, ws.wallet_stream):
            stream(callback=box)
    for topic in ("order", "execution", "position", "wallet"):
        fake.wait_subscribed(topic, n=2)

    def links(frames) -> set[str]:
        return {r.get("orderLinkId") for f in frames if f["topic"] in ("order", "execution") for r in f["data"]}

    _buy(a, "a-first")
    assert links(inbox.take(4)) == {"a-first"}
    # a's frames went out before b's order was even sent: if b's stream had got them they would come first
    _buy(b, "b-first")
    assert links(inbox_b.take(4)) == {"b-first"}
    _buy(a, "a-second")
    assert links(inbox.take(4)) == {"a-second"}  # nothing of b's slipped into a's stream in between
