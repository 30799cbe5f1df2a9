"""Start the whole desk as one supervised group: embedded Redis (if no REDIS_URL), web (daphne),
Celery worker and beat, and the live market-data feed (``feed="off"`` leaves it out, e.g. to run a replay
with ``manage.py run_feed --replay`` instead). Output lines are prefixed with the process name; if one
process dies, all stop."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from . import embedded_redis
from .env import BASE_DIR, EMBEDDED_REDIS_PORT, VAR_DIR, uses_embedded_redis


@dataclass
class Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen | None = None


def process_table(host: str, port: int, concurrency: int, feed: str = "live") -> list[Proc]:
    py = sys.executable
    feed_procs = [Proc("feed", [py, str(BASE_DIR / "manage.py"), "run_feed", "--wait"])] if feed == "live" else []
    return feed_procs + [
        Proc("web", [py, "-m", "daphne", "-b", host, "-p", str(port), "quantdesk.asgi:application"]),
        Proc("worker", [py, "-m", "celery", "-A", "quantdesk", "worker", "-l", "info",
                        "--concurrency", str(concurrency), "-n", "worker@%h"]),
        Proc("beat", [py, "-m", "celery", "-A", "quantdesk", "beat", "-l", "info",
                      "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                      "--schedule", str(VAR_DIR / "celerybeat-schedule")]),
    ]


def run(host: str = "127.0.0.1", port: int = 8000, concurrency: int = 2, feed: str = "live") -> int:
    redis_proc = None
    if uses_embedded_redis():
        redis_proc = embedded_redis.start(EMBEDDED_REDIS_PORT, VAR_DIR / "redis")
        print(f"[desk] embedded redis on 127.0.0.1:{EMBEDDED_REDIS_PORT}", flush=True)
    procs = process_table(host, port, concurrency, feed)
    sel = selectors.DefaultSelector()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for p in procs:
        p.popen = subprocess.Popen(p.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        sel.register(p.popen.stdout, selectors.EVENT_READ, p)
    print(f"[desk] QuantDesk on http://{host}:{port}/ (admin: /admin/, API: /api/) - Ctrl-C stops it", flush=True)
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    code = 0
    try:
        while not stopping:
            for key, _ in sel.select(timeout=0.5):
                line = key.fileobj.readline()
                if line:
                    sys.stdout.write(f"[{key.data.name}] {line.decode(errors='replace')}")
                    sys.stdout.flush()
            dead = [p for p in procs if p.popen.poll() is not None]
            if dead:
                print(f"[desk] {dead[0].name} exited with {dead[0].popen.returncode}; stopping", flush=True)
                code = 1
                break
    finally:
        _shutdown(procs, redis_proc)
    return code


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
