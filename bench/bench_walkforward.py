"""Benchmark: a walk-forward study (default 200 trials in all over 5 folds, i.e. 40 per fold) on the shared
BTCUSDT 5m data, its trials run by 1 and then 2 real Celery worker processes sharing one Optuna study in one
database: wall time per worker count, trials/s, and the scaling ratio (1-worker wall / 2-worker wall) against
the 1-worker reference run in this same process.

Run: ``python bench/bench_walkforward.py [--trials 200] [--folds 5] [--strategy logistic] [--workers 1,2]
[--months 13] [--quick] [--serial-profile]``. ``--quick`` = 20 trials on 2 months. ``--serial-profile`` first runs
the steps in this process and prints the share of a step the study's ask lock holds (the part two workers
cannot overlap) and the 2-worker scaling that leaves (Amdahl), which other load on the machine moves far
less than it moves the wall times. Everything lives in a temporary directory (its
own SQLite database and embedded Redis on a free port); the data directory is ``$QUANTDESK_SHARED_DATA/bybit``
(default ``<repo>/../shared/data/bybit``).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(tmp: Path, data: Path, months: float):
    """Django on a fresh SQLite file + embedded Redis, instruments and the candles/funding/mark imported."""
    from quantdesk import embedded_redis

    port = _free_port()
    redis_proc = embedded_redis.start(port, tmp / "redis")
    os.environ.update(DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}", REDIS_URL=f"redis://127.0.0.1:{port}/0",
                      DJANGO_SETTINGS_MODULE="quantdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import pandas as pd

    from trading.marketdata.importer import import_candles, import_funding
    from trading.services.bootstrap import load_instruments

    load_instruments()
    cut = tmp / "candles.csv.gz"
    frame = pd.read_csv(data / "BTCUSDT_5m.csv.gz")
    frame = frame.iloc[: int(months * 30.4 * 288)]
    frame.to_csv(cut, index=False)
    t0 = time.perf_counter()
    import_candles(path=cut, symbol="BTCUSDT", interval="5m")
    import_candles(path=data / "BTCUSDT_mark_1h.csv.gz", symbol="BTCUSDT", interval="1h", kind="mark")
    import_funding(path=data / "BTCUSDT_funding_8h.csv.gz", symbol="BTCUSDT")
    print(f"imported {len(frame)} 5m bars (+ mark, funding) in {time.perf_counter() - t0:.1f} s", flush=True)
    return redis_proc, frame["timestamp"].iloc[0], frame["timestamp"].iloc[-1]


SPACES = {
    "logistic": {"params": {"horizon": {"low": 3, "high": 72, "log": True}, "threshold": {"low": 0.5, "high": 0.6}}},
    "chandelier": {"params": {"length": {"low": 5, "high": 100, "log": True}, "mult": {"low": 1, "high": 8}}},
    "drift": {"params": {"horizon": {"low": 3, "high": 72, "log": True}, "min_confidence": {"low": 0.3, "high": 0.9}}},
}


def _wait_ready(n: int, timeout: float = 180.0) -> None:
    from quantdesk.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= n:
            return
    raise SystemExit(f"only {len(replies)} of {n} workers answered within {timeout:.0f} s")


def _phases(study) -> None:
    """Where the time went: first trial start, trials (first start .. last completion), finishing."""
    import optuna

    from trading.services.research_data import optuna_storage

    trials = [t for f in study.folds for t in optuna.load_study(study_name=study.optuna_name(f["number"]),
                                                                 storage=optuna_storage()).get_trials()]
    first = min(t.datetime_start for t in trials if t.datetime_start)
    last = max(t.datetime_complete for t in trials if t.datetime_complete)
    busy = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials if t.datetime_complete)
    print(f"  phases: queued -> first trial {(first - study.created_at.replace(tzinfo=None)).total_seconds():.1f} s, "
          f"trials {(last - first).total_seconds():.1f} s (sum of trial durations {busy:.1f} s), finishing "
          f"{(study.finished_at.replace(tzinfo=None) - last).total_seconds():.1f} s", flush=True)


def _schedstat(workers) -> list[tuple[float, float]] | None:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of each worker process (/proc/<pid>/schedstat)."""
    out = []
    for w in workers:
        try:
            on_cpu, runq, _slices = (int(x) for x in Path(f"/proc/{w.pid}/schedstat").read_text().split())
        except (OSError, ValueError):
            return None
        out.append((on_cpu / 1e9, runq / 1e9))
    return out


def _where_workers_waited(before, after, wall: float) -> None:
    """Each worker's time during the study: on a CPU, waiting for a CPU (other load on the machine); the rest of
    the wall it slept (locks, the database, the broker, no task queued)."""
    if before is None or after is None:
        return
    parts = [f"on cpu {a[0] - b[0]:.1f} s, waiting for a cpu {a[1] - b[1]:.1f} s, asleep "
             f"{max(0.0, wall - (a[0] - b[0]) - (a[1] - b[1])):.1f} s" for b, a in zip(before, after, strict=True)]
    print(f"  workers over {wall:.1f} s of study: " + "; ".join(parts), flush=True)


