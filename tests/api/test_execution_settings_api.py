"""A config's entry order and an account's slippage model through the API: accepted inside the engine's limits
(trading/engine/execution_model.py), a 400 naming the field and the limit outside them, nothing written."""

from __future__ import annotations

import json

import pytest

from strategies.models import StrategyConfig
from tests.api.test_bad_input_api import config_body, post_raw
from trading.models import Account


@pytest.fixture
def alice_client(desk, client):
    client.force_login(desk["alice"])
    return client


def test_a_post_only_config_is_stored(desk, alice_client):
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, entry_order="post_only",
                                                                          entry_timeout_seconds=120)))
    assert resp.status_code == 201, resp.content
    cfg = StrategyConfig.objects.get(name="new-cfg")
    assert (cfg.entry_order, cfg.entry_timeout_seconds) == ("post_only", 120)
    assert resp.json()["entry_order"] == "post_only"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"entry_order": "limit"}, "entry_order", "not a valid choice"),
    ({"entry_timeout_seconds": 45}, "entry_timeout_seconds", "multiple of 30 within 30..3600"),
    ({"entry_timeout_seconds": 7200}, "entry_timeout_seconds", "multiple of 30 within 30..3600"),
])
def test_a_bad_entry_setting_is_a_400_naming_the_field_and_the_limit(desk, alice_client, changes, field, words):
    before = StrategyConfig.objects.count()
    resp = post_raw(alice_client, "/api/configs/", json.dumps(config_body(desk, **changes)))
    assert resp.status_code == 400, resp.content
    assert field in resp.json() and words in json.dumps(resp.json()[field]), resp.content
    assert StrategyConfig.objects.count() == before


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"slippage_bps": "150"}, "slippage_bps", "0..100 basis points"),
    ({"slippage_range_fraction": "1.5"}, "slippage_range_fraction", "0..1 of the bar's range"),
])
def test_a_bad_slippage_setting_is_a_400_naming_the_field_and_the_limit(desk, alice_client, changes, field, words):
    acc = desk["acc_a"]
    resp = alice_client.patch(f"/api/accounts/{acc.pk}/", json.dumps(changes), content_type="application/json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json() and words in json.dumps(resp.json()[field]), resp.content
    acc.refresh_from_db()
    assert (acc.slippage_bps, acc.slippage_range_fraction) == (1, 0)  # the defaults, untouched


def test_an_account_slippage_within_limits_is_stored(desk, alice_client):
    acc = desk["acc_a"]
    resp = alice_client.patch(f"/api/accounts/{acc.pk}/", json.dumps({"slippage_bps": "2.5",
                                                                        "slippage_range_fraction": "0.05"}),
                              content_type="application/json")
    assert resp.status_code == 200, resp.content
    acc = Account.objects.get(pk=acc.pk)
    assert (float(acc.slippage_bps), float(acc.slippage_range_fraction)) == (2.5, 0.05)
