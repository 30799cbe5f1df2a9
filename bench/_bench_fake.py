"""The load harness on the fake Bybit: one FakeBybit (in this process, its own thread) listing the harness's
symbols, and N live desk accounts on it, one API key each (each key its own account on the fake), every one
holding M positions opened through the desk's own order service (``submit_order`` over the real Bybit adapter,
under the account lock), then synced and stamped like tests/scale/holding.py's paper accounts: each symbol's
newest Signal forecasts +1 % at confidence 0.8, so the monitor holds every position."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal

PRICE = 100.0


def symbols_for(positions: int) -> list[str]:
    """The names tests/scale/holding.holding_symbols gives the desk's instruments (this runs before Django)."""
    return [f"S{i}USDT" for i in range(positions)]


def start_fake(positions: int):
    """A started FakeBybit listing S0USDT.. (tick and qty step 0.01, as the harness's desk instruments) at 100;
    BYBIT_HTTP_ENDPOINT points this process (and the workers it starts) at it. Call before Django is set up."""
    from fakebybit.catalog import default_listings, listing_for
    from fakebybit.server import FakeBybit
    from trading.engine.instruments import BTC_TIERS, Instrument

    listings = default_listings()
    for s in symbols_for(positions):
        listings[s] = listing_for(Instrument(s, tick_size=0.01, qty_step=0.01, min_qty=0.01, max_leverage=100.0,
                                             tiers=BTC_TIERS, min_notional=1.0))
    fake = FakeBybit(api_key="load-key-0", api_secret="load-secret-0", balance=100_000.0, listings=listings)
    fake.start()
    for s in symbols_for(positions):
        fake.set_price(s, PRICE, bid=PRICE, ask=PRICE)
    fake.set_rate_limit("/v5/order/create", 1000)  # per key: the harness opens its positions back to back
    os.environ["BYBIT_HTTP_ENDPOINT"] = fake.urls.http
    return fake


def live_holding_account(fake, i: int, positions: int) -> int:
    """Account ``i``: live on the fake with key load-key-i, ``positions`` longs of 1 unit opened by the desk."""
    from tests.factories import make_config, make_strategy, make_user
    from tests.scale.holding import holding_symbols
    from trading.exchanges.bybit import BybitExchange
    from trading.exchanges.types import OrderIntent
    from trading.models import Account, Position, Signal
    from trading.services.locks import account_lock
    from trading.services.orders import submit_order
    from trading.services.recording import sync_account

    key, secret = f"load-key-{i}", f"load-secret-{i}"
    if key != fake.api_key:
        fake.add_key(key, secret)
    symbols = holding_symbols(positions)
    account = Account(owner=make_user(f"load{i}"), name="Live", mode="live", live_trading_enabled=True,
                      environment="testnet", starting_capital=Decimal("100000"), max_open_positions=positions + 1)
    account.set_api_credentials(api_key=key, api_secret=secret)
    account.full_clean()
    account.save()
    config = make_config(account, make_strategy("drift"), leverage=Decimal("10"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), symbols=symbols, enabled=True)
    exchange = BybitExchange(account)
    with account_lock(account.pk, wait=30):
        for s in symbols:
            exchange.set_leverage(s, Decimal("10"))
            order = submit_order(account=account, exchange=exchange, action="open", config=config,
                                 leverage=Decimal("10"),
                                 intent=OrderIntent(symbol=s, side="Buy", qty=Decimal("1"),
                                                    client_order_id=f"load{i}-open-{s}"))
            if order.status == "rejected":
                raise SystemExit(f"account {i}: the fake refused the opening order on {s}: {order.reject_reason}")
        sync_account(account=account, exchange=exchange)
    bar = datetime.now(UTC).replace(second=0, microsecond=0)
    Position.objects.filter(account=account).update(config=config, entry_drift=0.01, drift_baseline=0.01,
                                                    entry_confidence=0.8, confidence_baseline=0.8,
                                                    half_life_seconds=86_400.0)
    Signal.objects.bulk_create([Signal(config=config, symbol=s, bar_time=bar, signal=1, price=PRICE,
                                       forecast=PRICE * 1.01, drift=0.01, confidence=0.8,
                                       half_life_seconds=86_400.0) for s in symbols])
    held = Position.objects.filter(account=account, status="open").count()
    if held != positions:
        raise SystemExit(f"account {i}: {held} open positions after opening {positions} on the fake")
    return account.pk
