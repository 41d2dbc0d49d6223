"""Publishing from the matcher, after each commit.

In two steps, because the matcher plans batch N+1 while batch N commits (see
``exchange.trading.matcher.writer``). ``prepare``, in the matcher's thread as soon as a batch is
planned: the batch's book changes coalesced to one change per level, the checksum of the top
levels, and copies of the order states, all as of the end of that batch. ``send``, on the
writer's thread once the batch has committed (a few hundred microseconds): the changes go into the
Redis book with one Lua script that also moves the head to the batch's sequence and keeps the
message for gap fill. Then the batch is handed to the fan-out process that the matcher spawns
(``fanout.py``), which sends the market and user messages, tickers and candles.

The book chain: each book message has ``sequence`` (the market sequence after its batch) and
``prev_sequence`` (the ``sequence`` of the previous book message, which is the head the Lua
script found). The first publish of a matcher for a book it rebuilt compares the Redis book with
its own and publishes the difference, so a crash between a commit and its publish costs clients
nothing; if Redis has no book at all, the book is written afresh (reset) and the gap-fill window
starts again.
"""
import logging
import multiprocessing
import multiprocessing.queues
import os
import queue
import threading
from dataclasses import dataclass
from decimal import Decimal

import orjson

from exchange.infra.redis_clients import redis_client
from exchange.marketdata import fanout
from exchange.marketdata.bookstore import BookStore
from exchange.marketdata.checksum import book_checksum, decimal_text
from exchange.marketdata.order_events import order_event

log = logging.getLogger("exchange.marketdata")


class _Texts(dict):
    """Memo of ``decimal_text(units * step)``: prices and quantities repeat from batch to batch."""

    def __missing__(self, key: tuple[int, Decimal]) -> str:
        if len(self) > 200_000:
            self.clear()
        text = self[key] = decimal_text(key[0] * key[1])
        return text


@dataclass(slots=True)
class PreparedBatch:
    """One batch's market data, copied from the matcher's state when the batch was planned."""

    symbol: str
    sequence: int
    tick_size: Decimal
    book: object  # compared by identity only: a new book object means the matcher rebuilt it
    checksum: int | None
    changes: list | None  # coalesced (side, price text, quantity text, ticks); None: the book did not change
    full_book: dict | None  # (side, price text) -> (quantity text, ticks), when a resync may be needed
    before_batch: int
    item: dict | None  # what the background thread sends (see ``_item``)


