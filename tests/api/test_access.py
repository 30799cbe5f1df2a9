"""Every endpoint needs a login; a user sees and changes only what hangs off their own accounts (others'
objects are 404, never 403, so ids leak nothing); staff see all."""

from __future__ import annotations

import pytest
from knox.models import AuthToken

from trading.models import BacktestRun

LISTS = ["/api/accounts/", "/api/strategies/", "/api/configs/", "/api/instruments/", "/api/signals/",
         "/api/orders/", "/api/positions/", "/api/fills/", "/api/decisions/", "/api/equity/",
         "/api/candles/?symbol=BTCUSDT&interval=5m", "/api/backtests/", "/api/sweeps/"]

# (url template, object from the desk fixture) for every detail endpoint under an account
DETAILS = [
    ("/api/accounts/{}/", lambda d: d["acc_b"].pk),
    ("/api/configs/{}/", lambda d: d["cfg_b"].pk),
    ("/api/positions/{}/", lambda d: d["rec_b"]["position"].pk),
    ("/api/orders/{}/", lambda d: d["rec_b"]["order"].pk),
    ("/api/fills/{}/", lambda d: d["rec_b"]["fill"].pk),
    ("/api/decisions/{}/", lambda d: d["rec_b"]["decision"].pk),
    ("/api/signals/{}/", lambda d: d["rec_b"]["signal"].pk),
    ("/api/equity/{}/", lambda d: d["rec_b"]["equity"].pk),
]


@pytest.mark.parametrize("url", LISTS + ["/api/schema/" + "x"])
def test_anonymous_is_refused(db, client, url):
    resp = client.get(url)
    assert resp.status_code in (401, 403, 404)
    if not url.endswith("x"):
        assert resp.status_code in (401, 403)


@pytest.mark.parametrize(("method", "url"), [
    ("post", "/api/backtests/"), ("post", "/api/sweeps/"), ("post", "/api/accounts/1/kill-switch/"),
    ("post", "/api/configs/1/enable/"), ("post", "/api/configs/"), ("patch", "/api/configs/1/"),
    ("post", "/api/instruments/"),
])
def test_anonymous_cannot_write(db, client, method, url):
    resp = getattr(client, method)(url, {}, content_type="application/json")
    assert resp.status_code in (401, 403)


def test_pages_need_login(db, client):
    for url in ["/", "/chart/", "/strategies/", "/backtests/"]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("template", "pick"), DETAILS)
def test_other_users_objects_are_404(desk, api, template, pick):
    url = template.format(pick(desk))
    api.login(desk["alice"])
    assert api.get(url).status_code == 404
    api.login(desk["bob"])
    assert api.get(url).status_code == 200  # the owner sees it


@pytest.mark.parametrize("url", ["/api/positions/", "/api/orders/", "/api/fills/", "/api/decisions/",
                                 "/api/signals/", "/api/equity/", "/api/configs/", "/api/accounts/"])
def test_lists_hold_only_own_rows_and_staff_see_all(desk, api, url):
    api.login(desk["alice"])
    mine = api.get(url).json()
    assert mine["count"] == 1
    api.login(desk["staff"])
    assert api.get(url).json()["count"] == 2


def test_filtering_by_a_foreign_account_is_refused_like_a_missing_one(desk, api):
    api.login(desk["alice"])
    foreign = api.get("/api/positions/", account=desk["acc_b"].pk)
    missing = api.get("/api/positions/", account=desk["acc_b"].pk + 1000)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json() and "account" in foreign.json()
    body = api.get("/api/fills/", account=desk["acc_a"].pk).json()
    assert body["count"] == 1 and body["results"][0]["exec_id"] == f"e-a{desk['rec_a']['position'].pk}"


def test_cannot_change_or_delete_foreign_config_or_account(desk, api):
    api.login(desk["alice"])
    assert api.patch(f"/api/configs/{desk['cfg_b'].pk}/", {"leverage": "50"}).status_code == 404
    assert api.post(f"/api/configs/{desk['cfg_b'].pk}/enable/").status_code == 404
    assert api.patch(f"/api/accounts/{desk['acc_b'].pk}/", {"name": "mine now"}).status_code == 404
    assert api.delete(f"/api/accounts/{desk['acc_b'].pk}/").status_code == 404
    assert api.post(f"/api/accounts/{desk['acc_b'].pk}/kill-switch/").status_code == 404
    desk["acc_b"].refresh_from_db()
    desk["cfg_b"].refresh_from_db()
    assert desk["acc_b"].name == "B" and not desk["acc_b"].kill_switch_engaged and not desk["cfg_b"].enabled


def test_foreign_backtest_and_sweep_are_404(desk, api):
    run = BacktestRun.objects.create(owner=desk["bob"], strategy="chandelier", settings={"symbol": "BTCUSDT"},
                                     sweep_key="ab" * 16)
    api.login(desk["alice"])
    assert api.get(f"/api/backtests/{run.pk}/").status_code == 404
    assert api.delete(f"/api/backtests/{run.pk}/").status_code == 404
    assert api.get(f"/api/sweeps/{'ab' * 16}/").status_code == 404
    assert api.get("/api/backtests/").json()["count"] == 0
    api.login(desk["bob"])
    assert api.get(f"/api/backtests/{run.pk}/").status_code == 200
    api.login(desk["staff"])
    assert api.get(f"/api/backtests/{run.pk}/").status_code == 200


def test_token_auth_works_and_keys_stay_write_only(desk, client):
    _, key = AuthToken.objects.create(user=desk["alice"])
    resp = client.patch(f"/api/accounts/{desk['acc_a'].pk}/", {"api_key": "KEY123456789", "api_secret": "SECRET9876"},
                        content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert "api_key" not in body and "api_secret" not in body and body["api_key_hint"].endswith("6789")
    assert "SECRET9876" not in resp.content.decode()
    other = client.get(f"/api/accounts/{desk['acc_b'].pk}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert other.status_code == 404


def test_token_endpoint_gives_a_token_for_good_credentials_only(desk, client):
    ok = client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass-123"})
    assert ok.status_code == 200 and set(ok.json()) == {"token", "expiry"}
    assert client.get("/api/accounts/", HTTP_AUTHORIZATION=f"Token {ok.json()['token']}").status_code == 200
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    assert bad.status_code == 400 and "non_field_errors" in bad.json()


def test_instruments_are_read_by_all_and_edited_by_staff_only(desk, api):
    api.login(desk["alice"])
    assert api.get("/api/instruments/").json()["results"][0]["symbol"] == "BTCUSDT"
    inst_id = api.get("/api/instruments/").json()["results"][0]["id"]
    assert api.patch(f"/api/instruments/{inst_id}/", {"max_leverage": "50"}).status_code == 403
    api.login(desk["staff"])
    resp = api.patch(f"/api/instruments/{inst_id}/", {"max_leverage": "50"})
    assert resp.status_code == 200 and resp.json()["max_leverage"] == "50.00"
    resp = api.patch(f"/api/instruments/{inst_id}/", {"tick_size": "0"})
    assert resp.status_code == 400 and "tick_size" in resp.json() and "0" in resp.json()["tick_size"][0]


def test_schema_and_docs_pages_render(db, client):
    from tests.factories import make_user

    client.force_login(make_user("reader"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/backtests/", "/api/sweeps/{sweep_key}/", "/api/accounts/{id}/kill-switch/",
                 "/api/configs/{id}/enable/", "/api/candles/", "/api/fills/"]:
        assert path in paths, path
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