def _run(n_workers: int, args, start, end) -> tuple[float, int]:
    from django.contrib.auth import get_user_model

    from trading.models import ResearchStudy
    from trading.services.research import start_walkforward

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    settings = {"symbol": "BTCUSDT", "timeframe": "5m", "start": start, "end": end, "leverage": "10",
                "sizing_mode": "fixed", "allocation": "0.2", "stop_loss_pct": "1", "funding": True}
    # One thread per worker process (BLAS and numba would otherwise spread one worker over every core).
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    workers = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "quantdesk", "worker", "-P", "solo", "-Q",
                                 "research", "-n", f"bench{i}@%h", "-l", "error"], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(n_workers)]
    try:
        _wait_ready(n_workers)  # worker start-up (imports, broker connection) is not part of the study's time
        sched0 = _schedstat(workers)
        t0 = time.perf_counter()
        study = start_walkforward(owner=owner, strategy=args.strategy, settings=settings,
                                  space=SPACES.get(args.strategy, {}), folds=args.folds,
                                  n_trials=max(2, args.trials // args.folds), sampler="tpe", seed=1,
                                  parallel=max(2, n_workers))
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            study.refresh_from_db()
            if study.status in ("done", "failed", "cancelled"):
                break
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        sched = _schedstat(workers)
        if study.status != "done":
            raise SystemExit(f"study {study.pk} ended {study.status}: {study.error}")
        _phases(study)
        _where_workers_waited(sched0, sched, wall)
        return wall, study.trials_done
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(60)
            except subprocess.TimeoutExpired:
                w.kill()
        ResearchStudy.objects.all().delete()


def _serial_share(args, start, end) -> None:
    """The study's steps run one after another in this process, timing what the ask lock holds (work that
    two workers cannot overlap) against the whole step: Amdahl's bound on the 2-worker scaling, a ratio that
    other load on the machine changes far less than the wall times."""
    import contextlib

    from django.contrib.auth import get_user_model

    from trading import tasks_research as tasks
    from trading.models import ResearchStudy
    from trading.services import research as svc

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    settings = {"symbol": "BTCUSDT", "timeframe": "5m", "start": start, "end": end, "leverage": "10",
                "sizing_mode": "fixed", "allocation": "0.2", "stop_loss_pct": "1", "funding": True}
    sent: list[tuple[str, int]] = []
    real = (tasks.study_step_task.delay, tasks.study_step_task.apply_async, tasks.finish_study_task.delay)
    tasks.study_step_task.delay = lambda sid: sent.append(("step", sid))
    tasks.study_step_task.apply_async = lambda a, countdown=0: sent.append(("step", a[0]))
    tasks.finish_study_task.delay = lambda sid: sent.append(("finish", sid))
    held = [0.0]
    real_lock = svc._ask_lock

    @contextlib.contextmanager
    def timed_lock(study_id):
        with real_lock(study_id):
            t0 = time.perf_counter()
            try:
                yield
            finally:
                held[0] += time.perf_counter() - t0

    svc._ask_lock = timed_lock
    study = svc.start_walkforward(owner=owner, strategy=args.strategy, settings=settings,
                                  space=SPACES.get(args.strategy, {}), folds=args.folds,
                                  n_trials=max(2, args.trials // args.folds), sampler="tpe", seed=1, parallel=1)
    svc.enqueue_study(study_id=study.pk)
    sent[:] = [("step", study.pk)]
    svc.study_problem(study)  # each worker loads its data once; not part of the steps
    t0 = time.perf_counter()
    steps = 0.0
    while sent:
        name, sid = sent.pop(0)
        if name == "step":
            t1 = time.perf_counter()
            svc.run_study_step(study_id=sid)
            steps += time.perf_counter() - t1
        else:
            svc.finish_study(study_id=sid)
    wall = time.perf_counter() - t0
    study.refresh_from_db()
    share = held[0] / steps
    print(f"serial profile: {study.trials_done} trials in {wall:.1f} s in one process; the ask lock held "
          f"{held[0]:.1f} s of {steps:.1f} s of steps ({share:.1%}): 2-worker bound {1 / (share + (1 - share) / 2):.2f}x "
          "(before the finish, which runs once either way)", flush=True)
    svc._ask_lock = real_lock
    tasks.study_step_task.delay, tasks.study_step_task.apply_async, tasks.finish_study_task.delay = real
    ResearchStudy.objects.all().delete()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200, help="trials in all (split evenly over the folds)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--strategy", default="logistic")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--months", type=float, default=13.5)
    p.add_argument("--timeout", type=float, default=7200)
    p.add_argument("--quick", action="store_true", help="20 trials on 2 months of data")
    p.add_argument("--serial-profile", action="store_true",
                   help="also run the study's steps in this process and print the share the ask lock holds")
    args = p.parse_args()
    if args.quick:
        args.trials, args.months = 20, 2
    data = Path(os.environ.get("QUANTDESK_SHARED_DATA", ROOT.parent / "shared" / "data")) / "bybit"
    counts = [int(x) for x in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="qd-bench-wf-") as tmp:
        redis_proc, start, end = _setup(Path(tmp), data, args.months)
        try:
            if args.serial_profile:
                _serial_share(args, start, end)
            results = []
            for n in counts:
                wall, done = _run(n, args, start, end)
                results.append((n, wall))
                print(f"{args.strategy}: {done} trials ({args.folds} folds) with {n} worker(s): wall {wall:.1f} s, "
                      f"{done / wall:.2f} trials/s", flush=True)
            for (n1, w1), (n2, w2) in zip(results, results[1:], strict=False):
                if n1 < n2:  # each run against the run just before it (--workers 1,2,1,2 gives two pairs)
                    print(f"scaling {n1} -> {n2} workers: {w1 / w2:.2f}x (target >= 1.7x with 2 workers on 2 free "
                          "cores)")
        finally:
            if redis_proc is not None:
                redis_proc.terminate()
                redis_proc.wait(10)


if __name__ == "__main__":
    main()
