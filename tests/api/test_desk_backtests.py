"""Backtest the desk: ``POST /api/backtests/`` with ``configs`` or ``account`` runs those configs as ONE portfolio
(``run_portfolio``) with the account's capital and position cap. Validation names the field and the limit; a
config or account of someone else is refused exactly like one that does not exist; configs of two accounts
(two wallets) are refused. A run's stored result equals ``run_portfolio`` called directly on the same data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_account, make_config, make_instrument
from trading.models import BacktestRun
from trading.services.desk_backtests import create_desk_backtest

STEP = timedelta(minutes=5)
END = T0 + 599 * STEP


@pytest.fixture
def two_symbols(desk):
    """Alice's account A: a chandelier config on BTCUSDT (20x fixed 15 %) and one on ETHUSDT (10x kelly 0.5),
    both enabled; the fixture's own a-cfg (BTCUSDT) is disabled here. 600 five-minute bars of each symbol."""
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    acc = desk["acc_a"]
    acc.starting_capital, acc.max_open_positions = Decimal("1000"), 2
    acc.save()
    desk["cfg_a"].enabled = False
    desk["cfg_a"].save()
    btc = make_config(acc, desk["strategy"], name="btc", leverage=Decimal("20"), sizing_mode="fixed",
                      allocation=Decimal("0.15"), stop_loss_pct=Decimal("2"), params={"length": 14}, enabled=True)
    eth = make_config(acc, desk["strategy"], name="eth", symbols=["ETHUSDT"], leverage=Decimal("10"),
                      sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                      take_profit_pct=Decimal("1"), stop_loss_pct=Decimal("3"), params={"length": 10}, enabled=True)
    seed_candles(600)
    seed_candles(600, seed=11, symbol="ETHUSDT", price=3000.0)
    return {**desk, "btc": btc, "eth": eth}


def _flat(errors: dict) -> str:
    return " ".join(" ".join(v) if isinstance(v, list) else str(v) for v in errors.values())


def test_desk_run_stores_a_snapshot_of_each_config_and_the_accounts_wallet(two_symbols, api):
    d = two_symbols
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["eth"].pk, d["btc"].pk],
                                        "settings": {"start": T0.isoformat(), "end": END.isoformat()}})
    assert resp.status_code == 202, resp.content
    run = BacktestRun.objects.get(pk=resp.json()["id"])
    s = run.settings
    assert run.strategy == "portfolio" and s["kind"] == "portfolio"
    assert (s["initial_capital"], s["max_open_positions"], s["funding"]) == (1000.0, 2, True)
    assert s["account"] == {"id": d["acc_a"].pk, "name": d["acc_a"].name}
    # slots in the order given, each with its own config's sizing and stops (percent as stored)
    assert [x["key"] for x in s["slots"]] == [str(d["eth"].pk), str(d["btc"].pk)]
    eth, btc = s["slots"]
    assert (eth["symbol"], eth["leverage"], eth["sizing_mode"], eth["kelly_fraction"]) == ("ETHUSDT", 10.0, "kelly", 0.5)
    assert (eth["take_profit_pct"], eth["stop_loss_pct"], eth["params"]["length"]) == (1.0, 3.0, 10)
    assert (btc["symbol"], btc["leverage"], btc["sizing_mode"], btc["allocation"]) == ("BTCUSDT", 20.0, "fixed", 0.15)
    assert btc["initial_capital"] == 1000.0 and btc["taker_fee"] == 0.0006
    # the account's enabled configs, by id, with the stored span as the default range
    resp = api.post("/api/backtests/", {"account": d["acc_a"].pk})
    assert resp.status_code == 202, resp.content
    s = BacktestRun.objects.get(pk=resp.json()["id"]).settings
    assert [x["config_id"] for x in s["slots"]] == [d["btc"].pk, d["eth"].pk]
    assert (s["start"], s["end"]) == (T0.isoformat(), END.isoformat())


def test_foreign_configs_and_accounts_are_refused_like_missing_ones(two_symbols, api):
    d = two_symbols
    api.login(d["alice"])
    foreign = api.post("/api/backtests/", {"configs": [d["btc"].pk, d["cfg_b"].pk]})
    missing = api.post("/api/backtests/", {"configs": [d["btc"].pk, 99999]})
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {"configs": [f"configs: no config with id {d['cfg_b'].pk}"]}
    assert missing.json() == {"configs": ["configs: no config with id 99999"]}
    foreign = api.post("/api/backtests/", {"account": d["acc_b"].pk})
    missing = api.post("/api/backtests/", {"account": 99999})
    assert foreign.json() == {"account": [f"account: no account with id {d['acc_b'].pk}"]}
    assert missing.json() == {"account": ["account: no account with id 99999"]}
    assert not BacktestRun.objects.exists()


def test_configs_of_two_wallets_and_other_bad_bodies_are_refused_naming_the_field(two_symbols, api):
    d = two_symbols
    second = make_account(d["alice"], "A2")
    other = make_config(second, d["strategy"], name="a2-cfg")
    empty = make_account(d["alice"], "A3")
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk, other.pk]})
    assert resp.status_code == 400 and "one account" in _flat(resp.json()) and "A2" in _flat(resp.json())
    resp = api.post("/api/backtests/", {"account": empty.pk})
    assert resp.status_code == 400 and "no enabled configs" in resp.json()["account"][0]
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk, d["btc"].pk]})
    assert resp.status_code == 400 and "more than once" in resp.json()["configs"][0]
    resp = api.post("/api/backtests/", {"configs": list(range(1, 22))})
    assert resp.status_code == 400 and "20" in _flat(resp.json())
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk], "settings": {"symbol": "BTCUSDT"}})
    assert resp.status_code == 400 and "symbol" in resp.json()
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk], "settings": {"start": "2024-01-01T00:00:00Z",
                                                                                "end": "2024-01-02T00:00:00Z"}})
    assert resp.status_code == 400 and f"config {d['btc'].pk} (btc) BTCUSDT" in _flat(resp.json())
    assert "0" in _flat(resp.json()) and "candle" in _flat(resp.json())
    # a config whose stored parameters went bad since it was saved: named with the config and the limit
    type(d["eth"]).objects.filter(pk=d["eth"].pk).update(params={"length": 0})
    resp = api.post("/api/backtests/", {"account": d["acc_a"].pk})
    assert resp.status_code == 400
    message = " ".join(resp.json()["account"])
    assert f"config {d['eth'].pk} (eth) ETHUSDT" in message and "length" in message
    assert not BacktestRun.objects.exists()


def test_mixed_owners_are_refused_even_for_staff(two_symbols):
    """Staff may see every config, but configs of two owners are two wallets: refused, nothing stored."""
    from django.core.exceptions import ValidationError

    d = two_symbols
    with pytest.raises(ValidationError) as err:
        create_desk_backtest(owner=d["staff"], config_ids=[d["btc"].pk, d["cfg_b"].pk])
    assert "one account" in str(err.value)
    run = create_desk_backtest(owner=d["staff"], config_ids=[d["btc"].pk],
                               settings={"start": T0.isoformat(), "end": END.isoformat()})
    assert run.owner == d["staff"] and run.settings["slots"][0]["config_id"] == d["btc"].pk
