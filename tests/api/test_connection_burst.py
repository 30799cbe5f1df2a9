"""Connection hygiene under daphne (issue 16): 1,000 API requests, 16 at a time, against a real daphne on
PostgreSQL answer with 0 errors, and the web process's PostgreSQL connections (pg_stat_activity) are back to
the baseline afterwards. With ``conn_max_age=60`` every request's thread kept its connection and the burst
ran into "too many clients". Needs PostgreSQL (``DATABASE_URL=postgres://...``); skipped with a message
otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.desk_fixtures import trading_record
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.shared_data import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the connection burst needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/NAME")]

REQUESTS, CONCURRENCY = 1000, 16
URLS = ["/api/accounts/", "/api/positions/", "/api/orders/?limit=5", "/api/fills/", "/api/configs/",
        "/api/decisions/", "/api/signals/", "/api/equity/", "/api/instruments/", "/api/strategies/"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WEB_APP_NAME = "qd-burst-web"  # the daphne process's connections carry this application_name


def backend_connections() -> int:
    """PostgreSQL connections the web process holds (open or idle) right now."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [WEB_APP_NAME])
        return cur.fetchone()[0]


def daphne_env() -> dict:
    db = settings.DATABASES["default"]
    url = (f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
           f"/{db['NAME']}?application_name={WEB_APP_NAME}")
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "QUANTDESK_CONN_MAX_AGE"}}
    env.update(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, SECRET_KEY=settings.SECRET_KEY,
               QUANTDESK_FERNET_KEY=settings.QUANTDESK_FERNET_KEY, PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def daphne():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "quantdesk.asgi:application"], cwd=REPO_ROOT, env=daphne_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("daphne exited:\n" + "".join(lines))
        try:
            requests.get(f"{base}/api/", timeout=10)
            break
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
    else:
        pytest.fail("daphne did not answer within 120 s:\n" + "".join(lines))
    yield base, lines
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    reader.join(5)


@pytest.mark.django_db(transaction=True)
def test_burst_of_1000_requests_leaves_no_connection_behind(daphne, capsys):
    from knox.models import AuthToken

    base, lines = daphne
    make_instrument("BTCUSDT")
    user = make_user("burst")
    acc = make_account(user, "Burst")
    trading_record(acc, make_config(acc, make_strategy("chandelier"), name="burst-cfg"), tag="burst")
    _, key = AuthToken.objects.create(user=user)
    headers = {"Authorization": f"Token {key}"}
    assert requests.get(base + URLS[0], headers=headers, timeout=30).status_code == 200  # warm: code imported

    def settled(limit: float) -> int:
        deadline, count = time.monotonic() + limit, backend_connections()
        while time.monotonic() < deadline and count > baseline:
            time.sleep(0.5)
            count = backend_connections()
        return count

    baseline = 0  # a web process at rest holds no connection (CONN_MAX_AGE 0)
    at_rest = settled(30)

    def hit(i: int) -> int:
        try:
            return requests.get(base + URLS[i % len(URLS)], headers=headers, timeout=60).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    peak = [0]
    stop = threading.Event()

    def watch():
        from django.db import connections

        while not stop.is_set():
            peak[0] = max(peak[0], backend_connections())
            time.sleep(0.1)
        connections.close_all()

    watcher = threading.Thread(target=watch)
    started = time.monotonic()
    watcher.start()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        codes = Counter(pool.map(hit, range(REQUESTS)))
    stop.set()
    watcher.join(10)
    took = time.monotonic() - started
    after = settled(60)
    with capsys.disabled():
        print(f"\n[burst] {REQUESTS} requests, {CONCURRENCY} at a time, in {took:.1f} s: {dict(codes)}; "
              f"PostgreSQL connections of the web process: at rest {at_rest}, peak {peak[0]}, after {after}")
    assert codes == Counter({200: REQUESTS}), "".join(lines[-50:])
    assert at_rest == baseline and after == baseline
    assert peak[0] <= CONCURRENCY  # never more than one per in-flight request
