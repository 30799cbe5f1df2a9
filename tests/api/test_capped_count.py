"""The list pagination counts at most COUNT_CAP rows (or one past the requested page): exact below the cap,
a lower bound flagged ``count_capped`` at it; ``limit``/``offset`` and ``next`` keep working."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from trading.api.pagination import CappedPagination
from trading.models import Fill


def _more_fills(desk, n: int) -> None:
    first = Fill.objects.get(account=desk["acc_a"])
    Fill.objects.bulk_create([Fill(account=desk["acc_a"], exec_id=f"more-{i}", symbol="BTCUSDT", side="Buy",
                                   qty=Decimal("0.001"), price=Decimal("96000"), fee=Decimal("0"),
                                   executed_at=first.executed_at + timedelta(minutes=i + 1)) for i in range(n)])


def test_count_stops_at_the_cap_and_says_so(desk, api, monkeypatch):
    monkeypatch.setattr(CappedPagination, "count_cap", 5)
    _more_fills(desk, 7)  # alice: 1 + 7 = 8 fills
    api.login(desk["alice"])
    body = api.get("/api/fills/", limit=2).json()
    # bound = max(cap 5, offset 0 + limit 2 + 1) = 5 rows counted: capped, a lower bound
    assert (body["count"], body["count_capped"], len(body["results"])) == (5, True, 2)
    assert "offset=2" in body["next"]
    body = api.get("/api/fills/", limit=2, offset=6).json()
    # bound = max(5, 6 + 2 + 1) = 9 > 8 rows: exact, and this is the last page
    assert (body["count"], body["count_capped"], len(body["results"]), body["next"]) == (8, False, 2, None)
    body = api.get("/api/fills/", limit=2, offset=4).json()  # bound 7: 7 counted, so a page follows
    assert body["count_capped"] and body["count"] == 7 and "offset=6" in body["next"]
    newest = api.get("/api/fills/", limit=1).json()["results"][0]
    assert newest["exec_id"] == "more-6"  # still newest first


def test_small_lists_count_exactly(desk, api):
    api.login(desk["alice"])
    body = api.get("/api/fills/").json()
    assert (body["count"], body["count_capped"]) == (1, False)


def test_an_offset_past_the_limit_is_a_400_naming_it(desk, api):
    """Schemathesis found ?offset=912743913364797691520876544 answering 500 on PostgreSQL (past bigint)."""
    api.login(desk["alice"])
    for path, extra in (("/api/events/", {}), ("/api/fills/", {}),
                        ("/api/candles/", {"symbol": "BTCUSDT", "interval": "5m"})):
        resp = api.get(path, offset=912743913364797691520876544, limit=-479, **extra)
        assert resp.status_code == 400, (path, resp.status_code)
        assert resp.json()["offset"][0] == "offset: 912743913364797691520876544 is above the limit 1,000,000,000"
    assert api.get("/api/fills/", offset=1_000_000_000).status_code == 200  # the limit itself: an empty page
