"""Builders of real model objects for tests (no mocks of our own code)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model

from strategies.models import Strategy, StrategyConfig
from trading.models import Account, Instrument

BTC_TIERS = [
    {"risk_limit_value": "2000000", "mmr": "0.005", "imr": "0.01", "max_leverage": "100"},
    {"risk_limit_value": "2600000", "mmr": "0.0056", "imr": "0.0111", "max_leverage": "90"},
]


def make_user(username: str = "alice", *, staff: bool = False, password: str = "s3cret-pass-123"):
    user = get_user_model().objects.create_user(username=username, password=password)
    if staff:
        user.is_staff = user.is_superuser = True
        user.save()
    return user


def make_instrument(symbol: str = "BTCUSDT", **kw) -> Instrument:
    defaults = dict(base_coin=symbol.removesuffix("USDT"), tick_size=Decimal("0.10"), qty_step=Decimal("0.001"),
                    min_qty=Decimal("0.001"), min_notional=Decimal("5"), max_leverage=Decimal("100"),
                    risk_tiers=BTC_TIERS)
    defaults.update(kw)
    inst = Instrument(symbol=symbol, **defaults)
    inst.full_clean()
    inst.save()
    return inst


def make_account(owner, name: str = "Paper", **kw) -> Account:
    acc = Account(owner=owner, name=name, **kw)
    acc.full_clean()
    acc.save()
    return acc


def make_strategy(key: str = "chandelier") -> Strategy:
    from strategies.algos import registry

    cls = registry.get(key)
    sizing = cls.default_sizing
    strategy, _ = Strategy.objects.get_or_create(key=key, defaults={
        "label": cls.label,
        "default_leverage": Decimal(str(sizing.leverage)),
        "default_sizing_mode": sizing.mode,
        "default_allocation": None if sizing.allocation is None else Decimal(str(sizing.allocation)),
        "default_kelly_fraction": None if sizing.kelly_fraction is None
        else Decimal(str(sizing.kelly_fraction)),
    })
    return strategy


def config_kwargs(account: Account, strategy: Strategy, **kw) -> dict:
    base = dict(name="cfg", strategy=strategy, account=account, symbols=["BTCUSDT"], timeframe="5m",
                leverage=Decimal("75"), sizing_mode="fixed", allocation=Decimal("0.05"),
                stop_loss_pct=Decimal("0.5"), params={})
    base.update(kw)
    return base


def make_config(account: Account, strategy: Strategy, **kw) -> StrategyConfig:
    """A validated config. An enabled one on a LIVE account passes the live research gate the way a user does
    without a walk-forward verdict: saved disabled, then enabled with a recorded override by the account's owner
    (execution tests are about orders, not research; tests/research/test_live_gate.py tests the gate itself)."""
    cfg = StrategyConfig(**config_kwargs(account, strategy, **kw))
    if cfg.enabled and account.mode == "live":
        from trading.services.research_gate import check_live_gate

        cfg.enabled = False
        cfg.full_clean()
        cfg.save()
        check_live_gate(config=cfg, user=account.owner, override=True, reason="test fixture: a live execution test")
        cfg.enabled = True
    cfg.full_clean()
    cfg.save()
    return cfg
