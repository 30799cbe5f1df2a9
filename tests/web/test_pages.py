"""Server-rendered pages: they render for a logged-in user with only that user's data in them, foreign
backtests and sweeps are 404, and plotly.js comes from the installed plotly package (no CDN)."""

from __future__ import annotations

import json
from pathlib import Path

import plotly
import pytest

from tests.desk_fixtures import seed_candles, trading_record
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.models import BacktestRun


@pytest.fixture
def two_desks(db):
    make_instrument("BTCUSDT")
    strategy = make_strategy("chandelier")
    alice, bob = make_user("alice"), make_user("bob")
    acc_a, acc_b = make_account(alice, "Alice paper"), make_account(bob, "Bob paper")
    cfg_a, cfg_b = make_config(acc_a, strategy, name="alice-cfg"), make_config(acc_b, strategy, name="bob-cfg")
    return alice, bob, trading_record(acc_a, cfg_a, tag="a"), trading_record(acc_b, cfg_b, tag="b")


def page_json(resp, element_id: str):
    html = resp.content.decode()
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


def test_desk_holds_only_the_users_positions_fills_and_decisions(two_desks, client):
    alice, _, rec_a, rec_b = two_desks
    client.force_login(alice)
    resp = client.get("/")
    assert resp.status_code == 200
    data = page_json(resp, "desk-data")
    assert [a["name"] for a in data["accounts"]] == ["Alice paper"]
    assert [p["id"] for p in data["positions"]] == [rec_a["position"].pk]
    assert [f["id"] for f in data["fills"]] == [rec_a["fill"].pk]
    assert [d["id"] for d in data["decisions"]] == [rec_a["decision"].pk]
    # the account card comes from the latest equity snapshot
    assert data["accounts"][0]["equity"] == 501.0 and data["accounts"][0]["margin_used"] == 11.52
    assert data["positions"][0]["last_decision"]["action"] == "hold"
    assert b"Bob paper" not in resp.content


def test_strategies_page_shows_configs_with_their_last_signal(two_desks, client):
    alice, *_ = two_desks
    client.force_login(alice)
    data = page_json(client.get("/strategies/"), "configs-data")
    assert [c["name"] for c in data] == ["alice-cfg"]
    assert data[0]["last_signal"]["signal"] == 1 and data[0]["last_signal"]["layers"] == {"kalman": 0.1}


def test_chart_page_carries_the_users_configs_and_the_instrument_steps(two_desks, client):
    """Candles, marks and indicators come from /api/chart/ for the range on screen (tests/api/test_chart_api.py)."""
    alice, *_ = two_desks
    client.force_login(alice)
    data = page_json(client.get("/chart/?symbol=BTCUSDT&interval=1h"), "chart-data")
    assert (data["symbol"], data["interval"]) == ("BTCUSDT", "1h")
    assert [c["name"] for c in data["configs"]] == ["alice-cfg"]
    assert data["instruments"]["BTCUSDT"]["tick"] == "0.1"


def test_backtests_page_and_foreign_runs(two_desks, client):
    alice, bob, *_ = two_desks
    run = BacktestRun.objects.create(owner=bob, strategy="chandelier", settings={"symbol": "BTCUSDT"},
                                     sweep_key="cd" * 16)
    client.force_login(alice)
    page = client.get("/backtests/")
    assert page.status_code == 200 and "chandelier" in page_json(page, "schemas")
    assert client.get(f"/backtests/{run.pk}/").status_code == 404
    assert client.get(f"/sweeps/{'cd' * 16}/").status_code == 404
    client.force_login(bob)
    assert client.get(f"/backtests/{run.pk}/").status_code == 200
    assert client.get(f"/sweeps/{'cd' * 16}/").status_code == 200


def test_plotly_is_served_from_the_installed_package(db, client):
    resp = client.get("/assets/plotly.min.js")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/javascript"
    body = b"".join(resp.streaming_content)
    assert body == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def test_pages_link_admin_and_api_docs(two_desks, client):
    client.force_login(two_desks[0])
    html = client.get("/").content.decode()
    assert 'href="/admin/"' in html and 'href="/api/docs/"' in html and "/assets/plotly.min.js" in html
    assert "cdn" not in html.lower()


def test_backtests_page_offers_the_users_configs_and_the_stored_range(two_desks, client):
    """The config picker lists only the user's configs, as they trade (leverage, sizing, stops, the account's fees
    and capital), and the default range is the stored candles' first and last bar (not the last 7 days)."""
    alice, *_ = two_desks
    seed_candles(300)  # 2025-03-01 00:00 .. 2025-03-02 00:55 (299 x 5 min)
    client.force_login(alice)
    data = page_json(client.get("/backtests/"), "pickers")
    assert [c["name"] for c in data["configs"]] == ["alice-cfg"]
    cfg = data["configs"][0]
    assert (cfg["leverage"], cfg["sizing_mode"], cfg["allocation"], cfg["stop_loss_pct"]) == (75.0, "fixed", 0.05, 0.5)
    assert (cfg["initial_capital"], cfg["taker_fee"]) == (500.0, 0.0006)
    assert [a["name"] for a in data["accounts"]] == ["Alice paper"]
    assert data["ranges"] == {"BTCUSDT": {"5m": ["2025-03-01T00:00:00+00:00", "2025-03-02T00:55:00+00:00"]}}
