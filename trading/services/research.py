"""Research studies as use cases: walk-forward optimisations, and grid sweeps (studies of kind ``sweep``,
trading/services/sweeps.py) run by the same steps. ``start_walkforward`` validates and stores a study and
queues its trial tasks; ``run_study_step`` (one Celery task each) asks the shared Optuna study of the first fold that needs a
trial, runs it under a heartbeat (a walk-forward candidate on the fold's train window, or a sweep point's
backtest run) and tells the result, then queues the next step;
``finish_study`` runs each fold's best choice out of sample, stitches, measures and stores the verdict;
``cancel_study`` stops it.

Every fold is one Optuna study in the desk's database (``qd-study-<id>-fold-<k>``), so any number of workers
on any hosts share it. ``parallel`` step tasks are in flight at once. A worker that dies mid-trial stops
heartbeating; the next step to look fails its trial (``fail_stale_trials``) and Optuna's
``RetryFailedTrialCallback`` puts a copy back as WAITING, which the next ``ask`` picks up: every slot of
``n_trials`` ends COMPLETE (or FAIL after the retries), none stays RUNNING.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import warnings
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings as dj_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from trading.events import publish_user
from trading.models import Candle, ResearchStudy, StudyKind, StudyStatus
from trading.services.research_data import optuna_storage, period_bars, study_problem, study_space

log = logging.getLogger(__name__)

WATCH_SECONDS = 5.0
MAX_TRIALS, MAX_FOLDS, MAX_PARALLEL = 5000, 20, 64
ACTIVE = (StudyStatus.QUEUED, StudyStatus.RUNNING)


def _int(errors: dict, name: str, value: Any, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[name] = f"{name}: {value!r} is not an integer"
        return None
    try:
        v = int(value)
    except ValueError:
        errors[name] = f"{name}: {value!r} is not an integer"
        return None
    if not lo <= v <= hi:
        errors[name] = f"{name}: {v} is outside {lo}..{hi}"
    return v


def start_walkforward(*, owner, strategy: str, settings: dict[str, Any], space: dict | None = None,
                      folds: int = 5, train_ratio: float = 3.0, anchored: bool = False, n_trials: int = 50,
                      sampler: str = "tpe", seed: int = 0, parallel: int = 2, config=None,
                      name: str = "") -> ResearchStudy:
    """Validate (ValidationError {field: message}), cut the folds, store the study, queue its steps."""
    from datetime import datetime

    from trading.research.space import SAMPLERS, SpaceError
    from trading.research.walkforward import split_folds
    from trading.services.backtest_settings import clean_backtest_inputs

    errors: dict[str, str] = {}
    folds = _int(errors, "folds", folds, 1, MAX_FOLDS)
    n_trials = _int(errors, "trials", n_trials, 2, MAX_TRIALS)
    parallel = _int(errors, "parallel", parallel, 1, MAX_PARALLEL)
    seed = _int(errors, "seed", seed, 0, 2**31 - 1)
    try:
        train_ratio = float(train_ratio)
        if not 0.2 <= train_ratio <= 50:
            errors["train_ratio"] = f"train_ratio: {train_ratio} is outside 0.2..50"
    except (TypeError, ValueError):
        errors["train_ratio"] = f"train_ratio: {train_ratio!r} is not a number"
    if sampler not in SAMPLERS:
        errors["sampler"] = f"sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}"
    if not isinstance(anchored, bool):
        errors["anchored"] = f"anchored: {anchored!r} is not true or false"
    if errors:
        raise ValidationError(errors)
    _params, clean = clean_backtest_inputs(strategy=strategy, params={}, settings=settings)
    from trading.services.research_gate import study_config_error

    mismatch = study_config_error(config=config, strategy=strategy, settings=clean)
    if mismatch:
        raise ValidationError({"config": mismatch})
    study = ResearchStudy(owner=owner, config=config, name=name, strategy=strategy, settings=clean,
                          space=space or {}, n_trials=n_trials, sampler=sampler, seed=seed, parallel=parallel)
    try:
        parsed = study_space(study)
        if sampler == "grid":
            parsed.grid()
    except SpaceError as exc:
        raise ValidationError({"space": f"space.{exc}"}) from exc
    except Exception as exc:  # a ParamError from a spec's own bounds names the parameter
        raise ValidationError({"space": f"space: {exc}"}) from exc
    bars = Candle.objects.filter(symbol=clean["symbol"], interval=clean["timeframe"], kind="trade",
                                 open_time__gte=datetime.fromisoformat(clean["start"]),
                                 open_time__lte=datetime.fromisoformat(clean["end"])).count()
    try:
        cut = split_folds(bars, folds=folds, train_ratio=train_ratio, anchored=anchored)
    except ValueError as exc:
        raise ValidationError({"folds": f"folds: {exc}"}) from exc
    day = period_bars(clean["timeframe"])
    if cut[0].test_end - cut[0].test_start < day:
        raise ValidationError({"folds": f"folds: {folds} folds at train_ratio {train_ratio:g} leave test windows of "
                                        f"{cut[0].test_end - cut[0].test_start} bars, under a day ({day} bars)"})
    study.folds = [f.to_json() for f in cut]
    study.result = {"bars": bars}
    with transaction.atomic():
        study.save()
        transaction.on_commit(lambda: enqueue_study(study_id=study.pk))
    return study


def enqueue_study(*, study_id: int) -> None:
    """Create the fold studies in the shared storage and queue ``parallel`` step tasks."""
    import optuna

    from trading.tasks_research import study_step_task

    study = ResearchStudy.objects.get(pk=study_id)
    storage = optuna_storage()
    for fold in study.folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.create_study(storage=storage, study_name=study.optuna_name(fold["number"]), direction="maximize",
                                sampler=_sampler(study, seed=study.seed), load_if_exists=True)
    for _ in range(study.parallel):
        study_step_task.delay(study_id)


def _sampler(study: ResearchStudy, *, seed: int):
    """The study's sampler: a sweep's GridSampler over its points, else the walk-forward's over its space."""
    if study.kind == StudyKind.SWEEP:
        from trading.services.sweeps import sweep_sampler

        return sweep_sampler(study=study, seed=seed)
    from trading.research.space import make_sampler

    return make_sampler(study.sampler, seed=seed, space=study_space(study))


