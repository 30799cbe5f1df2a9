"""exchange_for: paper by default, Bybit only for an account that is live in mode, switch AND keys; every
other combination is refused with a message naming what is missing (and never falls back to paper)."""

from __future__ import annotations

import pytest

from tests.factories import make_account, make_user
from trading.exchanges.bybit import BybitExchange
from trading.exchanges.factory import exchange_for
from trading.exchanges.paper import PaperExchange
from trading.exchanges.types import LiveTradingRefused
from trading.models import Account

from .conftest import live_account


@pytest.fixture
def owner(db):
    return make_user("owner")


def test_a_new_account_is_paper(owner):
    acc = make_account(owner)
    assert acc.mode == "paper" and isinstance(exchange_for(acc), PaperExchange)


def test_live_mode_with_keys_but_the_switch_off_is_refused(owner):
    acc = live_account(owner, "k" * 18, "s" * 36)
    acc.live_trading_enabled = False
    acc.save()
    with pytest.raises(LiveTradingRefused, match="live_trading_enabled switch is off") as e:
        exchange_for(acc)
    assert "no API key" not in str(e.value) and "mode" not in str(e.value)


def test_live_mode_and_switch_without_keys_is_refused(owner):
    # validation forbids this row (mode live needs keys), but a row saved without full_clean can exist
    acc = Account.objects.create(owner=owner, name="Nokeys", mode="live", live_trading_enabled=True)
    with pytest.raises(LiveTradingRefused, match="no API key/secret is stored") as e:
        exchange_for(acc)
    assert "switch" not in str(e.value)


def test_switch_on_a_paper_mode_account_is_refused_not_silently_paper(owner):
    acc = Account.objects.create(owner=owner, name="Odd", mode="paper", live_trading_enabled=True)
    with pytest.raises(LiveTradingRefused, match="mode is 'paper'") as e:
        exchange_for(acc)
    assert "no API key/secret is stored" in str(e.value)


def test_fully_live_account_gets_bybit_and_a_direct_build_cannot_bypass(owner, settings):
    settings.BYBIT_HTTP_ENDPOINT = "http://127.0.0.1:9"  # never contacted: construction sends nothing
    acc = live_account(owner, "k" * 18, "s" * 36)
    ex = exchange_for(acc, timeout=1.0)
    assert isinstance(ex, BybitExchange) and ex.endpoint == "http://127.0.0.1:9"
    acc.live_trading_enabled = False
    with pytest.raises(LiveTradingRefused, match="switch is off"):
        BybitExchange(acc)
