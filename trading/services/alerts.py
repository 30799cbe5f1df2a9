"""Alerts to a user's own channels through Apprise (Telegram, Discord, Slack, e-mail, a generic webhook: one
URL per channel): fills, liquidations, a position near its liquidation price, a stop repaired or a position
closed for want of one, the kill switch, the feed down, and a daily PnL summary.

Each alert is sent once per channel (a Redis key per alert and channel), after the change that caused it has
committed, by a Celery task (``deliver_alert``) so a slow or dead channel never holds up trading. A channel's
last error is kept on it and shown where the user manages it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trading.models import Account, AlertChannel, Fill, Position
from trading.models.alerts import ALERT_KINDS

log = logging.getLogger(__name__)
SENT_KEY = "qd:alert:sent:{key}:{channel}"
SENT_TTL = 7 * 24 * 3600
NEAR_KEY = "qd:alert:near:{position}:{channel}"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


# ----- channels ------------------------------------------------------------------------------------------
def validate_channel(*, url: str | None, kinds: Iterable[str] | None, near_liquidation_pct) -> dict[str, str]:
    """Field -> message for whatever is wrong (empty when all is well)."""
    import apprise

    errors: dict[str, str] = {}
    if url is not None:
        if not isinstance(url, str) or not url.strip() or "\x00" in url or len(url) > 2000:
            errors["url"] = "url: an Apprise URL of 1..2000 characters is required"
        elif apprise.Apprise.instantiate(url.strip()) is None:
            errors["url"] = (f"url: {url.split('://', 1)[0]}:// is not an Apprise URL this desk can send to "
                             f"(e.g. tgram://, discord://, slack://, mailto://, json://host/path)")
    if kinds is not None:
        unknown = [k for k in kinds if k not in ALERT_KINDS] if isinstance(kinds, list) else ["(not a list)"]
        if unknown:
            errors["kinds"] = f"kinds: {', '.join(map(str, unknown))} not among {', '.join(ALERT_KINDS)}"
    if near_liquidation_pct is not None:
        try:
            pct = Decimal(str(near_liquidation_pct))
        except ArithmeticError:
            pct = Decimal("NaN")
        if not pct.is_finite() or not Decimal("0.1") <= pct <= Decimal("50"):
            errors["near_liquidation_pct"] = f"near_liquidation_pct: {near_liquidation_pct} is outside 0.1..50 (%)"
    return errors


def save_channel(*, channel: AlertChannel, url: str | None = None, name: str | None = None,
                 kinds: list[str] | None = None, near_liquidation_pct=None, enabled: bool | None = None
                 ) -> AlertChannel:
    """Create or update a channel, all fields validated first (ValidationError per field; nothing saved)."""
    if channel.pk is None and url is None:
        raise ValidationError({"url": "url: required"})
    errors = validate_channel(url=url, kinds=kinds, near_liquidation_pct=near_liquidation_pct)
    if name is not None and not (0 < len(name.strip()) <= 80):
        errors["name"] = "name: 1..80 characters"
    if errors:
        raise ValidationError(errors)
    if url is not None:
        channel.set_url(url.strip())
    for field, value in (("name", name), ("kinds", kinds), ("near_liquidation_pct", near_liquidation_pct),
                         ("enabled", enabled)):
        if value is not None:
            setattr(channel, field, value.strip() if isinstance(value, str) else value)
    channel.save()
    return channel


# ----- delivery ------------------------------------------------------------------------------------------
def deliver(*, channel_id: int, title: str, body: str) -> bool:
    """Send one message to one channel now; its outcome is recorded on the channel."""
    import apprise

    channel = AlertChannel.objects.filter(pk=channel_id, enabled=True).first()
    if channel is None:
        return False
    sender = apprise.Apprise()
    ok = sender.add(channel.url()) and sender.notify(title=title, body=body)
    error = "" if ok else "the channel did not accept the message (see the worker log)"
    AlertChannel.objects.filter(pk=channel_id).update(
        last_error=error, **({"last_sent_at": timezone.now()} if ok else {}))
    if not ok:
        log.warning("alert channel %s: delivery failed", channel_id)
    return bool(ok)


def send_test(*, channel: AlertChannel) -> bool:
    return deliver(channel_id=channel.pk, title="QuantDesk test message",
                   body=f"Alerts for {channel.owner} reach '{channel.name}'.")


@dataclass(frozen=True)
class Alert:
    kind: str
    key: str  # what makes it unique (a fill id, a position id ...): sent once per channel
    title: str
    body: str


def _queue(channels: Iterable[AlertChannel], alert: Alert) -> int:
    from trading.tasks_alerts import deliver_alert

    client = _redis()
    queued = 0
    for channel in channels:
        if alert.kind not in (channel.kinds or []):
            continue
        if not client.set(SENT_KEY.format(key=f"{alert.kind}:{alert.key}", channel=channel.pk), 1, nx=True,
                          ex=SENT_TTL):
            continue  # already sent to this channel
        transaction.on_commit(lambda c=channel.pk: deliver_alert.delay(c, alert.title, alert.body))
        queued += 1
    return queued


def notify_account(*, account_id: int, alert: Alert) -> int:
    """Queue ``alert`` to the enabled channels of the account's owner that take its kind."""
    owner = Account.objects.filter(pk=account_id).values_list("owner_id", flat=True).first()
    if owner is None:
        return 0
    return _queue(AlertChannel.objects.filter(owner_id=owner, enabled=True), alert)


