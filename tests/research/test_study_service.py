"""Walk-forward studies through the service, steps run in this process (the Celery path with real workers is
in test_study_workers.py): validation naming the field, every trial slot filled exactly once, a trial whose
worker went silent is failed and retried (never left RUNNING), the verdict stored, cancel."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_instrument, make_user
from trading.models import ResearchStudy
from trading.services import research as svc

pytestmark = pytest.mark.django_db(transaction=True)  # Optuna writes through its own connection

SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": T0.isoformat(),
            "end": (T0 + timedelta(minutes=5 * 1599)).isoformat(), "leverage": "10", "sizing_mode": "kelly",
            "kelly_fraction": "0.5", "funding": False}
SPACE = {"params": {"length": {"low": 5, "high": 40}, "mult": {"low": 1.0, "high": 5.0}}}


@pytest.fixture
def queued(monkeypatch):
    """Tasks the service queues, recorded instead of sent: [(name, study_id)]."""
    from trading import tasks_research as t

    sent = []
    monkeypatch.setattr(t.study_step_task, "delay", lambda sid: sent.append(("step", sid)))
    monkeypatch.setattr(t.study_step_task, "apply_async", lambda args, countdown=0: sent.append(("step", args[0])))
    monkeypatch.setattr(t.finish_study_task, "delay", lambda sid: sent.append(("finish", sid)))
    return sent


@pytest.fixture
def alice():
    make_instrument("BTCUSDT")
    seed_candles(1600)
    return make_user("alice")


def _drain(sent, limit=200):
    """Run queued steps in order until the study is finished (the finish task runs last)."""
    for _ in range(limit):
        if not sent:
            return
        name, sid = sent.pop(0)
        if name == "step":
            svc.run_study_step(study_id=sid)
        else:
            svc.finish_study(study_id=sid)
    raise AssertionError("the study never finished")


def _trials(study):
    import optuna

    from trading.services.research_data import optuna_storage

    return [optuna.load_study(study_name=study.optuna_name(f["number"]), storage=optuna_storage()).get_trials()
            for f in study.folds]


@pytest.mark.parametrize(("change", "field"), [
    ({"folds": 0}, "folds"), ({"n_trials": 1}, "trials"), ({"sampler": "annealing"}, "sampler"),
    ({"space": {"params": {"length": {"low": 0, "high": 5}}}}, "space"),   # length's own minimum is 1
    ({"space": {"params": {"nope": {"low": 1, "high": 2}}}}, "space"),
    ({"folds": 20, "train_ratio": 50}, "folds"),                              # 1600 bars cannot hold them
    ({"settings": {**SETTINGS, "leverage": "101"}}, "leverage"),
])
def test_bad_studies_are_rejected_naming_the_field(alice, queued, change, field):
    kw = {"owner": alice, "strategy": "chandelier", "settings": SETTINGS, "space": SPACE, "folds": 2,
          "n_trials": 4, **change}
    with pytest.raises(ValidationError) as exc:
        svc.start_walkforward(**kw)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not ResearchStudy.objects.exists() and not queued


def test_every_slot_is_filled_once_and_the_verdict_is_stored(alice, queued, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    events = []
    monkeypatch.setattr(svc, "publish_user", lambda **kw: events.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        study = svc.start_walkforward(owner=alice, strategy="chandelier", settings=SETTINGS, space=SPACE, folds=2,
                                      n_trials=5, sampler="random", seed=3, parallel=2)
    assert queued == [("step", study.pk), ("step", study.pk)]
    _drain(queued)
    study.refresh_from_db()
    assert study.status == "done", study.error
    from optuna.trial import TrialState

    for trials in _trials(study):
        assert [t.number for t in trials] == [0, 1, 2, 3, 4]
        assert all(t.state == TrialState.COMPLETE and "record" in t.user_attrs for t in trials)
    assert study.trials_done == 10
    # Progress went to the owner's socket after every trial, then the verdict.
    assert all(e["user_id"] == alice.pk and e["event_type"] == "research" for e in events)
    assert [e["data"]["trials_done"] for e in events[:10]] == list(range(1, 11))
    assert events[-1]["data"]["status"] == "done" and events[-1]["data"]["verdict"] == study.verdict["verdict"]
    v = study.verdict
    assert v["verdict"] in ("red", "amber", "green") and v["reasons"]
    assert set(v) >= {"pbo", "dsr_p_value", "ruin_probability", "cost_share", "trade_count", "buy_and_hold_return"}
    assert len(study.result["folds"]) == 2 and study.result["oos_equity"]
    s = study.result["summary"]
    assert s["oos_pnl"] == pytest.approx(sum(f["oos_pnl"] for f in study.result["folds"]))


def test_a_trial_whose_worker_went_silent_is_failed_and_retried(alice, queued, settings,
                                                               django_capture_on_commit_callbacks):
    from optuna.trial import TrialState

    from trading.services.research_data import optuna_storage

    settings.QUANTDESK_RESEARCH_HEARTBEAT_SECONDS, settings.QUANTDESK_RESEARCH_GRACE_SECONDS = 1, 2
    with django_capture_on_commit_callbacks(execute=True):
        study = svc.start_walkforward(owner=alice, strategy="chandelier", settings=SETTINGS, space=SPACE, folds=1,
                                      n_trials=3, sampler="random", seed=1, parallel=1)
    # A "worker" asks for a trial, heartbeats once and dies.
    fold, ostudy, dead, _ = svc._ask(study)
    dead_params = dict(dead.params) if dead.params else None
    time.sleep(3.5)  # past the grace period
    _drain(queued)
    study.refresh_from_db()
    assert study.status == "done", study.error
    trials = _trials(study)[0]
    states = {t.number: t.state for t in trials}
    assert states[dead.number] == TrialState.FAIL
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    if dead_params:
        assert retry[0].params == dead_params
    assert svc.count_slots(trials).complete == 3
    assert optuna_storage() is optuna_storage()


def test_cancel_stops_the_steps(alice, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        study = svc.start_walkforward(owner=alice, strategy="chandelier", settings=SETTINGS, space=SPACE, folds=1,
                                      n_trials=6, sampler="random", parallel=1)
    svc.run_study_step(study_id=study.pk)
    svc.cancel_study(study=study)
    assert svc.run_study_step(study_id=study.pk) == "stopped"
    study.refresh_from_db()
    assert study.status == "cancelled" and study.trials_done == 1
    with pytest.raises(ValidationError, match="status"):
        svc.cancel_study(study=study)


def test_a_failed_ask_keeps_the_chain_alive(alice, queued, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        study = svc.start_walkforward(owner=alice, strategy="chandelier", settings=SETTINGS, space=SPACE, folds=1,
                                      n_trials=2, sampler="random", parallel=1)
    queued.clear()

    def busy(_study):
        raise TimeoutError("the ask lock stayed busy")

    monkeypatch.setattr(svc, "_ask", busy)
    assert svc.run_study_step(study_id=study.pk) == "retry"
    assert queued == [("step", study.pk)]  # queued again (with a countdown), not lost


def test_a_sweep_is_a_grid_study_run_by_the_same_steps_each_point_once(alice, queued, settings,
                                                                        django_capture_on_commit_callbacks):
    """A sweep's points are the GridSampler's trials, run by run_study_step like a walk-forward's; a point whose
    worker went silent is failed and retried (its run done once), the finish ranks the runs and stores the
    verdict on the study."""
    from optuna.trial import TrialState

    from trading.models import BacktestRun, StudyKind
    from trading.services.sweeps import start_sweep, sweep_table

    settings.QUANTDESK_RESEARCH_HEARTBEAT_SECONDS, settings.QUANTDESK_RESEARCH_GRACE_SECONDS = 1, 2
    grid = {"length": [5, 10, 22], "mult": [2.0, 3.0]}
    with django_capture_on_commit_callbacks(execute=True):
        key = start_sweep(owner=alice, strategy="chandelier", base_params={}, grid=grid, settings=SETTINGS,
                          metric="total_return")
    study = ResearchStudy.objects.get(sweep_key=key)
    assert (study.kind, study.sampler, study.n_trials, len(study.folds)) == (StudyKind.SWEEP, "grid", 6, 1)
    assert queued == [("step", study.pk)] * 6  # parallel: one step per point up to SWEEP_PARALLEL
    fold, ostudy, dead, _ = svc._ask(study)  # a worker takes a point and dies before running it
    dead_point = dead.suggest_categorical("point", list(range(6)))
    time.sleep(3.5)  # past the grace period
    _drain(queued)
    study.refresh_from_db()
    assert study.status == "done", study.error
    trials = _trials(study)[0]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.params["point"] for t in complete) == list(range(6))  # every grid point exactly once
    assert [t.params["point"] for t in trials if t.system_attrs.get("failed_trial") == dead.number] == [dead_point]
    runs = {r.pk: r for r in BacktestRun.objects.filter(sweep_key=key)}
    assert all(r.status == "done" for r in runs.values())
    for t in complete:  # each trial's value is its point's run's metric, and the run is that point's
        run = runs[t.user_attrs["run"]]
        assert t.value == pytest.approx(run.metrics["total_return"])
        assert run.settings["sweep"]["point"] == {"length": grid["length"][t.params["point"] // 2],
                                                  "mult": grid["mult"][t.params["point"] % 2]}
    table = sweep_table(runs=list(runs.values()))
    assert table["status"] == "done" and [r["rank"] for r in table["rows"]] == list(range(1, 7))
    assert study.verdict["points"] == 6 and study.verdict["best_run"] == table["rows"][0]["run"]
    from trading.selectors import studies_for

    assert not studies_for(user=alice).exists()  # the research list shows walk-forwards; sweeps have their own