class Publisher:
    def __init__(self) -> None:
        self.texts = _Texts()
        self.heads: dict[str, tuple[object, int]] = {}  # symbol -> (the book object, its head in Redis)
        self.queue: multiprocessing.queues.Queue | None = None  # to the fan-out process, created with it
        self._store: BookStore | None = None
        self._worker: multiprocessing.process.BaseProcess | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ matcher thread

    def store(self) -> BookStore:
        client = redis_client()
        if self._store is None or self._store.client is not client:
            self._store = BookStore(client)
        return self._store

    def knows(self, symbol: str, book) -> bool:
        """Whether the Redis book is known to be this book as of its last publish."""
        known = self.heads.get(symbol)
        return known is not None and known[0] is book

    def prepare(self, ctx, book, plan) -> "PreparedBatch | None":
        """Everything ``send`` needs from the book, the context and the order states, copied
        now: the matcher goes on to the next batch while this one commits."""
        has_user_news = bool(plan.trades or plan.orders or plan.status_changed)
        fresh_book = not self.knows(ctx.symbol, book)
        if not (plan.book_changes or fresh_book or has_user_news):
            return None
        tick, lot, texts = ctx.tick_size, ctx.lot_size, self.texts
        checksum, changes, full = None, None, None
        if plan.book_changes or fresh_book:
            bids, asks = book.depth(25)
            checksum = book_checksum([(texts[p, tick], texts[q, lot]) for p, q in bids],
                                     [(texts[p, tick], texts[q, lot]) for p, q in asks])
            latest: dict[tuple[str, int], int] = {}
            for side, price, quantity in plan.book_changes:
                latest[(side, price)] = quantity
            changes = [(side, texts[price, tick], texts[quantity, lot], price) for (side, price), quantity in latest.items()]
            if fresh_book:
                full_bids, full_asks = book.depth(1 << 30)
                full = {("buy", decimal_text(p * tick)): (decimal_text(q * lot), p) for p, q in full_bids}
                full.update({("sell", decimal_text(p * tick)): (decimal_text(q * lot), p) for p, q in full_asks})
        return PreparedBatch(
            symbol=ctx.symbol, sequence=ctx.sequence, tick_size=tick, book=book, checksum=checksum, changes=changes,
            full_book=full, before_batch=plan.journal[0][0] - 1 if plan.journal else ctx.sequence,
            item=self._item(ctx, plan, None) if has_user_news or plan.book_changes else None,
        )

    def send(self, prepared: "PreparedBatch") -> None:
        """After the batch committed: write the Redis book, then queue the Channels messages."""
        book_message = None
        if prepared.changes is not None:
            try:
                book_message = self._write_book(prepared, prepared.changes)
            except Exception:
                # Whether or not the write landed is unknown: compare the whole book next time.
                self.heads.pop(prepared.symbol, None)
                raise
        item = prepared.item
        if item is None or not (book_message or item["trades"] or item["orders"] or item["status_changed"]):
            return
        item["book"] = book_message
        try:
            self._ensure_worker().put_nowait(item)
        except queue.Full:
            log.warning("market data queue full: dropped batch %s of %s", prepared.sequence, prepared.symbol)

    def _write_book(self, prepared: "PreparedBatch", changes: list) -> dict | None:
        known = self.heads.get(prepared.symbol)
        if known is not None and known[0] is prepared.book:
            message = self._message(prepared, known[1], changes)
            ok, _ = self.store().write(prepared.symbol, mode="delta", expected_head=known[1], head=prepared.sequence,
                                       message=orjson.dumps(message), changes=changes)
            if ok:
                self.heads[prepared.symbol] = (prepared.book, prepared.sequence)
                return message
            log.warning("%s: the Redis book moved under us; resynchronising", prepared.symbol)
            self.heads.pop(prepared.symbol, None)
        if prepared.full_book is None:
            # The whole book was not copied for this batch; the next batch copies it (its
            # ``heads`` entry is gone) and resynchronises. Clients see the gap and repair it.
            return None
        return self._resync(prepared, prepared.full_book)

    def _resync(self, prepared: "PreparedBatch", mine: dict) -> dict | None:
        """First publish for this book object: publish the difference from the Redis book."""
        store = self.store()
        symbol = prepared.symbol
        head, stored_bids, stored_asks = store.snapshot(symbol, 0)
        if head is None and prepared.before_batch != 0:
            changes = [(side, price, quantity, ticks) for (side, price), (quantity, ticks) in mine.items()]
            store.write(symbol, mode="reset", expected_head=None, head=prepared.sequence, message=None, changes=changes)
            self.heads[symbol] = (prepared.book, prepared.sequence)
            log.info("%s: Redis had no book; wrote it afresh at %s", symbol, prepared.sequence)
            return None
        theirs = {("buy", p): q for p, q in stored_bids}
        theirs.update({("sell", p): q for p, q in stored_asks})
        changes = [(side, price, quantity, ticks) for (side, price), (quantity, ticks) in mine.items()
                   if theirs.get((side, price)) != quantity]
        for side, price in theirs.keys() - mine.keys():
            changes.append((side, price, "0", int(Decimal(price) / prepared.tick_size)))
        if not changes:
            if head is None:  # nothing stored, nothing to say: store the empty book, so a delta can follow it
                store.write(symbol, mode="reset", expected_head=None, head=prepared.sequence, message=None, changes=[])
                head = prepared.sequence
            self.heads[symbol] = (prepared.book, head)
            return None
        message: dict | None = self._message(prepared, head or 0, changes)
        ok, _ = store.write(symbol, mode="delta", expected_head=head, head=prepared.sequence,
                            message=orjson.dumps(message), changes=changes)
        if not ok:  # someone else wrote meanwhile: start afresh rather than guess
            store.write(symbol, mode="reset", expected_head=None, head=prepared.sequence, message=None,
                        changes=[(s, p, q, t) for (s, p), (q, t) in mine.items()])
            message = None
        self.heads[symbol] = (prepared.book, prepared.sequence)
        return message

    @staticmethod
    def _message(prepared: "PreparedBatch", prev: int, changes: list) -> dict:
        return {"type": "book", "market": prepared.symbol, "sequence": prepared.sequence, "prev_sequence": prev,
                "changes": [[side, price, quantity] for side, price, quantity, _ in changes],
                "checksum": prepared.checksum}

    def _item(self, ctx, plan, book_message) -> dict:
        """What the background thread needs, copied now: the order states change in later batches."""
        orders = [
            {"order_id": s.order_id, "user_id": s.user_id, "side": s.side, "type": s.order_type,
             "status": s.status, "filled_quantity": s.filled_quantity, "remaining": s.open_quantity,
             "filled_notional": s.filled_notional, "fees_paid": s.fees_paid, "cancel_reason": s.cancel_reason}
            for s in plan.orders.values()
        ]
        accounts = {s.account_id: s.user_id for s in plan.orders.values()}
        # A new order's hold was taken at entry, so its owner's balance changed with no posting
        # in this batch: the ``balance`` frame goes out with the order's ``accepted``.
        touched: set[int] = {o["user_id"] for o in orders if order_event(o["status"], o["filled_quantity"]) == "accepted"}
        for _kind, _ref, postings in plan.entries:
            for posting in postings:
                user_id = accounts.get(posting.account_id)
                if user_id is not None:
                    touched.add(user_id)
        return {
            "symbol": ctx.symbol, "market_id": ctx.market_id, "sequence": ctx.sequence, "status": ctx.status,
            "status_changed": plan.status_changed, "book": book_message, "trades": list(plan.trades),
            "orders": orders, "fills": list(plan.fills), "balance_users": sorted(touched),
            "assets": (ctx.base_id, ctx.quote_id),
        }

    # ------------------------------------------------------------------ writer thread

    def _ensure_worker(self) -> "multiprocessing.queues.Queue":
        """The queue to the fan-out process, which is started (again) if it is not running."""
        if self._worker is not None and self._worker.is_alive() and self.queue is not None:
            return self.queue
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self.queue, self._worker = fanout.start(os.getpid())
            assert self.queue is not None  # made with the worker, just now or before
            return self.queue

