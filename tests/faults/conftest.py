"""Fixtures of the "never lose control" fault suite: real Celery workers as subprocesses (a trading worker on
queue ``trading``, a research worker on ``research``, as ``rundesk`` starts them) on the test database and the
real Redis, a local fake Bybit for the live-account cases, a stand-in feed that keeps the paper exchange's
prices fresh, and the table printed at the end of the session."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import redis
from django.conf import settings

from fakebybit.pytest_plugin import start_fake
from tests.shared_data import REPO_ROOT

ROWS: list[tuple[str, str, str]] = []  # (scenario, measured, verdict)


def record(scenario: str, measured: str, ok: bool) -> None:
    ROWS.append((scenario, measured, "ok" if ok else "FAILED"))
    print(f"\n[control-faults] {scenario}: {measured}")


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    tr = terminalreporter
    tr.section("never lose control: fault scenarios (real workers, real Redis, paper and fake Bybit)")
    tr.write_line(f"{'scenario':<46}{'verdict':<8}measured")
    for scenario, measured, verdict in ROWS:
        tr.write_line(f"{scenario:<46}{verdict:<8}{measured}")


def wait_for(predicate, *, timeout: float = 120.0, every: float = 0.1, state=None):
    """Poll until predicate() is truthy (a deadline for a loaded machine, not a speed assertion). ``state``: a
    callable whose text goes into the failure, so a miss in CI says what the desk was doing instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s" + (f"; state: {state()}" if state else ""))


def worker_env(**extra) -> dict:
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, QUANTDESK_FERNET_KEY=settings.QUANTDESK_FERNET_KEY,
               PYTHONUNBUFFERED="1", **extra)
    return env


class Worker:
    """A ``celery worker`` subprocess (solo pool: the task runs in the process a ``kill -9`` hits)."""

    def __init__(self, queue: str, env: dict, *, concurrency: int = 1):
        from quantdesk.env import VAR_DIR

        self.name = f"{queue}-{uuid.uuid4().hex[:6]}@faults"
        self.log = VAR_DIR / f"faults-{self.name.split('@')[0]}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "quantdesk", "worker", "-P", "solo", "-Q", queue, "-n", self.name,
             "--prefetch-multiplier", "1", "-l", "info"],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> Worker:
        from quantdesk.celery import app

        def pong():
            assert self.proc.poll() is None, f"worker {self.name} exited; see {self.log}"
            return app.control.ping(destination=[self.name], timeout=0.5)

        wait_for(pong, timeout=timeout, every=0.5)
        return self

    def tail(self, lines: int = 25) -> str:
        """The end of the worker's log (for a failure message)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module")
def fake():
    f = start_fake()
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def workers(django_db_setup, fake):
    """A trading and a research worker for the module (the queues emptied of earlier tests' messages)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("trading", "research")
    env = worker_env(BYBIT_HTTP_ENDPOINT=fake.urls.http)
    started = {"trading": Worker("trading", env), "research": Worker("research", env)}
    try:
        for w in started.values():
            w.wait_ready()
        yield started
    finally:
        client.delete("trading", "research")
        for w in started.values():
            w.stop()


class FreshPrices:
    """What the live feed does for the paper exchange: ``qd:price:SYMBOL`` rewritten with the current time."""

    def __init__(self, prices: dict[str, float]):
        self.prices = dict(prices)
        self.stop = threading.Event()
        self.client = redis.Redis.from_url(settings.REDIS_URL)

    def write(self) -> None:
        from trading.marketdata.feed import PRICE_KEY

        ts = str(int(datetime.now(UTC).timestamp() * 1000))
        for symbol, p in self.prices.items():
            self.client.hset(PRICE_KEY.format(symbol=symbol), mapping={"last": p, "mark": p, "bid": p, "ask": p,
                                                                        "ts": ts})

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.write()


@contextmanager
def fresh_prices(prices: dict[str, float]):
    feed = FreshPrices(prices)
    feed.write()
    thread = threading.Thread(target=feed._run, daemon=True)
    thread.start()
    try:
        yield feed
    finally:
        feed.stop.set()
        thread.join(5)