@contextmanager
def _ask_lock(study_id: int):
    """One asker at a time per study (so the slot count and the ask agree), across hosts (Redis)."""
    # Polled every 5 ms (redis-py's default is 100 ms, longer than the lock is usually held: a second worker
    # waiting for it slept most of a trial's worth of time).
    lock = redis.Redis.from_url(dj_settings.REDIS_URL).lock(f"qd:lock:research:{study_id}", timeout=60,
                                                              sleep=0.005, blocking_timeout=120)
    if not lock.acquire():
        raise TimeoutError(f"study {study_id}: the ask lock stayed busy for 120 s")
    try:
        yield
    finally:
        with suppress(redis.exceptions.LockError):
            lock.release()


@dataclass
class Slots:
    """A fold study's trial slots: retried-away failures do not count; WAITING retries do."""

    complete: int
    finished: int
    occupied: int
    waiting: int
    running: int


def count_slots(trials) -> Slots:
    from optuna.trial import TrialState

    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    live = [t for t in trials if not (t.state == TrialState.FAIL and t.number in retried)]
    return Slots(complete=sum(t.state == TrialState.COMPLETE for t in live),
                 finished=sum(t.state.is_finished() for t in live), occupied=len(live),
                 waiting=sum(t.state == TrialState.WAITING for t in live),
                 running=sum(t.state == TrialState.RUNNING for t in live))


_OPTUNA_STUDIES: dict[str, Any] = {}


def _fold_study(study: ResearchStudy, fold: int):
    """The fold's Optuna study, loaded once per process (its sampler keeps its own seeded state)."""
    import optuna

    name = study.optuna_name(fold)
    hit = _OPTUNA_STUDIES.get(name)
    if hit is None:
        if len(_OPTUNA_STUDIES) > 64:
            _OPTUNA_STUDIES.clear()
        hit = _OPTUNA_STUDIES[name] = optuna.load_study(study_name=name, storage=optuna_storage(),
                                                        sampler=_sampler(study, seed=study.seed + fold))
    return hit


_FINISHED_FOLDS: set[str] = set()


