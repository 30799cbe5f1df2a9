"""Controls a user pulls by hand: the per-account kill switch and enabling/disabling a strategy config.

Kill switch: ``trading.services.kill_switch`` engages it (one committed row, configs disabled, an audit
event, a durable close job); here it is also recorded in the admin's action log and pushed to the account's
sockets as a ``kill_switch`` event.
"""

from __future__ import annotations

import logging

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction

from strategies.models import StrategyConfig
from trading.events import publish
from trading.models import Account
from trading.services import kill_switch
from trading.services.kill_switch import KillSwitchResult

log = logging.getLogger(__name__)


def engage_kill_switch(*, account: Account, user, reason: str = "") -> KillSwitchResult:
    """Stop all trading on the account: engage the switch, disable its configs, close what is open (the
    durable close job finishes what this request could not; see ``trading.services.kill_switch``)."""
    result = kill_switch.engage(account=account, user=user, reason=reason)
    _record(account=account, user=user, message=(
        f"Kill switch engaged{f' ({reason})' if reason else ''}: configs disabled {result.configs_disabled}, "
        f"close requested for positions {result.close_requested}: {result.close_results}"
        f"{f'; still closing {result.still_closing}' if result.still_closing else ''}"))
    _publish(result)
    return result


def release_kill_switch(*, account: Account, user) -> KillSwitchResult:
    """Release the switch. Configs stay disabled: each is enabled again by hand."""
    result = kill_switch.release(account=account, user=user)
    _record(account=account, user=user, message="Kill switch released (configs stay disabled)")
    _publish(result)
    return result


def set_config_enabled(*, config: StrategyConfig, enabled: bool, user=None, override_research: bool = False,
                       override_reason: str = "") -> StrategyConfig:
    """Enable or disable one config; enabling is refused while its account's kill switch is engaged, when the
    strategy's current version fails the lookahead or window-independence check (strategies/services), and on a
    live account without a walk-forward verdict on record unless ``override_research`` (recorded with ``user``)."""
    if enabled:
        account = Account.objects.get(pk=config.account_id)
        if account.kill_switch_engaged:
            raise ValidationError({"enabled": f"enabled: account {account.name!r} has its kill switch engaged; "
                                              "release it first"})
        from strategies.services import assert_may_enable

        # bias checks of the strategy's current version (run now if missing), outside the transaction below: their
        # stored result must outlive a refusal (the page shows the failing bar), and a run holds no transaction
        assert_may_enable(config=config)
    with transaction.atomic():  # an override is recorded only with the enable it allowed
        if enabled:
            from trading.services.research_gate import check_live_gate

            check_live_gate(config=config, user=user, override=override_research, reason=override_reason)
            config.enabled = True
            config.full_clean()  # a config edited since it was saved must still pass every rule (the gate too)
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
        "close_results": {str(k): v for k, v in result.close_results.items()},
        "still_closing": result.still_closing, "audit_id": result.audit_id})
