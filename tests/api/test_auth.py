"""Auth edges of issue 16: schema and docs need a login; API tokens are hashed at rest, expire, rotate, log
out and die with a password change; the admin login is throttled per client address and a forged
X-Forwarded-For neither resets nor dodges it (only a configured trusted proxy's header is believed); id
filters answer the same for "not yours" and "does not exist"."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken

from trading.api.client_address import client_address

PASSWORD = "s3cret-pass-123"  # tests.factories.make_user's default


def token_for(client, username="alice", password=PASSWORD) -> dict:
    resp = client.post("/api/auth/token/", {"username": username, "password": password})
    assert resp.status_code == 200, resp.content
    return resp.json()


def get_as(client, key, url="/api/accounts/"):
    return client.get(url, HTTP_AUTHORIZATION=f"Token {key}")


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_need_a_login(desk, client, url):
    assert client.get(url).status_code in (401, 403)
    client.force_login(desk["alice"])
    assert client.get(url).status_code == 200


def test_token_is_stored_as_a_hash_and_carries_its_expiry(desk, client):
    before = timezone.now()
    body = token_for(client)
    key = body["token"]
    with connection.cursor() as cur:
        cur.execute("SELECT token_key, digest FROM knox_authtoken")
        rows = cur.fetchall()
    assert len(rows) == 1
    token_key, digest = rows[0]
    assert key not in digest and digest != key and len(digest) == 128  # sha512 hex of the token
    assert key.startswith(token_key) and len(token_key) < len(key)  # only a lookup prefix is stored
    expiry = AuthToken.objects.get().expiry
    assert timedelta(hours=9, minutes=59) < expiry - before <= timedelta(hours=10, seconds=5)
    assert body["expiry"].startswith(expiry.strftime("%Y-%m-%dT%H:%M"))
    assert get_as(client, key).status_code == 200


def test_an_expired_token_is_refused_and_removed(desk, client):
    key = token_for(client)["token"]
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert get_as(client, key).status_code == 401
    assert not AuthToken.objects.exists()


def test_refresh_rotates_the_token(desk, client):
    old = token_for(client)["token"]
    resp = client.post("/api/auth/token/refresh/", HTTP_AUTHORIZATION=f"Token {old}")
    assert resp.status_code == 200 and set(resp.json()) == {"token", "expiry"}
    new = resp.json()["token"]
    assert new != old
    assert get_as(client, old).status_code == 401
    assert get_as(client, new).status_code == 200
    assert AuthToken.objects.count() == 1


def test_logout_deletes_the_calling_token_and_logout_all_every_token(desk, client):
    first, second, third = (token_for(client)["token"] for _ in range(3))
    assert client.post("/api/auth/logout/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 204
    assert get_as(client, first).status_code == 401 and get_as(client, second).status_code == 200
    assert client.post("/api/auth/logout-all/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 204
    assert get_as(client, second).status_code == 401 and get_as(client, third).status_code == 401


def test_a_password_change_kills_every_token_of_that_user_only(desk, client):
    alice_key = token_for(client)["token"]
    bob_key = token_for(client, "bob")["token"]
    alice = desk["alice"]
    alice.first_name = "Alice"
    alice.save()  # a save without a new password keeps the tokens
    assert get_as(client, alice_key).status_code == 200
    alice.set_password("a-new-pass-456")
    alice.save()
    assert get_as(client, alice_key).status_code == 401
    assert get_as(client, bob_key).status_code == 200
    assert token_for(client, password="a-new-pass-456")["token"]


def test_a_user_keeps_the_newest_tokens_up_to_the_limit(desk, client, settings):
    settings.QUANTDESK_TOKENS_PER_USER = 3
    keys = [token_for(client)["token"] for _ in range(5)]
    assert [get_as(client, k).status_code for k in keys] == [401, 401, 200, 200, 200]
    assert AuthToken.objects.filter(user=desk["alice"]).count() == 3
    token_for(client, "bob")
    assert AuthToken.objects.count() == 4  # another user's login prunes only their own


def test_wrong_password_gets_no_token(desk, client):
    resp = client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    assert resp.status_code == 400 and "non_field_errors" in resp.json()
    assert not AuthToken.objects.exists()


@override_settings(QUANTDESK_THROTTLE_RATES={"login": "3/min"})
def test_admin_login_is_throttled_and_a_forged_forwarded_for_does_not_reset_it(desk, client):
    for i in range(3):
        resp = client.post("/admin/login/", {"username": "root", "password": "wrong"},
                           HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        assert resp.status_code == 200  # the form again, with its error
    resp = client.post("/admin/login/", {"username": "root", "password": PASSWORD},
                       HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert resp.status_code == 429 and "Too many login attempts" in resp.content.decode()
    assert "_auth_user_id" not in client.session  # the right password did not get through either


@override_settings(QUANTDESK_THROTTLE_RATES={"login": "2/min"})
def test_token_endpoint_throttle_ignores_forged_forwarded_for(desk, client):
    for i in range(2):
        client.post("/api/auth/token/", {"username": "alice", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.9.9.{i}")
    resp = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD},
                       HTTP_X_FORWARDED_FOR="10.9.9.99")
    assert resp.status_code == 429


class _Req:
    def __init__(self, peer, xff=None):
        self.META = {"REMOTE_ADDR": peer}
        if xff is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = xff


@pytest.mark.parametrize(("proxies", "peer", "xff", "client"), [
    ([], "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # no trusted proxy: the header is ignored
    (["10.0.0.5"], "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # the peer is not the proxy: ignored
    (["10.0.0.5"], "10.0.0.5", "203.0.113.9", "203.0.113.9"),  # the proxy says who the client is
    (["10.0.0.5"], "10.0.0.5", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # a client-forged left hop is skipped
    (["10.0.0.0/24"], "10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two trusted hops
    (["10.0.0.5"], "10.0.0.5", "not-an-ip", "10.0.0.5"),  # garbage: fall back to the peer
    (["10.0.0.5"], "10.0.0.5", None, "10.0.0.5"),
])
def test_client_address_believes_only_trusted_proxies(settings, proxies, peer, xff, client):
    settings.QUANTDESK_TRUSTED_PROXIES = [ipaddress.ip_network(p) for p in proxies]
    assert client_address(_Req(peer, xff)) == client


def test_trusted_proxies_setting_names_a_bad_entry(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from quantdesk.env import trusted_proxies

    monkeypatch.setenv("QUANTDESK_TRUSTED_PROXIES", "10.0.0.5, proxy.example.org")
    with pytest.raises(ImproperlyConfigured, match=r"QUANTDESK_TRUSTED_PROXIES: 'proxy.example.org'"):
        trusted_proxies()


# (list url, filter, object of bob's in the desk fixture)
ID_FILTERS = [
    ("/api/positions/", "account", lambda d: d["acc_b"].pk),
    ("/api/positions/", "config", lambda d: d["cfg_b"].pk),
    ("/api/orders/", "account", lambda d: d["acc_b"].pk),
    ("/api/orders/", "config", lambda d: d["cfg_b"].pk),
    ("/api/orders/", "position", lambda d: d["rec_b"]["position"].pk),
    ("/api/fills/", "order", lambda d: d["rec_b"]["order"].pk),
    ("/api/fills/", "position", lambda d: d["rec_b"]["position"].pk),
    ("/api/decisions/", "account", lambda d: d["acc_b"].pk),
    ("/api/decisions/", "position", lambda d: d["rec_b"]["position"].pk),
    ("/api/signals/", "config", lambda d: d["cfg_b"].pk),
    ("/api/equity/", "account", lambda d: d["acc_b"].pk),
    ("/api/configs/", "account", lambda d: d["acc_b"].pk),
]


@pytest.mark.parametrize(("url", "field", "pick"), ID_FILTERS)
def test_id_filters_answer_alike_for_not_yours_and_missing(desk, api, url, field, pick):
    foreign = pick(desk)
    api.login(desk["alice"])
    not_yours = api.get(url, **{field: foreign})
    missing = api.get(url, **{field: foreign + 10_000})
    assert not_yours.status_code == missing.status_code == 400
    assert not_yours.json() == missing.json() and list(not_yours.json()) == [field]
    api.login(desk["bob"])  # the owner filters by it
    assert api.get(url, **{field: foreign}).status_code == 200
