"""WebSockets: the public market stream and the private user stream (thin: the messages are
built by the publisher and the selectors)."""
import asyncio
import contextlib
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from redis.exceptions import RedisError

from exchange.errors import ExchangeError
from exchange.infra.net import client_ip_from_scope
from exchange.infra.redis_clients import redis_client
from exchange.marketdata import selectors
from exchange.marketdata.auth import ws_api_key_authenticate
from exchange.marketdata.groups import market_group, user_group, user_listeners_key, user_sequence_key
from exchange.marketdata.hub import CLOSE_UNAVAILABLE, HubConsumer
from exchange.marketdata.windows import UPDATE_WINDOWS, event_texts, window_for
from exchange.markets.models import Market

AUTH_TIMEOUT = 5.0
CLOSE_UNKNOWN_MARKET = 4404
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400


def _market_and_snapshot(symbol: str):
    market = Market.objects.filter(symbol=symbol.upper()).first()
    if market is None:
        return None, None
    return market, selectors.book_snapshot(market=market)


class MarketConsumer(HubConsumer):
    """``/ws/markets/{symbol}/``: a snapshot, then book, trade, ticker and status messages.

    The group is joined (on the process's hub, ``hub.py``) before the snapshot is read, so every
    book message after the snapshot reaches this socket; those the snapshot already contains
    (``sequence`` <= its sequence) are not sent. With ``?updates=100ms`` (or ``1000ms``) the
    messages come in one ``batch`` message per window (``windows.py``); an unknown value is
    refused (4400).

    Once its snapshot is behind it, the hub writes the socket's messages to it directly, framed
    once per process (``wire.py``), instead of through its queue and this consumer."""

    async def connect(self):
        symbol = self.scope["url_route"]["kwargs"]["symbol"].upper()
        self.group = market_group(symbol)
        self.snapshot_sequence = None
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        updates = query.get("updates")
        window = None
        if updates is not None:
            window = UPDATE_WINDOWS.get(updates[-1]) if len(updates) == 1 else None
            if window is None:
                await self.accept()
                allowed = ", ".join(UPDATE_WINDOWS)
                await self.send_json({"type": "error", "code": "invalid_updates",
                                      "message": f"updates is one of {allowed}, or absent for every message alone"})
                await self.close(code=CLOSE_BAD_REQUEST)
                return
        joined = await self.hub_join(self.group, window)
        await self.accept()
        if not joined:
            await self._unavailable()
            return
        market, snapshot = await database_sync_to_async(_market_and_snapshot)(symbol)
        if market is None:
            await self.send_json({"type": "error", "code": "unknown_market", "message": f"no market {symbol!r}"})
            await self.close(code=CLOSE_UNKNOWN_MARKET)
            return
        self.snapshot_sequence = snapshot.sequence
        await self.send_json({"type": "snapshot", "market": market.symbol, "sequence": snapshot.sequence,
                              "bids": snapshot.bids, "asks": snapshot.asks, "checksum": snapshot.checksum})

    async def _unavailable(self):
        await self.send_json({"type": "error", "code": "unavailable", "message": "market data is restarting: reconnect"})
        await self.close(code=CLOSE_UNAVAILABLE)

    async def layer_lost(self, event):
        """Redis went away (the hub lost it, exchange/marketdata/hub.py): the client reconnects and resyncs."""
        await self.send_json({"type": "error", "code": "resync", "message": "market data restarted: reconnect"})
        await self.close(code=CLOSE_UNAVAILABLE)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def md_batch(self, event):
        after = self.snapshot_sequence
        if after is None:
            return
        # Straight to the ASGI send: each frame's text is the process's (encoded once), and the
        # two layers of Channels' send() did nothing for it but cost two awaits per frame per socket.
        send = self.base_send
        whole = True
        for sequence, text in event_texts(event):
            if sequence > after:
                await send({"type": "websocket.send", "text": text})
            else:
                whole = False
        if whole:  # past the snapshot: from now on the hub may write to this socket itself
            self.hub_go_direct(self.group)

    async def md_ticker(self, event):
        if self.snapshot_sequence is not None:
            await self.base_send({"type": "websocket.send", "text": event_texts(event)[0][1]})
            self.hub_go_direct(self.group)

    async def md_window(self, event):
        """A window's messages in one (``windows.py``): the process's shared text, unless this
        socket's snapshot falls inside the window."""
        if self.snapshot_sequence is None:
            return
        text = window_for(event, self.snapshot_sequence)
        if text is not None:
            await self.base_send({"type": "websocket.send", "text": text})
        if text is event["text"]:  # the whole window was after the snapshot, and so will the next be
            self.hub_go_direct(self.group)


