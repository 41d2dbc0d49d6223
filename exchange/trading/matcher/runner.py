"""The matcher's loop: own markets, read command batches, apply, commit, acknowledge, publish.

What a batch means to market data (candles, the Redis book, the hubs' groups) is the sink's
business (``sink.py``): the loop hands it each batch when planned, in the transaction, and after.

One writer per market: a PostgreSQL session advisory lock per market. A matcher that cannot
take a market's lock waits and retries, so a standby takes over within about a second of the
owner's death (its session ends and PostgreSQL frees the lock).

Batches are planned here and committed by the ``BatchWriter``'s thread, in order, while the
next batch is planned (``writer.py`` says why and what keeps it safe). The lock is taken on the
writer's connection, so it is held by the session that writes.

Failure handling, in one place (``_recover_all``): any database or Redis error, on either
thread, drops every market this process owns, closes the connections, and starts again from
PostgreSQL (lock, rebuild the book, re-read the pending stream entries, relay what is
unapplied). Commands are acknowledged in Redis only after their batch committed, and a command
marked applied in PostgreSQL is never applied again, so no crash point loses or doubles anything.
"""
import contextlib
import logging
import os
import socket
import sys
import time
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
import redis
from django.db import DatabaseError, connection, transaction

from exchange.infra.redis_clients import redis_client
from exchange.markets.models import Market
from exchange.matching import OrderBook
from exchange.matching.gc_policy import BatchCollector, freeze_loaded_state, tune_for_large_books
from exchange.trading.matcher import metrics
from exchange.trading.matcher.apply import BatchApplier
from exchange.trading.matcher.batchwrite import BatchWrite
from exchange.trading.matcher.persist import load_commands, write_plan
from exchange.trading.matcher.recovery import rebuild, unapplied_command_ids
from exchange.trading.matcher.sink import matcher_sink
from exchange.trading.matcher.state import BatchPlan, MarketContext, OrderState
from exchange.trading.matcher.writer import BatchWriter
from exchange.trading.streams import CONSUMER, GROUP, stream_key

log = logging.getLogger("exchange.matcher")
LOCK_NAMESPACE = 0x6D61  # "ma": keeps our advisory lock keys apart from anyone else's


def lock_key(symbol: str) -> int:
    return (LOCK_NAMESPACE << 32) | zlib.crc32(symbol.encode())


@dataclass
class OwnedMarket:
    market: Market
    ctx: MarketContext
    book: OrderBook
    orders: dict[int, OrderState]
    last_relay: float = field(default_factory=time.monotonic)
    last_book_repair: float = 0.0
    # Batches planned but maybe not committed: (batch number, command ids, finished order ids).
    # Until a load that began after their commit, the database may still show those commands
    # unapplied and those orders live, so memory is what says they are applied or finished.
    unconfirmed: deque = field(default_factory=deque)
    applied_unconfirmed: set[int] = field(default_factory=set)

    def remember(self, number: int, command_ids: list[int], finished: list[int]) -> None:
        self.unconfirmed.append((number, command_ids, finished))
        self.applied_unconfirmed.update(command_ids)

    def forget_committed(self, committed: int) -> None:
        """Drop what batches up to ``committed`` (committed before the last load began) left
        in memory: the rows that load read show their effects."""
        while self.unconfirmed and self.unconfirmed[0][0] <= committed:
            _, command_ids, finished = self.unconfirmed.popleft()
            self.applied_unconfirmed.difference_update(command_ids)
            for order_id in finished:
                self.orders.pop(order_id, None)


def _try_advisory_lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _write_heartbeat(owner: str, market_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE trading_matcherstate SET owner = %s, heartbeat_at = now() WHERE market_id = %s",
                       [owner, market_id])


