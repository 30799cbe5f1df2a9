"""The dashboard socket under bad frames and ended logins: every malformed frame (bad JSON, a list or dict
where an id is expected, an unknown action, deep nesting, binary, oversized) is answered with an error frame
naming the problem and the socket keeps working; a logout closes that session's sockets (not another
session's) and a password change closes all of the user's. Real Redis channel layer, real sessions."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from quantdesk.asgi import application
from tests.factories import make_account, make_user
from tests.foundation.test_channels import connect_as
from trading.events import publish


async def connect_with_session(session_key: str):
    comm = WebsocketCommunicator(application, "/ws/desk/", headers=[
        (b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={session_key}".encode())])
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=60))["type"] == "hello"
    return comm


async def still_receives(sock, account_id: int) -> None:
    """The socket is open and delivering: a published event arrives."""
    await database_sync_to_async(publish)(account_id=account_id, event_type="fill", data={"qty": "1"})
    assert await sock.receive_json_from(timeout=60) == {"type": "fill", "data": {"qty": "1"}}


DEEP = "[" * 1000 + "]" * 1000
BAD_FRAMES = [
    ("{not json", "not valid JSON"),
    ("   ", "not valid JSON: Expecting value"),
    ('["subscribe", 1]', "must be a JSON object, got list"),
    ('"subscribe"', "must be a JSON object, got str"),
    ("null", "must be a JSON object, got NoneType"),
    ('{"account": 1}', "action: 'NoneType' is not one of"),
    ('{"action": "drop_tables"}', "action: 'drop_tables' is not one of"),
    ('{"action": ["subscribe"]}', "action: 'list' is not one of"),
    ('{"action": {"x": 1}}', "action: 'dict' is not one of"),
    ('{"action": "subscribe"}', "account: must be an integer account id, got NoneType"),
    ('{"action": "subscribe", "account": [1, 2]}', "account: must be an integer account id, got list"),
    ('{"action": "subscribe", "account": {"id": 1}}', "account: must be an integer account id, got dict"),
    ('{"action": "subscribe", "account": "1"}', "account: must be an integer account id, got str"),
    ('{"action": "subscribe", "account": true}', "account: must be an integer account id, got bool"),
    ('{"action": "subscribe", "account": 1.5}', "account: must be an integer account id, got float"),
    (DEEP, "nested 1000 deep, over the limit of 8"),
    ('{"action": "subscribe", "account": ' + DEEP + "}", "nested 1001 deep, over the limit of 8"),
    ('{"action": "subscribe", "note": "' + "[" * 50 + '"}', "account: must be an integer"),  # brackets in a string
    ('{"a": ' + "[" * 2100 + "]" * 2100 + "}", "over the limit of 4096"),
    ('{"action": "subscribe", "pad": "' + "x" * 5000 + '"}', "over the limit of 4096"),
]


@pytest.mark.django_db(transaction=True)
async def test_every_malformed_frame_gets_an_error_and_the_socket_stays_open():
    alice = await database_sync_to_async(make_user)("alice")
    acc = await database_sync_to_async(make_account)(alice, "A")
    sock, ok, _ = await connect_as(alice)
    assert ok and (await sock.receive_json_from(timeout=60))["type"] == "hello"
    for frame, expected in BAD_FRAMES:
        await sock.send_to(text_data=frame)
        answer = await sock.receive_json_from(timeout=60)
        assert answer["type"] == "error", (frame[:60], answer)
        assert expected in answer["data"]["detail"], (frame[:60], answer)
    await sock.send_to(bytes_data=b"\x00\xffbinary")
    answer = await sock.receive_json_from(timeout=60)
    assert answer["type"] == "error" and "binary frames are not accepted" in answer["data"]["detail"]
    await sock.send_to(text_data=json.dumps({"action": "ping"}))
    assert await sock.receive_json_from(timeout=60) == {"type": "pong", "data": {}}
    await still_receives(sock, acc.pk)
    await sock.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_that_sessions_sockets_only():
    alice = await database_sync_to_async(make_user)("alice")
    acc = await database_sync_to_async(make_account)(alice, "A")
    browser, other_browser = Client(), Client()

    def login(client):
        client.force_login(alice)
        return client.session.session_key

    sock = await connect_with_session(await database_sync_to_async(login)(browser))
    other = await connect_with_session(await database_sync_to_async(login)(other_browser))
    resp = await database_sync_to_async(browser.post)("/accounts/logout/")
    assert resp.status_code in (200, 302)
    assert await sock.receive_json_from(timeout=60) == {"type": "closed", "data": {"reason": "logged out"}}
    closed = await sock.receive_output(timeout=60)
    assert closed == {"type": "websocket.close", "code": 4401}
    await still_receives(other, acc.pk)  # the other session's socket is untouched
    await other.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_password_change_closes_every_socket_of_the_user():
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    acc_b = await database_sync_to_async(make_account)(bob, "B")
    socks = []
    for _ in range(2):
        sock, ok, _ = await connect_as(alice)
        assert ok and (await sock.receive_json_from(timeout=60))["type"] == "hello"
        socks.append(sock)
    bob_sock, ok, _ = await connect_as(bob)
    assert ok and (await bob_sock.receive_json_from(timeout=60))["type"] == "hello"

    def change_password():
        alice.set_password("another-pass-789")
        alice.save()

    await database_sync_to_async(change_password)()
    for sock in socks:
        assert await sock.receive_json_from(timeout=60) == {"type": "closed", "data": {"reason": "password changed"}}
        assert await sock.receive_output(timeout=60) == {"type": "websocket.close", "code": 4401}
    await still_receives(bob_sock, acc_b.pk)
    await bob_sock.disconnect()
