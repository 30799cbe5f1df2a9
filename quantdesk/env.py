"""Read the desk's settings from the environment, with the safe defaults of a fresh clone.

Defaults: SQLite in ``var/`` of the project folder, an embedded redis-server on 127.0.0.1:6390,
paper trading, ``DEBUG`` off (``DEBUG=1`` is the developer switch). Secrets not given in the environment
are generated once into ``var/`` (mode 0600) and reused: ``var/secret.key`` (Django's ``SECRET_KEY``)
and ``var/fernet.key`` (``QUANTDESK_FERNET_KEY``, encrypts exchange API keys at rest). The Fernet key is
validated here, at start, so a bad one is reported before the first encryption.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUANTDESK_VAR_DIR", BASE_DIR / "var"))
EMBEDDED_REDIS_PORT = int(os.environ.get("QUANTDESK_EMBEDDED_REDIS_PORT", "6390"))

_TRUE = {"1", "true", "yes", "on"}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]", "testserver"}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in _TRUE


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'quantdesk.sqlite3'}"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"


def uses_embedded_redis() -> bool:
    return not os.environ.get("REDIS_URL")


def only_local_hosts(hosts: list[str]) -> bool:
    """True when the desk answers only on loopback names (no TLS in front of it to insist on)."""
    return bool(hosts) and all(h in _LOCAL_HOSTS for h in hosts)


def _generated_once(path: Path, make) -> str:
    """The secret stored in ``path``; created once (mode 0600, O_EXCL so two processes starting together
    agree on one value) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be between creating and writing it
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise ImproperlyConfigured(f"{path} is empty; delete it to have a new secret generated") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(make())
    return path.read_text().strip()


def secret_key() -> str:
    """Django's SECRET_KEY: ``SECRET_KEY`` from the environment, else generated once into var/secret.key."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    return _generated_once(VAR_DIR / "secret.key", lambda: secrets.token_urlsafe(50))


def validate_fernet_key(key: str, *, source: str) -> str:
    """``key`` if it is a usable Fernet key, else ImproperlyConfigured naming QUANTDESK_FERNET_KEY."""
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"QUANTDESK_FERNET_KEY ({source}) is not a valid Fernet key: it must be 32 url-safe base64-encoded "
            f"bytes (44 characters), e.g. from Fernet.generate_key(); got {len(key)} characters") from exc
    return key


def fernet_key() -> str:
    """The key that encrypts exchange API secrets at rest: ``QUANTDESK_FERNET_KEY``, else generated once
    into var/fernet.key. Checked here so a bad key stops the desk at start, not at first use."""
    key = os.environ.get("QUANTDESK_FERNET_KEY")
    if key:
        return validate_fernet_key(key, source="environment")
    from cryptography.fernet import Fernet

    path = VAR_DIR / "fernet.key"
    return validate_fernet_key(_generated_once(path, lambda: Fernet.generate_key().decode()), source=str(path))


def trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``QUANTDESK_TRUSTED_PROXIES``: comma-separated addresses or networks of reverse proxies whose
    ``X-Forwarded-For`` is believed (default none: the peer address is the client)."""
    out = []
    for item in env_list("QUANTDESK_TRUSTED_PROXIES"):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"QUANTDESK_TRUSTED_PROXIES: {item!r} is not an IP address or network (e.g. 10.0.0.5 or "
                "10.0.0.0/24)") from exc
    return out


def channel_layer_hosts(url: str) -> list[dict]:
    """channels_redis host options. channels_redis 4.3 blocks in BZPOPMIN for 5 s (``brpop_timeout``) and
    redis-py 8's default socket timeout is also 5 s, so an idle socket's receive raised TimeoutError and
    the consumer closed with 1011. The read timeout must sit well above the BZPOPMIN timeout."""
    return [{"address": url, "socket_timeout": 30, "socket_connect_timeout": 5, "socket_keepalive": True,
             "health_check_interval": 15}]
