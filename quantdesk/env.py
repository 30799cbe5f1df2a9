"""Read the desk's settings from the environment, with the embedded defaults of a fresh clone.

Defaults: SQLite in ``var/`` of the project folder, an embedded redis-server on 127.0.0.1:6390,
paper trading. ``SECRET_KEY`` has a dev default only when DEBUG is on; the Fernet key that encrypts
exchange API keys is generated once into ``var/fernet.key`` (mode 0600) when DEBUG is on.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUANTDESK_VAR_DIR", BASE_DIR / "var"))
EMBEDDED_REDIS_PORT = int(os.environ.get("QUANTDESK_EMBEDDED_REDIS_PORT", "6390"))

_TRUE = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in _TRUE


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'quantdesk.sqlite3'}"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"


def uses_embedded_redis() -> bool:
    return not os.environ.get("REDIS_URL")


def secret_key(debug: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if debug:
        return "dev-only-insecure-key-do-not-use-in-production-" + "x" * 16
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (export SECRET_KEY=...)")


def fernet_key(debug: bool) -> str:
    """The key that encrypts exchange API secrets at rest."""
    key = os.environ.get("QUANTDESK_FERNET_KEY")
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured("QUANTDESK_FERNET_KEY must be set when DEBUG is off")
    path = VAR_DIR / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
    return path.read_text().strip()
