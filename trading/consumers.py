"""The dashboard's one WebSocket: an authenticated user joins the groups of the accounts they may see,
their own user group (backtest and sweep progress) and the desk-wide group (ticks, candles, feed status)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading.events import account_group, desk_group, user_group
from trading.selectors import account_ids_for

UNAUTHENTICATED = 4401


class DeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.allowed = set(await database_sync_to_async(account_ids_for)(user=user))
        self.joined: set[int] = set()
        self.shared_groups = [user_group(user.pk), desk_group()]
        await self.accept()
        for group in self.shared_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        for account_id in sorted(self.allowed):
            await self._join(account_id)
        await self.send_json({"type": "hello", "data": {"accounts": sorted(self.joined), "user": user.pk}})

    async def _join(self, account_id: int) -> None:
        await self.channel_layer.group_add(account_group(account_id), self.channel_name)
        self.joined.add(account_id)

    async def receive_json(self, content, **kwargs):
        if content.get("action") == "subscribe":
            account_id = content.get("account")
            if account_id not in self.allowed:
                await self.send_json({"type": "error", "data": {"detail": f"account {account_id!r}: not yours"}})
                return
            await self._join(account_id)

    async def disconnect(self, code):
        for group in getattr(self, "shared_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        for account_id in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(account_group(account_id), self.channel_name)

    async def desk_event(self, message):
        await self.send_json(message["event"])
