"""API test fixtures: two users with an account each (and a config, a trading record), a staff user,
throttle counters cleared between tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.desk_fixtures import trading_record
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(db):
    make_instrument("BTCUSDT")
    strategy = make_strategy("chandelier")
    alice, bob = make_user("alice"), make_user("bob")
    staff = make_user("root", staff=True)
    acc_a, acc_b = make_account(alice, "A"), make_account(bob, "B")
    cfg_a = make_config(acc_a, strategy, name="a-cfg", enabled=True)
    cfg_b = make_config(acc_b, strategy, name="b-cfg")
    return {
        "alice": alice, "bob": bob, "staff": staff, "strategy": strategy, "acc_a": acc_a, "acc_b": acc_b,
        "cfg_a": cfg_a, "cfg_b": cfg_b, "rec_a": trading_record(acc_a, cfg_a, tag="a"),
        "rec_b": trading_record(acc_b, cfg_b, tag="b"),
    }


@pytest.fixture
def api(client):
    """The Django test client with JSON helpers; ``api.login(user)`` logs in by session."""

    class Api:
        def login(self, user):
            client.force_login(user)
            return self

        def get(self, url, **params):
            return client.get(url, params, HTTP_ACCEPT="application/json")

        def post(self, url, body=None):
            return client.post(url, body or {}, content_type="application/json")

        def patch(self, url, body):
            return client.patch(url, body, content_type="application/json")

        def delete(self, url):
            return client.delete(url)

    return Api()