class UserConsumer(HubConsumer):
    """``/ws/user/``: the signed-in user's order, fill and balance messages.

    Signed in by the session cookie, or by an ``auth`` message signed with an API key (first
    message, within 5 s). The stream is always the authenticated user's own: a message naming
    another user closes the socket (4403); no sign-in closes it (4401).

    Once subscribed with nothing waiting, the hub writes the user's messages to the socket itself
    (``wire.py``), each as the JSON text ``send_json`` would send, instead of through its queue and
    this consumer: a bot's every order sends it two or three."""

    async def connect(self):
        self.user_id = None
        self._timeout = None
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._subscribe(user.pk, "session")
        else:
            self._timeout = asyncio.get_running_loop().create_task(self._close_unless_authenticated())

    async def _close_unless_authenticated(self):
        await asyncio.sleep(AUTH_TIMEOUT)
        if self.user_id is None:
            await self._refuse("not_authenticated", "sign in with the session or an auth message", CLOSE_NOT_AUTHENTICATED)

    async def _refuse(self, code: str, message: str, close_code: int):
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=close_code)

    async def _subscribe(self, user_id: int, via: str):
        # Counted before joining: the matcher's fan-out only builds frames for counted users.
        try:
            await sync_to_async(redis_client().incr)(user_listeners_key(user_id))
        except RedisError:
            return await self._refuse("unavailable", "the user stream is restarting: reconnect", CLOSE_UNAVAILABLE)
        self.user_id = user_id
        if not await self.hub_join(user_group(user_id)):
            return await self._refuse("unavailable", "the user stream is restarting: reconnect", CLOSE_UNAVAILABLE)
        try:
            sequence = await sync_to_async(redis_client().get)(user_sequence_key(user_id))
        except RedisError:
            sequence = None
        await self.send_json({"type": "subscribed", "user_id": user_id, "via": via,
                              "sequence": int(sequence or 0)})
        self.hub_go_direct(user_group(user_id))  # nothing waiting: the hub may write to it itself

    async def disconnect(self, code):
        if self._timeout is not None:
            self._timeout.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timeout
        if self.user_id is not None:
            self.hub_leave(user_group(self.user_id))
            with contextlib.suppress(RedisError, OSError):  # Redis gone: so are its counts
                await sync_to_async(redis_client().decr)(user_listeners_key(self.user_id))

    async def layer_lost(self, event):
        """Redis went away (the hub lost it, exchange/marketdata/hub.py): the client reconnects and resyncs."""
        await self._refuse("resync", "the user stream restarted: reconnect", CLOSE_UNAVAILABLE)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self._refuse("malformed_request", "messages are JSON objects", CLOSE_NOT_AUTHENTICATED)
        kind = content.get("type")
        named = content.get("user_id")
        if kind == "ping":
            return await self.send_json({"type": "pong"})
        if kind == "auth" and self.user_id is None:
            try:
                user_id = await database_sync_to_async(ws_api_key_authenticate)(
                    key=content.get("key", ""), timestamp=content.get("timestamp", ""),
                    sent=content.get("signature", ""), client_ip=client_ip_from_scope(self.scope) or "")
            except ExchangeError as exc:
                close = CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_NOT_AUTHENTICATED
                return await self._refuse(exc.code, exc.message, close)
            if named is not None and str(named) != str(user_id):
                return await self._refuse("forbidden", "a stream is only its owner's", CLOSE_FORBIDDEN)
            return await self._subscribe(user_id, "api_key")
        if self.user_id is None:
            return await self._refuse("not_authenticated", "sign in first", CLOSE_NOT_AUTHENTICATED)
        if named is not None and str(named) != str(self.user_id):
            return await self._refuse("forbidden", "a stream is only its owner's", CLOSE_FORBIDDEN)
        if kind == "subscribe":
            return await self.send_json({"type": "subscribed", "user_id": self.user_id})
        return None

    async def user_events(self, event):
        for frame in event["events"]:
            await self.send_json(frame)
        if self.user_id is not None:  # caught up: from now on written by the hub
            self.hub_go_direct(user_group(self.user_id))
