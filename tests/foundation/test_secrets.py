"""Exchange API keys: encrypted at rest, write-only in the API and the admin, never in repr/logs."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import make_account, make_user
from trading.models import Account

KEY, SECRET = "BYBITKEY1234567890", "BYBITSECRETabcdefghijklmnop"


@pytest.fixture
def keyed_account(db):
    acc = make_account(make_user())
    acc.set_api_credentials(api_key=KEY, api_secret=SECRET)
    acc.save()
    return acc


def _raw_columns(pk: int) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT api_key_encrypted, api_secret_encrypted FROM trading_account WHERE id = %s", [pk])
        return cur.fetchone()


def test_stored_columns_are_not_the_plaintext(keyed_account):
    raw_key, raw_secret = _raw_columns(keyed_account.pk)
    assert KEY not in raw_key and SECRET not in raw_secret
    assert raw_key and raw_secret and raw_key != raw_secret
    assert Account.objects.get(pk=keyed_account.pk).api_credentials() == (KEY, SECRET)


def test_wrong_fernet_key_refuses_to_decrypt(keyed_account, settings):
    from cryptography.fernet import Fernet

    settings.QUANTDESK_FERNET_KEY = Fernet.generate_key().decode()
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Account.objects.get(pk=keyed_account.pk).api_credentials()


def test_repr_and_str_do_not_leak(keyed_account):
    for text in (repr(keyed_account), str(keyed_account)):
        assert KEY not in text and keyed_account.api_key_encrypted not in text


def test_api_never_returns_credentials(keyed_account, client):
    client.force_login(keyed_account.owner)
    body = client.get(f"/api/accounts/{keyed_account.pk}/").content.decode()
    listing = client.get("/api/accounts/").content.decode()
    for text in (body, listing):
        assert KEY not in text and SECRET not in text
        assert keyed_account.api_key_encrypted not in text and keyed_account.api_secret_encrypted not in text
    assert '"has_api_credentials":true' in body.replace(" ", "")
    assert '"api_key_hint":"****7890"' in body.replace(" ", "")


def test_api_sets_credentials_write_only(db, client):
    user = make_user("bob")
    client.force_login(user)
    resp = client.post("/api/accounts/", {"name": "Main", "api_key": KEY, "api_secret": SECRET},
                       content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert "api_key" not in resp.json() and "api_secret" not in resp.json()
    acc = Account.objects.get(owner=user, name="Main")
    assert acc.api_credentials() == (KEY, SECRET)
    assert KEY not in _raw_columns(acc.pk)[0]


def test_admin_change_page_never_shows_credentials(keyed_account, client):
    admin = make_user("root", staff=True)
    client.force_login(admin)
    html = client.get(f"/admin/trading/account/{keyed_account.pk}/change/").content.decode()
    assert "****7890" in html  # the hint is shown
    for secret in (KEY, SECRET, keyed_account.api_key_encrypted, keyed_account.api_secret_encrypted):
        assert secret not in html


def test_admin_form_sets_and_keeps_credentials(keyed_account, client):
    admin = make_user("root", staff=True)
    client.force_login(admin)
    url = f"/admin/trading/account/{keyed_account.pk}/change/"
    form = {"owner": keyed_account.owner_id, "name": "Paper", "mode": "paper", "environment": "testnet",
            "maker_fee": "0.0002", "taker_fee": "0.0006", "starting_capital": "500", "max_open_positions": "2"}
    resp = client.post(url, form)  # empty key fields keep the stored ones
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert Account.objects.get(pk=keyed_account.pk).api_credentials() == (KEY, SECRET)
    resp = client.post(url, {**form, "api_key": "NEWKEY000000", "api_secret": "NEWSECRET000000"})
    assert resp.status_code == 302
    assert Account.objects.get(pk=keyed_account.pk).api_credentials() == ("NEWKEY000000", "NEWSECRET000000")


def test_fernet_key_file_is_private(tmp_path, monkeypatch):
    import os
    import stat

    from quantdesk import env

    monkeypatch.delenv("QUANTDESK_FERNET_KEY", raising=False)
    monkeypatch.setattr(env, "VAR_DIR", tmp_path)
    key = env.fernet_key()
    path = tmp_path / "fernet.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert env.fernet_key() == key  # generated once, then reused


def test_secret_key_is_generated_once_into_a_private_file(tmp_path, monkeypatch):
    import os
    import stat

    from quantdesk import env

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(env, "VAR_DIR", tmp_path)
    key = env.secret_key()
    assert len(key) >= 50 and not key.startswith("dev-only")
    assert stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode) == 0o600
    assert env.secret_key() == key
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "z" * 40)
    assert env.secret_key() == "from-the-environment-" + "z" * 40


@pytest.mark.parametrize("bad", ["x" * 44, "too-short", "A" * 43 + "!"])
def test_invalid_fernet_key_is_refused_at_start_naming_the_setting(monkeypatch, bad):
    from django.core.exceptions import ImproperlyConfigured

    from quantdesk import env

    monkeypatch.setenv("QUANTDESK_FERNET_KEY", bad)
    with pytest.raises(ImproperlyConfigured, match=r"QUANTDESK_FERNET_KEY \(environment\) is not a valid Fernet key"):
        env.fernet_key()


def test_corrupt_fernet_key_file_is_refused_naming_the_setting(tmp_path, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from quantdesk import env

    monkeypatch.delenv("QUANTDESK_FERNET_KEY", raising=False)
    monkeypatch.setattr(env, "VAR_DIR", tmp_path)
    (tmp_path / "fernet.key").write_text("not-a-key\n")
    with pytest.raises(ImproperlyConfigured, match="QUANTDESK_FERNET_KEY .*fernet.key.* is not a valid Fernet key"):
        env.fernet_key()
