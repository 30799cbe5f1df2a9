"""The dashboard socket: anonymous refused; an event published for an account reaches its owner only."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from quantdesk.asgi import application
from tests.factories import make_account, make_user
from trading.events import publish


async def connect_as(user):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    headers = [(b"origin", b"http://127.0.0.1")]
    if user is not None:
        def _session():
            s = SessionStore()
            s[SESSION_KEY] = str(user.pk)
            s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            s[HASH_SESSION_KEY] = user.get_session_auth_hash()
            s.save()
            return s.session_key
        key = await database_sync_to_async(_session)()
        headers.append((b"cookie", f"sessionid={key}".encode()))
    comm = WebsocketCommunicator(application, "/ws/desk/", headers=headers)
    connected, code = await comm.connect()
    return comm, connected, code


@pytest.mark.django_db(transaction=True)
async def test_anonymous_socket_is_refused():
    comm, connected, code = await connect_as(None)
    assert not connected and code == 4401


@pytest.mark.django_db(transaction=True)
async def test_event_reaches_owner_and_not_another_user():
    alice, bob = await database_sync_to_async(make_user)("alice"), await database_sync_to_async(make_user)("bob")
    acc_a = await database_sync_to_async(make_account)(alice, "A")
    acc_b = await database_sync_to_async(make_account)(bob, "B")
    sock_a, ok_a, _ = await connect_as(alice)
    sock_b, ok_b, _ = await connect_as(bob)
    assert ok_a and ok_b
    assert (await sock_a.receive_json_from())["data"]["accounts"] == [acc_a.pk]
    assert (await sock_b.receive_json_from())["data"]["accounts"] == [acc_b.pk]
    await database_sync_to_async(publish)(account_id=acc_a.pk, event_type="position",
                                          data={"symbol": "BTCUSDT", "qty": "0.006"})
    assert await sock_a.receive_json_from(timeout=60) == {"type": "position",
                                                         "data": {"symbol": "BTCUSDT", "qty": "0.006"}}
    assert await sock_b.receive_nothing(timeout=0.5)
    await sock_b.send_json_to({"action": "subscribe", "account": acc_a.pk})
    refused = await sock_b.receive_json_from(timeout=60)
    assert refused["type"] == "error" and "not yours" in refused["data"]["detail"]
    await database_sync_to_async(publish)(account_id=acc_a.pk, event_type="fill", data={"qty": "1"})
    assert await sock_b.receive_nothing(timeout=0.5)
    await sock_a.disconnect()
    await sock_b.disconnect()


def test_unknown_event_type_is_refused():
    from trading.events import make_event

    with pytest.raises(ValueError, match="not one of"):
        make_event("bogus", {})
