"""The live gate holds on every path that makes a config trade live: the API's enable, PATCH and create, the
admin change form and the admin list's editable ``enabled`` column, the account's paper -> live switch (API and
admin) while it has enabled configs, and the research command recording a verdict against a config. The rule:
each of the config's symbols needs a finished walk-forward study recorded against the config, of its strategy
and timeframe, whose verdict is not red; or an override recorded (user, reason) for exactly the config's
strategy, symbols and timeframe."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from strategies.models import StrategyConfig
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.models import Account, LiveGateOverride, ResearchStudy


@pytest.fixture
def live(db):
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", base_coin="ETH")
    alice = make_user("alice", staff=True)
    strategy = make_strategy("chandelier")
    account = make_account(alice, "A")
    cfg = make_config(account, strategy, name="btc", leverage=Decimal("10"), allocation=Decimal("0.2"))
    account.set_api_credentials(api_key="k" * 18, api_secret="s" * 36)
    account.save()
    Account.objects.filter(pk=account.pk).update(mode="live")
    account.refresh_from_db()
    return {"alice": alice, "account": account, "cfg": cfg, "strategy": strategy}


def _study(cfg, owner, *, verdict="amber", symbol="BTCUSDT", timeframe="5m", strategy="chandelier"):
    return ResearchStudy.objects.create(owner=owner, config=cfg, strategy=strategy, n_trials=2, folds=[],
                                        settings={"symbol": symbol, "timeframe": timeframe}, status="done",
                                        verdict={"verdict": verdict, "reasons": [f"{verdict} for the test"]})


def _enable(client, cfg, **body):
    return client.post(f"/api/configs/{cfg.pk}/enable/", body, content_type="application/json")


def _enabled(cfg) -> bool:
    return StrategyConfig.objects.get(pk=cfg.pk).enabled


def test_the_verdict_must_be_this_configs_strategy_symbol_and_timeframe_and_not_red(live, client):
    cfg, alice = live["cfg"], live["alice"]
    client.force_login(alice)
    assert "no walk-forward verdict on record for BTCUSDT" in _enable(client, cfg).json()["enabled"][0]
    _study(cfg, alice, symbol="ETHUSDT", verdict="red")  # another symbol
    _study(cfg, alice, timeframe="1h")                   # another timeframe
    _study(cfg, alice, strategy="drift")                 # another strategy
    _study(None, alice)                                  # not recorded against the config
    assert _enable(client, cfg).status_code == 400 and not _enabled(cfg)
    _study(cfg, alice, verdict="red")
    refused = _enable(client, cfg)
    assert refused.status_code == 400 and "is red (red for the test)" in refused.json()["enabled"][0]
    _study(cfg, alice, verdict="amber")                  # the latest one counts
    assert _enable(client, cfg).status_code == 200 and _enabled(cfg)
    assert not LiveGateOverride.objects.exists()
    # A second symbol needs its own verdict, not red: the config cannot even be saved enabled with it.
    resp = client.patch(f"/api/configs/{cfg.pk}/", {"symbols": ["BTCUSDT", "ETHUSDT"]},
                        content_type="application/json")
    assert resp.status_code == 400 and "ETHUSDT: study" in resp.json()["enabled"][0]
    assert StrategyConfig.objects.get(pk=cfg.pk).symbols == ["BTCUSDT"]
    _study(cfg, alice, verdict="red")                    # a newer red verdict closes the gate for edits too
    resp = client.patch(f"/api/configs/{cfg.pk}/", {"stop_loss_pct": "0.6"}, content_type="application/json")
    assert resp.status_code == 400 and "red" in resp.json()["enabled"][0]


def test_an_override_is_recorded_with_user_reason_and_scope_and_counts_only_for_that_scope(live, client):
    cfg, alice = live["cfg"], live["alice"]
    client.force_login(alice)
    _study(cfg, alice, verdict="red")
    ok = _enable(client, cfg, override_research=True, reason="small size, watched")
    assert ok.status_code == 200 and _enabled(cfg)
    o = LiveGateOverride.objects.get(config=cfg)
    assert (o.user, o.reason) == (alice, "small size, watched")
    assert o.scope == {"strategy": "chandelier", "symbols": ["BTCUSDT"], "timeframe": "5m"}
    assert client.post(f"/api/configs/{cfg.pk}/disable/").status_code == 200
    assert _enable(client, cfg).status_code == 200  # the same scope: the recorded override still stands
    client.post(f"/api/configs/{cfg.pk}/disable/")
    assert client.patch(f"/api/configs/{cfg.pk}/", {"timeframe": "15m"},
                        content_type="application/json").status_code == 200  # disabled: editing is free
    refused = _enable(client, cfg)                       # a new scope needs a new verdict or override
    assert refused.status_code == 400 and "at 15m" in refused.json()["enabled"][0] and not _enabled(cfg)
    assert LiveGateOverride.objects.count() == 1


def test_creating_an_enabled_config_on_a_live_account_is_gated(live, client):
    client.force_login(live["alice"])
    body = {"name": "new", "strategy": live["strategy"].pk, "account": live["account"].pk, "symbols": ["BTCUSDT"],
            "timeframe": "5m", "leverage": "10", "sizing_mode": "fixed", "allocation": "0.2",
            "stop_loss_pct": "0.5", "enabled": True}
    resp = client.post("/api/configs/", body, content_type="application/json")
    assert resp.status_code == 400 and "walk-forward verdict" in resp.json()["enabled"][0]
    assert not StrategyConfig.objects.filter(name="new").exists()


def _admin_form_data(cfg, **change) -> dict:
    data = {"name": cfg.name, "strategy": cfg.strategy_id, "account": cfg.account_id,
            "symbols": json.dumps(cfg.symbols), "timeframe": cfg.timeframe, "leverage": str(cfg.leverage),
            "sizing_mode": cfg.sizing_mode, "allocation": str(cfg.allocation or ""),
            "kelly_fraction": str(cfg.kelly_fraction or ""), "take_profit_pct": str(cfg.take_profit_pct or ""),
            "stop_loss_pct": str(cfg.stop_loss_pct), "params": json.dumps(cfg.params)}
    data.update(change)
    return data


def test_the_admin_form_and_the_admin_list_refuse_an_ungated_live_enable(live, client):
    cfg, alice = live["cfg"], live["alice"]
    client.force_login(alice)
    page = client.post(f"/admin/strategies/strategyconfig/{cfg.pk}/change/", _admin_form_data(cfg, enabled="on"))
    assert page.status_code == 200 and b"no walk-forward verdict on record for BTCUSDT" in page.content
    assert not _enabled(cfg)
    listing = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(cfg.pk),
               "form-0-enabled": "on", "_save": "Save"}
    page = client.post("/admin/strategies/strategyconfig/", listing)
    assert page.status_code == 200 and b"no walk-forward verdict on record for BTCUSDT" in page.content
    assert not _enabled(cfg)
    _study(cfg, alice, verdict="green")
    page = client.post("/admin/strategies/strategyconfig/", listing)
    assert page.status_code == 302 and _enabled(cfg)  # with the verdict on record the list saves it


def test_the_paper_to_live_switch_is_refused_while_an_enabled_config_lacks_its_verdict(live, client):
    account, cfg, alice = live["account"], live["cfg"], live["alice"]
    client.force_login(alice)
    Account.objects.filter(pk=account.pk).update(mode="paper")
    assert _enable(client, cfg).status_code == 200  # paper is free
    resp = client.patch(f"/api/accounts/{account.pk}/", {"mode": "live"}, content_type="application/json")
    assert resp.status_code == 400, resp.content
    assert "'btc' (no walk-forward verdict on record for BTCUSDT" in resp.json()["mode"][0]
    assert Account.objects.get(pk=account.pk).mode == "paper"
    admin_data = {"owner": alice.pk, "name": account.name, "mode": "live", "testnet": "on", "maker_fee": "0.0002",
                  "taker_fee": "0.0006", "starting_capital": "500", "max_open_positions": "2"}
    page = client.post(f"/admin/trading/account/{account.pk}/change/", admin_data)
    assert page.status_code == 200 and b"going live needs a walk-forward verdict" in page.content
    assert Account.objects.get(pk=account.pk).mode == "paper"
    _study(cfg, alice, verdict="amber")
    resp = client.patch(f"/api/accounts/{account.pk}/", {"mode": "live"}, content_type="application/json")
    assert resp.status_code == 200 and Account.objects.get(pk=account.pk).mode == "live"


def test_the_command_records_a_verdict_only_against_a_config_trading_that_symbol(live):
    cfg = live["cfg"]
    with pytest.raises(CommandError, match="config: config .* trades BTCUSDT, not 'ETHUSDT'"):
        call_command("research", "walkforward", "--strategy", "chandelier", "--symbol", "ETHUSDT",
                     "--leverage", "10", "--allocation", "0.2", "--user", "alice", "--config", str(cfg.pk),
                     "--trials", "2", "--folds", "2")
    assert not ResearchStudy.objects.exists()
