"""The subscribe protocol of the multi-market socket ``/ws/stream/``: requests parsed and checked,
and one socket's subscriptions (no I/O here, so the rules are tested without a socket).

A request is ``{"op": "subscribe"|"unsubscribe", "channels": [...], "markets": [...], "id": ...}``;
it subscribes to (or drops) every pair of a listed market and a listed channel. A request is
applied whole or not at all: one unknown name, or a subscribe that would pass the per-socket limit,
changes nothing. ``id`` (optional, a short string or an integer) is echoed in the answer, so a
program can match answers to requests.
"""
from dataclasses import dataclass

from django.conf import settings

from exchange.errors import ExchangeError
from exchange.marketdata.candlefeed import candles_group
from exchange.marketdata.groups import market_group
from exchange.marketdata.models import INTERVALS
from exchange.markets.rules import market_symbol_parse

# Carried by the market's group (``market.{symbol}``, as for /ws/markets/{symbol}/).
MARKET_CHANNELS = ("book", "trades", "ticker", "status")
CANDLES_PREFIX = "candles:"
CHANNELS = (*MARKET_CHANNELS, *(CANDLES_PREFIX + interval for interval in INTERVALS))
OPS = ("subscribe", "unsubscribe")
MAX_NAMES = 100  # per list in one request: a bound on the work one message can ask for
MAX_ID_LENGTH = 64


def max_subscriptions() -> int:
    """(market, channel) pairs one socket may hold: each costs a group membership in Redis."""
    return settings.EXCHANGE_WS_MAX_SUBSCRIPTIONS


@dataclass(frozen=True)
class Request:
    op: str
    channels: tuple[str, ...]
    markets: tuple[str, ...]
    id: str | int | None


def request_id(content: object) -> str | int | None:
    """The request's ``id`` if it is one we echo (a short string or an integer), else None."""
    if not isinstance(content, dict):
        return None
    value = content.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and len(value) <= MAX_ID_LENGTH):
        return value
    return None


def _names(content: dict, field: str) -> list:
    value = content.get(field)
    if not isinstance(value, list) or not value:
        raise ExchangeError("malformed_request", f"{field!r} must be a non-empty list of names")
    if len(value) > MAX_NAMES:
        raise ExchangeError("malformed_request", f"at most {MAX_NAMES} {field} in one request")
    if not all(isinstance(name, str) for name in value):
        raise ExchangeError("malformed_request", f"{field!r} must hold strings")
    return value


def request_parse(content: object) -> Request:
    """A subscribe or unsubscribe request, or ``ExchangeError`` (``malformed_request``,
    ``unknown_op``, ``unknown_channel``, ``unknown_market`` for a name that cannot be a symbol)."""
    if not isinstance(content, dict):
        raise ExchangeError("malformed_request", "messages are JSON objects")
    op = content.get("op")
    if op not in OPS:
        raise ExchangeError("unknown_op", f"op must be one of {', '.join(OPS)} (or type ping)")
    channels = _names(content, "channels")
    unknown = [name for name in channels if name not in CHANNELS]
    if unknown:
        raise ExchangeError("unknown_channel", f"unknown channel {unknown[0][:40]!r}: channels are {', '.join(CHANNELS)}")
    markets = []
    for name in _names(content, "markets"):
        try:
            markets.append(market_symbol_parse(name))
        except ExchangeError:
            raise ExchangeError("unknown_market", f"no market {name[:40]!r}") from None
    return Request(op=op, channels=tuple(dict.fromkeys(channels)), markets=tuple(dict.fromkeys(markets)),
                   id=request_id(content))


def candle_interval(channel: str) -> str | None:
    """``"1m"`` for ``"candles:1m"``; None for the other channels."""
    return channel[len(CANDLES_PREFIX):] if channel.startswith(CANDLES_PREFIX) else None


class Subscriptions:
    """One socket's (market, channel) pairs, and the hub groups they need."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_market: dict[str, set[str]] = {}

    def count(self) -> int:
        return sum(len(channels) for channels in self.by_market.values())

    def channels(self, market: str) -> set[str]:
        return self.by_market.get(market, set())

    def groups(self) -> set[str]:
        out = set()
        for market, channels in self.by_market.items():
            for channel in channels:
                interval = candle_interval(channel)
                out.add(market_group(market) if interval is None else candles_group(market))
        return out

    def add(self, markets: tuple[str, ...], channels: tuple[str, ...]) -> None:
        """Add every pair, or none (``too_many_subscriptions``) if the socket would hold more than its limit."""
        new = sum(1 for market in markets for channel in channels if channel not in self.channels(market))
        if self.count() + new > self.limit:
            raise ExchangeError("too_many_subscriptions",
                                f"at most {self.limit} (market, channel) subscriptions per connection")
        for market in markets:
            self.by_market.setdefault(market, set()).update(channels)

    def remove(self, markets: tuple[str, ...], channels: tuple[str, ...]) -> None:
        """Drop every pair held; pairs not held are ignored."""
        for market in markets:
            held = self.by_market.get(market)
            if held is None:
                continue
            held.difference_update(channels)
            if not held:
                del self.by_market[market]

    def listing(self) -> dict[str, list[str]]:
        """What the ack shows: market -> channels, both in a stable order."""
        return {market: [c for c in CHANNELS if c in channels] for market, channels in sorted(self.by_market.items())}
