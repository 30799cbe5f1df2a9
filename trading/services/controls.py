"""Controls a user pulls by hand: the per-account kill switch and enabling/disabling a strategy config.

Kill switch: mark the account, disable every config of it, and ask for its open positions to be closed
(``request_close_positions`` below is THE call site where execution plugs in), recorded in the admin's
action log and pushed to the account's sockets as a ``kill_switch`` event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction

from strategies.models import StrategyConfig
from trading.choices import PositionStatus
from trading.events import publish
from trading.models import Account, Position

log = logging.getLogger(__name__)


@dataclass
class KillSwitchResult:
    account_id: int
    engaged: bool
    configs_disabled: list[int] = field(default_factory=list)
    close_requested: list[int] = field(default_factory=list)


def request_close_positions(*, account: Account, positions: list[Position], reason: str) -> list[int]:
    """Ask the execution layer to close ``positions`` (reduce-only market, exit reason ``manual``).

    EXECUTION PLUG-IN POINT: the paper and Bybit adapters (trading/exchanges) are not here yet, so this
    only records the request and returns the ids asked for. When they land, close each position through
    the account's adapter here (or queue the closing task) and keep returning the ids requested.
    """
    ids = [p.pk for p in positions]
    if ids:
        log.warning("kill switch on account %s: close requested for positions %s (%s)", account.pk, ids, reason)
    return ids


def engage_kill_switch(*, account: Account, user, reason: str = "") -> KillSwitchResult:
    """Stop all trading on the account: engage the switch, disable its configs, close what is open."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        account.kill_switch_engaged = True
        account.save(update_fields=["kill_switch_engaged"])
        enabled = StrategyConfig.objects.filter(account=account, enabled=True)
        disabled = list(enabled.values_list("id", flat=True))
        enabled.update(enabled=False)
        open_positions = list(Position.objects.filter(account=account, status=PositionStatus.OPEN))
    result = KillSwitchResult(account.pk, True, disabled)
    result.close_requested = request_close_positions(account=account, positions=open_positions,
                                                     reason=reason or "kill switch")
    _record(account=account, user=user, message=(
        f"Kill switch engaged{f' ({reason})' if reason else ''}: configs disabled {disabled}, "
        f"close requested for positions {result.close_requested}"))
    _publish(result)
    return result


def release_kill_switch(*, account: Account, user) -> KillSwitchResult:
    """Release the switch. Configs stay disabled: each is enabled again by hand."""
    Account.objects.filter(pk=account.pk).update(kill_switch_engaged=False)
    result = KillSwitchResult(account.pk, False)
    _record(account=account, user=user, message="Kill switch released (configs stay disabled)")
    _publish(result)
    return result


def set_config_enabled(*, config: StrategyConfig, enabled: bool) -> StrategyConfig:
    """Enable or disable one config; enabling is refused while its account's kill switch is engaged."""
    if enabled:
        account = Account.objects.get(pk=config.account_id)
        if account.kill_switch_engaged:
            raise ValidationError({"enabled": f"enabled: account {account.name!r} has its kill switch engaged; "
                                              "release it first"})
        config.full_clean()  # a config edited since it was saved must still pass every rule
    config.enabled = enabled
    config.save(update_fields=["enabled", "updated_at"])
    return config


def _record(*, account: Account, user, message: str) -> None:
    """The admin's action log is the audit trail ("Recent actions", and per object under History)."""
    LogEntry.objects.create(
        user_id=user.pk, content_type=ContentType.objects.get_for_model(Account), object_id=str(account.pk),
        object_repr=str(account)[:200], action_flag=CHANGE, change_message=message)


def _publish(result: KillSwitchResult) -> None:
    publish(account_id=result.account_id, event_type="kill_switch", data={
        "account": result.account_id, "engaged": result.engaged, "configs_disabled": result.configs_disabled,
        "close_requested": result.close_requested})
