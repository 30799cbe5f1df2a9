"""First-run setup of a desk: instruments, strategies, the master sizing config, an admin login, a paper
account and one default (disabled) config per strategy. Idempotent: running it again changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from strategies.models import Strategy, StrategyConfig
from trading.choices import AccountMode
from trading.models import Account, DeskSettings, Instrument
from trading.services.sizing_config import import_sizing_config, read_file

INSTRUMENTS_FILE = Path(settings.BASE_DIR) / "configs" / "instruments.yaml"


@dataclass
class BootstrapReport:
    admin_username: str
    admin_password: str | None  # only when generated now (shown once)
    instruments_created: int
    strategies_created: int
    configs_created: int
    sizing_config_loaded: bool


def load_instruments(*, path: Path = INSTRUMENTS_FILE) -> int:
    created = 0
    for symbol, spec in (yaml.safe_load(path.read_text()) or {}).items():
        if Instrument.objects.filter(symbol=symbol).exists():
            continue
        inst = Instrument(symbol=symbol, **{k: spec[k] for k in spec if k != "risk_tiers"},
                          risk_tiers=spec.get("risk_tiers", []))
        inst.full_clean()
        inst.save()
        created += 1
    return created


def ensure_strategies() -> int:
    """A Strategy row for every registered strategy, shipped and from the user folder (strategies/services)."""
    from strategies.services import scan_strategies

    return len(scan_strategies().created)


# (name, task, every seconds): editable afterwards in the admin (django-celery-beat)
SCHEDULES = [
    ("signal cycles: act on newly closed bars", "trading.tasks.dispatch_signal_cycles", 15),
    ("position monitor (30 s)", "trading.tasks.monitor_positions", 30),
    ("reconciliation with the exchange", "trading.tasks.reconcile_accounts", 300),
    ("equity snapshots", "trading.tasks.snapshot_equities", 60),
    ("alerts: positions near liquidation", "trading.tasks_alerts.check_alerts", 30),
    ("alerts: yesterday's PnL (sent once a day)", "trading.tasks_alerts.send_daily_pnl", 3600),
]


def ensure_schedules() -> int:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = 0
    for name, task, seconds in SCHEDULES:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        _, was_created = PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})
        created += was_created
    return created


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def ensure_admin(*, username: str, password: str | None) -> tuple[object, str | None]:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user, None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = user_model.objects.create_superuser(username=username, email="", password=password)
    return user, generated


def ensure_paper_account(*, owner) -> Account:
    desk = DeskSettings.current()
    account, _ = Account.objects.get_or_create(
        owner=owner,
        name="Paper",
        defaults={
            "mode": AccountMode.PAPER,
            "starting_capital": desk.starting_capital,
            "max_open_positions": desk.max_open_positions,
            "maker_fee": desk.maker_fee,
            "taker_fee": desk.taker_fee,
        },
    )
    return account


def ensure_default_configs(*, account: Account, symbol: str = "BTCUSDT") -> int:
    created = 0
    for strategy in Strategy.objects.all():
        if StrategyConfig.objects.filter(account=account, strategy=strategy).exists():
            continue
        cfg = StrategyConfig(
            name=f"{strategy.label} {symbol}",
            strategy=strategy,
            account=account,
            symbols=[symbol],
            timeframe=strategy.default_timeframe,
            leverage=strategy.default_leverage,
            sizing_mode=strategy.default_sizing_mode,
            allocation=strategy.default_allocation,
            kelly_fraction=strategy.default_kelly_fraction,
            stop_loss_pct=Decimal("1"),  # 1 % of price: the walk-forward runs behind the 5x defaults used it
            params={},
            enabled=False,
        )
        cfg.full_clean()
        cfg.save()
        created += 1
    return created


@transaction.atomic
def bootstrap_desk(*, admin_username: str = "admin", admin_password: str | None = None,
                   sizing_config: Path | None = None) -> BootstrapReport:
    instruments = load_instruments()
    first_run = not DeskSettings.objects.exists()
    strategies = ensure_strategies()
    if first_run:
        import_sizing_config(text=read_file(sizing_config or Path(settings.QUANTDESK_SIZING_CONFIG)))
    user, generated = ensure_admin(username=admin_username, password=admin_password)
    account = ensure_paper_account(owner=user)
    configs = ensure_default_configs(account=account)
    ensure_schedules()
    return BootstrapReport(admin_username=admin_username, admin_password=generated,
                           instruments_created=instruments, strategies_created=strategies,
                           configs_created=configs, sizing_config_loaded=first_run)