class Matcher:
    def __init__(self, symbols: list[str] | None, *, batch_size: int = 2000, block_ms: int = 50,
                 relay_every: float = 5.0, publish: bool = True, in_flight: int = 1) -> None:
        # None: follow every market, including those listed after the matcher started (an
        # operator's new market must trade without a restart).
        self.follow_all = symbols is None
        self.symbols = list(symbols or [])
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.relay_every = relay_every
        self.publish = publish
        self.in_flight = in_flight  # batches that may be committing while the next is planned
        self.owned: dict[str, OwnedMarket] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.running = True
        self.stats = {"commands": 0, "batches": 0, "trades": 0}
        self.writer = BatchWriter(max_in_flight=in_flight + 1)
        self.relayer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay")
        self._relaying: dict[str, Future] = {}
        self.known_balances: set[tuple[int, int]] = set()  # (account, asset) with a balance row
        self.sink = matcher_sink()  # market data's candles and publishing (EXCHANGE_MATCHER_SINK)
        self.collector = BatchCollector(now=time.monotonic())
        tune_for_large_books()
        # The writer thread comes back from PostgreSQL a dozen times per batch, and each time may
        # wait a whole switch interval for the GIL while the main thread plans (5 ms by default:
        # 15-command batches took 10-15 ms to write). Half a millisecond keeps that convoy short.
        sys.setswitchinterval(0.0005)

    # ------------------------------------------------------------------ ownership

    def _try_own(self, symbol: str) -> None:
        if not self.writer.call(_try_advisory_lock, lock_key(symbol)):
            return
        market = Market.objects.select_related("base", "quote").get(symbol=symbol)
        ctx, book, orders = rebuild(market)
        self.owned[symbol] = OwnedMarket(market, ctx, book, orders)
        freeze_loaded_state()
        created = self._ensure_group(symbol)
        log.info("%s: owned by %s at sequence %s with %s open orders", symbol, self.owner, ctx.sequence, len(orders))
        if created:  # a new stream holds nothing: everything unapplied must be republished
            self._relay(self.owned[symbol], older_than=0, force=True)
        self._drain_pending(self.owned[symbol])
        self.writer.flush()
        self._relay(self.owned[symbol], older_than=0)

    def _ensure_group(self, symbol: str) -> bool:
        """Create the consumer group (and the stream); True if it did not exist."""
        try:
            redis_client().xgroup_create(stream_key(symbol), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    @staticmethod
    def _group(symbol: str) -> dict | None:
        """XINFO GROUPS' entry for the matchers' group of this market's stream."""
        for group in redis_client().xinfo_groups(stream_key(symbol)):
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            if name == GROUP:
                return group
        return None

    def _trim_stream(self, symbol: str) -> None:
        """Drop the entries the group has read and acknowledged: those before both its oldest
        pending entry and its last delivered one. Without this a stream keeps every command
        ever sent. (Nothing can be lost by trimming: PostgreSQL has the commands and the relay
        republishes any that are unapplied.)"""
        group = self._group(symbol)
        if group is None:
            return
        key = stream_key(symbol)
        summary = redis_client().xpending(key, GROUP)
        keep_from = summary["min"] if summary["pending"] else group["last-delivered-id"]
        if isinstance(keep_from, bytes):
            keep_from = keep_from.decode()
        if keep_from in ("0-0", "0"):
            return
        redis_client().xtrim(key, minid=keep_from, approximate=False)

    def _keeping_up(self, symbol: str) -> bool:
        """True when at most one batch of entries waits unread in the stream."""
        group = self._group(symbol)
        if group is None:
            return True
        lag = group.get("lag")
        if lag is None:  # Redis before 7 does not say: only when nothing is pending
            return group["pending"] == 0
        return lag <= self.batch_size

    def _relay(self, owned: OwnedMarket, *, older_than: float, force: bool = False) -> None:
        """Republish commands that PostgreSQL has and the matcher has not applied (Redis may
        have lost them, or the web process may have died before its XADD).

        Only while the matcher keeps up with the stream: when it is behind, the unapplied
        commands are most likely among the unread entries, and republishing them would only
        multiply the work of a matcher that is already behind. A command republished while its
        entry is still in the stream is read twice and applied once."""
        owned.last_relay = time.monotonic()
        symbol, market_id = owned.ctx.symbol, owned.ctx.market_id
        if not force and not self._keeping_up(symbol):
            return
        ids = unapplied_command_ids(market_id, older_than_seconds=older_than)
        if ids:
            pipe = redis_client().pipeline(transaction=False)
            for command_id in ids:
                pipe.xadd(stream_key(symbol), {"c": command_id})
            pipe.execute()
            log.info("%s: relayed %s unapplied commands", symbol, len(ids))

    def _relay_quietly(self, owned: OwnedMarket) -> None:
        """The periodic relay, on the relay thread: its query reads index entries of every
        command applied since the last one (tens of milliseconds under load), which on the
        matcher's thread stalled every batch behind it."""
        try:
            self._relay(owned, older_than=self.relay_every)
        except Exception:
            log.warning("relay of %s failed; the next one retries", owned.ctx.symbol, exc_info=True)
            with contextlib.suppress(Exception):
                connection.close()

    def _maintain(self, owned: OwnedMarket) -> None:
        """Every ``relay_every`` seconds: take over entries left pending by a process that read
        them and then lost its lock; republish what the stream lost (on the relay thread);
        beat the heart."""
        owned.last_relay = time.monotonic()
        symbol = owned.ctx.symbol
        # Entries pending for longer than a relay period are not this process's batches in
        # flight (those are acknowledged within a commit).
        stale = redis_client().xpending_range(stream_key(symbol), GROUP, "-", "+", 1, idle=int(self.relay_every * 1000))
        if stale:
            self.writer.flush()
            self._drain_pending(owned)
            self.writer.flush()
        self._trim_stream(symbol)
        relaying = self._relaying.get(symbol)
        if relaying is None or relaying.done():
            self._relaying[symbol] = self.relayer.submit(self._relay_quietly, owned)
        self._heartbeat(owned)

    def _drain_pending(self, owned: OwnedMarket) -> None:
        """Process entries delivered and never acknowledged (before a crash, or to a process
        that lost its lock). Call with nothing in flight: this process's own batches ack theirs."""
        key = stream_key(owned.ctx.symbol)
        after = "0"
        # XREADGROUP's reply: redis-py declares the union of its RESP2 and RESP3 shapes; our client
        # speaks RESP2, a list of (stream, [(id, fields)]).
        reply: Any
        while True:  # pending entries after ``after``: the ones just planned are still pending
            reply = redis_client().xreadgroup(GROUP, CONSUMER, {key: after}, count=self.batch_size)
            entries = reply[0][1] if reply else []
            if not entries:
                return
            self._process(owned, entries)
            after = entries[-1][0]

    # ------------------------------------------------------------------ the loop

    def run(self, *, max_seconds: float | None = None) -> None:
        if self.publish:
            self.sink.ready()
        try:
            self._loop(max_seconds)
        finally:
            self.writer.shutdown()  # what was planned commits (or is replayed by the next owner)
            with contextlib.suppress(Exception):
                self.relayer.submit(connection.close).result()
            self.relayer.shutdown(wait=True)

    def _loop(self, max_seconds: float | None) -> None:
        started = time.monotonic()
        last_claim = last_discovery = 0.0
        while self.running and (max_seconds is None or time.monotonic() - started < max_seconds):
            try:
                self.writer.reap()
                if self.follow_all and time.monotonic() - last_discovery > 2.0:
                    last_discovery = time.monotonic()
                    self.symbols = list(Market.objects.order_by("symbol").values_list("symbol", flat=True))
                if len(self.owned) < len(self.symbols) and time.monotonic() - last_claim > 0.5:
                    last_claim = time.monotonic()
                    for symbol in self.symbols:
                        if symbol not in self.owned:
                            self._try_own(symbol)
                if not self.owned:
                    time.sleep(0.2)
                    continue
                self._step()
            except (DatabaseError, psycopg.Error, redis.RedisError) as exc:
                log.warning("matcher error, recovering from PostgreSQL: %r", exc)
                self._recover_all()

    def _step(self) -> None:
        self.writer.wait(at_most=self.in_flight)
        streams: dict = {stream_key(s): ">" for s in self.owned}
        reply: Any  # RESP2: a list of (stream, [(id, fields)]), as in _drain_pending
        try:
            reply = redis_client().xreadgroup(GROUP, CONSUMER, streams, count=self.batch_size, block=self.block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the stream (FLUSHALL or a restart without persistence): recreate it and
            # republish everything unapplied from PostgreSQL, once what is planned has committed.
            self.writer.flush()
            for symbol, owned in self.owned.items():
                self._ensure_group(symbol)
                self._relay(owned, older_than=0, force=True)
            return
        if not reply:
            self._when_idle()
        by_key = {stream_key(s): s for s in self.owned}
        for key, entries in reply or []:
            key = key.decode() if isinstance(key, bytes) else key
            self._process(self.owned[by_key[key]], entries)
        now = time.monotonic()
        for owned in self.owned.values():
            if now - owned.last_relay > self.relay_every:
                self._maintain(owned)

    def _when_idle(self) -> None:
        self.collector.when_idle(time.monotonic())
        if not self.publish:
            return
        now = time.monotonic()
        for owned in self.owned.values():
            # A rebuilt book, or a Redis book that vanished, is published whole by the next
            # batch; with no batch coming, do it now (at most once a second).
            if now - owned.last_book_repair > 1.0 and not self.sink.book_published(owned.ctx.symbol, owned.book):
                owned.last_book_repair = now
                captured = self.sink.capture(owned.ctx, owned.book, BatchPlan(), publish=True)
                self.writer.submit(partial(self.sink.send, captured))

    def _heartbeat(self, owned: OwnedMarket) -> None:
        self.writer.submit(partial(_write_heartbeat, self.owner, owned.ctx.market_id))
        metrics.backlog_sample(owned.ctx.symbol, redis_client(), stream_key(owned.ctx.symbol), GROUP)

    def _process(self, owned: OwnedMarket, entries: list) -> None:
        """Plan one batch on this thread and queue its commit on the writer's."""
        if not entries:
            return
        entry_ids = [eid for eid, _ in entries]
        seen: set[int] = set()
        command_ids = []
        for _, fields in entries:
            raw = fields.get(b"c") or fields.get("c")
            command_id = int(raw)
            if command_id not in seen:  # the relay may have published a command twice
                seen.add(command_id)
                command_ids.append(command_id)
        stream_id = entry_ids[-1].decode() if isinstance(entry_ids[-1], bytes) else entry_ids[-1]
        started = time.perf_counter()
        committed = self.writer.committed  # read BEFORE the load: the load sees these batches' effects
        rows = load_commands(command_ids)
        owned.forget_committed(committed)
        market_id, applied = owned.ctx.market_id, owned.applied_unconfirmed
        commands = [rows[c] for c in command_ids if c in rows and rows[c].market_matches(market_id) and c not in applied]
        plan = BatchApplier(owned.ctx, owned.book, owned.orders).apply(commands)
        write = BatchWrite.capture(owned.ctx, plan, stream_id=stream_id, owner=self.owner,
                                   known_balances=self.known_balances)
        captured = self.sink.capture(owned.ctx, owned.book, plan, publish=self.publish)
        finished = []
        for order_id, state in plan.orders.items():
            state.dirty = False
            state.hold_delta = state.hold_delta.__class__(0)
            if state.status not in ("open", "pending"):
                finished.append(order_id)
        number = self.writer.submit(partial(self._commit, write, entry_ids, captured, started))
        owned.remember(number, [c for c, _, _ in plan.commands], finished)
        self.stats["commands"] += len(plan.commands)
        self.stats["batches"] += 1
        self.stats["trades"] += len(plan.fills)
        self.collector.after_batch()

    def _commit(self, write: BatchWrite, entry_ids: list, captured: object | None, started: float) -> None:
        """On the writer's thread: one transaction (the batch, then the sink's rows), then XACK,
        then the sink sends."""
        symbol = write.ctx.symbol
        with transaction.atomic():
            write_plan(write)
            self.sink.write(captured)
        metrics.batch_done(symbol, write.command_count, time.perf_counter() - started)
        redis_client().xack(stream_key(symbol), GROUP, *entry_ids)
        self.sink.send(captured)

    def _recover_all(self) -> None:
        """Forget everything in memory; the next loop re-owns markets from PostgreSQL."""
        with contextlib.suppress(Exception):
            self.writer.reset()  # closes the writer's connection: its advisory locks go with it
        self.owned.clear()
        self.known_balances.clear()  # a failed batch may have been the one that created some
        with contextlib.suppress(DatabaseError):
            connection.close()
        time.sleep(0.5)

    def stop(self, *_args) -> None:
        self.running = False
