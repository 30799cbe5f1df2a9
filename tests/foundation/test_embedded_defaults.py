"""A fresh clone with no DATABASE_URL and no REDIS_URL: SQLite in the project's var folder, the embedded
redis-server, and the whole desk (web, worker, beat) coming up with a working admin login."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.shared_data import REPO_ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "QUANTDESK_FERNET_KEY", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(QUANTDESK_VAR_DIR=str(tmp_path / "var"), QUANTDESK_EMBEDDED_REDIS_PORT=str(free_port()),
               DESK_ADMIN_USER="admin", PYTHONUNBUFFERED="1")
    return env


def manage(env, *args, timeout=300) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def wait_for(lines: list[str], prefix: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line.startswith(prefix) and text in line for line in list(lines)):
            return
        time.sleep(0.25)
    pytest.fail(f"no {prefix} line with {text!r} within {timeout} s:\n" + "".join(lines))


def test_settings_default_to_sqlite_and_embedded_redis(fresh_env):
    code = ("from django.conf import settings as s; print(s.DATABASES['default']['ENGINE']); "
            "print(s.DATABASES['default']['NAME']); print(s.REDIS_URL); print(s.CELERY_BROKER_URL)")
    out = manage(fresh_env, "shell", "-v", "0", "-c", code).split("\n")
    assert out[0] == "django.db.backends.sqlite3"
    assert out[1] == os.path.join(fresh_env["QUANTDESK_VAR_DIR"], "quantdesk.sqlite3")
    assert out[2] == out[3] == f"redis://127.0.0.1:{fresh_env['QUANTDESK_EMBEDDED_REDIS_PORT']}/0"


def test_whole_desk_comes_up_and_admin_login_works(fresh_env):
    manage(fresh_env, "migrate", "--noinput")
    manage(fresh_env, "collectstatic", "--noinput", "-v", "0")  # as ./desk start does
    boot = manage(fresh_env, "bootstrap_desk")
    password = re.search(r"password '([^']+)'", boot).group(1)
    assert os.path.exists(os.path.join(fresh_env["QUANTDESK_VAR_DIR"], "quantdesk.sqlite3"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "rundesk", "--port", str(port), "--concurrency", "1"],
                            cwd=REPO_ROOT, env=fresh_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:  # a loaded machine may answer the first page slowly: a slow answer is retried, not a failure
                if requests.get(f"{base}/accounts/login/", timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("web did not answer within 180 s:\n" + "".join(lines))
        session = requests.Session()
        session.get(f"{base}/admin/login/", timeout=60)
        resp = session.post(f"{base}/admin/login/?next=/admin/", timeout=60, data={
            "username": "admin", "password": password, "next": "/admin/",
            "csrfmiddlewaretoken": session.cookies["csrftoken"]}, headers={"Referer": f"{base}/admin/login/"})
        assert resp.status_code == 200 and "Site administration" in resp.text, resp.text[:500]
        assert "Strategy configs" in resp.text
        # DEBUG is off, yet the admin's stylesheet (hashed name from the manifest) is served by whitenoise
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]+\.css)"', resp.text)
        assert css, resp.text[:1000]
        static = requests.get(base + css.group(1), timeout=60)
        assert static.status_code == 200 and "text/css" in static.headers["Content-Type"]
        missing = requests.get(f"{base}/no-such-page/", timeout=60)
        assert missing.status_code == 404 and "URLconf" not in missing.text  # no debug page
        wait_for(lines, "[desk]", "ready in")  # rundesk says when web first answered
        wait_for(lines, "[trading]", "ready.")  # the trading worker (queue trading) and the research worker
        wait_for(lines, "[research]", "ready.")
        ping = subprocess.run([sys.executable, "-m", "celery", "-A", "quantdesk", "inspect", "ping", "--timeout", "10"],
                              cwd=REPO_ROOT, env=fresh_env, capture_output=True, text=True, timeout=120)
        assert "pong" in ping.stdout, ping.stdout + ping.stderr + "".join(lines)
        wait_for(lines, "[beat]", "beat: Starting")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(5)
    assert "[desk] stopped" in "".join(lines)
    with socket.socket() as s:  # the embedded redis went down with the desk
        assert s.connect_ex(("127.0.0.1", int(fresh_env["QUANTDESK_EMBEDDED_REDIS_PORT"]))) != 0


def test_debug_is_off_by_default_and_secrets_are_generated_into_var(fresh_env):
    import stat

    env = {k: v for k, v in fresh_env.items() if k != "DEBUG"}
    code = "from django.conf import settings as s; print(s.DEBUG); print(s.SECRET_KEY)"
    first = manage(env, "shell", "-v", "0", "-c", code).split("\n")
    assert first[0] == "False"
    var = fresh_env["QUANTDESK_VAR_DIR"]
    for name in ("secret.key", "fernet.key"):
        assert stat.S_IMODE(os.stat(os.path.join(var, name)).st_mode) == 0o600, name
    assert Path(var, "secret.key").read_text().strip() == first[1]
    assert manage(env, "shell", "-v", "0", "-c", code).split("\n")[1] == first[1]  # reused, not regenerated
    assert manage({**env, "DEBUG": "1"}, "shell", "-v", "0", "-c", code).split("\n")[0] == "True"


def test_invalid_fernet_key_stops_the_desk_at_start(fresh_env):
    env = {**fresh_env, "QUANTDESK_FERNET_KEY": "x" * 44}
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "QUANTDESK_FERNET_KEY (environment) is not a valid Fernet key" in out.stderr


def test_production_settings_pass_check_deploy(fresh_env):
    from cryptography.fernet import Fernet

    env = {**fresh_env, "DEBUG": "0", "SECRET_KEY": "k" * 20 + "-Production-Secret-Key-0123456789abcdef",
           "QUANTDESK_FERNET_KEY": Fernet.generate_key().decode(), "ALLOWED_HOSTS": "desk.example.org"}
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
