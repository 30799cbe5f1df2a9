"""End to end: two real Celery worker processes (not eager, not threads) share one walk-forward study through
Optuna's storage in the test database and the real Redis broker. One worker is SIGKILLed while it runs a
trial: its trial is failed as stale and retried by the survivor, every slot ends COMPLETE exactly once, and
nothing is left RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_instrument, make_user
from trading.models import ResearchStudy
from trading.services import research as svc

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
REPO_ROOT = Path(__file__).resolve().parents[2]
BARS = 6000
SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": T0.isoformat(),
            "end": (T0 + timedelta(minutes=5 * (BARS - 1))).isoformat(), "leverage": "10", "sizing_mode": "kelly",
            "kelly_fraction": "0.5", "funding": False}
# Lorentzian: about a second a trial here, long enough to be caught mid-trial.
SPACE = {"params": {"neighbors_count": {"low": 4, "high": 12}}}


def _env() -> dict:
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, QUANTDESK_FERNET_KEY=settings.QUANTDESK_FERNET_KEY,
               PYTHONUNBUFFERED="1", QUANTDESK_RESEARCH_HEARTBEAT_SECONDS="1",
               QUANTDESK_RESEARCH_GRACE_SECONDS="10")
    return env


def _worker(name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "quantdesk", "worker", "-P", "solo", "-Q",
                             "research", "-n", f"{name}@%h", "-l", "warning"], cwd=REPO_ROOT, env=_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _poll(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def _trials(study):
    import optuna

    from trading.services.research_data import optuna_storage

    return [optuna.load_study(study_name=study.optuna_name(f["number"]), storage=optuna_storage()).get_trials()
            for f in study.folds]


def test_two_workers_share_a_study_and_survive_a_kill():
    from optuna.trial import TrialState

    make_instrument("BTCUSDT")
    seed_candles(BARS)
    alice = make_user("alice")
    workers = {"w1": _worker("w1"), "w2": _worker("w2")}
    try:
        study = svc.start_walkforward(owner=alice, strategy="lorentzian", settings=SETTINGS, space=SPACE, folds=2,
                                      n_trials=4, sampler="random", seed=2, parallel=2)
        victim = workers["w1"].pid

        def victim_running():
            return [t for ts in _trials(study) for t in ts
                    if t.state == TrialState.RUNNING and t.user_attrs.get("worker", "").endswith(f":{victim}")]

        caught = _poll(victim_running, timeout=240, what="worker w1 running a trial")[0]
        workers["w1"].send_signal(signal.SIGKILL)
        workers["w1"].wait(60)
        _poll(lambda: ResearchStudy.objects.get(pk=study.pk).status in ("done", "failed"), timeout=400,
              what="the study finishing on the surviving worker")
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    study.refresh_from_db()
    assert study.status == "done", study.error
    all_trials = _trials(study)
    for trials in all_trials:
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        assert svc.count_slots(trials).complete == 4                       # every slot done ...
        numbers = [t.number for t in trials]
        assert len(numbers) == len(set(numbers))                            # ... once
        retried = [t.system_attrs["failed_trial"] for t in trials if "failed_trial" in t.system_attrs]
        assert len(retried) == len(set(retried))                            # a failure is retried once
    flat = [t for ts in all_trials for t in ts]
    dead = next(t for t in flat if t._trial_id == caught._trial_id)
    assert dead.state == TrialState.FAIL
    # The retry keeps whatever the dead trial had drawn (nothing, if it died before its first suggestion).
    retry = [t for t in flat if t.system_attrs.get("failed_trial") == dead.number and t.user_attrs.get("record")
             and all(t.params.get(k) == v for k, v in dead.params.items())]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE, [
        (t.number, t.state, t.params, t.system_attrs, sorted(t.user_attrs)) for t in flat] + [dead.number, dead.params]
    survivors = {t.user_attrs.get("worker", "").rsplit(":", 1)[-1] for t in flat if t.state == TrialState.COMPLETE}
    assert str(workers["w2"].pid) in survivors
    assert study.trials_done == 8 and study.verdict["verdict"] in ("red", "amber", "green")
