"""``python -m fakebybit --port N`` serves a quoted market that pybit can read, and stops on SIGTERM."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_standalone_server_answers_pybit():
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "fakebybit", "--port", str(port), "--btc", "70000",
                             "--key", "second-key:second-secret"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        s = HTTP(api_key="fake-api-key", api_secret="fake-api-secret", retry_delay=0.05)
        s.endpoint = f"http://127.0.0.1:{port}"
        assert s.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"] == "70000.00"
        assert s.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalWalletBalance"] == "10000"
        # --key adds an account: its key signs in, an order there is invisible to the first key
        second = HTTP(api_key="second-key", api_secret="second-secret", retry_delay=0.05)
        second.endpoint = s.endpoint
        second.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01")
        held = second.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert [float(p["size"]) for p in held if float(p["size"])] == [0.01]
        assert not [p for p in s.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
                    if float(p["size"])]
        stranger = HTTP(api_key="unknown-key", api_secret="x", retry_delay=0.05)
        stranger.endpoint = s.endpoint
        with pytest.raises(InvalidRequestError):
            stranger.get_wallet_balance(accountType="UNIFIED")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_malformed_key_is_refused_naming_the_option():
    out = subprocess.run([sys.executable, "-m", "fakebybit", "--port", str(_free_port()), "--key", "no-secret"],
                         cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "--key: expected KEY:SECRET, got 'no-secret'" in out.stderr
