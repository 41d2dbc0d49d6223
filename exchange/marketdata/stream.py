"""``/ws/stream/``: one socket for many markets and channels, chosen by message (thin: the
protocol is in ``subscriptions``, the messages come from the publisher and the candle feed).

Every data message is the per-market socket's (``/ws/markets/{symbol}/``) with ``channel`` added,
so a market's book keeps exactly that protocol: a ``snapshot`` when ``book`` is subscribed (and
again on every subscribe that names ``book``), then ``book`` messages whose ``sequence`` /
``prev_sequence`` chain from it, with their checksums. A market's group is joined (on the
process's ``hub``) before its snapshot is read, so no book message falls between the two; those
the snapshot already contains are not sent. A socket's messages are handled one at a time, so group messages that arrive
while a subscribe is being answered wait until its snapshot is taken.

Bad requests are answered with ``{"type": "error", "error": {"code", "message"}}`` and the
socket stays open; losing Redis closes it with 4503 as the other sockets do (``hub``).
"""
import json

from channels.db import database_sync_to_async
from redis.exceptions import RedisError

from exchange.errors import ExchangeError
from exchange.marketdata import selectors
from exchange.marketdata.hub import CLOSE_UNAVAILABLE, HubConsumer
from exchange.marketdata.subscriptions import Request, Subscriptions, max_subscriptions, request_id, request_parse
from exchange.marketdata.windows import frame_text
from exchange.markets.models import Market

# What each message type of the market group is, as a channel.
FRAME_CHANNELS = {"book": "book", "trade": "trades", "status": "status"}


def _known_markets(symbols: tuple[str, ...]) -> set[str]:
    return set(Market.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))


def _snapshots(symbols: list[str]) -> dict[str, selectors.BookSnapshot]:
    return {market.symbol: selectors.book_snapshot(market=market)
            for market in Market.objects.filter(symbol__in=symbols)}


class StreamConsumer(HubConsumer):
    """A socket that subscribes to (market, channel) pairs by ``op`` messages."""

    async def connect(self):
        self.subscriptions = Subscriptions(max_subscriptions())
        self.snapshot_sequence: dict[str, int] = {}  # market -> the sequence of its last snapshot sent
        await self.accept()

    # ------------------------------------------------------------------ requests

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Not the JSON consumer's own: a message that is not JSON is an error answered, not a closed socket.
        try:
            content = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            return await self._error(ExchangeError("malformed_json", "messages are JSON text"), None)
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and (content.get("type") == "ping" or content.get("op") == "ping"):
            return await self.send_json({"type": "pong"})
        try:
            request = request_parse(content)
            if request.op == "subscribe":
                await self._subscribe(request)
            else:
                await self._unsubscribe(request)
        except ExchangeError as exc:
            await self._error(exc, request_id(content))

    async def _subscribe(self, request: Request) -> None:
        known = await database_sync_to_async(_known_markets)(request.markets)
        unknown = [symbol for symbol in request.markets if symbol not in known]
        if unknown:
            raise ExchangeError("unknown_market", f"no market {unknown[0]!r}")
        self.subscriptions.add(request.markets, request.channels)  # or too_many_subscriptions, nothing changed
        for group in sorted(self.subscriptions.groups() - self.hub_groups):
            if not await self.hub_join(group):
                return await self._unavailable(request)
        await self._ack(request)
        if "book" in request.channels:
            # After the joins: every book message after these snapshots reaches this socket.
            try:
                snapshots = await database_sync_to_async(_snapshots)(list(request.markets))
            except (RedisError, OSError):
                return await self._unavailable(request)
            for symbol in request.markets:
                snapshot = snapshots[symbol]
                self.snapshot_sequence[symbol] = snapshot.sequence
                await self.send_json({"type": "snapshot", "market": symbol, "channel": "book",
                                      "sequence": snapshot.sequence, "bids": snapshot.bids, "asks": snapshot.asks,
                                      "checksum": snapshot.checksum})

    async def _unsubscribe(self, request: Request) -> None:
        self.subscriptions.remove(request.markets, request.channels)
        for symbol in request.markets:
            if "book" not in self.subscriptions.channels(symbol):
                self.snapshot_sequence.pop(symbol, None)
        for group in sorted(self.hub_groups - self.subscriptions.groups()):
            self.hub_leave(group)
        await self._ack(request)

    async def _unavailable(self, request: Request) -> None:
        """Redis is down: as for a lost layer, the client reconnects and subscribes again."""
        await self._error(ExchangeError("unavailable", "market data is restarting: reconnect"), request.id)
        await self.close(code=CLOSE_UNAVAILABLE)

    async def _ack(self, request: Request) -> None:
        await self.send_json({"type": "ack", "op": request.op, "id": request.id,
                              "subscriptions": self.subscriptions.listing()})

    async def _error(self, exc: ExchangeError, rid) -> None:
        await self.send_json({"type": "error", "id": rid, "error": {"code": exc.code, "message": exc.message}})

    # ------------------------------------------------------------------ group messages

    async def md_batch(self, event):
        frames = event["frames"]
        if not frames:
            return
        symbol = frames[0]["market"]
        channels = self.subscriptions.channels(symbol)
        snapshot = self.snapshot_sequence.get(symbol)
        for index, frame in enumerate(frames):
            channel = FRAME_CHANNELS.get(frame["type"])
            if channel == "book":
                wanted = "book" in channels and snapshot is not None and frame["sequence"] > snapshot
            elif channel == "trades":
                wanted = "trades" in channels
            else:  # a status message goes to every subscriber of the market; anything else to none
                wanted = channel == "status" and bool(channels)
            if wanted:
                await self.send(text_data=frame_text(event, index, channel))

    async def md_ticker(self, event):
        ticker = event["ticker"]
        if "ticker" in self.subscriptions.channels(ticker["market"]):
            await self.send_json({**ticker, "channel": "ticker"})

    async def md_candle(self, event):
        channels = self.subscriptions.channels(event["market"])
        for index, frame in enumerate(event["frames"]):  # every interval's candles: the subscribed ones
            if frame["channel"] in channels:
                await self.send(text_data=frame_text(event, index))

    async def layer_lost(self, event):
        """Redis went away (the hub lost it, exchange/marketdata/hub.py): the client reconnects, resubscribes and resyncs."""
        await self._error(ExchangeError("resync", "market data restarted: reconnect"), None)
        await self.close(code=CLOSE_UNAVAILABLE)
