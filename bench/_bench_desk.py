"""Bench helpers for the web side: a scratch database (SQLite file in a temp folder unless
BENCH_DATABASE_URL is set), Redis (REDIS_URL, else an embedded redis-server on a spare port), Django set
up and migrated, and percentile arithmetic."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django() -> dict:
    """Point the desk at scratch storage, set Django up and migrate. Returns what it started."""
    sys.path.insert(0, str(ROOT))
    started: dict = {"tmp": tempfile.mkdtemp(prefix="qd-bench-")}
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{started['tmp']}/bench.sqlite3"
    if not os.environ.get("REDIS_URL"):
        from quantdesk import embedded_redis

        port = _spare_port()
        started["redis"] = embedded_redis.start(port, Path(started["tmp"]) / "redis")
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")
    os.environ["QUANTDESK_VAR_DIR"] = os.environ.get("QUANTDESK_VAR_DIR", str(ROOT / "var"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return started


def teardown(started: dict) -> None:
    proc = started.get("redis")
    if proc is not None:
        proc.terminate()
        proc.wait(5)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))
