"""Where the matcher hands each batch it commits: one interface, implemented above trading.

The matcher knows nothing of candles, Redis books or WebSocket groups. It calls its sink's ``ready``
once before its first batch when it publishes, then three times per batch, in this order:

1. ``capture`` on the matcher's thread, as soon as the batch is planned: copy whatever is needed
   from the context, the book and the plan (they go on changing in the batches planned while
   this one commits);
2. ``write`` on the writer's thread, inside the batch's transaction: rows that must commit or
   roll back with the fills (candles);
3. ``send`` on the writer's thread, after the commit and the XACK: anything that goes out
   (never raises; a client that misses a message sees the gap in the sequence and repairs it).

The sink is named by the setting ``EXCHANGE_MATCHER_SINK`` (a dotted path to a class built
with no arguments); market data provides the one in use (``exchange.marketdata.sink``), so
trading imports nothing from market data. ``NullSink`` does nothing.
"""
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from exchange.matching import OrderBook
from exchange.trading.matcher.state import BatchPlan, MarketContext


class MatcherSink(Protocol):
    def ready(self) -> None:
        """Before the first batch of a publishing matcher: start what sending needs, so that the
        first batches do not wait for it; never raises."""
        ...

    def capture(self, ctx: MarketContext, book: OrderBook, plan: BatchPlan, *, publish: bool) -> object | None:
        """What ``write`` and ``send`` need of this batch, copied now; None if nothing.
        ``publish`` is False in a matcher that publishes nothing (benchmarks, some tests)."""
        ...

    def write(self, captured: object) -> None:
        """Inside the batch's transaction: an error rolls the batch back."""
        ...

    def send(self, captured: object) -> None:
        """After the batch committed; never raises."""
        ...

    def book_published(self, symbol: str, book: OrderBook) -> bool:
        """False when the book must be published whole (the matcher does it when idle)."""
        ...


class NullSink:
    """A sink that keeps nothing and sends nothing."""

    def ready(self) -> None:
        return None

    def capture(self, ctx: MarketContext, book: OrderBook, plan: BatchPlan, *, publish: bool) -> None:
        return None

    def write(self, captured: object) -> None:
        return None

    def send(self, captured: object) -> None:
        return None

    def book_published(self, symbol: str, book: OrderBook) -> bool:
        return True


@cache
def matcher_sink() -> MatcherSink:
    """The process's sink, built once from ``settings.EXCHANGE_MATCHER_SINK``."""
    return import_string(settings.EXCHANGE_MATCHER_SINK)()
