"""Controls a user pulls by hand: the per-account kill switch and enabling/disabling a strategy config.

Kill switch: mark the account, disable every config of it, and close its open positions through the
account's exchange (``request_close_positions``: execution's ``close_position`` under the account lock),
recorded in the admin's action log and pushed to the account's sockets as a ``kill_switch`` event.
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
    close_results: dict[int, str] = field(default_factory=dict)


def request_close_positions(*, account: Account, positions: list[Position], reason: str) -> dict[int, str]:
    """Close ``positions`` through the account's exchange (paper or Bybit): one reduce-only market close each
    (exit reason ``manual``), under the account's lock so no cycle or monitor runs meanwhile. Returns, per
    position id, what happened: ``closed``, the order's status, or why it could not be done (the switch
    stays engaged either way, so nothing new opens; the monitor and reconciliation keep working on it)."""
    from django.utils import timezone

    from trading.choices import ExitReason
    from trading.exchanges.factory import exchange_for
    from trading.services.locks import account_lock
    from trading.services.positions import close_position

    results: dict[int, str] = {}
    if not positions:
        return results
    log.warning("kill switch on account %s: closing positions %s (%s)", account.pk, [p.pk for p in positions], reason)
    try:
        with account_lock(account.pk, wait=10):
            exchange = exchange_for(account)
            for pos in positions:
                try:
                    outcome = close_position(position=pos, reason=ExitReason.MANUAL, at=timezone.now(),
                                             exchange=exchange)
                except Exception as exc:  # one failure must not stop the others
                    log.exception("kill switch: closing position %s failed", pos.pk)
                    results[pos.pk] = f"error: {type(exc).__name__}: {exc}"[:200]
                    continue
                pos.refresh_from_db()
                if pos.status == PositionStatus.CLOSED:
                    results[pos.pk] = "closed"
                elif outcome.refused:
                    results[pos.pk] = f"refused: {outcome.refused}"
                else:
                    results[pos.pk] = f"order {outcome.order.status}" if outcome.order else "no order sent"
    except Exception as exc:  # AccountBusy included: report it per position
        log.exception("kill switch on account %s: could not close positions", account.pk)
        for pos in positions:
            results.setdefault(pos.pk, f"error: {type(exc).__name__}: {exc}"[:200])
    return results


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
    result.close_requested = [p.pk for p in open_positions]
    result.close_results = request_close_positions(account=account, positions=open_positions,
                                                   reason=reason or "kill switch")
    _record(account=account, user=user, message=(
        f"Kill switch engaged{f' ({reason})' if reason else ''}: configs disabled {disabled}, "
        f"close requested for positions {result.close_requested}: {result.close_results}"))
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
    """Enable or disable one config; enabling is refused while its account's kill switch is engaged, and when
    the strategy's current version fails the lookahead or window-independence check (strategies/services)."""
    if enabled:
        account = Account.objects.get(pk=config.account_id)
        if account.kill_switch_engaged:
            raise ValidationError({"enabled": f"enabled: account {account.name!r} has its kill switch engaged; "
                                              "release it first"})
        config.full_clean()  # a config edited since it was saved must still pass every rule
        from strategies.services import assert_may_enable

        assert_may_enable(config=config)  # bias checks of the strategy's current version (run now if missing)
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
        "close_requested": result.close_requested,
        "close_results": {str(k): v for k, v in result.close_results.items()}})
