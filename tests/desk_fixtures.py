"""Shared builders for the API, socket and browser tests: a seeded synthetic candle series in the Candle
table, a small trading record (positions, orders, fills, decisions, signals, equity) for one account, and
a real Celery worker (thread, real Redis broker, its own queue) for tests that run tasks."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from trading.models import Candle, EquitySnapshot, Fill, MonitorDecision, Order, Position, Signal

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def synthetic_candles(n: int = 1500, *, seed: int = 7, symbol: str = "BTCUSDT", interval: str = "5m",
                      start: datetime = T0, price: float = 90_000.0) -> list[Candle]:
    """A seeded random walk with trending stretches (so strategies trade), as unsaved Candle rows."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-1.0, 1.0], size=n // 150 + 1), 150)[:n] * 4e-4
    rets = drift + rng.normal(0, 1.5e-3, n)
    close = price * np.exp(np.cumsum(rets))
    open_ = np.concatenate([[price], close[:-1]])
    spread = np.abs(rng.normal(0, 8e-4, n)) * close
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    step = timedelta(minutes=5)
    q = Decimal("0.1")
    return [Candle(symbol=symbol, interval=interval, kind="trade", open_time=start + i * step,
                   open=Decimal(str(open_[i])).quantize(q), high=Decimal(str(high[i])).quantize(q),
                   low=Decimal(str(low[i])).quantize(q), close=Decimal(str(close[i])).quantize(q),
                   volume=Decimal(str(round(float(rng.uniform(1, 50)), 3))))
            for i in range(n)]


def seed_candles(n: int = 1500, **kw) -> list[Candle]:
    return Candle.objects.bulk_create(synthetic_candles(n, **kw))


def trading_record(account, config=None, *, symbol: str = "BTCUSDT", tag: str = "") -> dict:
    """One open position with an order, two fills, a monitor decision, a signal and an equity snapshot."""
    now = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
    pos = Position.objects.create(account=account, config=config, symbol=symbol, side="long", qty=Decimal("0.006"),
                                  entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("11.52"),
                                  liquidation_price=Decimal("94560"), take_profit=Decimal("97000"),
                                  stop_loss=Decimal("95500"), half_life_seconds=3600, opened_at=now)
    order = Order.objects.create(account=account, config=config, position=pos, client_order_id=f"o-{tag}{pos.pk}",
                                 symbol=symbol, side="Buy", qty=Decimal("0.006"), status="filled")
    fill = Fill.objects.create(account=account, order=order, position=pos, exec_id=f"e-{tag}{pos.pk}", symbol=symbol,
                               side="Buy", qty=Decimal("0.006"), price=Decimal("96000"), fee=Decimal("0.3456"),
                               executed_at=now)
    decision = MonitorDecision.objects.create(position=pos, decided_at=now + timedelta(seconds=30), action="hold",
                                              drift=0.004, baseline_drift=0.004, confidence=0.8, age_seconds=30)
    signal = None
    if config is not None:
        signal = Signal.objects.create(config=config, symbol=symbol, bar_time=now, signal=1, price=Decimal("96000"),
                                       drift=0.004, confidence=0.8, layers={"kalman": 0.1})
    snap = EquitySnapshot.objects.create(account=account, taken_at=now, balance=Decimal("500"), equity=Decimal("501"),
                                         unrealised_pnl=Decimal("1"), margin_used=Decimal("11.52"),
                                         available=Decimal("488.48"))
    return {"position": pos, "order": order, "fill": fill, "decision": decision, "signal": signal, "equity": snap}


@contextmanager
def celery_worker():
    """A real Celery worker in a thread, consuming its own fresh queue on the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    import trading.tasks_backtest  # noqa: F401  (registers the tasks)
    import trading.tasks_research  # noqa: F401  (sweeps run as research studies)
    from quantdesk.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    old = app.conf.task_default_queue
    queues = app.amqp.queues
    consume_from = queues._consume_from  # the worker's queues= narrows the app's own set: put it back
    router = app.amqp.router
    routes, router.routes = router.routes, []  # no trading/research routing: every task to this queue
    app.conf.task_default_queue = queue
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, queues=[queue],
                          shutdown_timeout=60):
            yield
    finally:
        app.conf.task_default_queue = old
        router.routes = routes
        queues._consume_from = consume_from
        queues.pop(queue, None)
