"""The strategies page (versions, bias checks with failing bars, load errors, the generated config form), the
admin's generated params field, and the chart page's indicators endpoint."""

from __future__ import annotations

import json
from html import unescape

import numpy as np
import pytest

from strategies.algos import registry
from strategies.models import Strategy
from strategies.services import run_bias_checks, scan_strategies
from tests.desk_fixtures import seed_candles
from tests.factories import make_config
from trading.services.backtests import load_candle_frame


def test_strategies_page_shows_versions_failing_bars_and_load_errors(dropped, people, client):
    scan_strategies()
    check = run_bias_checks(key="running_max")
    client.force_login(people["trader"])
    html = client.get("/strategies/").content.decode()
    data = json.loads(unescape(html.split('id="strategies-data" type="application/json">')[1].split("</script>")[0]))
    row = next(s for s in data if s["key"] == "running_max")
    first = check.results["checks"]["window_independence"]["failures"][0]
    assert row["bias"]["blocking_failures"] == ["window_independence"]
    assert row["bias"]["checks"]["window_independence"]["failures"][0]["bar_time"] == first["bar_time"]
    assert [p["name"] for p in next(s for s in data if s["key"] == "my_cross")["schema"]["params"]][:2] == ["fast", "slow"]
    assert "broken.py" in html and "SyntaxError" in html
    assert 'id="rescan"' not in html  # staff only
    client.force_login(people["staff"])
    assert 'id="rescan"' in client.get("/strategies/").content.decode()


def test_admin_params_are_generated_and_errors_name_the_bound(dropped, people, client):
    scan_strategies()
    client.force_login(people["staff"])
    page = client.get("/admin/strategies/strategyconfig/add/").content.decode()
    assert "admin-params.js" in page and "qd-params" in page and "atr_length" in unescape(page)
    strategy = Strategy.objects.get(key="my_cross")
    resp = client.post("/admin/strategies/strategyconfig/add/", {
        "name": "x", "strategy": strategy.pk, "account": people["account"].pk, "symbols": '["BTCUSDT"]',
        "timeframe": "5m", "leverage": "20", "sizing_mode": "fixed", "allocation": "0.10", "stop_loss_pct": "0.5",
        "params": json.dumps({"fast": 12, "slow": 48, "atr_length": 900})})
    assert resp.status_code == 200
    assert "atr_length: 900 is above the maximum 500" in unescape(resp.content.decode())


def test_indicators_endpoint_draws_the_config_strategy_with_its_warm_up(dropped, people, client):
    scan_strategies()
    rows = seed_candles(1500)
    cfg = make_config(people["account"], Strategy.objects.get(key="my_cross"), leverage="20",
                      allocation="0.10", params={"fast": 8, "slow": 30})
    client.force_login(people["trader"])
    body = client.get(f"/api/configs/{cfg.pk}/indicators/", {"symbol": "BTCUSDT", "interval": "5m",
                                                             "bars": 300}).json()
    full = registry.get("my_cross")(fast=8, slow=30).compute(
        load_candle_frame(symbol="BTCUSDT", interval="5m", start=rows[0].open_time, end=rows[-1].open_time))
    assert len(body["t"]) == 300 and body["strategy"] == "my_cross"
    plots = {p["column"]: p for p in body["plots"]}
    # the drawn rows equal the full-history rows: the warm-up was read before them
    np.testing.assert_allclose(plots["ema_slow"]["y"], full["ema_slow"].to_numpy()[-300:], rtol=1e-9)
    assert client.get(f"/api/configs/{cfg.pk}/indicators/", {"bars": 0}).json()["bars"][0].startswith("bars:")


@pytest.mark.parametrize("interval", ["7m"])
def test_indicators_endpoint_names_a_bad_interval(dropped, people, client, interval):
    scan_strategies()
    cfg = make_config(people["account"], Strategy.objects.get(key="my_cross"), leverage="20", allocation="0.10")
    client.force_login(people["trader"])
    assert "interval" in client.get(f"/api/configs/{cfg.pk}/indicators/", {"interval": interval}).json()


def test_backtests_list_marks_a_biased_run(dropped, people, client):
    from tests.userstrat.test_user_strategies import SETTINGS
    from trading.services.backtests import create_backtest, run_backtest_job

    scan_strategies()
    run_bias_checks(key="running_max")
    seed_candles(1200)
    biased = run_backtest_job(run_id=create_backtest(owner=people["trader"], strategy="running_max", params={},
                                                     settings=SETTINGS).pk)
    clean = run_backtest_job(run_id=create_backtest(owner=people["trader"], strategy="my_cross", params={},
                                                    settings=SETTINGS).pk)
    client.force_login(people["trader"])
    html = client.get("/backtests/").content.decode()
    row = lambda pk: html.split(f'<tr data-run="{pk}">')[1].split("</tr>")[0]  # noqa: E731
    assert "[biased]" in row(biased.pk) and "window_independence" in row(biased.pk)
    assert "[biased]" not in row(clean.pk)


def test_indicators_of_a_strategy_whose_compute_raises_are_a_400_naming_it(folder, people, client):
    from tests.strategies.user_files import HEADER, write

    write(folder, {"raiser.py": HEADER + '''

class Raiser(_Planted):
    name = "raiser"

    def _compute(self, candles, context):
        raise ZeroDivisionError("no volume today")
'''})
    scan_strategies()
    seed_candles(300)
    cfg = make_config(people["account"], Strategy.objects.get(key="raiser"), leverage="20", allocation="0.10")
    client.force_login(people["trader"])
    resp = client.get(f"/api/configs/{cfg.pk}/indicators/", {"bars": 100})
    assert resp.status_code == 400 and "raiser failed on these bars: ZeroDivisionError: no volume today" in \
        resp.json()["strategy"][0]
