"""Reconciliation with the exchange (at worker start and every few minutes): record what happened there,
adopt or close positions accordingly, and give any position without a stop-loss one at once. It waits for
the account's lock (up to two leases: a dead holder's lease runs out first) instead of giving up, and queues
the kill switch's close job again for any engage whose closing never finished."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from trading.choices import PositionStatus
from trading.engine.margin import liquidation_distance
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange, ExchangeError
from trading.models import Account, Position
from trading.services.locks import account_lock, lease_seconds
from trading.services.recording import SyncReport, sync_account

log = logging.getLogger(__name__)
DEFAULT_STOP_PCT = Decimal("0.25")


@dataclass
class ReconcileReport:
    account_id: int
    sync: SyncReport
    stops_set: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def stop_price_for(*, position: Position, exchange: Exchange) -> Decimal:
    """The config's stop distance (default 0.25 %), but never beyond half the way to liquidation."""
    inst = exchange.instrument(position.symbol)
    pct = position.config.stop_loss_pct if position.config_id else DEFAULT_STOP_PCT
    limit = liquidation_distance(leverage=float(position.leverage), mmr=inst.tiers[0].mmr) / 2
    distance = min(float(pct) / 100, limit)
    sign = 1 if position.side == "long" else -1
    return Decimal(inst.price_str(float(position.entry_price) * (1 - sign * distance)))


def ensure_stops(*, account: Account, exchange: Exchange, report: ReconcileReport) -> None:
    for position in Position.objects.filter(account=account, status=PositionStatus.OPEN, stop_loss__isnull=True):
        stop = stop_price_for(position=position, exchange=exchange)
        try:
            exchange.set_trading_stop(position.symbol, stop_loss=stop)
        except ExchangeError as exc:
            report.errors.append(f"{position.symbol}: could not set stop-loss {stop}: {exc}")
            log.error("account %s %s: no stop-loss and setting %s failed: %s", account.pk, position.symbol, stop, exc)
            continue
        report.stops_set.append(position.symbol)
        log.warning("account %s %s: position had no stop-loss; set %s", account.pk, position.symbol, stop)


def reconcile_account(*, account_id: int, exchange: Exchange | None = None) -> ReconcileReport:
    account = Account.objects.get(pk=account_id)
    exchange = exchange or exchange_for(account)
    with account_lock(account_id, wait=2 * lease_seconds() + 1):
        report = ReconcileReport(account_id=account_id, sync=sync_account(account=account, exchange=exchange))
        ensure_stops(account=account, exchange=exchange, report=report)
        if report.stops_set:
            sync_account(account=account, exchange=exchange)
    from trading.services.kill_switch import resume_unfinished

    resumed = resume_unfinished(account_id=account_id)
    if resumed:
        log.warning("account %s: kill-switch close job queued again for %s", account_id, resumed)
    for what, items in (("adopted", report.sync.adopted), ("closed", report.sync.closed)):
        if items:
            log.warning("account %s reconciliation %s: %s", account_id, what, ", ".join(items))
    return report
