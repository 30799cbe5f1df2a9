"""Research through the API: studies (400 naming the field, 202, per-user visibility, cancel), the verdict on
backtest and sweep answers, configs' last verdict, and the live gate on configs/{id}/enable/ (refused without
a walk-forward verdict on a live account, an explicit override is recorded, paper stays free)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.desk_fixtures import T0, seed_candles
from trading.models import Account, LiveGateOverride, ResearchStudy
from trading.services.backtests import create_backtest, run_backtest_job

END = T0 + timedelta(minutes=5 * 1599)
SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": T0.isoformat(), "end": END.isoformat(),
            "leverage": "10", "sizing_mode": "kelly", "kelly_fraction": "0.5", "funding": False}
BODY = {"strategy": "chandelier", "settings": SETTINGS, "folds": 2, "trials": 4,
        "space": {"params": {"length": {"low": 5, "high": 40}}}}


@pytest.mark.parametrize(("change", "field"), [
    ({"trials": 1}, "trials"), ({"folds": 99}, "folds"), ({"sampler": "x"}, "sampler"),
    ({"space": {"params": {"length": {"low": 0, "high": 5}}}}, "space"),
    ({"settings": {**SETTINGS, "leverage": "101"}}, "leverage"),
])
def test_bad_study_bodies_are_400_naming_the_field(desk, api, change, field):
    seed_candles(1600)
    api.login(desk["alice"])
    resp = api.post("/api/research/", {**BODY, **change})
    assert resp.status_code == 400, resp.content
    assert field in resp.json(), resp.json()
    assert not ResearchStudy.objects.exists()


def test_studies_are_queued_listed_per_user_and_cancelled(desk, api):
    seed_candles(1600)
    api.login(desk["alice"])
    resp = api.post("/api/research/", {**BODY, "config": desk["cfg_a"].pk})
    assert resp.status_code == 202, resp.content
    sid = resp.json()["id"]
    study = ResearchStudy.objects.get(pk=sid)
    assert study.config_id == desk["cfg_a"].pk and study.status == "queued" and len(study.folds) == 2
    listed = api.get("/api/research/").json()["results"]
    assert [s["id"] for s in listed] == [sid] and listed[0]["trials_total"] == 8
    assert api.post("/api/research/", {**BODY, "config": desk["cfg_b"].pk}).status_code == 400  # bob's config
    api.login(desk["bob"])
    assert api.get(f"/api/research/{sid}/").status_code == 404
    assert api.post(f"/api/research/{sid}/cancel/").status_code == 404
    api.login(desk["alice"])
    resp = api.post(f"/api/research/{sid}/cancel/")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    again = api.post(f"/api/research/{sid}/cancel/")
    assert again.status_code == 400 and "status" in again.json()


def _go_live(account):
    Account.objects.filter(pk=account.pk).update(mode="live")


def test_live_enable_needs_a_walkforward_verdict_or_a_recorded_override(desk, api):
    cfg = desk["cfg_a"]
    cfg.enabled = False
    cfg.save()
    api.login(desk["alice"])
    # Paper: free.
    assert api.post(f"/api/configs/{cfg.pk}/enable/").status_code == 200
    api.post(f"/api/configs/{cfg.pk}/disable/")
    _go_live(desk["acc_a"])
    refused = api.post(f"/api/configs/{cfg.pk}/enable/")
    assert refused.status_code == 400 and "walk-forward verdict" in refused.json()["enabled"][0]
    assert api.patch(f"/api/configs/{cfg.pk}/", {"enabled": True}).status_code == 400  # no side door
    cfg.refresh_from_db()
    assert not cfg.enabled and not LiveGateOverride.objects.exists()
    bad = api.post(f"/api/configs/{cfg.pk}/enable/", {"override_research": "yes"})
    assert bad.status_code == 400 and "override_research" in bad.json()
    ok = api.post(f"/api/configs/{cfg.pk}/enable/", {"override_research": True, "reason": "tested by hand"})
    assert ok.status_code == 200 and ok.json()["enabled"] is True
    override = LiveGateOverride.objects.get(config=cfg)
    assert override.user == desk["alice"] and override.reason == "tested by hand" and override.created_at


def test_a_finished_study_opens_the_gate_and_shows_as_the_configs_last_verdict(desk, api):
    cfg = desk["cfg_a"]
    cfg.enabled = False
    cfg.save()
    _go_live(desk["acc_a"])
    api.login(desk["alice"])
    assert api.get(f"/api/configs/{cfg.pk}/").json()["last_verdict"] is None
    where = {"symbol": "BTCUSDT", "timeframe": cfg.timeframe}
    ResearchStudy.objects.create(owner=desk["alice"], config=cfg, strategy="chandelier", settings=where, n_trials=2,
                                 folds=[], status="done", verdict={"verdict": "red", "reasons": ["loses 50.0%"]})
    assert api.get(f"/api/configs/{cfg.pk}/").json()["last_verdict"]["verdict"] == "red"
    assert api.post(f"/api/configs/{cfg.pk}/enable/").status_code == 400  # red: only an override opens it
    ResearchStudy.objects.create(owner=desk["alice"], config=cfg, strategy="chandelier", settings=where, n_trials=2,
                                 folds=[], status="done", verdict={"verdict": "amber", "reasons": ["few trades"]})
    assert api.post(f"/api/configs/{cfg.pk}/enable/").status_code == 200
    assert not LiveGateOverride.objects.exists()
    page = api.get("/strategies/")
    assert page.status_code == 200
    # the page's data (json_script), parsed: PostgreSQL's jsonb gives the stored verdict's keys in its own order
    data = page.content.decode().split('id="configs-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    [row] = [r for r in json.loads(data) if r["id"] == cfg.pk]
    assert row["last_verdict"]["verdict"] == "amber"


def test_a_backtest_answer_carries_the_verdict_panel(desk, api):
    seed_candles(1600)
    run = create_backtest(owner=desk["alice"], strategy="chandelier", params={"length": 14}, settings=SETTINGS)
    api.login(desk["alice"])
    assert api.get(f"/api/backtests/{run.pk}/").json()["verdict"] is None  # not run yet
    run_backtest_job(run_id=run.pk)
    v = api.get(f"/api/backtests/{run.pk}/").json()["verdict"]
    assert v["verdict"] in ("red", "amber")  # in sample only: never green
    assert "in-sample only: no walk-forward test yet" in v["reasons"]
    run.refresh_from_db()
    assert v["trade_count"] == run.metrics["trade_count"]
    assert v["fees"] == pytest.approx(run.metrics["fees_paid"])
    assert v["gross_pnl"] == pytest.approx(sum(t["gross_pnl"] for t in run.trades))
    assert 0.0 <= v["ruin_probability"] <= 1.0 and v["monte_carlo"]["simulations"] == 1000
    page = api.get(f"/backtests/{run.pk}/")
    assert page.status_code == 200 and b"in-sample only" in page.content


def test_a_sweep_answer_carries_its_verdict_deflated_by_the_points(desk, api):
    from trading.models import BacktestRun
    from trading.services.sweeps import rank_sweep, start_sweep

    seed_candles(3000)  # about 10 days: enough daily rows for PBO's 8 splits
    settings = {**SETTINGS, "end": (T0 + timedelta(minutes=5 * 2999)).isoformat()}
    key = start_sweep(owner=desk["alice"], strategy="chandelier", base_params={}, settings=settings,
                      grid={"length": [5, 10, 22, 40]}, metric="total_return")
    api.login(desk["alice"])
    assert api.get(f"/api/sweeps/{key}/").json()["verdict"] is None  # not run yet
    for run in BacktestRun.objects.filter(sweep_key=key):
        run_backtest_job(run_id=run.pk)
    rank_sweep(sweep_key=key)
    body = api.get(f"/api/sweeps/{key}/").json()
    v = body["verdict"]
    best = body["rows"][0]
    assert v["best_run"] == best["run"] and v["points"] == 4 and v["trials"] == 4
    assert v["pbo"] is not None and 0.0 <= v["pbo"] <= 1.0
    assert v["return"] == pytest.approx(best["total_return"])
    assert "in-sample only: no walk-forward test yet" in v["reasons"]
    page = api.get(f"/sweeps/{key}/")
    assert page.status_code == 200 and b'id="verdict"' in page.content
