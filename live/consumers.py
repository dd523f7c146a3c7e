"""The operator dashboard's WebSocket: a snapshot of every stream on connect, then one
card per change as services broadcast them (live.dashboard)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import dashboard

# A close code the browser sees (a refusal during the handshake reaches it only as a
# failed connection), so the page can say "log in again" instead of retrying forever.
NOT_ALLOWED = 4403


def _is_operator(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class LiveDashboardConsumer(AsyncJsonWebsocketConsumer):
    joined = False

    async def connect(self) -> None:
        await self.accept()
        if not _is_operator(self.scope.get("user")):
            await self.close(code=NOT_ALLOWED)
            return
        # Join before reading the snapshot: a change committed in between arrives as an
        # update after it, never falls between the two.
        await self.channel_layer.group_add(dashboard.GROUP, self.channel_name)
        self.joined = True
        streams = await database_sync_to_async(dashboard.cards)()
        await self.send_json({"type": "snapshot", "streams": streams})

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(dashboard.GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """The page only listens."""

    async def stream_update(self, event: dict) -> None:
        await self.send_json({"type": "update", "stream": event["stream"]})