def notify_desk(*, alert: Alert) -> int:
    """Queue a desk-wide alert (the feed) to every enabled channel that takes its kind."""
    return _queue(AlertChannel.objects.filter(enabled=True), alert)


# ----- what raises them -------------------------------------------------------------------------------------
def on_fill(*, fill: Fill) -> int:
    liquidated = fill.exit_reason == "liquidation" or fill.exec_type == "BustTrade"
    kind = "liquidation" if liquidated else "fill"
    what = "LIQUIDATED" if liquidated else f"{fill.side} {fill.qty}"
    reason = f" ({fill.exit_reason})" if fill.exit_reason else ""
    return notify_account(account_id=fill.account_id, alert=Alert(
        kind, str(fill.pk), f"{fill.symbol}: {what} at {fill.price}{reason}",
        f"{fill.symbol} {fill.side} {fill.qty} @ {fill.price}, fee {fill.fee}, realised {fill.realised_pnl} "
        f"at {fill.executed_at.isoformat()}"))


def check_near_liquidation(*, price_of=None) -> int:
    """Every open position whose mark (else last) price is within its owner's channels' threshold of the
    liquidation price: alert once per crossing (the key clears when the position moves back out or closes)."""
    from trading.marketdata.feed import latest_price

    price_of = price_of or (lambda symbol: latest_price(symbol=symbol))
    client = _redis()
    queued = 0
    positions = (Position.objects.filter(status="open", liquidation_price__isnull=False)
                 .select_related("account"))
    channels_by_owner: dict[int, list[AlertChannel]] = {}
    for pos in positions:
        quote = price_of(pos.symbol) or {}
        raw = quote.get("mark") or quote.get("last")
        if not raw:
            continue  # no price, no judgement
        price = Decimal(str(raw))
        distance_pct = abs(price - pos.liquidation_price) / price * 100
        owner = pos.account.owner_id
        if owner not in channels_by_owner:
            channels_by_owner[owner] = list(AlertChannel.objects.filter(owner_id=owner, enabled=True))
        for channel in channels_by_owner[owner]:
            key = NEAR_KEY.format(position=pos.pk, channel=channel.pk)
            if distance_pct >= channel.near_liquidation_pct:
                client.delete(key)
                continue
            if not client.set(key, 1, nx=True, ex=SENT_TTL):
                continue  # already told about this crossing
            crossing = client.incr(f"{key}:n")
            queued += _queue([channel], Alert(
                "near_liquidation", f"{pos.pk}:{crossing}",
                f"{pos.symbol} {pos.side} is {distance_pct:.2f} % from liquidation",
                f"{pos.symbol} {pos.side} {pos.qty} x{pos.leverage}: price {price}, liquidation "
                f"{pos.liquidation_price} ({distance_pct:.2f} % away; your threshold {channel.near_liquidation_pct} %)"))
    return queued


def daily_pnl_summaries(*, now=None) -> int:
    """Yesterday's (UTC) realised PnL per account, net of fees and funding, to the channels that take ``daily_pnl``; run
    hourly, it sends each day's summary once (the account and day are the alert's key)."""
    from datetime import timedelta

    from django.db.models import Count, Sum

    now = now or timezone.now()
    start = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = start.date().isoformat()
    owners = set(AlertChannel.objects.filter(enabled=True).values_list("owner_id", flat=True))
    queued = 0
    for account in Account.objects.filter(owner_id__in=owners).order_by("pk"):
        agg = Fill.objects.filter(account=account, executed_at__gte=start,
                                  executed_at__lt=start + timedelta(days=1)).aggregate(
            pnl=Sum("realised_pnl"), fees=Sum("fee"), funding=Sum("funding"), n=Count("id"))
        pnl, fees, funding = agg["pnl"] or Decimal(0), agg["fees"] or Decimal(0), agg["funding"] or Decimal(0)
        net = pnl - fees - funding
        queued += notify_account(account_id=account.pk, alert=Alert(
            "daily_pnl", f"{account.pk}:{day}", f"{account.name}: {day} net {net:+.2f} USDT",
            f"{account.name} on {day} (UTC): {agg['n']} fills, realised {pnl:+.2f}, fees {fees:.2f}, "
            f"funding {funding:+.2f}, net {net:+.2f} USDT"))
    return queued
