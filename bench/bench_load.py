"""Load harness: N accounts x M open positions, the 30-second monitor driven by K worker processes, on one shared
database and Redis (the account locks are real). Prints per-account tick p50/p95, queries per tick, ticks that
overran the 30 s cadence, the slowest round, and sustained positions per second per worker; with ``--workers 1 2``
also the scaling ratio of total throughput against one worker, same data.

``--exchange paper`` (default): paper accounts (tests/scale/holding.py), prices from a fixed quote source.
``--exchange fake``: live accounts on one local fake Bybit (fakebybit/, in this process; one API key and so one
independent fake account each); their M positions are opened through the desk's order service over the real Bybit
adapter (bench/_bench_fake.py), and every tick talks to the fake through that adapter (pybit over HTTP).

Without ``--beat`` each of the K processes takes every K-th account (as Celery spreads the per-account
``monitor_account`` tasks) and ticks its accounts back to back, ``--rounds`` times; throughput is positions over
each process's wall time. With ``--cycles`` (paper only) each account also has a Chandelier config on BTCUSDT
(1,500 generated 5-minute bars) and every round runs its signal cycle on the next bar; cycle p50/p95 and cycles/s
per worker are printed beside the monitor's.

``--beat`` runs the monitor as the desk does (bench/_bench_beat.py): K real Celery workers (``-P solo -Q trading``)
and a real ``celery beat`` process on the desk's DatabaseScheduler whose only enabled entry is the monitor's, every
30 s as bootstrapped or every ``--beat-every`` seconds for a quicker bench. A round is one beat firing (after one
untimed warm-up firing), observed from the accounts' RunRecords (what the admin and /api/runs/ show); its span is
first tick start to last tick end, and throughput is positions over the rounds' spans (the idle rest of the
cadence is not counted). Overran counts ticks whose RunRecord overran the 30 s cadence.

Several workers need a database that takes concurrent writers: set ``BENCH_DATABASE_URL`` to a PostgreSQL
database (flushed first). SQLite works for one worker. Redis: ``REDIS_URL``, else an embedded redis-server.

Run: ``python bench/bench_load.py [--accounts 50] [--positions 2] [--rounds 5] [--workers 1 2]
[--exchange paper|fake] [--cycles | --beat [--beat-every 30]]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time

from _bench_desk import percentile, setup_django, teardown

CADENCE_S = 30.0


def _exchange(account, positions: int):
    from tests.scale.holding import T0_MS, Quotes, holding_symbols
    from trading.exchanges.paper import PaperExchange
    from trading.models import Candle

    quotes = Quotes()
    for s in holding_symbols(positions):
        quotes.q[s] = {"last": 100.0, "mark": 100.0, "bid": 100.0, "ask": 100.0, "ts": T0_MS}
    last = Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time").values_list("close", flat=True).first()
    if last is not None:
        p = float(last)
        quotes.q["BTCUSDT"] = {"last": p, "mark": p, "bid": p, "ask": p, "ts": T0_MS}
    return PaperExchange(account, quote=quotes, now_ms=lambda: quotes.ts)


def worker(account_ids: list[int], positions: int, rounds: int, out, cycles: dict | None = None,
           fake: bool = False) -> None:
    """Tick every account ``rounds`` times (and run its cycle on the round's bar, with ``cycles``: account ->
    config id, plus "bars"); report (tick ms, queries, round seconds, wall seconds, positions, cycle ms).
    ``fake``: the accounts are live on the fake Bybit (the real adapter, the desk clock)."""
    from datetime import UTC, datetime

    from django.db import connections

    connections.close_all()  # a fresh connection in this process
    from tests.scale.holding import T0_MS
    from trading.exchanges.bybit import BybitExchange
    from trading.models import Account, RunRecord
    from trading.services.monitor import run_monitor

    now = None if fake else datetime.fromtimestamp(T0_MS / 1000 + 60, tz=UTC)
    accounts = {a.pk: (a, BybitExchange(a) if fake else _exchange(a, positions))
                for a in Account.objects.filter(pk__in=account_ids)}
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


def run(ids: list[int], *, workers: int, positions: int, rounds: int, cycles: dict | None = None,
        fake: bool = False) -> dict:
    from django.db import connections

    from trading.models import RunRecord

    RunRecord.objects.filter(kind="monitor").delete()
    if cycles:  # every run decides the same bars afresh
        from trading.models import Signal

        Signal.objects.filter(config_id__in=[v for k, v in cycles.items() if k != "bars"]).delete()
    connections.close_all()
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(ids[k::workers], positions, rounds, out, cycles, fake)) for k in range(workers)]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--positions", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cycles", action="store_true")
    ap.add_argument("--beat", action="store_true", help="real Celery workers and a real celery beat process")
    ap.add_argument("--beat-every", type=int, default=30, help="the monitor's beat interval in seconds (desk: 30)")
    ap.add_argument("--exchange", choices=("paper", "fake"), default="paper",
                    help="paper accounts, or live accounts on a local fake Bybit")
    args = ap.parse_args()
    fake = args.exchange == "fake"
    if fake and args.cycles:
        ap.error("--cycles runs on paper only")
    if args.beat_every < 1:
        ap.error(f"--beat-every: {args.beat_every} must be at least 1 second")
    venue = None
    if fake:  # before Django: BYBIT_HTTP_ENDPOINT must be in the settings (and the workers' environment)
        from _bench_desk import ROOT

        sys.path.insert(0, str(ROOT))
        from _bench_fake import start_fake

        venue = start_fake(args.positions)
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
        if fake:
            from _bench_fake import live_holding_account

            ids = [live_holding_account(venue, i, args.positions) for i in range(args.accounts)]
        else:
            ids = [holding_account(args.positions, username=f"load{i}")[0].pk for i in range(args.accounts)]
        if args.cycles:
            from tests.factories import make_config, make_strategy
            from trading.models import Account, Candle

            strategy = make_strategy("chandelier")
            cycles = {a.pk: make_config(a, strategy, name="cycle", enabled=True).pk
                      for a in Account.objects.filter(pk__in=ids)}
            cycles["bars"] = list(Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time")
                                  .values_list("open_time", flat=True)[:args.rounds])[::-1]
        where = "live on the fake Bybit" if fake else "paper"
        pace = f"beat every {args.beat_every} s" if args.beat else "back to back"
        print(f"{connection.vendor}, {where}: {args.accounts} accounts x {args.positions} positions set up in "
              f"{time.perf_counter() - t:.1f} s; {args.rounds} monitor rounds per run, {pace}")
        if args.beat:
            from _bench_beat import run_beat

            from tests.scale.holding import holding_symbols

            symbols = holding_symbols(args.positions)
            runs = [run_beat(ids, workers=k, rounds=args.rounds, every=args.beat_every, symbols=symbols,
                             paper=not fake) for k in args.workers]
            print("through Celery: a celery beat process sends monitor_positions -> one monitor_account task per "
                  "account; figures from the RunRecords, throughput over each round's span")
        else:
            runs = [run(ids, workers=k, positions=args.positions, rounds=args.rounds, cycles=cycles, fake=fake)
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
        if venue is not None:
            venue.stop()


if __name__ == "__main__":
    main()
