"""Celery tasks of the alerts (each one call into trading/services/alerts.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=2, max_retries=3)
def deliver_alert(channel_id: int, title: str, body: str) -> bool:
    from trading.services.alerts import deliver

    return deliver(channel_id=channel_id, title=title, body=body)


@shared_task
def check_alerts() -> int:
    from trading.services.alerts import check_near_liquidation

    return check_near_liquidation()


@shared_task
def send_daily_pnl() -> int:
    from trading.services.alerts import daily_pnl_summaries

    return daily_pnl_summaries()
