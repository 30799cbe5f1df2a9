"""``python -m fakebybit --port N`` serves a quoted market that pybit can read, and stops on SIGTERM."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from pybit.unified_trading import HTTP

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_standalone_server_answers_pybit():
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "fakebybit", "--port", str(port), "--btc", "70000"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        s = HTTP(api_key="fake-api-key", api_secret="fake-api-secret", retry_delay=0.05)
        s.endpoint = f"http://127.0.0.1:{port}"
        assert s.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"] == "70000.00"
        assert s.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalWalletBalance"] == "10000"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
