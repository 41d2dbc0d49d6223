"""Publishing from the matcher, after each commit.

In two steps, because the matcher plans batch N+1 while batch N commits (see
``exchange.trading.matcher.writer``). ``prepare``, in the matcher's thread as soon as a batch is
planned: the batch's book changes coalesced to one change per level, the checksum of the top
levels, and copies of the order states, all as of the end of that batch. ``send``, on the
writer's thread once the batch has committed (a few hundred microseconds): the changes go into the
Redis book with one Lua script that also moves the head to the batch's sequence and keeps the
message for gap fill. Then the batch is handed to a fan-out process that the matcher spawns
(``fanout_main``; a process so that its Python work never competes with matching for the
GIL), which does everything that may wait on the network or the database: one Redis PUBLISH of
the book message and trades for ``market.{symbol}`` (each web process's ``hub`` fans it out to
its sockets), the ticker (at most once a second per market), the candles the trades changed
(``candlefeed``, for the ``candles:{interval}`` channel), and each touched user's order, fill
and balance messages as a Channels ``group_send`` to ``user.{id}`` with their per-user sequence.
Errors are logged, never raised: a client that misses a message sees it in the sequence and
repairs it (gap fill, or re-snapshot).

The book chain: each book message has ``sequence`` (the market sequence after its batch) and
``prev_sequence`` (the ``sequence`` of the previous book message, which is the head the Lua
script found). The first publish of a matcher for a book it rebuilt compares the Redis book with
its own and publishes the difference, so a crash between a commit and its publish costs clients
nothing; if Redis has no book at all, the book is written afresh (reset) and the gap-fill window
starts again.
"""
import asyncio
import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import orjson
from channels.layers import get_channel_layer
from django.db import connection

from exchange.infra.redis_clients import redis_client
from exchange.marketdata.bookstore import BookStore
from exchange.marketdata.checksum import book_checksum, decimal_text
from exchange.marketdata.hub import public_publish
from exchange.marketdata.order_events import order_event

log = logging.getLogger("exchange.marketdata")
QUEUE_MAX = 20_000
TICKER_EVERY = 1.0
DRAIN_MAX = 200


def market_group(symbol: str) -> str:
    return f"market.{symbol}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def user_sequence_key(user_id: int) -> str:
    return f"md:user:{user_id}:seq"


def user_listeners_key(user_id: int) -> str:
    """How many ``/ws/user/`` sockets of this user are open (the consumer counts them)."""
    return f"md:user:{user_id}:listeners"


def touched_users(items: list[dict]) -> set[int]:
    users = {o["user_id"] for item in items for o in item["orders"]}
    for item in items:
        users.update(item["balance_users"])
        for fill in item["fills"]:
            users.add(fill[5])
            users.add(fill[6])
    return users


