"""The dashboard's one WebSocket: an authenticated user joins the groups of the accounts they may see,
their own user group (backtest and sweep progress, and the close message of a password change), their
login session's group (the close message of a logout) and the desk-wide group (ticks, candles, feed status).

Frames from the browser are untrusted: anything that is not a small JSON object with a known ``action``
and well-typed fields is answered with an ``error`` frame naming the problem, and the socket stays open."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading.events import account_group, desk_group, session_group, user_group
from trading.json_limits import nesting_depth
from trading.selectors import account_ids_for

UNAUTHENTICATED = 4401
LOGGED_OUT = 4401  # same code as a refused socket: the browser must log in again
MAX_FRAME_CHARS = 4096  # a subscribe frame is ~40 characters
MAX_FRAME_DEPTH = 8  # a subscribe frame is 1 deep
ACTIONS = ("subscribe", "ping")


class FrameError(ValueError):
    """A frame the socket refuses (answered with an error frame; the socket stays open)."""


def parse_frame(text: str | None, binary: bytes | None) -> dict:
    """The frame as a dict with a known action and well-typed fields, or FrameError saying why not."""
    if binary is not None or text is None:
        raise FrameError("binary frames are not accepted; send JSON text")
    if len(text) > MAX_FRAME_CHARS:
        raise FrameError(f"frame of {len(text)} characters is over the limit of {MAX_FRAME_CHARS}")
    depth = nesting_depth(text)
    if depth > MAX_FRAME_DEPTH:
        raise FrameError(f"frame is nested {depth} deep, over the limit of {MAX_FRAME_DEPTH}")
    try:
        content = json.loads(text)
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    except ValueError as exc:
        raise FrameError(f"frame is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(content, dict):
        raise FrameError(f"frame must be a JSON object, got {type(content).__name__}")
    action = content.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        shown = action if isinstance(action, str) else type(action).__name__
        raise FrameError(f"action: {shown[:40]!r} is not one of {list(ACTIONS)}")
    if action == "subscribe":
        account = content.get("account")
        if isinstance(account, bool) or not isinstance(account, int):
            raise FrameError(f"account: must be an integer account id, got {type(account).__name__}")
    return content


class DeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.allowed = set(await database_sync_to_async(account_ids_for)(user=user))
        self.joined: set[int] = set()
        self.shared_groups = [user_group(user.pk), desk_group()]
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self.shared_groups.append(session_group(session.session_key))
        await self.accept()
        for group in self.shared_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        for account_id in sorted(self.allowed):
            await self._join(account_id)
        await self.send_json({"type": "hello", "data": {"accounts": sorted(self.joined), "user": user.pk}})

    async def _join(self, account_id: int) -> None:
        await self.channel_layer.group_add(account_group(account_id), self.channel_name)
        self.joined.add(account_id)

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "data": {"detail": detail}})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = parse_frame(text_data, bytes_data)
        except FrameError as exc:
            await self._error(str(exc))
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if content["action"] == "ping":
            await self.send_json({"type": "pong", "data": {}})
            return
        account_id = content["account"]
        if account_id not in self.allowed:
            await self._error(f"account {account_id!r}: not yours")
            return
        await self._join(account_id)

    async def disconnect(self, code):
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        for group in getattr(self, "shared_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        for account_id in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(account_group(account_id), self.channel_name)
        self.shared_groups, self.joined = [], set()

    async def desk_event(self, message):
        await self.send_json(message["event"])

    async def desk_close(self, message):
        """Logout or password change: tell the page why, then close."""
        await self._leave_groups()  # nothing more reaches it, even before the browser acknowledges the close
        await self.send_json({"type": "closed", "data": {"reason": message.get("reason", "logged out")}})
        await self.close(code=LOGGED_OUT)