_publisher = Publisher()


def start_fanout() -> None:
    """Start the fan-out process now, not with the first batch to publish: it takes seconds to
    start (Django's set-up), and the first trades after a matcher (re)start waited for it (the
    p99 of trade delivery in a bench's first seconds was 2-3 s). Never raises: the first batch
    tries again."""
    try:
        _publisher._ensure_worker()
    except Exception:
        log.exception("starting the market data fan-out failed; the first batch tries again")


def prepare_batch(ctx, book, plan) -> PreparedBatch | None:
    """Called by the matcher when it has planned a batch, before it moves on; never raises."""
    try:
        return _publisher.prepare(ctx, book, plan)
    except Exception:
        log.exception("preparing %s at %s for publishing failed", ctx.symbol, ctx.sequence)
        return None


def book_published(symbol: str, book) -> bool:
    """False when the next publish must compare the whole book with Redis's (a rebuilt book, or
    a Redis book that moved or vanished)."""
    return _publisher.knows(symbol, book)


def send_batch(prepared: PreparedBatch | None) -> None:
    """Called after the prepared batch committed; never raises."""
    if prepared is None:
        return
    try:
        _publisher.send(prepared)
    except Exception:
        log.exception("publishing %s at %s failed", prepared.symbol, prepared.sequence)
