"""Load harness: N paper accounts x M open positions, the 30-second monitor driven back to back by K worker
processes (each takes every K-th account, as Celery's per-account ``monitor_account`` tasks spread over workers),
on one shared database and Redis (the account locks are real). Prints per-account tick p50/p95, queries per tick,
ticks that overran the 30 s cadence, and sustained positions per second per worker; run with ``--workers 1 2``
it prints the scaling ratio of total throughput against one worker, same process tree, same data.

Several workers need a database that takes concurrent writers: set ``BENCH_DATABASE_URL`` to a PostgreSQL
database (flushed first). SQLite works for one worker.

Run: ``python bench/bench_load.py [--accounts 50] [--positions 2] [--rounds 5] [--workers 1 2]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time

from _bench_desk import percentile, setup_django, teardown

CADENCE_S = 30.0


def _exchange(account, positions: int):
    from tests.scale.holding import T0_MS, Quotes
    from trading.exchanges.paper import PaperExchange

    quotes = Quotes()
    for i in range(positions):
        quotes.q[f"S{i}USDT"] = {"last": 100.0, "mark": 100.0, "bid": 100.0, "ask": 100.0, "ts": T0_MS}
    return PaperExchange(account, quote=quotes, now_ms=lambda: quotes.ts)


def worker(account_ids: list[int], positions: int, rounds: int, out) -> None:
    """Tick every account ``rounds`` times; report (per-account tick ms, queries, round seconds, wall seconds)."""
    from datetime import UTC, datetime

    from django.db import connections

    connections.close_all()  # a fresh connection in this process
    from tests.scale.holding import T0_MS
    from trading.models import Account, RunRecord
    from trading.services.monitor import run_monitor

    now = datetime.fromtimestamp(T0_MS / 1000 + 60, tz=UTC)
    accounts = {a.pk: (a, _exchange(a, positions)) for a in Account.objects.filter(pk__in=account_ids)}
    ticks, round_s = [], []
    start = time.perf_counter()
    for _ in range(rounds):
        r0 = time.perf_counter()
        for pk in account_ids:
            account, exchange = accounts[pk]
            t = time.perf_counter()
            run_monitor(account_id=pk, exchange=exchange, now=now, lock_wait=30)
            ticks.append((time.perf_counter() - t) * 1000)
        round_s.append(time.perf_counter() - r0)
    wall = time.perf_counter() - start
    queries = list(RunRecord.objects.filter(account_id__in=account_ids, kind="monitor").values_list("queries", flat=True))
    out.put((ticks, queries, round_s, wall, len(account_ids) * positions * rounds))
    connections.close_all()


def run(ids: list[int], *, workers: int, positions: int, rounds: int) -> dict:
    from django.db import connections

    from trading.models import RunRecord

    RunRecord.objects.filter(kind="monitor").delete()
    connections.close_all()
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(ids[k::workers], positions, rounds, out)) for k in range(workers)]
    t = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t
    ticks = [x for r in results for x in r[0]]
    queries = [x for r in results for x in r[1]]
    rounds_s = [x for r in results for x in r[2]]
    handled = sum(r[4] for r in results)
    return {"workers": workers, "p50": percentile(ticks, 50), "p95": percentile(ticks, 95),
            "queries": statistics.median(queries), "overran": sum(s > CADENCE_S for s in rounds_s),
            "round_max_s": max(rounds_s), "per_worker": [r[4] / r[3] for r in results], "total": handled / wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--positions", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    started = setup_django()
    try:
        from django.core.management import call_command
        from django.db import connection

        from tests.scale.holding import holding_account

        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        t = time.perf_counter()
        ids = [holding_account(args.positions, username=f"load{i}")[0].pk for i in range(args.accounts)]
        print(f"{connection.vendor}: {args.accounts} accounts x {args.positions} positions set up in "
              f"{time.perf_counter() - t:.1f} s; {args.rounds} back-to-back monitor rounds per run")
        runs = [run(ids, workers=k, positions=args.positions, rounds=args.rounds) for k in args.workers]
        print(f"{'workers':>7} {'tick p50 ms':>11} {'tick p95 ms':>11} {'queries/tick':>12} {'overran':>7} "
              f"{'slowest round s':>15} {'positions/s/worker':>18} {'total positions/s':>17}")
        for r in runs:
            print(f"{r['workers']:>7} {r['p50']:>11.1f} {r['p95']:>11.1f} {r['queries']:>12.0f} {r['overran']:>7} "
                  f"{r['round_max_s']:>15.2f} {statistics.mean(r['per_worker']):>18.0f} {r['total']:>17.0f}")
        if len(runs) > 1:
            base = runs[0]
            for r in runs[1:]:
                print(f"scaling {base['workers']} -> {r['workers']} workers: total throughput x"
                      f"{r['total'] / base['total']:.2f}")
    finally:
        teardown(started)


if __name__ == "__main__":
    main()
