"""Each validation rule: a bad value is refused with a message naming the field and the limit, through
the model (admin and YAML use it) and through the API (400 with field messages)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from strategies.models import StrategyConfig
from tests.factories import BTC_TIERS, config_kwargs, make_account, make_instrument, make_strategy, make_user
from trading.models import Account, Instrument, Order, Position


@pytest.fixture
def setup(db):
    user = make_user()
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"),
                    max_leverage=Decimal("50"))
    account = make_account(user)
    return user, account, make_strategy("chandelier")


def config_error(account, strategy, **kw) -> dict[str, list[str]]:
    cfg = StrategyConfig(**config_kwargs(account, strategy, **kw))
    with pytest.raises(ValidationError) as info:
        cfg.full_clean()
    return info.value.message_dict


CASES = [
    # (overrides, field, words the message must contain)
    ({"leverage": Decimal("101")}, "leverage", ["101", "100"]),           # above BTCUSDT's maximum 100x
    ({"leverage": Decimal("0.5")}, "leverage", ["0.5", "1"]),             # below 1x
    ({"symbols": ["BTCUSDT", "ETHUSDT"], "leverage": Decimal("75")}, "leverage", ["75", "ETHUSDT", "50"]),
    ({"allocation": Decimal("0.15")}, "allocation", ["0.15", "0.01", "0.1"]),   # 75x band is 1-10 %
    ({"leverage": Decimal("30"), "allocation": Decimal("0.05")}, "allocation", ["0.05", "0.1", "0.2"]),
    ({"leverage": Decimal("10"), "allocation": Decimal("0.1")}, "allocation", ["0.1", "0.2", "1"]),
    ({"sizing_mode": "kelly", "allocation": None, "kelly_fraction": Decimal("0")}, "kelly_fraction", ["0"]),
    ({"sizing_mode": "kelly", "allocation": None, "kelly_fraction": Decimal("1.5")}, "kelly_fraction", ["1.5", "1"]),
    ({"symbols": ["DOGEUSDT"]}, "symbols", ["DOGEUSDT"]),
    ({"symbols": []}, "symbols", ["symbols"]),
    ({"timeframe": "7m"}, "timeframe", ["7m"]),
    ({"stop_loss_pct": Decimal("-1")}, "stop_loss_pct", ["-1", "0"]),
    ({"take_profit_pct": Decimal("0")}, "take_profit_pct", ["0"]),
    # At 75x with MMR 0.5 % liquidation sits 1/75 - 0.005 = 0.8333 % from entry: a 0.9 % stop is beyond it.
    ({"stop_loss_pct": Decimal("0.9")}, "stop_loss_pct", ["0.9", "0.8333"]),
    ({"params": {"length": 0}}, "params", ["length", "0"]),
    ({"params": {"no_such_param": 1}}, "params", ["no_such_param"]),
]


@pytest.mark.parametrize(("overrides", "field", "words"), CASES)
def test_config_rule(setup, overrides, field, words):
    _, account, strategy = setup
    errors = config_error(account, strategy, **overrides)
    assert field in errors, errors
    message = " ".join(errors[field])
    for word in words:
        assert word in message, (word, message)


def test_valid_config_passes_and_gets_param_defaults(setup):
    _, account, strategy = setup
    cfg = StrategyConfig(**config_kwargs(account, strategy, leverage=Decimal("100"), allocation=Decimal("0.03"),
                                         stop_loss_pct=Decimal("0.4")))
    cfg.full_clean()  # 100x, 3 % is Chandelier's desk default; 0.4 % < 1/100 - 0.005 = 0.5 %
    assert cfg.params["length"] == 22 and cfg.params["mult"] == 3.0


@pytest.mark.parametrize(("field", "value", "words"), [
    ("maker_fee", Decimal("0.02"), ["0.02", "0.01"]),
    ("taker_fee", Decimal("-0.0001"), ["-0.0001"]),
    ("starting_capital", Decimal("0"), ["0"]),
    ("max_open_positions", 0, ["0", "1..50"]),
])
def test_account_rules(db, field, value, words):
    acc = Account(owner=make_user(), name="x", **{field: value})
    with pytest.raises(ValidationError) as info:
        acc.full_clean()
    message = " ".join(info.value.message_dict[field])
    assert all(w in message for w in words), message


def test_live_mode_needs_keys(db):
    acc = Account(owner=make_user(), name="x", mode="live")
    with pytest.raises(ValidationError) as info:
        acc.full_clean()
    assert "API key" in info.value.message_dict["mode"][0]
    acc.set_api_credentials(api_key="k" * 12, api_secret="s" * 12)
    acc.full_clean()
    assert acc.mode == "live" and not acc.is_live  # keys alone do not switch live trading on


def test_paper_is_the_default(db):
    acc = make_account(make_user())
    assert acc.mode == "paper" and acc.live_trading_enabled is False and not acc.is_live


@pytest.mark.parametrize(("field", "value"), [("tick_size", Decimal("0")), ("qty_step", Decimal("-0.001")),
                                              ("max_leverage", Decimal("0")), ("min_qty", Decimal("0"))])
def test_instrument_rules(db, field, value):
    good = dict(tick_size=Decimal("0.1"), qty_step=Decimal("0.1"), min_qty=Decimal("0.1"),
                max_leverage=Decimal("50"), risk_tiers=BTC_TIERS)
    inst = Instrument(symbol="XUSDT", base_coin="X", **{**good, field: value})
    with pytest.raises(ValidationError) as info:
        inst.full_clean()
    assert set(info.value.message_dict) == {field}
    assert str(value) in info.value.message_dict[field][0]


def test_instrument_tiers_must_be_well_formed(db):
    inst = Instrument(symbol="XUSDT", base_coin="X", tick_size=Decimal("0.1"), qty_step=Decimal("0.1"),
                      min_qty=Decimal("0.1"), max_leverage=Decimal("50"),
                      risk_tiers=[{"risk_limit_value": "100", "mmr": "1.5", "imr": "0.02", "max_leverage": "50"}])
    with pytest.raises(ValidationError) as info:
        inst.full_clean()
    assert "mmr" in info.value.message_dict["risk_tiers"][0]


@pytest.mark.parametrize(("model", "field", "value"), [
    (Position, "entry_price", Decimal("-1")),
    (Position, "qty", Decimal("-0.001")),
    (Order, "qty", Decimal("0")),
    (Order, "price", Decimal("-5")),
])
def test_positive_prices_and_quantities(setup, model, field, value):
    _, account, _ = setup
    base = {
        Position: dict(account=account, symbol="BTCUSDT", side="long", qty=Decimal("0.01"),
                       entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("19.2")),
        Order: dict(account=account, client_order_id="x1", symbol="BTCUSDT", side="Buy",
                    qty=Decimal("0.01"), order_type="Limit", price=Decimal("96000")),
    }[model]
    obj = model(**{**base, field: value})
    with pytest.raises(ValidationError) as info:
        obj.full_clean()
    assert field in info.value.message_dict


def test_api_rejects_bad_config_with_field_messages(setup, client):
    user, account, strategy = setup
    client.force_login(user)
    body = {"name": "c1", "strategy": strategy.pk, "account": account.pk, "symbols": ["BTCUSDT"],
            "timeframe": "5m", "leverage": "75", "sizing_mode": "fixed", "allocation": "0.15",
            "stop_loss_pct": "0.5", "params": {}}
    resp = client.post("/api/configs/", body, content_type="application/json")
    assert resp.status_code == 400
    assert "allocation" in resp.json() and "0.15" in resp.json()["allocation"][0]
    resp = client.post("/api/configs/", {**body, "allocation": "0.05", "leverage": "150"},
                       content_type="application/json")
    assert resp.status_code == 400 and "leverage" in resp.json()
    assert not StrategyConfig.objects.exists()  # nothing half-written
    resp = client.post("/api/configs/", {**body, "allocation": "0.05"}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["params"]["length"] == 22


def test_api_cannot_attach_config_to_foreign_account(setup, client):
    _, _, strategy = setup
    mallory = make_user("mallory")
    client.force_login(mallory)
    _, victim_account, _ = setup
    body = {"name": "c1", "strategy": strategy.pk, "account": victim_account.pk, "symbols": ["BTCUSDT"],
            "leverage": "75", "allocation": "0.05", "stop_loss_pct": "0.5"}
    resp = client.post("/api/configs/", body, content_type="application/json")
    assert resp.status_code == 400 and "account" in resp.json()


def test_admin_form_shows_the_rule(setup, client):
    user, account, strategy = setup
    admin = make_user("root", staff=True)
    client.force_login(admin)
    form = {"name": "c1", "strategy": strategy.pk, "account": account.pk, "symbols": '["BTCUSDT"]',
            "timeframe": "5m", "leverage": "75", "sizing_mode": "fixed", "allocation": "0.15",
            "stop_loss_pct": "0.5", "params": "{}"}
    resp = client.post("/admin/strategies/strategyconfig/add/", form)
    assert resp.status_code == 200  # form re-rendered with the error, nothing saved
    assert "0.15" in resp.content.decode() and not StrategyConfig.objects.exists()
    resp = client.post("/admin/strategies/strategyconfig/add/", {**form, "allocation": "0.05"})
    assert resp.status_code == 302 and StrategyConfig.objects.count() == 1


def test_admin_trading_record_is_read_only(setup, client):
    client.force_login(make_user("root", staff=True))
    for model in ("order", "fill", "monitordecision", "signal", "position", "equitysnapshot"):
        assert client.get(f"/admin/trading/{model}/").status_code == 200
        assert client.get(f"/admin/trading/{model}/add/").status_code == 403
