"""Live trading is never the default; two runs never overlap on one account."""

from __future__ import annotations

import pytest

from tests.factories import make_account, make_user
from trading.exchanges.factory import exchange_for
from trading.exchanges.paper import PaperExchange
from trading.exchanges.types import LiveTradingRefused
from trading.services.locks import AccountBusy, account_lock


@pytest.mark.django_db
def test_paper_by_default():
    assert isinstance(exchange_for(make_account(make_user())), PaperExchange)


@pytest.mark.django_db
@pytest.mark.parametrize(("switch", "keys", "missing"), [
    (False, True, "the live_trading_enabled switch is off"),
    (True, False, "no API key/secret is stored"),
    (False, False, "switch is off; no API key/secret is stored"),
])
def test_live_mode_refuses_without_switch_and_keys(switch, keys, missing):
    acc = make_account(make_user(), mode="paper")
    acc.mode, acc.live_trading_enabled = "live", switch
    if keys:
        acc.set_api_credentials(api_key="k" * 16, api_secret="s" * 16)
    with pytest.raises(LiveTradingRefused) as info:
        exchange_for(acc)
    assert missing in str(info.value)


def test_account_lock_excludes_a_second_holder():
    with account_lock(424242):
        with pytest.raises(AccountBusy), account_lock(424242):
            pass
        with account_lock(424243):  # another account is independent
            pass
    with account_lock(424242):  # released
        pass

