"""Load harness: N paper accounts x M open positions, the 30-second monitor driven back to back by K worker
processes (each takes every K-th account, as Celery's per-account ``monitor_account`` tasks spread over workers),
on one shared database and Redis (the account locks are real). Prints per-account tick p50/p95, queries per tick,
ticks that overran the 30 s cadence, and sustained positions per second per worker; run with ``--workers 1 2``
it prints the scaling ratio of total throughput against one worker, same process tree, same data.

Several workers need a database that takes concurrent writers: set ``BENCH_DATABASE_URL`` to a PostgreSQL
database (flushed first). SQLite works for one worker.

With ``--cycles`` each account also has a Chandelier config on BTCUSDT (1,500 generated 5-minute bars) and every
round runs its signal cycle on the next bar (it may open, close or reverse); cycle p50/p95 and cycles/s per
worker are printed beside the monitor's.

With ``--beat`` the monitor runs as the desk runs it: K real Celery worker processes (``-P solo -Q trading``,
warmed at start) consume the per-account ``monitor_account`` tasks that beat's ``monitor_positions`` task fans
out; each round the harness refreshes the feed's prices in Redis (``qd:price:*``) and sends
``monitor_positions`` through the broker exactly as beat's schedule entry does (at the harness's pace instead of
every 30 s), then waits for every account's RunRecord. Tick p50/p95, queries and overruns come from those
RunRecords (what the admin and /api/runs/ show).

Run: ``python bench/bench_load.py [--accounts 50] [--positions 2] [--rounds 5] [--workers 1 2] [--cycles | --beat]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

from _bench_desk import percentile, setup_django, teardown

CADENCE_S = 30.0


def _exchange(account, positions: int):
    from tests.scale.holding import T0_MS, Quotes
    from trading.exchanges.paper import PaperExchange
    from trading.models import Candle

    quotes = Quotes()
    for i in range(positions):
        quotes.q[f"S{i}USDT"] = {"last": 100.0, "mark": 100.0, "bid": 100.0, "ask": 100.0, "ts": T0_MS}
    last = Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time").values_list("close", flat=True).first()
    if last is not None:
        p = float(last)
        quotes.q["BTCUSDT"] = {"last": p, "mark": p, "bid": p, "ask": p, "ts": T0_MS}
    return PaperExchange(account, quote=quotes, now_ms=lambda: quotes.ts)


def worker(account_ids: list[int], positions: int, rounds: int, out, cycles: dict | None = None) -> None:
    """Tick every account ``rounds`` times (and run its cycle on the round's bar, with ``cycles``: account ->
    config id, plus "bars"); report (tick ms, queries, round seconds, wall seconds, positions, cycle ms)."""
    from datetime import UTC, datetime

    from django.db import connections

    connections.close_all()  # a fresh connection in this process
    from tests.scale.holding import T0_MS
    from trading.models import Account, RunRecord
    from trading.services.monitor import run_monitor

    now = datetime.fromtimestamp(T0_MS / 1000 + 60, tz=UTC)
    accounts = {a.pk: (a, _exchange(a, positions)) for a in Account.objects.filter(pk__in=account_ids)}
    from trading.services.signal_cycle import run_signal_cycle

    ticks, round_s, cycle_ms = [], [], []
    start = time.perf_counter()
    for r in range(rounds):
        r0 = time.perf_counter()
        for pk in account_ids:
            account, exchange = accounts[pk]
            t = time.perf_counter()
            run_monitor(account_id=pk, exchange=exchange, now=now, lock_wait=30)
            ticks.append((time.perf_counter() - t) * 1000)
            if cycles:
                t = time.perf_counter()
                run_signal_cycle(config_id=cycles[pk], end=cycles["bars"][r], exchange=exchange, lock_wait=30)
                cycle_ms.append((time.perf_counter() - t) * 1000)
        round_s.append(time.perf_counter() - r0)
    wall = time.perf_counter() - start
    queries = list(RunRecord.objects.filter(account_id__in=account_ids, kind="monitor").values_list("queries", flat=True))
    out.put((ticks, queries, round_s, wall, len(account_ids) * positions * rounds, cycle_ms))
    connections.close_all()


def run(ids: list[int], *, workers: int, positions: int, rounds: int, cycles: dict | None = None) -> dict:
    from django.db import connections

    from trading.models import RunRecord

    RunRecord.objects.filter(kind="monitor").delete()
    if cycles:  # every run decides the same bars afresh
        from trading.models import Signal

        Signal.objects.filter(config_id__in=[v for k, v in cycles.items() if k != "bars"]).delete()
    connections.close_all()
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(ids[k::workers], positions, rounds, out, cycles)) for k in range(workers)]
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
    cyc = [x for r in results for x in r[5]]
    return {"cycle_p50": percentile(cyc, 50) if cyc else None, "cycle_p95": percentile(cyc, 95) if cyc else None,
            "cycles_per_s": len(cyc) / wall, "workers": workers, "p50": percentile(ticks, 50), "p95": percentile(ticks, 95),
            "queries": statistics.median(queries), "overran": sum(s > CADENCE_S for s in rounds_s),
            "round_max_s": max(rounds_s), "per_worker": [r[4] / r[3] for r in results], "total": handled / wall}


def _publish_prices(symbols: list[str], price: float = 100.0) -> None:
    """The feed's latest prices, stamped now (the desk clock), as the live feed writes them."""
    from trading.marketdata.feed import PRICE_KEY, redis_client

    client = redis_client()
    ts = str(int(time.time() * 1000))
    with client.pipeline() as pipe:
        for sym in symbols:
            pipe.hset(PRICE_KEY.format(symbol=sym), mapping={"last": price, "mark": price, "bid": price, "ask": price,
                                                             "ts": ts, "replay": "0"})
        pipe.execute()