def _ask(study: ResearchStudy):
    """(fold number, optuna study, trial) for the first fold with a free or waiting slot; (None, None, None)
    and whether every fold is finished when there is none.

    Only the slot is taken under the study's lock (a waiting retry popped or a new trial created, and its
    heartbeat): what the lock guards is that the slot count and the taking agree. The sampler then draws the
    trial's parameters outside it, so workers sample side by side (TPE's draw grows with the trials; it
    serialised the workers while it ran under the lock), except a grid, whose point must be chosen under the
    lock (two draws at once could pick the same unvisited point). A fold whose every slot is finished stays so;
    this process stops reading its trials."""
    from optuna.storages import fail_stale_trials

    storage = optuna_storage()
    all_finished = True
    taken = None
    with _ask_lock(study.pk):
        for fold in study.folds:
            name = study.optuna_name(fold["number"])
            if name in _FINISHED_FOLDS:
                continue
            ostudy = _fold_study(study, fold["number"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "experimental" since Optuna 2.9
                fail_stale_trials(ostudy)
            slots = count_slots(ostudy.get_trials(deepcopy=False))
            if slots.finished >= study.n_trials and not slots.waiting and not slots.running:
                _FINISHED_FOLDS.add(name)
                continue
            if slots.finished < study.n_trials:
                all_finished = False
            if slots.occupied < study.n_trials or slots.waiting:
                # Optuna's Study.ask, split in two (its own calls): take the slot here, sample below.
                trial_id = ostudy._pop_waiting_trial_id()
                if trial_id is None:
                    trial_id = ostudy._storage.create_new_trial(ostudy._study_id)
                storage.record_heartbeat(trial_id)
                taken = (fold["number"], ostudy, trial_id)
                trial = _sampled(ostudy, trial_id) if study.kind == StudyKind.SWEEP or study.sampler == "grid" \
                    else None
                break
    if taken is None:
        return None, None, None, all_finished
    fold_no, ostudy, trial_id = taken
    if trial is None:
        trial = _sampled(ostudy, trial_id)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    return fold_no, ostudy, trial, False


def _sampled(ostudy, trial_id: int):
    """The taken trial as Optuna's ask returns it: its sampler's relative draw done on the fresh trial list."""
    import optuna

    ostudy._thread_local.cached_all_trials = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.Trial(ostudy, trial_id)


class _Heartbeat:
    """Record the trial's heartbeat every interval in a thread while the trial runs."""

    def __init__(self, storage, trial_id: int):
        self.storage, self.trial_id, self.stop = storage, trial_id, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(self.storage.get_heartbeat_interval()):
            with suppress(Exception):
                self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_study_step(*, study_id: int) -> str:
    """Run one trial of the study (or watch for a dead worker's trial); queue what comes next.
    Returns what it did: "trial", "watch", "finish", "retry", "stopped"."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    from trading.tasks_research import finish_study_task, study_step_task

    study = ResearchStudy.objects.filter(pk=study_id).first()
    if study is None or study.status not in ACTIVE:
        return "stopped"
    if study.status == StudyStatus.QUEUED:
        ResearchStudy.objects.filter(pk=study_id, status=StudyStatus.QUEUED).update(
            status=StudyStatus.RUNNING, started_at=timezone.now())
    try:
        fold_no, ostudy, trial, all_finished = _ask(study)
    except Exception:  # a busy lock or database: keep the chain alive rather than lose a worker's share
        log.exception("study %s: asking for a trial failed; trying again in %s s", study_id, WATCH_SECONDS)
        study_step_task.apply_async((study_id,), countdown=WATCH_SECONDS)
        return "retry"
    if trial is None:
        if all_finished:
            claimed = ResearchStudy.objects.filter(pk=study_id, status=StudyStatus.RUNNING).update(
                status=StudyStatus.FINISHING)
            if claimed:
                finish_study_task.delay(study_id)
                return "finish"
            return "stopped"
        study_step_task.apply_async((study_id,), countdown=WATCH_SECONDS)  # another worker's trial may die
        return "watch"
    storage = optuna_storage()
    try:
        with _Heartbeat(storage, trial._trial_id):
            value = _run_trial(study, fold_no, trial)
        if value is None:  # a sweep point whose run failed: the slot is done, with nothing to rank
            ostudy.tell(trial, state=TrialState.FAIL)
        else:
            ostudy.tell(trial, value)
        _progress(study, value)
    except UpdateFinishedTrialError:
        # Judged stale meanwhile (heartbeats starved past the grace period): its retry runs it again.
        log.warning("study %s fold %s trial %s was failed as stale while running", study_id, fold_no, trial.number)
    except Exception as exc:
        log.exception("study %s fold %s trial %s failed", study_id, fold_no, trial.number)
        with suppress(Exception):
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
        with suppress(UpdateFinishedTrialError):
            ostudy.tell(trial, state=TrialState.FAIL)
            _progress(study, None)  # a failed trial is done too (the bar reaches 100 %)
    if ResearchStudy.objects.filter(pk=study_id, status__in=ACTIVE).exists():
        study_step_task.delay(study_id)
    return "trial"


def _run_trial(study: ResearchStudy, fold_no: int, trial) -> float | None:
    """The one trial's work, by the study's kind: a sweep point's backtest run, or a walk-forward candidate
    on the fold's train window (its record kept on the trial for the finish)."""
    if study.kind == StudyKind.SWEEP:
        from trading.services.sweeps import run_sweep_point

        return run_sweep_point(study=study, trial=trial)
    from trading.research.walkforward import Fold, evaluate_trial

    fold = Fold(**{k: study.folds[fold_no][k] for k in ("number", "train_start", "train_end", "test_start",
                                                         "test_end")})
    record = evaluate_trial(study_problem(study), study_space(study).suggest(trial), fold, number=trial.number)
    trial.set_user_attr("record", record.to_json())
    return record.value


def _progress(study: ResearchStudy, value: float | None) -> None:
    """Count the finished trial and keep the best value in one atomic UPDATE (no trial reloading), then tell
    the owner from one read."""
    from django.db.models import Case, Value, When

    best = F("best_value")
    if value is not None and math.isfinite(value):
        best = Case(When(Q(best_value__isnull=True) | Q(best_value__lt=value), then=Value(value)), default=best)
    ResearchStudy.objects.filter(pk=study.pk).update(trials_done=F("trials_done") + 1, best_value=best)
    row = ResearchStudy.objects.filter(pk=study.pk).values("owner_id", "n_trials", "folds", "trials_done",
                                                           "best_value", "status").first()
    if row is not None:
        publish_user(user_id=row["owner_id"], event_type="research",
                     data={"id": study.pk, "trials_total": row["n_trials"] * len(row["folds"]),
                           "status": row["status"], "trials_done": row["trials_done"],
                           "best_value": row["best_value"]})


def _publish(study_id: int, **data) -> None:
    owner = ResearchStudy.objects.filter(pk=study_id).values_list("owner_id", flat=True).first()
    if owner is not None:
        total = ResearchStudy.objects.filter(pk=study_id).values_list("n_trials", "folds").first()
        publish_user(user_id=owner, event_type="research",
                     data={"id": study_id, "trials_total": total[0] * len(total[1]), **data})


def finish_study(*, study_id: int) -> ResearchStudy | None:
    """Out-of-sample runs of each fold's best trial, the stitched curve, statistics and verdict (stored)."""
    import optuna
    from optuna.trial import TrialState

    from trading.research.verdict import judge, walkforward_inputs
    from trading.research.walkforward import Fold, TrialRecord, finish_walkforward
    from trading.services.backtests import json_safe

    study = ResearchStudy.objects.filter(pk=study_id).first()
    if study is None or study.status != StudyStatus.FINISHING:
        return study
    if study.kind == StudyKind.SWEEP:
        return _finish_sweep(study)
    try:
        storage = optuna_storage()
        folds = [Fold(**{k: f[k] for k in ("number", "train_start", "train_end", "test_start", "test_end")})
                 for f in study.folds]
        records = []
        for f in folds:
            trials = optuna.load_study(study_name=study.optuna_name(f.number), storage=storage).get_trials(
                deepcopy=False, states=(TrialState.COMPLETE,))
            records.append([TrialRecord.from_json(t.user_attrs["record"]) for t in trials if "record" in t.user_attrs])
        result = finish_walkforward(study_problem(study), folds, records, seed=study.seed)
        verdict = judge(walkforward_inputs(result.summary))
        study.result = json_safe({**study.result, **result.to_json()})
        study.verdict = json_safe(verdict.to_json())
        study.status = StudyStatus.DONE
    except Exception as exc:
        log.exception("study %s could not finish", study_id)
        study.status, study.error = StudyStatus.FAILED, f"{type(exc).__name__}: {exc}"
    study.finished_at = timezone.now()
    study.save(update_fields=["result", "verdict", "status", "error", "finished_at"])
    _publish(study.pk, status=study.status, trials_done=study.trials_done, best_value=study.best_value,
             verdict=study.verdict.get("verdict"))
    return study


def _finish_sweep(study: ResearchStudy) -> ResearchStudy:
    from trading.services.backtests import json_safe
    from trading.services.sweeps import finish_sweep

    try:
        study.verdict = json_safe(finish_sweep(study=study) or {})
        study.status = StudyStatus.DONE
    except Exception as exc:
        log.exception("sweep study %s could not finish", study.pk)
        study.status, study.error = StudyStatus.FAILED, f"{type(exc).__name__}: {exc}"
    study.finished_at = timezone.now()
    study.save(update_fields=["verdict", "status", "error", "finished_at"])
    _publish(study.pk, status=study.status, trials_done=study.trials_done, best_value=study.best_value,
             verdict=study.verdict.get("verdict"))
    return study


def cancel_study(*, study: ResearchStudy) -> ResearchStudy:
    """Stop a queued or running study: steps already running finish their trial and queue nothing more."""
    if study.status not in ACTIVE:
        raise ValidationError({"status": f"status: study {study.pk} is {study.status}; only queued or running "
                                         "studies can be cancelled"})
    ResearchStudy.objects.filter(pk=study.pk, status__in=ACTIVE).update(status=StudyStatus.CANCELLED,
                                                                        finished_at=timezone.now())
    study.refresh_from_db()
    _publish(study.pk, status=study.status, trials_done=study.trials_done, best_value=study.best_value)
    return study
