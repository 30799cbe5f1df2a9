"""Start the whole desk as one supervised group: embedded Redis (if no REDIS_URL), web (daphne), a trading
worker (queue ``trading``, its own process: signal cycles, monitor, reconciliation, kill switch), a research
worker (queue ``research``: backtests, sweeps), Celery beat, and the live market-data feed (``feed="off"``
leaves it out, e.g. to run a replay with ``manage.py run_feed --replay`` instead).

Output lines are prefixed with the process name. A child that dies is started again after an exponential
backoff (1 s, 2 s, 4 s ... at most ``MAX_BACKOFF``; back to 1 s once it has stayed up ``STABLE_SECONDS``),
reported on the console and in Redis (``qd:desk:restarts``: restarts per process, shown with the feed's
status) instead of stopping the desk. Ctrl-C (or SIGTERM) stops them all.

When web first accepts a connection the console says ``[desk] ready in X s``: the time since ``./desk start``
began (``QUANTDESK_T0``, set by the script; else since this process started)."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from . import embedded_redis
from .env import BASE_DIR, EMBEDDED_REDIS_PORT, VAR_DIR, redis_url, uses_embedded_redis

RESTARTS_KEY = "qd:desk:restarts"
MAX_BACKOFF = 60.0
STABLE_SECONDS = 60.0


@dataclass
class Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    restart_at: float | None = None  # monotonic time of the next start while it is down


def process_table(host: str, port: int, concurrency: int, feed: str = "live") -> list[Proc]:
    """``concurrency`` is the research worker's; the trading worker always has one process of its own."""
    py = sys.executable
    celery = [py, "-m", "celery", "-A", "quantdesk"]
    feed_procs = [Proc("feed", [py, str(BASE_DIR / "manage.py"), "run_feed", "--wait"])] if feed == "live" else []
    # live accounts' private streams (idle, checking every 30 s, while every account is on paper)
    feed_procs.append(Proc("private", [py, str(BASE_DIR / "manage.py"), "run_private_stream", "--wait"]))
    return feed_procs + [
        Proc("web", [py, "-m", "daphne", "-b", host, "-p", str(port), "quantdesk.asgi:application"]),
        Proc("trading", [*celery, "worker", "-l", "info", "-Q", "trading", "--concurrency", "1",
                         "--prefetch-multiplier", "1", "-n", "trading@%h"]),
        Proc("research", [*celery, "worker", "-l", "info", "-Q", "research", "--concurrency", str(concurrency),
                          "--prefetch-multiplier", "1", "-n", "research@%h"]),
        Proc("beat", [*celery, "beat", "-l", "info",
                      "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                      "--schedule", str(VAR_DIR / "celerybeat-schedule")]),
    ]


def next_backoff(current: float, uptime: float) -> tuple[float, float]:
    """(wait before this restart, the backoff after it): doubling up to MAX_BACKOFF; a child that stayed up
    STABLE_SECONDS starts again from 1 s."""
    wait = 1.0 if uptime >= STABLE_SECONDS else current
    return wait, min(MAX_BACKOFF, wait * 2)


def report_restart(name: str, count: int, exit_code: int | None, wait: float) -> None:
    """Record a restart in Redis (best effort: the console line is the report when Redis is down)."""
    try:
        import redis

        client = redis.Redis.from_url(redis_url(), socket_timeout=2)
        client.hset(RESTARTS_KEY, mapping={name: count, f"{name}:last_exit": str(exit_code),
                                           f"{name}:at_ms": int(time.time() * 1000), f"{name}:wait_s": wait})
    except Exception as exc:  # noqa: BLE001
        print(f"[desk] could not record the restart of {name} in Redis: {exc}", flush=True)


def started_at() -> float:
    """Wall time the start began: ``QUANTDESK_T0`` (epoch seconds, set by ``./desk start``) or this process's
    start."""
    try:
        return float(os.environ["QUANTDESK_T0"])
    except (KeyError, ValueError):
        return _PROCESS_T0


_PROCESS_T0 = time.time()


def answers(host: str, port: int) -> bool:
    """Whether something accepts a TCP connection on ``host:port`` (a wildcard bind is asked on loopback)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        with socket.create_connection((target, port), timeout=0.2):
            return True
    except OSError:
        return False


def run(host: str = "127.0.0.1", port: int = 8000, concurrency: int = 1, feed: str = "live",
        procs: list[Proc] | None = None) -> int:
    redis_proc = None
    if uses_embedded_redis():
        redis_proc = embedded_redis.start(EMBEDDED_REDIS_PORT, VAR_DIR / "redis")
        print(f"[desk] embedded redis on 127.0.0.1:{EMBEDDED_REDIS_PORT}", flush=True)
    procs = procs if procs is not None else process_table(host, port, concurrency, feed)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print("[desk] running as root: better run the desk as an ordinary user (the Celery workers' superuser "
              "warning is said here once)", flush=True)
    sel = selectors.DefaultSelector()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for p in procs:
        _start(p, sel, env)
    print(f"[desk] QuantDesk on http://{host}:{port}/ (admin: /admin/, API: /api/) - Ctrl-C stops it", flush=True)
    stopping = False
    waiting_for_web = any(p.name == "web" for p in procs)

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for key, _ in sel.select(timeout=0.5):
                line = key.fileobj.readline()
                if line:
                    sys.stdout.write(f"[{key.data.name}] {line.decode(errors='replace')}")
                    sys.stdout.flush()
                else:
                    sel.unregister(key.fileobj)
            _supervise(procs, sel, env)
            if waiting_for_web and answers(host, port):
                waiting_for_web = False
                print(f"[desk] ready in {time.time() - started_at():.1f} s (web answers on {host}:{port})", flush=True)
    finally:
        _shutdown(procs, redis_proc)
    return 0


def _start(p: Proc, sel: selectors.BaseSelector, env: dict) -> None:
    p.popen = subprocess.Popen(p.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True, stdin=subprocess.DEVNULL)
    p.started, p.restart_at = time.monotonic(), None
    sel.register(p.popen.stdout, selectors.EVENT_READ, p)


def _supervise(procs: list[Proc], sel: selectors.BaseSelector, env: dict) -> None:
    now = time.monotonic()
    for p in procs:
        if p.restart_at is not None:
            if now >= p.restart_at:
                print(f"[desk] starting {p.name} again (restart {p.restarts})", flush=True)
                _start(p, sel, env)
            continue
        code = p.popen.poll()
        if code is None:
            continue
        wait, p.backoff = next_backoff(p.backoff, now - p.started)
        p.restarts += 1
        p.restart_at = now + wait
        print(f"[desk] {p.name} exited with {code}; restarting it in {wait:g} s (restart {p.restarts})", flush=True)
        report_restart(p.name, p.restarts, code, wait)


def _shutdown(procs: list[Proc], redis_proc: subprocess.Popen | None) -> None:
    for p in procs:
        if p.popen and p.popen.poll() is None:
            os.killpg(p.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs:
        if p.popen:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.popen.pid, signal.SIGKILL)
    if redis_proc is not None:
        redis_proc.terminate()
        redis_proc.wait(5)
    print("[desk] stopped", flush=True)
