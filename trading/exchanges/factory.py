"""Which exchange an account trades on: paper unless the account is explicitly switched to live."""

from __future__ import annotations

from trading.choices import AccountMode
from trading.models import Account

from .types import Exchange, LiveTradingRefused


def exchange_for(account: Account) -> Exchange:
    if account.mode != AccountMode.LIVE:
        from .paper import PaperExchange

        return PaperExchange(account)
    missing = [what for what, ok in (("the live_trading_enabled switch", account.live_trading_enabled),
                                     ("API key and secret", account.has_api_credentials)) if not ok]
    if missing:
        raise LiveTradingRefused(f"account {account.pk} is in live mode but lacks {' and '.join(missing)}; "
                                 "refusing to trade live")
    from .bybit import BybitExchange

    return BybitExchange(account)