def _wait(predicate, what: str, deadline_s: float = 300.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"gave up waiting for {what} after {deadline_s:.0f} s")
        time.sleep(0.05)


def run_beat(ids: list[int], *, workers: int, positions: int, rounds: int, symbols: list[str]) -> dict:
    """K Celery workers, beat's monitor task sent each round; figures from the RunRecords."""
    from quantdesk.celery import app
    from trading.models import RunRecord
    from trading.tasks import monitor_positions

    RunRecord.objects.filter(kind="monitor").delete()
    from _bench_desk import ROOT

    env = dict(os.environ, QUANTDESK_WARM_WORKERS="1", PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "quantdesk", "worker", "-P", "solo", "-Q",
                               "trading", "-n", f"load{k}-{workers}@%h", "-l", "warning"], env=env, cwd=ROOT,
                              stdin=subprocess.DEVNULL) for k in range(workers)]

    def alive() -> bool:
        dead = [p.returncode for p in procs if p.poll() is not None]
        if dead:
            raise SystemExit(f"a worker exited with {dead[0]}")
        return True

    try:
        _wait(lambda: alive() and len(app.control.ping(timeout=1.0) or []) >= workers,
              f"{workers} worker(s) to answer a ping")
        # one untimed round first: the workers' first ticks repair the harness's positions (stops the exchange
        # lacks) once; every timed round of every run then does the same work
        _publish_prices(symbols)
        monitor_positions.delay()
        _wait(lambda: alive() and RunRecord.objects.filter(kind="monitor").count() >= len(ids), "the untimed round")
        RunRecord.objects.filter(kind="monitor").delete()
        round_s = []
        start = time.perf_counter()
        for r in range(rounds):
            _publish_prices(symbols)
            t = time.perf_counter()
            monitor_positions.delay()  # what beat's "monitor" schedule entry sends every 30 s
            want = len(ids) * (r + 1)
            _wait(lambda w=want: alive() and RunRecord.objects.filter(kind="monitor").count() >= w, f"round {r + 1}")
            round_s.append(time.perf_counter() - t)
        wall = time.perf_counter() - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    recs = list(RunRecord.objects.filter(kind="monitor").values_list("duration_ms", "queries", "overran", "positions"))
    handled = sum(r[3] for r in recs)
    return {"workers": workers, "p50": percentile([r[0] for r in recs], 50), "p95": percentile([r[0] for r in recs], 95),
            "queries": statistics.median(r[1] for r in recs), "overran": sum(bool(r[2]) for r in recs),
            "round_max_s": max(round_s), "per_worker": [handled / wall / workers], "total": handled / wall,
            "cycle_p50": None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--positions", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cycles", action="store_true")
    ap.add_argument("--beat", action="store_true", help="real Celery workers fed by beat's monitor task")
    args = ap.parse_args()
    started = setup_django()
    try:
        from django.core.management import call_command
        from django.db import connection

        from tests.scale.holding import holding_account

        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        t = time.perf_counter()
        cycles = None
        if args.cycles:
            from tests.desk_fixtures import seed_candles
            from tests.factories import make_instrument

            make_instrument("BTCUSDT")
            seed_candles(1500)
        ids = [holding_account(args.positions, username=f"load{i}")[0].pk for i in range(args.accounts)]
        if args.cycles:
            from tests.factories import make_config, make_strategy
            from trading.models import Account, Candle

            strategy = make_strategy("chandelier")
            cycles = {a.pk: make_config(a, strategy, name="cycle", enabled=True).pk
                      for a in Account.objects.filter(pk__in=ids)}
            cycles["bars"] = list(Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time")
                                  .values_list("open_time", flat=True)[:args.rounds])[::-1]
        print(f"{connection.vendor}: {args.accounts} accounts x {args.positions} positions set up in "
              f"{time.perf_counter() - t:.1f} s; {args.rounds} back-to-back monitor rounds per run")
        if args.beat:
            symbols = [f"S{i}USDT" for i in range(args.positions)]
            runs = [run_beat(ids, workers=k, positions=args.positions, rounds=args.rounds, symbols=symbols)
                    for k in args.workers]
            print("through Celery: beat's monitor_positions task -> one monitor_account task per account; overran "
                  "counts ticks whose RunRecord overran the 30 s cadence")
        else:
            runs = [run(ids, workers=k, positions=args.positions, rounds=args.rounds, cycles=cycles)
                    for k in args.workers]
        print(f"{'workers':>7} {'tick p50 ms':>11} {'tick p95 ms':>11} {'queries/tick':>12} {'overran':>7} "
              f"{'slowest round s':>15} {'positions/s/worker':>18} {'total positions/s':>17}")
        for r in runs:
            print(f"{r['workers']:>7} {r['p50']:>11.1f} {r['p95']:>11.1f} {r['queries']:>12.0f} {r['overran']:>7} "
                  f"{r['round_max_s']:>15.2f} {statistics.mean(r['per_worker']):>18.0f} {r['total']:>17.0f}")
        for r in runs:
            if r["cycle_p50"] is not None:
                print(f"{r['workers']} worker(s): signal cycle p50 {r['cycle_p50']:.1f} ms, p95 {r['cycle_p95']:.1f} ms, "
                      f"{r['cycles_per_s'] / r['workers']:.1f} cycles/s per worker (in rounds with the monitor)")
        if len(runs) > 1:
            base = runs[0]
            for r in runs[1:]:
                print(f"scaling {base['workers']} -> {r['workers']} workers: total throughput x"
                      f"{r['total'] / base['total']:.2f}")
    finally:
        teardown(started)


if __name__ == "__main__":
    main()
