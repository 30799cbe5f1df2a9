"""First run: instruments, strategies, sizing config, admin login, a paper account, default configs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from strategies.models import Strategy, StrategyConfig
from trading.models import Account, DeskSettings, Instrument
from trading.services.bootstrap import bootstrap_desk


@pytest.mark.django_db
def test_bootstrap_builds_a_paper_desk_and_is_idempotent():
    first = bootstrap_desk(admin_username="admin", admin_password=None)
    assert first.admin_password and len(first.admin_password) >= 12
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(first.admin_password)
    assert set(Instrument.objects.values_list("symbol", flat=True)) >= {"BTCUSDT", "ETHUSDT"}
    assert set(Strategy.objects.values_list("key", flat=True)) == {"lorentzian", "logistic", "chandelier", "drift"}
    account = Account.objects.get(owner=admin)
    assert account.mode == "paper" and not account.live_trading_enabled
    assert account.starting_capital == DeskSettings.current().starting_capital
    configs = StrategyConfig.objects.filter(account=account)
    assert configs.count() == 4 and not configs.filter(enabled=True).exists()
    for cfg in configs:
        cfg.full_clean()  # every default passes the rules it will be edited under
    second = bootstrap_desk(admin_username="admin", admin_password=None)
    assert second.admin_password is None and second.configs_created == 0 and not second.sizing_config_loaded
    assert StrategyConfig.objects.count() == 4 and Account.objects.count() == 1


@pytest.mark.django_db
def test_bootstrap_takes_the_admin_password_from_the_caller():
    report = bootstrap_desk(admin_username="ops", admin_password="given-password-42")
    assert report.admin_password is None
    assert get_user_model().objects.get(username="ops").check_password("given-password-42")