def only_for(items: list[dict], users: set[int]) -> list[dict]:
    """The items cut down to what concerns ``users`` (a fill stays if either side is theirs)."""
    return [{**item, "orders": [o for o in item["orders"] if o["user_id"] in users],
             "fills": [f for f in item["fills"] if f[5] in users or f[6] in users],
             "balance_users": [u for u in item["balance_users"] if u in users]} for item in items]


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
        self.queue = None  # to the fan-out process, created with it
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
                book_message = self._write_book(prepared)
            except Exception:
                # Whether or not the write landed is unknown: compare the whole book next time.
                self.heads.pop(prepared.symbol, None)
                raise
        item = prepared.item
        if item is None or not (book_message or item["trades"] or item["orders"] or item["status_changed"]):
            return
        item["book"] = book_message
        self._ensure_worker()
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            log.warning("market data queue full: dropped batch %s of %s", prepared.sequence, prepared.symbol)

    def _write_book(self, prepared: "PreparedBatch") -> dict | None:
        known = self.heads.get(prepared.symbol)
        if known is not None and known[0] is prepared.book:
            message = self._message(prepared, known[1], prepared.changes)
            ok, _ = self.store().write(prepared.symbol, mode="delta", expected_head=known[1], head=prepared.sequence,
                                       message=orjson.dumps(message), changes=prepared.changes)
            if ok:
                self.heads[prepared.symbol] = (prepared.book, prepared.sequence)
                return message
            log.warning("%s: the Redis book moved under us; resynchronising", prepared.symbol)
            self.heads.pop(prepared.symbol, None)
        if prepared.full_book is None:
            # The whole book was not copied for this batch; the next batch copies it (its
            # ``heads`` entry is gone) and resynchronises. Clients see the gap and repair it.
            return None
        return self._resync(prepared)

    def _resync(self, prepared: "PreparedBatch") -> dict | None:
        """First publish for this book object: publish the difference from the Redis book."""
        store = self.store()
        symbol, mine = prepared.symbol, prepared.full_book
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
        message = self._message(prepared, head or 0, changes)
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

    # ------------------------------------------------------------------ background thread

    def _ensure_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                # A process, not a thread: fan-out to thousands of user groups is Python work
                # that, in the matcher's process, competed with matching for the GIL (it halved
                # a publishing matcher's throughput). Spawned, so it starts with no inherited
                # database or Redis connection.
                context = multiprocessing.get_context("spawn")
                self.queue = context.Queue(maxsize=QUEUE_MAX)
                self._worker = context.Process(target=fanout_main, args=(self.queue, os.getpid()),
                                               name="marketdata-fanout", daemon=True)
                self._worker.start()

    def run_fanout(self, items_queue, parent_pid: int | None = None) -> None:
        """The fan-out loop (in its own process): until the parent matcher is gone."""
        from exchange.marketdata.candlefeed import CandleFeed  # needs the models: after django.setup()

        loop = asyncio.new_event_loop()
        candles = CandleFeed()
        pending_tickers: dict[str, int] = {}
        last_ticker: dict[str, float] = {}
        while parent_pid is None or os.getppid() == parent_pid:
            try:
                items = [items_queue.get(timeout=0.25)]
            except queue.Empty:
                items = []
            # Under load, send what has queued up together: one group_send per market and per
            # user for many batches, instead of one per batch.
            while items and len(items) < DRAIN_MAX:
                try:
                    items.append(items_queue.get_nowait())
                except queue.Empty:
                    break
            try:
                layer = get_channel_layer()
                if items:
                    self._send_markets(items)
                    self._send_users(loop, layer, items)
                    for item in items:
                        if item["trades"] or item["book"]:
                            pending_tickers[item["symbol"]] = item["market_id"]
                # Also on idle turns: a candle closes when its bucket ends, trade or no trade.
                candles.send(items, time.time())
                now = time.monotonic()
                for symbol, market_id in list(pending_tickers.items()):
                    if now - last_ticker.get(symbol, 0) >= TICKER_EVERY:
                        del pending_tickers[symbol]
                        last_ticker[symbol] = now
                        self._send_ticker(symbol, market_id)
            except Exception:
                log.exception("market data publishing failed")
                try:
                    connection.close()
                except Exception:
                    log.debug("closing the publisher's connection failed", exc_info=True)

    def _send_markets(self, items: list[dict]) -> None:
        """Per market, the frames of these batches in order: book, trades, status. Every frame
        has a ``sequence`` (a trade's is its own, the others their batch's), which is what the
        consumer compares with its snapshot's."""
        frames: dict[str, list[dict]] = {}
        for item in items:
            symbol = item["symbol"]
            out = frames.setdefault(symbol, [])
            if item["book"]:
                out.append(item["book"])
            out.extend({"type": "trade", "market": symbol, "trade_id": f"{symbol}:{t['sequence']}", **t}
                       for t in item["trades"])
            if item["status_changed"]:
                out.append({"type": "status", "market": symbol, "sequence": item["sequence"], "status": item["status"]})
        public_publish(redis_client(), [(market_group(symbol), {"type": "md.batch", "frames": out})
                                        for symbol, out in frames.items() if out])

    def _send_ticker(self, symbol: str, market_id: int) -> None:
        from exchange.marketdata.messages import ticker_message
        from exchange.marketdata.selectors import _tickers

        ticker = _tickers(market_id, None)[0]
        public_publish(redis_client(), [(market_group(symbol), {"type": "md.ticker", "ticker": ticker_message(ticker)})])

    def _send_users(self, loop, layer, items: list[dict]) -> None:
        from exchange.marketdata.messages import user_events

        # Only users with a socket open get messages: most accounts that trade (programs using
        # REST) never listen, and building and sending their frames was most of the fan-out's
        # work. A socket counts itself before it joins its group and reads its sequence, so a
        # batch it misses is in what its page loads after subscribing.
        users = sorted(touched_users(items))
        if not users:
            return
        counts = redis_client().mget([user_listeners_key(u) for u in users])
        listening = {u for u, count in zip(users, counts, strict=True) if count is not None and int(count) > 0}
        if not listening:
            return
        events = {u: frames for u, frames in user_events(only_for(items, listening)).items() if u in listening}
        if not events:
            return
        pipe = redis_client().pipeline(transaction=False)
        users = sorted(events)
        for user_id in users:
            pipe.incrby(user_sequence_key(user_id), len(events[user_id]))
        lasts = pipe.execute()
        for user_id, last in zip(users, lasts, strict=True):
            frames = events[user_id]
            for offset, frame in enumerate(frames):
                frame["sequence"] = last - len(frames) + 1 + offset
            loop.run_until_complete(layer.group_send(user_group(user_id), {"type": "user.events", "events": frames}))


_publisher = Publisher()


def fanout_main(items_queue, parent_pid: int) -> None:
    """Entry point of the fan-out process that the matcher's publisher spawns."""
    import django

    django.setup()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Publisher().run_fanout(items_queue, parent_pid)


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
