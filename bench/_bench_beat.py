"""The load harness's ``--beat`` run: the monitor driven as the desk drives it. K real Celery workers
(``-P solo -Q trading``, warmed at start) and one real ``celery beat`` process on the desk's DatabaseScheduler
(as ``rundesk`` starts it), whose only enabled entry is the monitor's ("position monitor (30 s)", every
``every`` seconds: 30 as bootstrapped, shorter for a quicker bench). Beat sends ``monitor_positions``, which fans
out one ``monitor_account`` task per account; a round is one beat firing, observed from the accounts' RunRecords
(what the admin and /api/runs/ show). The first round is untimed (warm-up; on paper it also repairs the
harness's positions once)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from _bench_desk import ROOT, percentile

MONITOR_ENTRY = "position monitor (30 s)"


def _schedule_only_the_monitor(every: int) -> None:
    """Bootstrap's schedule entries, all disabled but the monitor's, which runs every ``every`` s and is due now."""
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    from trading.services.bootstrap import ensure_schedules

    ensure_schedules()
    PeriodicTask.objects.exclude(name=MONITOR_ENTRY).update(enabled=False)
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=MONITOR_ENTRY).update(
        enabled=True, interval=interval, last_run_at=timezone.now() - timedelta(seconds=every))
    PeriodicTasks.update_changed()


def _publish_prices(symbols: list[str], price: float = 100.0) -> None:
    """The feed's latest prices for the paper exchange, stamped now (the desk clock), as the live feed writes them."""
    from trading.marketdata.feed import PRICE_KEY, redis_client

    client = redis_client()
    ts = str(int(time.time() * 1000))
    with client.pipeline() as pipe:
        for sym in symbols:
            pipe.hset(PRICE_KEY.format(symbol=sym), mapping={"last": price, "mark": price, "bid": price, "ask": price,
                                                             "ts": ts, "replay": "0"})
        pipe.execute()


def _wait(predicate, what: str, deadline_s: float = 600.0, tick=None) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"gave up waiting for {what} after {deadline_s:.0f} s")
        if tick is not None:
            tick()
        time.sleep(0.2)


def run_beat(ids: list[int], *, workers: int, rounds: int, every: int, symbols: list[str],
             paper: bool = True) -> dict:
    """K workers and a beat process; ``rounds`` timed beat firings after one untimed one. Figures from RunRecords:
    a round's span runs from its first tick's start to its last tick's end; throughput is positions over spans."""
    from django.conf import settings

    from quantdesk.celery import app
    from trading.marketdata.feed import redis_client
    from trading.models import RunRecord

    RunRecord.objects.filter(kind="monitor").delete()
    redis_client().delete("trading")  # no message of an earlier run left in the queue
    _schedule_only_the_monitor(every)
    env = dict(os.environ, QUANTDESK_WARM_WORKERS="1", PYTHONPATH=str(ROOT),
               QUANTDESK_FERNET_KEY=settings.QUANTDESK_FERNET_KEY)
    celery = [sys.executable, "-m", "celery", "-A", "quantdesk"]
    procs = [subprocess.Popen([*celery, "worker", "-P", "solo", "-Q", "trading", "-n", f"load{k}-{workers}@%h",
                               "-l", "warning"], env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
             for k in range(workers)]
    beat_dir = tempfile.mkdtemp(prefix="qd-bench-beat-")
    beat = None
    refresh = (lambda: _publish_prices(symbols)) if paper else None  # the feed keeps paper prices fresh
    want = len(ids) * (rounds + 1)

    def alive() -> bool:
        dead = [p.returncode for p in [*procs, *([beat] if beat else [])] if p.poll() is not None]
        if dead:
            raise SystemExit(f"a worker or beat exited with {dead[0]}")
        return True

    try:
        _wait(lambda: alive() and len(app.control.ping(timeout=1.0) or []) >= workers,
              f"{workers} worker(s) to answer a ping")
        if refresh:
            refresh()
        beat_at = time.time()
        beat = subprocess.Popen([*celery, "beat", "-l", "warning", "--scheduler",
                                 "django_celery_beat.schedulers:DatabaseScheduler", "--schedule",
                                 os.path.join(beat_dir, "celerybeat-schedule")], env=env, cwd=ROOT,
                                stdin=subprocess.DEVNULL)
        deadline = (rounds + 1) * every + 600.0
        _wait(lambda: alive() and RunRecord.objects.filter(kind="monitor").count() >= want,
              f"{rounds + 1} beat rounds of {len(ids)} ticks", deadline_s=deadline, tick=refresh)
    finally:
        for p in [*([beat] if beat else []), *procs]:
            p.terminate()
        for p in [*([beat] if beat else []), *procs]:
            p.wait(60)
    recs = list(RunRecord.objects.filter(kind="monitor").order_by("pk")
                .values_list("started_at", "duration_ms", "queries", "overran", "positions"))[len(ids):want]
    early = sum(r[0].timestamp() - r[1] / 1000 < beat_at for r in recs)
    if early:  # every counted tick must come from a beat firing
        raise SystemExit(f"{early} monitor ticks started before the beat process did")
    spans, handled = [], 0
    for r in range(rounds):  # a round: the ticks of one beat firing (the queue is FIFO)
        chunk = recs[r * len(ids):(r + 1) * len(ids)]
        ends = [c[0].timestamp() for c in chunk]
        starts = [e - c[1] / 1000 for e, c in zip(ends, chunk, strict=True)]
        spans.append(max(ends) - min(starts))
        handled += sum(c[4] for c in chunk)
    total = handled / sum(spans)
    return {"workers": workers, "p50": percentile([r[1] for r in recs], 50), "p95": percentile([r[1] for r in recs], 95),
            "queries": statistics.median(r[2] for r in recs), "overran": sum(bool(r[3]) for r in recs),
            "round_max_s": max(spans), "per_worker": [total / workers], "total": total, "cycle_p50": None}
