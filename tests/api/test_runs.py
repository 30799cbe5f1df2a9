"""``/api/runs/``: each tick's and cycle's duration and query count, only the owner's."""

from __future__ import annotations

from trading.models import RunRecord


def test_run_records_listed_for_their_owner_only(desk, api):
    RunRecord.objects.create(kind="monitor", account=desk["acc_a"], duration_ms=12.5, queries=20, positions=2,
                             cadence_ms=30_000)
    RunRecord.objects.create(kind="monitor", account=desk["acc_b"], duration_ms=31_000.0, queries=20, positions=2,
                             cadence_ms=30_000, overran=True)
    api.login(desk["alice"])
    body = api.get("/api/runs/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["kind"], row["queries"], row["duration_ms"], row["overran"]) == ("monitor", 20, 12.5, False)
    api.login(desk["staff"])
    assert api.get("/api/runs/", overran="true").json()["count"] == 1
