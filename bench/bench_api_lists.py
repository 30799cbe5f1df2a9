"""Benchmark: p50/p95 of the API's positions and fills lists (a full request through Django, session
auth, filters, pagination, serializers) with 100,000 fills in the store, against a bare ORM query of the
same page in the same process (the reference: a full ``COUNT(*)`` and 100 rows, what the old pagination did).
Scratch database: SQLite, or PostgreSQL with ``BENCH_DATABASE_URL`` (flushed first; ``ANALYZE`` after the bulk
load so the planner knows the tables); see bench/_bench_desk.py. Goal: ``/api/fills/`` p95 <= 50 ms on
PostgreSQL, filters included.

Run: ``python bench/bench_api_lists.py [--fills 100000] [--positions 2000] [--requests 200]``
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _bench_desk import percentile, setup_django, teardown


def seed(n_fills: int, n_positions: int):
    from tests.factories import make_account, make_instrument, make_user
    from trading.models import Fill, Position

    make_instrument("BTCUSDT")
    user = make_user("bench")
    other = make_user("other")
    acc = make_account(user, "Bench")
    make_account(other, "Other")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    Position.objects.bulk_create([
        Position(account=acc, symbol="BTCUSDT", side="long" if i % 2 else "short", status="closed",
                 qty=Decimal("0.01"), entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("19.2"),
                 opened_at=t0 + timedelta(minutes=5 * i)) for i in range(n_positions)], batch_size=5000)
    pos_ids = list(Position.objects.values_list("id", flat=True))
    batch = []
    for i in range(n_fills):
        batch.append(Fill(account=acc, position_id=pos_ids[i % len(pos_ids)], exec_id=f"x{i}", symbol="BTCUSDT",
                          side="Buy" if i % 2 else "Sell", qty=Decimal("0.01"), price=Decimal("96000"),
                          fee=Decimal("0.576"), executed_at=t0 + timedelta(seconds=30 * i)))
        if len(batch) == 10_000:
            Fill.objects.bulk_create(batch)
            batch = []
    Fill.objects.bulk_create(batch)
    return user, acc


def timed(fn, n: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fills", type=int, default=100_000)
    ap.add_argument("--positions", type=int, default=2_000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    started = setup_django()
    try:
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
        if connection.vendor != "sqlite":
            from django.core.management import call_command

            call_command("flush", interactive=False, verbosity=0)  # a kept PostgreSQL bench database
        t = time.perf_counter()
        user, acc = seed(args.fills, args.positions)
        with connection.cursor() as cur:  # statistics current after the bulk load
            cur.execute("ANALYZE")
        print(f"seeded {args.fills:,} fills and {args.positions:,} positions in {time.perf_counter() - t:.1f} s "
              f"({connection.vendor})")
        client = Client()
        client.force_login(user)
        from trading.api.serializers_record import FillSerializer, PositionSerializer
        from trading.models import Fill, Position

        def api(url):
            def call():
                resp = client.get(url, HTTP_ACCEPT="application/json")
                assert resp.status_code == 200, resp.status_code
                return resp
            return call

        def orm(model, order):
            def call():
                qs = model.objects.filter(account=acc).order_by(*order)
                return qs.count(), list(qs[:100])
            return call

        def orm_serialized(model, order, serializer):
            def call():
                qs = model.objects.filter(account=acc).order_by(*order)
                return qs.count(), serializer(list(qs[:100]), many=True).data
            return call

        cases = [
            ("fills   /api/fills/", api("/api/fills/"), orm(Fill, ["-executed_at", "-id"]),
             orm_serialized(Fill, ["-executed_at", "-id"], FillSerializer)),
            ("fills   /api/fills/?symbol=BTCUSDT&side=Buy", api("/api/fills/?symbol=BTCUSDT&side=Buy"),
             lambda: (lambda qs: (qs.count(), list(qs[:100])))(
                 Fill.objects.filter(account=acc, symbol="BTCUSDT", side="Buy").order_by("-executed_at", "-id")),
             None),
            ("fills   /api/fills/?symbol=BTCUSDT", api("/api/fills/?symbol=BTCUSDT"),
             lambda: (lambda qs: (qs.count(), list(qs[:100])))(
                 Fill.objects.filter(account=acc, symbol="BTCUSDT").order_by("-executed_at", "-id")),
             None),
            ("fills   /api/fills/?side=Sell&offset=50000", api("/api/fills/?side=Sell&offset=50000"),
             lambda: (lambda qs: (qs.count(), list(qs[50000:50100])))(
                 Fill.objects.filter(account=acc, side="Sell").order_by("-executed_at", "-id")),
             None),
            ("fills   /api/fills/?account=&since=", api(f"/api/fills/?account={acc.pk}&since=2025-01-20T00:00:00Z"),
             lambda: (lambda qs: (qs.count(), list(qs[:100])))(
                 Fill.objects.filter(account=acc, executed_at__gte=datetime(2025, 1, 20, tzinfo=UTC))
                 .order_by("-executed_at", "-id")),
             None),
            ("positions /api/positions/", api("/api/positions/"), orm(Position, ["-opened_at", "-id"]),
             orm_serialized(Position, ["-opened_at", "-id"], PositionSerializer)),
        ]
        print(f"{'endpoint (page of 100)':44} {'p50 ms':>8} {'p95 ms':>8} | {'ORM p95':>8} {'ratio':>6} | "
              f"{'ORM+ser p95':>11} {'ratio':>6}")
        for label, call, ref, ref_ser in cases:
            api_ms, ref_ms = timed(call, args.requests), timed(ref, args.requests)
            line = (f"{label:44} {percentile(api_ms, 50):8.2f} {percentile(api_ms, 95):8.2f} | "
                    f"{percentile(ref_ms, 95):8.2f} {percentile(api_ms, 95) / percentile(ref_ms, 95):6.1f}x |")
            if ref_ser is not None:
                ser_ms = timed(ref_ser, args.requests)
                line += f" {percentile(ser_ms, 95):11.2f} {percentile(api_ms, 95) / percentile(ser_ms, 95):6.1f}x"
            print(line)
        print(f"(p50/p95 over {args.requests} requests each, {connection.vendor}; reference = the same page as a bare "
              "ORM query (full count + 100 rows), and with the serializer)")
    finally:
        teardown(started)


if __name__ == "__main__":
    main()
