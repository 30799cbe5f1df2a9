"""Which Exchange an account trades on: the paper simulator unless the account is explicitly live.

Live needs all three of: mode "live", the per-account ``live_trading_enabled`` switch, and API keys.
Anything less is refused with ``LiveTradingRefused`` naming what is missing; a paper account gets paper."""

from __future__ import annotations

from trading.choices import AccountMode

from .types import Exchange, LiveTradingRefused


def live_refusal(account) -> str | None:
    """Why this live-mode account may not trade on Bybit, or None when it may."""
    missing = []
    if account.mode != AccountMode.LIVE:
        missing.append(f"mode is {account.mode!r}, not 'live'")
    if not account.live_trading_enabled:
        missing.append("the live_trading_enabled switch is off")
    if not account.has_api_credentials:
        missing.append("no API key/secret is stored")
    elif not account.api_keys_match_environment:
        missing.append(f"the API key/secret were given for {account.api_keys_environment or 'another environment'}, "
                       f"not {account.environment}")
    if not missing:
        return None
    return f"account {account.pk} ({account.name}) cannot trade live: " + "; ".join(missing)


def exchange_for(account, **bybit_options) -> Exchange:
    """PaperExchange for a paper account; BybitExchange only when ``account.is_live``.

    A live-mode account that is not fully switched on raises LiveTradingRefused (never falls back to paper
    silently: a desk that believes it is live must hear that it is not). ``bybit_options`` go to
    BybitExchange (endpoint, timeout, ...)."""
    if account.mode == AccountMode.PAPER and not account.live_trading_enabled:
        from .paper import PaperExchange

        return PaperExchange(account)
    reason = live_refusal(account)
    if reason is not None or not account.is_live:
        raise LiveTradingRefused(reason or f"account {account.pk}: not live")
    from .bybit import BybitExchange

    return BybitExchange(account, **bybit_options)
