"""Reconciliation with the exchange (at worker start and every few minutes): record what happened there,
adopt or close positions accordingly, and give any position without a sound stop-loss one at once (read back
from the exchange; a position that still shows none is closed and an alert raised). It waits for the account's
lock (up to two leases: a dead holder's lease runs out first) instead of giving up, and queues the kill switch's
close job again for any engage whose closing never finished."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from trading.choices import ExitReason, PositionStatus
from trading.engine.margin import liquidation_distance
from trading.engine.rules import sl_before_liq
from trading.events import publish
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange, ExchangeError
from trading.marketdata.clock import desk_now
from trading.models import Account, Position
from trading.services.alerts import Alert, notify_account
from trading.services.desk_events import record_event
from trading.services.locks import account_lock, lease_seconds
from trading.services.recording import SyncReport, sync_account

log = logging.getLogger(__name__)
DEFAULT_STOP_PCT = Decimal("0.25")


@dataclass
class ReconcileReport:
    account_id: int
    sync: SyncReport
    stops_set: list[str] = field(default_factory=list)
    unprotected_closed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def stop_price_for(*, position: Position, exchange: Exchange) -> Decimal:
    """The config's stop distance (default 0.25 %), but never beyond half the way to liquidation."""
    inst = exchange.instrument(position.symbol)
    pct = position.config.stop_loss_pct if position.config_id else DEFAULT_STOP_PCT
    limit = liquidation_distance(leverage=float(position.leverage), mmr=inst.tiers[0].mmr) / 2
    distance = min(float(pct) / 100, limit)
    sign = 1 if position.side == "long" else -1
    return Decimal(inst.price_str(float(position.entry_price) * (1 - sign * distance)))


def stop_is_sound(*, side: str, stop_loss: Decimal | None, liquidation_price: Decimal | None) -> bool:
    """A stop-loss exists and sits strictly before the liquidation price (the engine's rule)."""
    if stop_loss is None:
        return False
    if liquidation_price is None:
        return True
    return sl_before_liq(1.0 if side == "long" else -1.0, float(stop_loss), float(liquidation_price))


def ensure_stops(*, account: Account, exchange: Exchange, report: ReconcileReport) -> None:
    """Every open position carries a sound stop-loss on the exchange (the local record mirrors the exchange's
    after ``sync_account``). A missing or wrong one is set at once and read back from the exchange; a position
    whose stop still does not show is closed (reduce-only market, exit reason ``reconcile``) and an alert raised:
    a position is never left unprotected."""
    for position in Position.objects.filter(account=account, status=PositionStatus.OPEN):
        if stop_is_sound(side=position.side, stop_loss=position.stop_loss,
                         liquidation_price=position.liquidation_price):
            continue
        stop = stop_price_for(position=position, exchange=exchange)
        try:
            exchange.set_trading_stop(position.symbol, stop_loss=stop)
        except ExchangeError as exc:
            report.errors.append(f"{position.symbol}: could not set stop-loss {stop}: {exc}")
            log.error("account %s %s: no sound stop-loss and setting %s failed: %s", account.pk, position.symbol,
                      stop, exc)
        back = next((p for p in exchange.positions() if p.symbol == position.symbol), None)
        if back is None:
            continue  # closed meanwhile (its stop or liquidation): the next sync records it
        if stop_is_sound(side=back.side, stop_loss=back.stop_loss, liquidation_price=back.liquidation_price):
            report.stops_set.append(position.symbol)
            log.warning("account %s %s: position had no sound stop-loss; set %s", account.pk, position.symbol,
                        back.stop_loss)
            notify_account(account_id=account.pk, alert=Alert(
                "stop_repaired", f"{position.pk}:{back.stop_loss}", f"{position.symbol}: stop-loss repaired",
                f"{position.symbol} {position.side} had no sound stop-loss on the exchange; set {back.stop_loss}"))
            continue
        _close_unprotected(account=account, position=position, exchange=exchange, report=report)


def _close_unprotected(*, account: Account, position: Position, exchange: Exchange,
                       report: ReconcileReport) -> None:
    from trading.services.positions import close_position

    outcome = close_position(position=position, reason=ExitReason.RECONCILE, at=desk_now(), exchange=exchange)
    message = (f"{position.symbol}: the exchange shows no stop-loss after setting one; the position was closed"
               if not outcome.refused else
               f"{position.symbol}: no stop-loss and closing failed: {outcome.refused}")
    report.unprotected_closed.append(position.symbol)
    report.errors.append(message)
    log.error("account %s %s", account.pk, message)
    publish(account_id=account.pk, event_type="alert", data={"level": "critical", "symbol": position.symbol,
                                                             "message": message})
    record_event(account_id=account.pk, kind="unprotected", level="error", message=message,
                 data={"position": position.pk, "symbol": position.symbol})
    notify_account(account_id=account.pk, alert=Alert("alert", f"unprotected:{position.pk}",
                                                      f"{position.symbol}: closed, no stop-loss", message))


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
