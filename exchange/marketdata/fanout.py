"""The fan-out process: what the matcher's publisher hands over after each commit goes out from here.

The matcher's publisher spawns it (``start``): a process, so that its Python work never competes
with matching for the GIL. It does everything that may wait on the network or the database: one
Redis PUBLISH of the book message and trades for ``market.{symbol}`` (each web process's ``hub``
fans it out to its sockets), the ticker (at most once a second per market), the candles the trades changed
(``candlefeed``, for the ``candles:{interval}`` channel), and each touched user's order, fill
and balance messages to ``user.{id}`` with their per-user sequence, all PUBLISHed in one round
trip per turn to the web processes' hubs (``marketdata/hub.py``).
Errors are logged, never raised: a client that misses a message sees it in the sequence and
repairs it (gap fill, or re-snapshot).

Imported before ``django.setup()`` in the spawned process: nothing here may import models at
the top.
"""
import logging
import multiprocessing
import os
import queue
import time

from django.db import connection

from exchange.infra.pubsub import hub_publish
from exchange.infra.redis_clients import redis_client
from exchange.marketdata.groups import market_group, user_group, user_listeners_key, user_sequence_key

log = logging.getLogger("exchange.marketdata")
QUEUE_MAX = 20_000
TICKER_EVERY = 1.0
DRAIN_MAX = 200


def start(parent_pid: int):
    """Spawn the fan-out process for this matcher; returns its queue and the process.

    A process, not a thread: fan-out to thousands of user groups is Python work that, in the
    matcher's process, competed with matching for the GIL (it halved a publishing matcher's
    throughput). Spawned, so it starts with no inherited database or Redis connection."""
    context = multiprocessing.get_context("spawn")
    items_queue = context.Queue(maxsize=QUEUE_MAX)
    process = context.Process(target=fanout_main, args=(items_queue, parent_pid), name="marketdata-fanout", daemon=True)
    process.start()
    return items_queue, process


def touched_users(items: list[dict]) -> set[int]:
    """Every user whose orders, fills or balances these items changed."""
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


def run(items_queue, parent_pid: int | None = None) -> None:
    """The fan-out loop (in its own process): until the parent matcher is gone."""
    from exchange.marketdata.candlefeed import CandleFeed  # needs the models: after django.setup()

    candles = CandleFeed()
    pending_tickers: dict[str, int] = {}
    last_ticker: dict[str, float] = {}
    while parent_pid is None or os.getppid() == parent_pid:
        try:
            items = [items_queue.get(timeout=0.25)]
        except queue.Empty:
            items = []
        # Under load, send what has queued up together: one message per market and per user
        # for many batches, instead of one per batch.
        while items and len(items) < DRAIN_MAX:
            try:
                items.append(items_queue.get_nowait())
            except queue.Empty:
                break
        try:
            if items:
                send_markets(items)
                send_users(items)
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
                    send_ticker(symbol, market_id)
        except Exception:
            log.exception("market data publishing failed")
            try:
                connection.close()
            except Exception:
                log.debug("closing the fan-out's connection failed", exc_info=True)


def send_markets(items: list[dict]) -> None:
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
    hub_publish(redis_client(), [(market_group(symbol), {"type": "md.batch", "frames": out})
                                    for symbol, out in frames.items() if out])

def send_ticker(symbol: str, market_id: int) -> None:
    from exchange.marketdata.messages import ticker_message
    from exchange.marketdata.selectors import _tickers

    ticker = _tickers(market_id, None)[0]
    hub_publish(redis_client(), [(market_group(symbol), {"type": "md.ticker", "ticker": ticker_message(ticker)})])

def send_users(items: list[dict]) -> None:
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
    hub_publish(redis_client(), [(user_group(u), {"type": "user.events", "events": events[u]}) for u in users])


def fanout_main(items_queue, parent_pid: int) -> None:
    """Entry point of the fan-out process that the matcher's publisher spawns."""
    import django

    django.setup()
    from exchange.matching.gc_policy import freeze_loaded_state

    freeze_loaded_state()  # as the web processes do (exchange/asgi.py): collections walk only new objects
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run(items_queue, parent_pid)
