"""Benchmark: the 30-second monitor tick of one paper account holding 20 positions (all holding), median wall
time and queries per tick, and the same tick for an account with 10,000 past fills against a new account's in
the same process (the paper state keeps only what trading needs; the history is in the tables, so the ratio
should stay near 1). Scratch database (SQLite unless BENCH_DATABASE_URL is set); see bench/_bench_desk.py.

The issue measured the same tick on the old code at 1.02 s (SQLite) and 1.60 s (PostgreSQL), 335 queries; the
bench prints its medians against those figures as well.

Run: ``python bench/bench_monitor.py [--positions 20] [--past-fills 10000] [--ticks 10] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from _bench_desk import setup_django, teardown

ISSUE_TICK_S = {"sqlite": 1.02, "postgresql": 1.60}  # the old tick for 20 positions, from issue 15


def age_account(account, *, fills: int) -> None:
    """Give the account ``fills`` past fills a year back: in its paper state (as the old unbounded state held
    them: finished orders and fills) and in the Fill table (where the history lives)."""
    from trading.engine.simulator import Simulator
    from trading.models import Fill, PaperAccountState

    row = PaperAccountState.objects.get(account=account)
    sim = Simulator.from_state(row.state)
    template_fill, template_order = sim.fills[0], next(iter(sim.orders.values()))
    year_ms = 365 * 86_400_000
    old_fills, old_orders = [], {}
    for i in range(fills):
        oid = f"past-{i}"
        ts = template_fill.ts - year_ms + i * 60_000
        old_orders[oid] = dataclasses.replace(template_order, order_id=oid, client_order_id=f"past-{i}",
                                              created_ts=ts, status="Filled")
        old_fills.append(dataclasses.replace(template_fill, fill_id=f"past-exec-{i}", order_id=oid, ts=ts))
    sim.fills = old_fills + sim.fills
    sim.orders = {**old_orders, **sim.orders}
    sim.client_ids |= set(old_orders)
    row.state = sim.to_state()
    row.save(update_fields=["state"])
    from datetime import UTC, datetime

    Fill.objects.bulk_create([
        Fill(account=account, exec_id=f"paper-{account.pk}-{f.fill_id}", symbol=f.symbol, side=f.side,
             qty=f.qty, price=f.price, fee=f.fee, executed_at=datetime.fromtimestamp(f.ts / 1000, tz=UTC))
        for f in old_fills], batch_size=5000)


def tick_ms(account, exchange, now) -> tuple[float, int]:
    from trading.models import RunRecord
    from trading.services.monitor import run_monitor

    t = time.perf_counter()
    run_monitor(account_id=account.pk, exchange=exchange, now=now)
    ms = (time.perf_counter() - t) * 1000
    return ms, RunRecord.objects.filter(account=account, kind="monitor").order_by("-pk").first().queries


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=20)
    ap.add_argument("--past-fills", type=int, default=10_000)
    ap.add_argument("--ticks", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    started = setup_django()
    try:
        from django.core.management import call_command
        from django.db import connection

        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)  # a kept PostgreSQL bench database

        from tests.scale.holding import holding_account
        from trading.models import Fill, PaperAccountState

        vendor = connection.vendor
        fresh = holding_account(args.positions, username="fresh")
        aged = holding_account(args.positions, username="aged")
        age_account(aged[0], fills=args.past_fills)
        stored = len(PaperAccountState.objects.get(account=aged[0]).state["fills"])
        tick_ms(aged[0], aged[2], aged[3])  # the first tick after the history trims the stored state
        after = len(PaperAccountState.objects.get(account=aged[0]).state["fills"])
        print(f"{vendor}: aged account: {Fill.objects.filter(account=aged[0]).count()} fills in the table, "
              f"{stored} in the paper state before its first tick, {after} after")
        medians = {"fresh": [], "aged": []}
        queries = {}
        for r in range(args.rounds):
            for name, (account, _, exchange, now) in (("fresh", fresh), ("aged", aged)):
                runs = [tick_ms(account, exchange, now) for _ in range(args.ticks)]
                medians[name].append(statistics.median(ms for ms, _ in runs))
                queries[name] = runs[-1][1]
            print(f"round {r + 1}: fresh {medians['fresh'][-1]:.1f} ms, aged {medians['aged'][-1]:.1f} ms")
        fresh_ms, aged_ms = statistics.median(medians["fresh"]), statistics.median(medians["aged"])
        old = ISSUE_TICK_S.get(vendor)
        print(f"{vendor}: monitor tick, {args.positions} positions holding: median {fresh_ms:.1f} ms, "
              f"{queries['fresh']} queries (goal <= 150 ms)"
              + (f"; the issue's old tick {old:.2f} s is {old * 1000 / fresh_ms:.1f}x this" if old else ""))
        print(f"{vendor}: account with {args.past_fills} past fills: median {aged_ms:.1f} ms, {queries['aged']} queries;"
              f" ratio to a new account {aged_ms / fresh_ms:.2f} (goal <= 1.2)")
    finally:
        teardown(started)


if __name__ == "__main__":
    main()
