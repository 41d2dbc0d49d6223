"""Book snapshots: a market's replay state every ``EVERY`` journal events, so that replaying the
book at a sequence costs the events since the newest snapshot before it, not the whole journal.

A snapshot holds what ``MarketState`` needs to continue a book replay exactly: the price levels
(bids, asks, last trade), every open order's full record, each account's open quantity per side,
the accounts the event stream has already announced, the clock and the event count. Amounts are
stored as the decimal strings ``str(Decimal)`` gives back unchanged (exponent included), never as
floats. Closed orders are left out: a later trade, cancel or amend of a closed order changes
nothing whether the order is remembered or not. Not kept: the per-market trade baseline (a
detector's input, not the book's) and the owners (re-announced from the current beneficial-owner
links on restore, as a replay from the first event would). One difference remains by design: an
order resting at the snapshot keeps the ``opposite_at_entry`` computed with the owners of the
time the snapshot was written.

Snapshots are derived from the journal: any replay passing a multiple of ``EVERY`` writes the
missing one (``INSERT ... ON CONFLICT DO NOTHING``), and the real-time consumer writes them as the
journal grows (``SnapshotWriter``), so the alert page rarely meets a journal without them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from surveillance.detectors import MarketState
from surveillance.detectors.book_state import Book, OrderRecord
from surveillance.models import BookSnapshot

EVERY = 2000  # journal events between snapshots: the most a replay applies after loading one
VERSION = 1  # of the layout below; a snapshot of another layout is ignored (and rewritten)

RECORD_FIELDS = [f.name for f in dataclasses.fields(OrderRecord)]
DECIMAL_FIELDS = frozenset({"price", "quantity", "remaining", "filled", "cancelled_qty", "opposite_at_entry", "touch_qty"})


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def dump(state: MarketState, market: str, seen: Iterable) -> dict:
    """The state of ``market`` as JSON-safe data (``load`` gives it back)."""
    book = state.book(market)
    orders = [[_text(getattr(r, f)) if f in DECIMAL_FIELDS else getattr(r, f) for f in RECORD_FIELDS]
              for (m, _), r in state.orders.items() if m == market and r.closed_at is None]
    return {
        "version": VERSION,
        "now": state.now,
        "event_count": state.event_count,
        "bids": [[str(p), str(q)] for p, q in book.bids.items()],
        "asks": [[str(p), str(q)] for p, q in book.asks.items()],
        "last_price": _text(book.last_price),
        "last_trade_at": book.last_trade_at,
        "orders": orders,
        "live_qty": [[account, side, str(qty)] for (m, account, side), qty in state._live_qty.items() if m == market],
        "seen": list(seen),
    }


def load(data: dict, market: str, owner_of: Callable[[Any], Any]) -> tuple[MarketState, set]:
    """A ``MarketState`` (retention as ``selectors.replay`` uses) and the announced accounts,
    whose owners ``owner_of(account)`` gives (the current links, as a replay from the first event
    would announce them)."""
    state = MarketState(retention=10**9)
    state.now, state.event_count = data["now"], data["event_count"]
    book = state.books[market] = Book()
    book.bids = {Decimal(p): Decimal(q) for p, q in data["bids"]}
    book.asks = {Decimal(p): Decimal(q) for p, q in data["asks"]}
    book._bid_prices, book._ask_prices = sorted(book.bids), sorted(book.asks)
    book.last_price, book.last_trade_at = _decimal(data["last_price"]), data["last_trade_at"]
    for values in data["orders"]:
        fields: dict[str, Any] = {f: _decimal(v) if f in DECIMAL_FIELDS else v
                                  for f, v in zip(RECORD_FIELDS, values, strict=True)}
        record = OrderRecord(**fields)
        state.orders[(market, record.order_id)] = record
        if record.on_book:
            sides = state._live.setdefault((market, record.account), {"buy": {}, "sell": {}})
            sides[record.side][record.order_id] = record
    state._live_qty = {(market, account, side): Decimal(qty) for account, side, qty in data["live_qty"]}
    seen = set(data["seen"])
    for account in data["seen"]:  # the account events a replay from the first event would have fed
        state._account({"account": account, "owner": owner_of(account)})
    return state, seen


def latest(market: str, *, upto: int, before: datetime | None = None,
           until: datetime | None = None) -> BookSnapshot | None:
    """The newest snapshot of ``market`` at or before sequence ``upto`` (and, if given, taken
    strictly before time ``before`` and at or before time ``until``)."""
    snapshots = BookSnapshot.objects.filter(market=market, sequence__lte=upto, state__version=VERSION)
    if before is not None:
        snapshots = snapshots.filter(event_at__lt=before)
    if until is not None:
        snapshots = snapshots.filter(event_at__lte=until)
    return snapshots.order_by("-sequence").first()


def save(market: str, sequence: int, event_at: datetime, state: MarketState, seen: Iterable) -> None:
    """Store a snapshot unless one is there already (two replays may write the same one)."""
    BookSnapshot.objects.bulk_create([BookSnapshot(market=market, sequence=sequence, event_at=event_at,
                                                   state=dump(state, market, seen))], ignore_conflicts=True)


def next_mark(sequence: int, every: int = EVERY) -> int:
    """The first sequence after ``sequence`` at which a snapshot is due."""
    return (sequence // every + 1) * every
