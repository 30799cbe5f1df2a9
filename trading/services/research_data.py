"""What research tasks read and where studies live: the Optuna storage on the desk's own database (SQLite
file or PostgreSQL, URL built from Django's DATABASES), and a study's ``Problem`` (candles, funding, mark,
instrument, engine config) loaded from the store once per worker process; a trial window's warm-up and
context come from trading/services/strategy_context.py, the reader backtests and the live cycle use."""

from __future__ import annotations

import threading
import warnings
from datetime import datetime
from typing import Any

from django.conf import settings as dj_settings
from django.db import connection

from trading.models import Instrument, ResearchStudy

_STORAGES: dict[tuple, Any] = {}
_PROBLEMS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def storage_url() -> str:
    """The SQLAlchemy URL of the desk's database (the test database under pytest)."""
    from sqlalchemy.engine import URL

    db = connection.settings_dict
    engine = db["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    if "postgresql" in engine:
        return URL.create("postgresql+psycopg", username=db.get("USER") or None, password=db.get("PASSWORD") or None,
                          host=db.get("HOST") or None, port=int(db["PORT"]) if db.get("PORT") else None,
                          database=db["NAME"]).render_as_string(hide_password=False)
    raise ValueError(f"DATABASES.default.ENGINE: {engine} is not SQLite or PostgreSQL; Optuna cannot share it")


def optuna_storage():
    """One RDBStorage per process and URL, with trial heartbeats and a retry for trials whose worker died."""
    import optuna
    from optuna.storages import RDBStorage, RetryFailedTrialCallback

    url = storage_url()
    hb = int(dj_settings.QUANTDESK_RESEARCH_HEARTBEAT_SECONDS)
    grace = int(dj_settings.QUANTDESK_RESEARCH_GRACE_SECONDS)
    key = (url, hb, grace)
    with _LOCK:
        if key not in _STORAGES:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's words
                warnings.simplefilter("ignore")
                _STORAGES[key] = RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=hb, grace_period=grace,
                                            heartbeat_stale_trial_callback=RetryFailedTrialCallback(max_retry=3))
            if url.startswith("sqlite"):
                _sqlite_like_django(_STORAGES[key].engine)
        return _STORAGES[key]


def _sqlite_like_django(engine) -> None:
    """Optuna's SQLite connections commit as the desk's own do (settings: WAL, synchronous=NORMAL): without it
    every trial's dozen small commits each waited for an fsync, with the database locked meanwhile."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # connections opened before the listener get the pragmas when reopened


def period_bars(timeframe: str) -> int:
    """Bars in a day at ``timeframe`` (the statistics' period), at least 1."""
    from trading.choices import TIMEFRAMES

    return max(1, 86_400 // TIMEFRAMES[timeframe][0])


def build_problem(*, strategy: str, settings: dict):
    """The pure ``Problem`` for cleaned backtest ``settings``: candles, mark when stored (+ funding when asked and
    stored), each window's strategy inputs read through the one context reader (``window_inputs``)."""
    from strategies.algos import registry
    from trading.engine_adapters import engine_instrument
    from trading.research.evaluate import Problem
    from trading.services.backtest_settings import to_engine_config
    from trading.services.backtests import load_candle_frame, load_funding, load_mark_frames

    s = settings
    inst = Instrument.objects.get(symbol=s["symbol"])
    start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
    candles = load_candle_frame(symbol=s["symbol"], interval=s["timeframe"], start=start, end=end)
    funding = None
    if s["funding"]:
        funding = load_funding(symbol=s["symbol"], start=start, end=end)
    mark = load_mark_frames(symbol=s["symbol"], start=start, end=end)  # liquidation's trigger, funding or not
    return Problem(registry.get(strategy), candles, engine_instrument(inst), to_engine_config(s, inst),
                   symbol=s["symbol"], timeframe=s["timeframe"], funding=funding, mark=mark,
                   period_bars=period_bars(s["timeframe"]),
                   inputs=window_inputs(symbol=s["symbol"], timeframe=s["timeframe"], end=end))


def window_inputs(*, symbol: str, timeframe: str, end: datetime):
    """A Problem's ``inputs``: each window's candles (with the strategy's declared warm-up, from before the
    range too) and context through the desk's one reader (``read_strategy_inputs``, as backtests and the live
    cycle read them), from a ``SpanReader`` that reads each series once per process."""
    from trading.services.strategy_context import SpanReader, read_strategy_inputs

    span = SpanReader(end=end)

    def inputs(strategy, first, last):
        got = read_strategy_inputs(strategy=strategy, symbol=symbol, timeframe=timeframe,
                                   start=first.to_pydatetime(), end=last.to_pydatetime(), reader=span)
        return got.candles, got.context, got.first_in_range

    return inputs


def study_problem(study: ResearchStudy):
    """The study's Problem, cached per process (the bars of a stored range do not change)."""
    key = (study.pk, study.strategy, study.settings.get("start"), study.settings.get("end"))
    with _LOCK:
        hit = _PROBLEMS.get(key)
    if hit is not None:
        return hit
    problem = build_problem(strategy=study.strategy, settings=study.settings)
    expected = study.result.get("bars") if study.result else None
    n = study.folds[-1]["test_end"] if study.folds else None
    if n is not None and len(problem.candles) < n or (expected and len(problem.candles) != expected):
        raise ValueError(f"study {study.pk}: {len(problem.candles)} bars are stored in the range, the folds were "
                         f"cut for {expected or n}; the data changed since the study started")
    with _LOCK:
        if len(_PROBLEMS) > 4:
            _PROBLEMS.clear()
        _PROBLEMS[key] = problem
    return problem


def study_space(study: ResearchStudy):
    """The study's SearchSpace (parsed again from the stored JSON: cheap and always the same)."""
    from strategies.algos import registry
    from trading.engine_adapters import engine_instrument
    from trading.models import DeskSettings
    from trading.research.space import SearchSpace

    s = study.settings
    inst = engine_instrument(Instrument.objects.get(symbol=s["symbol"]))
    defaults = {k: s.get(k) for k in ("leverage", "sizing_mode", "allocation", "kelly_fraction", "take_profit_pct",
                                      "stop_loss_pct")}
    bands = [tuple(float(b[k]) for k in ("min_leverage", "max_leverage", "min_allocation", "max_allocation"))
             for b in DeskSettings.current().leverage_bands]
    return SearchSpace.parse(study.space, specs=registry.get(study.strategy).PARAMS, defaults=defaults, bands=bands,
                             mmr=inst.tiers[0].mmr, max_leverage=inst.max_leverage)
