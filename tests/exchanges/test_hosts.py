"""Account.environment (mainnet / testnet / demo trading) picks the REST and private-stream hosts; the settings
override (a fake exchange) wins for every environment; keys never go to another environment's host; the API and
the admin switch environments only with that environment's keys; live is never the default."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from trading.exchanges import bybit_stream
from trading.exchanges.bybit import BybitExchange
from trading.exchanges.bybit_hosts import hosts_for
from trading.exchanges.bybit_stream import PrivateStream
from trading.exchanges.types import LiveTradingRefused
from trading.models import Account

# Bybit's V5 docs: REST and private-stream hosts of each environment
EXPECTED = {
    "mainnet": ("https://api.bybit.com", "wss://stream.bybit.com/v5/private"),
    "testnet": ("https://api-testnet.bybit.com", "wss://stream-testnet.bybit.com/v5/private"),
    "demo": ("https://api-demo.bybit.com", "wss://stream-demo.bybit.com/v5/private"),
}
KEY, SECRET = "KEY123456789abc", "SECRET123456789abc"


def live(environment: str, owner=None) -> Account:
    acc = Account(owner=owner or make_user(f"u-{environment}"), name=f"Live {environment}", mode="live",
                  live_trading_enabled=True, environment=environment)
    acc.set_api_credentials(api_key=KEY, api_secret=SECRET)
    acc.full_clean()
    acc.save()
    return acc


@pytest.fixture
def no_override(settings):
    settings.BYBIT_HTTP_ENDPOINT = None
    settings.BYBIT_WS_PRIVATE_ENDPOINT = None
    return settings


class Captured(Exception):
    pass


def opened_socket(monkeypatch, stream) -> dict:
    """What the stream would hand pybit's WebSocket (endpoint, flags, key), without connecting anywhere."""
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        raise Captured

    monkeypatch.setattr(bybit_stream, "DeskWebSocket", fake)
    with pytest.raises(Captured):
        stream._open()
    return seen


@pytest.mark.parametrize("environment", ["mainnet", "testnet", "demo"])
def test_each_environment_resolves_to_its_hosts(db, no_override, monkeypatch, environment):
    rest, ws = EXPECTED[environment]
    account = live(environment)
    assert BybitExchange(account).endpoint == rest
    # pybit's own URL table, given the flags the adapter passes, names the same REST host
    from pybit.unified_trading import HTTP

    hosts = hosts_for(environment)
    assert HTTP(testnet=hosts.testnet, demo=hosts.demo).endpoint == rest
    stream = PrivateStream(account=account, on_change=lambda reason: None)
    assert stream.endpoint == ws
    seen = opened_socket(monkeypatch, stream)
    assert seen["endpoint"] == ws and seen["channel_type"] == "private" and seen["api_key"] == KEY
    assert (seen["testnet"], seen["demo"]) == (environment == "testnet", environment == "demo")


def test_the_settings_override_wins_for_every_environment(db, settings):
    settings.BYBIT_HTTP_ENDPOINT = "http://127.0.0.1:9/"
    settings.BYBIT_WS_PRIVATE_ENDPOINT = "ws://127.0.0.1:9/v5/private"
    for environment in EXPECTED:
        account = live(environment)
        assert BybitExchange(account).endpoint == "http://127.0.0.1:9"
        assert PrivateStream(account=account, on_change=lambda reason: None).endpoint == "ws://127.0.0.1:9/v5/private"


def test_keys_given_for_one_environment_never_reach_another(db, no_override, monkeypatch):
    account = live("testnet")
    account.environment = "mainnet"  # switched behind the validation's back (a shell, a bulk update)
    with pytest.raises(LiveTradingRefused, match="given for testnet, not mainnet"):
        BybitExchange(account)
    assert not account.is_live
    stream = PrivateStream(account=account, on_change=lambda reason: None)
    called = []
    monkeypatch.setattr(bybit_stream, "DeskWebSocket", lambda **kw: called.append(kw))
    with pytest.raises(PermissionError, match="given for testnet, not mainnet"):
        stream._open()
    assert called == []  # no socket built, so no key sent


def test_an_unknown_environment_is_named():
    with pytest.raises(ValueError, match="environment: 'staging' is not one of mainnet, testnet, demo"):
        hosts_for("staging")


# --- the API and the admin ----------------------------------------------------------------------------------------

def test_api_switch_needs_that_environments_keys_and_live_is_never_the_default(db, client):
    user = make_user("alice")
    client.force_login(user)
    resp = client.post("/api/accounts/", {"name": "New"}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["mode"], body["live_trading_enabled"], body["environment"]) == ("paper", False, "testnet")
    url = f"/api/accounts/{body['id']}/"
    resp = client.patch(url, {"api_key": KEY, "api_secret": SECRET}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["api_keys_environment"] == "testnet"
    # the stored keys are testnet's: switching to mainnet without mainnet's keys is refused, nothing written
    resp = client.patch(url, {"environment": "mainnet"}, content_type="application/json")
    assert resp.status_code == 400
    assert "environment: the stored API key and secret were given for testnet" in resp.json()["environment"][0]
    acc = Account.objects.get(pk=body["id"])
    assert (acc.environment, acc.api_keys_environment) == ("testnet", "testnet")
    # with mainnet's keys in the same request the switch goes through, and the keys are tagged mainnet
    resp = client.patch(url, {"environment": "mainnet", "api_key": "MAINKEY0000000", "api_secret": "MAINSECRET000000"},
                        content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert (resp.json()["environment"], resp.json()["api_keys_environment"]) == ("mainnet", "mainnet")
    assert "MAINKEY0000000" not in resp.content.decode() and "MAINSECRET000000" not in resp.content.decode()
    assert Account.objects.get(pk=body["id"]).api_credentials() == ("MAINKEY0000000", "MAINSECRET000000")
    resp = client.patch(url, {"environment": "demo2"}, content_type="application/json")
    assert resp.status_code == 400 and "environment" in resp.json()


def test_admin_switch_tags_the_new_keys_with_the_chosen_environment(db, client):
    account = live("testnet", owner=make_user("owner"))
    client.force_login(make_user("root", staff=True))
    url = f"/admin/trading/account/{account.pk}/change/"
    form = {"owner": account.owner_id, "name": account.name, "mode": "live", "live_trading_enabled": "on",
            "environment": "demo", "maker_fee": "0.0002", "taker_fee": "0.0006", "starting_capital": "500",
            "max_open_positions": "2"}
    resp = client.post(url, form)  # no new keys: refused on the environment field
    assert resp.status_code == 200 and "were given for testnet" in resp.content.decode()
    assert Account.objects.get(pk=account.pk).environment == "testnet"
    resp = client.post(url, {**form, "api_key": "DEMOKEY0000000", "api_secret": "DEMOSECRET000000"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    acc = Account.objects.get(pk=account.pk)
    assert (acc.environment, acc.api_keys_environment, acc.is_live) == ("demo", "demo", True)
