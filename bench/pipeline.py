#!/usr/bin/env python
"""Order-pipeline benchmark: matcher throughput, XADD-to-commit latency, order entry throughput.

    .venv/bin/python bench/pipeline.py              # default run (~3-5 minutes on 2 cores)
    .venv/bin/python bench/pipeline.py --quick      # ~30 s smoke run
    .venv/bin/python bench/pipeline.py --commands 50000 --rate 3000 --profile-matcher var/bench/matcher.prof

It needs PostgreSQL and Redis. It uses a database and a Redis db number of its own (defaults
below, or ``--database-url`` / ``--redis-url``, or the ``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL``
environment variables) and WIPES them at the start: the database is created if missing,
migrated, and every application table is truncated; the Redis db is flushed.

Phases (one market, BTC-USD, for A and B; a second market, ETH-USD, for C; a third, SOL-USD, for A0):

A0. The baseline, measured first in the same run: phase A's backlog (same seed, same number of
   traders) on a twin market through ``run_matcher --in-flight 0``, which commits each batch
   before it reads the next (the matcher's design before 2026-12-05). Skip with --no-baseline.

A. Throughput from a backlog. The matcher (``manage.py run_matcher --no-publish``, a
   subprocess) is started on an empty market and left idle. Then N commands from many users are
   written exactly as ``order_place`` / ``order_cancel`` leave them (Order rows ``pending``, a
   ``hold`` LedgerEntry with its two Postings, Balance available/held moved, a Command row; a
   cancel sets ``Order.cancel_requested_at`` and writes a ``cancel`` Command), in bulk (COPY) and
   one transaction, then their ids are XADDed to ``cmd:BTC-USD``. We time from the first XADD to
   the commit of the last command. The mix: limit orders around a mid price that follows a
   random walk (most passive, ~30% priced through the mid so they trade, a few IOC), a few
   market orders (sells by quantity, buys by quote amount), ~22% cancels of live orders.
B. Latency at a fixed offered rate. More commands of the same mix are pre-written (each with
   ``created_at`` = the moment it is scheduled to be XADDed, as ``order_place`` would leave it),
   then a producer process XADDs them one tick at a time at ``--rate`` commands/s, recording the
   time of each XADD. Commit times are exact: the benchmark installs, in ITS OWN database only,
   a statement-level trigger on ``trading_command`` that NOTIFYs the updating transaction's id
   (one NOTIFY per matcher batch, delivered at commit), and a listener process timestamps each
   notification. Each command's commit time is that of the notification whose transaction id is
   the command row's ``xmin`` (the matcher's batch transaction that set ``applied_sequence``).
   Latency = commit time - XADD time. The same clock gives phase A's per-command commit times.
C. ``order_place`` throughput from 2 and 4 client processes (each with its own users), on
   ETH-USD with no matcher running (entry alone); a matcher then drains ETH-USD.

At the end ``manage.py verify_ledger`` and ``manage.py verify_journal --market ...`` run and
their verdicts are printed with the summary.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_pipeline"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
FORBIDDEN_DATABASES = {"test", "test_test", "exchange", "postgres", "template0", "template1"}
FORBIDDEN_REDIS_DBS = {0, 9}
KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
NOTIFY_CHANNEL = "bench_commit"
MAIN_MARKET = "BTC-USD"
ENTRY_MARKET = "ETH-USD"
BASELINE_MARKET = "SOL-USD"
LOCK_NAMESPACE = 0x6D61  # the matcher's advisory-lock namespace (exchange/trading/matcher/runner.py)

TRIGGER_SQL = f"""
CREATE OR REPLACE FUNCTION bench_notify_applied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM bench_new_rows WHERE applied_sequence IS NOT NULL) THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', (txid_current() % 4294967296)::text);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_notify_applied ON trading_command;
CREATE TRIGGER bench_notify_applied AFTER UPDATE ON trading_command
    REFERENCING NEW TABLE AS bench_new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_notify_applied();
"""


# ---------------------------------------------------------------------------------------------
# configuration and environment


@dataclass
class Params:
    commands: int
    users: int
    rate: int
    latency_seconds: float
    entry_procs: list[int]
    entry_seconds: float
    entry_users_per_proc: int
    batch_size: int
    cancel_ratio: float
    marketable_ratio: float
    market_ratio: float
    ioc_ratio: float
    seed: int
    quick: bool
    profile_matcher: str | None
    relay_every: float | None
    baseline: bool
    publish: bool
    database_url: str
    redis_url: str


def parse_args(argv: list[str] | None = None) -> Params:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~30 s smoke run (small N, short phases)")
    p.add_argument("--commands", "-n", type=int, default=None, help="phase A backlog size (default 100000; quick 10000)")
    p.add_argument("--users", type=int, default=None, help="traders in BTC-USD (default 2000; quick 300)")
    p.add_argument("--rate", type=int, default=2000, help="phase B offered rate, commands/s (default 2000)")
    p.add_argument("--latency-seconds", type=float, default=None, help="phase B duration (default 20; quick 5)")
    p.add_argument("--entry-procs", default=None, help="phase C client process counts (default 2,4; quick 2)")
    p.add_argument("--entry-seconds", type=float, default=None, help="phase C duration per count (default 10; quick 3)")
    p.add_argument("--entry-users", type=int, default=25, help="users per phase C client process")
    p.add_argument("--batch-size", type=int, default=2000, help="run_matcher --batch-size (its default is 2000)")
    p.add_argument("--cancel-ratio", type=float, default=0.22)
    p.add_argument("--marketable-ratio", type=float, default=0.30, help="share of placed orders priced to trade")
    p.add_argument("--market-ratio", type=float, default=0.04, help="share of placed orders that are market orders")
    p.add_argument("--ioc-ratio", type=float, default=0.25, help="share of the marketable limits sent IOC")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--relay-every", type=float, default=None, metavar="SECONDS",
                   help="run the BTC-USD matcher as the Matcher class with this relay_every (stock run_matcher: 5 s) "
                        "instead of manage.py run_matcher, e.g. 3600 to measure without relay re-publications")
    p.add_argument("--publish", action="store_true",
                   help="let the matchers publish market data (Redis book, Channels groups) as in production")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip phase A0 (the same backlog through run_matcher --in-flight 0, one batch at a time)")
    p.add_argument("--profile-matcher", default=None, metavar="FILE",
                   help="run the BTC-USD matcher under cProfile, writing FILE (slows it down: figures not comparable)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    a = p.parse_args(argv)
    quick = a.quick
    return Params(
        commands=a.commands or (10_000 if quick else 100_000),
        users=a.users or (300 if quick else 2000),
        rate=a.rate,
        latency_seconds=a.latency_seconds or (5.0 if quick else 20.0),
        entry_procs=[int(x) for x in (a.entry_procs or ("2" if quick else "2,4")).split(",") if x.strip()],
        entry_seconds=a.entry_seconds or (3.0 if quick else 10.0),
        entry_users_per_proc=a.entry_users,
        batch_size=a.batch_size,
        cancel_ratio=a.cancel_ratio,
        marketable_ratio=a.marketable_ratio,
        market_ratio=a.market_ratio,
        ioc_ratio=a.ioc_ratio,
        seed=a.seed,
        quick=quick,
        profile_matcher=a.profile_matcher,
        relay_every=a.relay_every,
        baseline=not a.no_baseline,
        publish=a.publish,
        database_url=a.database_url,
        redis_url=a.redis_url,
    )


def check_isolation(params: Params) -> None:
    db_name = urlsplit(params.database_url).path.lstrip("/")
    if not db_name or db_name in FORBIDDEN_DATABASES:
        sys.exit(f"refusing to wipe database {db_name!r}: give the benchmark a database of its own")
    redis_db = int(urlsplit(params.redis_url).path.lstrip("/") or 0)
    if redis_db in FORBIDDEN_REDIS_DBS:
        sys.exit(f"refusing to flush Redis db {redis_db}: give the benchmark a db number of its own")


def child_env(params: Params) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": params.database_url, "REDIS_URL": params.redis_url,
           "DJANGO_SETTINGS_MODULE": "exchange.settings", "PYTHONUNBUFFERED": "1", "DJANGO_DEBUG": "false"}
    return env


def django_setup(params_or_env) -> None:
    env = params_or_env if isinstance(params_or_env, dict) else child_env(params_or_env)
    for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG"):
        os.environ[key] = env[key]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# reset


def ensure_database(params: Params) -> None:
    import psycopg

    parts = urlsplit(params.database_url)
    db_name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme,
                            parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db_name}"')
            log(f"created database {db_name}")


def migrate(params: Params) -> None:
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=child_env(params),
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def reset_state(params: Params) -> None:
    """Truncate every application table, install the commit-notify trigger, flush our Redis db."""
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(t for (t,) in cursor.fetchall() if t not in KEEP_TABLES)
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute(TRIGGER_SQL)
    redis.Redis.from_url(params.redis_url).flushdb()


# ---------------------------------------------------------------------------------------------
# users, markets, deposits (bulk, in the state the services would leave)


@dataclass
class Trader:
    user_id: int
    account_id: int


def create_markets() -> dict:
    from exchange.markets.selectors import market_get
    from exchange.markets.services import asset_get_or_create, market_create

    btc = asset_get_or_create(symbol="BTC", name="Bitcoin", decimals=8)
    eth = asset_get_or_create(symbol="ETH", name="Ether", decimals=8)
    usd = asset_get_or_create(symbol="USD", name="US dollar", decimals=8)
    market_create(base=btc, quote=usd, tick_size="0.01", lot_size="0.0001", min_notional="10", min_quantity="0.0001",
                  max_quantity="100", maker_fee="0.001", taker_fee="0.002")
    market_create(base=eth, quote=usd, tick_size="0.01", lot_size="0.001", min_notional="10", min_quantity="0.001",
                  max_quantity="1000", maker_fee="0.001", taker_fee="0.002")
    sol = asset_get_or_create(symbol="SOL", name="Solana", decimals=8)  # the baseline's twin of BTC-USD
    market_create(base=sol, quote=usd, tick_size="0.01", lot_size="0.0001", min_notional="10", min_quantity="0.0001",
                  max_quantity="100", maker_fee="0.001", taker_fee="0.002")
    return {symbol: market_get(symbol=symbol) for symbol in ("BTC-USD", "ETH-USD", BASELINE_MARKET)}


def next_ids(cursor, sequence: str, count: int) -> list[int]:
    cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
    return [r[0] for r in cursor.fetchall()]


def copy_rows(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def apply_balance_deltas(cursor, deltas: dict[tuple[int, int], list[Decimal]]) -> None:
    """Add (available, held) deltas to existing balance rows, locked in (account, asset) order."""
    keys = sorted(deltas)
    cursor.execute(
        """UPDATE ledger_balance b SET available = b.available + v.da, held = b.held + v.dh, updated_at = now()
           FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[]) AS v(account_id, asset_id, da, dh)
           WHERE b.account_id = v.account_id AND b.asset_id = v.asset_id""",
        [[k[0] for k in keys], [k[1] for k in keys], [deltas[k][0] for k in keys], [deltas[k][1] for k in keys]],
    )


def create_traders(prefix: str, count: int, funds: dict[int, Decimal]) -> list[Trader]:
    """Users with a profile, a ledger account and deposits of ``funds`` ({asset id: amount}),
    written as ``user_create`` + ``deposit_credit`` would leave them (without password hashing)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from exchange.accounts.models import Profile
    from exchange.ledger.models import AccountKind, LedgerAccount
    from exchange.ledger.services import system_account

    User = get_user_model()
    now = datetime.now(UTC)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"{prefix}{i}", email=f"{prefix}{i}@bench.invalid", password="!bench") for i in range(count)]
        )
        Profile.objects.bulk_create([Profile(user=u) for u in users])
        accounts = LedgerAccount.objects.bulk_create([LedgerAccount(kind=AccountKind.USER, user=u) for u in users])
        external = system_account(AccountKind.EXTERNAL)
        with connection.cursor() as cursor:
            pairs = [(acc, asset_id, amount) for acc in accounts for asset_id, amount in funds.items()]
            entry_ids = next_ids(cursor, "ledger_ledgerentry_id_seq", len(pairs))
            refs = [f"deposit:bench:{acc.user_id}:{asset_id}" for acc, asset_id, _ in pairs]
            copy_rows(cursor, "ledger_ledgerentry", ("id", "kind", "reference", "idempotency_key", "memo", "created_at"),
                      [(eid, "deposit", ref[:64], ref, "bench funding", now) for eid, ref in zip(entry_ids, refs, strict=True)])
            copy_rows(cursor, "ledger_posting", ("entry_id", "account_id", "asset_id", "bucket", "amount", "hold"),
                      [row for eid, (acc, asset_id, amount) in zip(entry_ids, pairs, strict=True)
                       for row in ((eid, external.pk, asset_id, "available", -amount, None),
                                   (eid, acc.pk, asset_id, "available", amount, None))])
            copy_rows(cursor, "ledger_balance", ("account_id", "asset_id", "available", "held", "is_system", "updated_at"),
                      [(acc.pk, asset_id, amount, Decimal(0), False, now) for acc, asset_id, amount in pairs])
            totals: dict[int, Decimal] = {}
            for _, asset_id, amount in pairs:
                totals[asset_id] = totals.get(asset_id, Decimal(0)) + amount
            for asset_id, total in sorted(totals.items()):
                cursor.execute(
                    """INSERT INTO ledger_balance (account_id, asset_id, available, held, is_system, updated_at)
                       VALUES (%s, %s, %s, 0, true, now())
                       ON CONFLICT (account_id, asset_id)
                       DO UPDATE SET available = ledger_balance.available + EXCLUDED.available""",
                    [external.pk, asset_id, -total],
                )
    return [Trader(a.user_id, a.pk) for a in accounts]


# ---------------------------------------------------------------------------------------------
# the order flow


@dataclass
class Place:
    order_id: int
    trader: Trader
    side: str
    order_type: str  # limit or market
    tif: str
    price_ticks: int | None
    lots: int | None
    quote_amount: Decimal | None


@dataclass
class Cancel:
    order_id: int


@dataclass
class Flow:
    """A reproducible stream of commands: limit orders around a random-walk mid, some priced
    through it, a few market orders, and cancels of recently placed live orders."""

    rng: random.Random
    traders: list[Trader]
    mid: int  # ticks
    cancel_ratio: float
    marketable_ratio: float
    market_ratio: float
    ioc_ratio: float
    live: list[int] = field(default_factory=list)  # order ids a cancel may target (GTC limits)
    counts: Counter = field(default_factory=Counter)

    def lots(self) -> int:
        return max(10, min(5000, int(self.rng.lognormvariate(math.log(120), 0.9))))

    def commands(self, order_ids: list[int], count: int) -> list[Place | Cancel]:
        out: list[Place | Cancel] = []
        ids = iter(order_ids)
        rng = self.rng
        for _ in range(count):
            if self.live and rng.random() < self.cancel_ratio:
                # Cancels mostly hit recent orders (quotes being replaced), sometimes older ones.
                back = min(len(self.live) - 1, int(rng.expovariate(1 / 400)))
                index = len(self.live) - 1 - back
                self.live[index], self.live[-1] = self.live[-1], self.live[index]
                out.append(Cancel(self.live.pop()))
                self.counts["cancel"] += 1
                continue
            self.mid = max(1000, self.mid + round(rng.gauss(0, 1.5)))
            side = "buy" if rng.random() < 0.5 else "sell"
            sign = 1 if side == "buy" else -1
            trader = self.traders[rng.randrange(len(self.traders))]
            lots = self.lots()
            r = rng.random()
            if r < self.market_ratio:
                if side == "buy":
                    quote = (Decimal(self.mid * lots) / Decimal(1_000_000)).quantize(Decimal("0.01"))
                    out.append(Place(next(ids), trader, side, "market", "ioc", None, None, quote))
                else:
                    out.append(Place(next(ids), trader, side, "market", "ioc", None, lots, None))
                self.counts["market"] += 1
            elif r < self.market_ratio + self.marketable_ratio:
                price = self.mid + sign * rng.randint(1, 15)
                tif = "ioc" if rng.random() < self.ioc_ratio else "gtc"
                place = Place(next(ids), trader, side, "limit", tif, price, lots, None)
                out.append(place)
                if tif == "gtc":
                    self.live.append(place.order_id)
                self.counts[f"marketable_{tif}"] += 1
            else:
                price = self.mid - sign * (1 + int(rng.expovariate(1 / 30)))
                place = Place(next(ids), trader, side, "limit", "gtc", price, lots, None)
                out.append(place)
                self.live.append(place.order_id)
                self.counts["passive"] += 1
        return out


def write_commands(market, commands: list[Place | Cancel], command_ids: list[int], times: list[datetime] | None) -> None:
    """Write ``commands`` exactly as order_place / order_cancel would have left them, in one
    transaction: Order rows (pending, hold placed), the hold entries and postings, the balances,
    and the Command rows (with ``command_ids`` and ``created_at`` = ``times``; with ``times``
    None, rows are stamped now and the Command rows when they are written, last, just before
    the commit, so that ``created_at`` is as close to the XADD as order_place leaves it)."""
    from django.db import connection, transaction

    stamp_commands_late = times is None
    if times is None:
        times = [datetime.now(UTC)] * len(commands)

    tick, lot = market.tick_size, market.lot_size
    fees = json.dumps({"maker_fee": str(market.maker_fee), "taker_fee": str(market.taker_fee)})
    cancel_at: dict[int, datetime] = {}
    for command, ts in zip(commands, times, strict=True):
        if isinstance(command, Cancel):
            cancel_at[command.order_id] = ts
    orders, entries, postings, command_rows = [], [], [], []
    deltas: dict[tuple[int, int], list[Decimal]] = {}
    places = [c for c in commands if isinstance(c, Place)]
    with transaction.atomic(), connection.cursor() as cursor:
        entry_ids = iter(next_ids(cursor, "ledger_ledgerentry_id_seq", len(places)))
        for command, command_id, ts in zip(commands, command_ids, times, strict=True):
            if isinstance(command, Cancel):
                command_rows.append((command_id, market.pk, "cancel", command.order_id, "{}", ts, None))
                continue
            price = None if command.price_ticks is None else command.price_ticks * tick
            quantity = None if command.lots is None else command.lots * lot
            if command.side == "sell":
                asset_id, hold = market.base_id, quantity
            elif command.order_type == "limit":
                asset_id, hold = market.quote_id, price * quantity
            else:
                asset_id, hold = market.quote_id, command.quote_amount
            order_id = command.order_id
            orders.append((
                order_id, command.trader.user_id, market.pk, command.side, command.order_type, command.tif, False,
                "cancel_newest", price, None, quantity, command.quote_amount, price, quantity, 0, 0, 0, asset_id, hold,
                hold, "pending", "", cancel_at.get(order_id), None, None, False, ts, cancel_at.get(order_id, ts),
            ))
            entry_id = next(entry_ids)
            reference = f"order:{order_id}"
            entries.append((entry_id, "hold", reference, None, "", ts))
            postings.append((entry_id, command.trader.account_id, asset_id, "available", -hold, None))
            postings.append((entry_id, command.trader.account_id, asset_id, "held", hold, reference))
            delta = deltas.setdefault((command.trader.account_id, asset_id), [Decimal(0), Decimal(0)])
            delta[0] -= hold
            delta[1] += hold
            command_rows.append((command_id, market.pk, "place", order_id, fees, ts, None))
        copy_rows(cursor, "trading_order", (
            "id", "user_id", "market_id", "side", "order_type", "time_in_force", "post_only", "stp", "price",
            "stop_price", "quantity", "quote_amount", "engine_price", "open_quantity", "filled_quantity",
            "filled_notional", "fees_paid", "hold_asset_id", "hold_amount", "hold_remaining", "status",
            "cancel_reason", "cancel_requested_at", "client_order_id", "priority", "is_waiting_stop", "created_at",
            "updated_at"), orders)
        copy_rows(cursor, "ledger_ledgerentry", ("id", "kind", "reference", "idempotency_key", "memo", "created_at"), entries)
        copy_rows(cursor, "ledger_posting", ("entry_id", "account_id", "asset_id", "bucket", "amount", "hold"), postings)
        if deltas:
            apply_balance_deltas(cursor, deltas)
        new_ids = {p.order_id for p in places}
        earlier = [(oid, ts) for oid, ts in cancel_at.items() if oid not in new_ids]
        if earlier:  # cancels of orders written by an earlier phase
            cursor.execute(
                """UPDATE trading_order o SET cancel_requested_at = v.ts, updated_at = v.ts
                   FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, ts) WHERE o.id = v.id""",
                [[oid for oid, _ in earlier], [ts for _, ts in earlier]],
            )
        if stamp_commands_late:
            late = datetime.now(UTC)
            command_rows = [(*row[:5], late, row[6]) for row in command_rows]
        copy_rows(cursor, "trading_command", ("id", "market_id", "kind", "order_id", "payload", "created_at",
                                              "applied_sequence"), command_rows)


# ---------------------------------------------------------------------------------------------
# helper processes: commit listener, rate-paced producer, order_place clients


def listener_main(database_url: str, ready, stop, out) -> None:
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    seen: list[tuple[float, int]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        ready.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.2):
                seen.append((time.time(), int(note.payload)))
        for note in conn.notifies(timeout=0.3):  # anything already queued
            seen.append((time.time(), int(note.payload)))
    out.put(seen)


def producer_main(redis_url: str, key: str, ids: list[int], start_at: float, rate: float, out) -> None:
    """XADD ``ids`` at ``rate``/s from ``start_at``: each millisecond, what is due, pipelined.
    Records the wall-clock time just before each XADD is sent, and how late it was."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.ping()
    sent = [0.0] * len(ids)
    lag = [0.0] * len(ids)
    i, n = 0, len(ids)
    while time.time() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.time())))
    while i < n:
        now = time.time()
        due_until = int((now - start_at) * rate) + 1
        j = min(n, max(due_until, i))
        if j > i:
            pipe = client.pipeline(transaction=False)
            for k in range(i, j):
                pipe.xadd(key, {"c": ids[k]})
            t = time.time()
            pipe.execute()
            for k in range(i, j):
                sent[k] = t
                lag[k] = t - (start_at + k / rate)
            i = j
        next_due = start_at + i / rate
        pause = next_due - time.time()
        if pause > 0:
            time.sleep(pause)
    out.put((sent, lag))


def entry_client_main(env: dict, prefix: str, market_symbol: str, start_at: float, seconds: float, seed: int, out) -> None:
    """Place limit orders through the real ``order_place`` for this process's own users."""
    django_setup(env)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from exchange.trading.services import order_place

    users = list(get_user_model().objects.filter(username__startswith=prefix).order_by("id"))
    rng = random.Random(seed)
    mid = 200_000  # 2000.00 in ticks of 0.01

    def one() -> None:
        nonlocal mid
        mid = max(1000, mid + round(rng.gauss(0, 1.5)))
        side = "buy" if rng.random() < 0.5 else "sell"
        offset = rng.randint(1, 15) if rng.random() < 0.3 else -(1 + int(rng.expovariate(1 / 30)))
        ticks = mid + (offset if side == "buy" else -offset)
        lots = max(10, min(2000, int(rng.lognormvariate(math.log(100), 0.8))))
        order_place(user=users[rng.randrange(len(users))], market=market_symbol, side=side,
                    price=f"{ticks // 100}.{ticks % 100:02d}", quantity=f"{lots // 1000}.{lots % 1000:03d}")

    for _ in range(20):  # warm up: connections, caches
        one()
    late = max(0.0, time.time() - start_at)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies = []
    began = time.time()
    end = began + seconds
    while True:
        t0 = time.perf_counter()
        if time.time() >= end:
            break
        one()
        latencies.append(time.perf_counter() - t0)
    finished = time.time()
    connection.close()
    out.put((latencies, late, finished - began))


# ---------------------------------------------------------------------------------------------
# the matcher subprocess


# What ``manage.py run_matcher --no-publish`` does, with the runner's own ``relay_every`` parameter
# (which the command does not expose): used only with --relay-every.
MATCHER_SNIPPET = """
import logging, signal, sys
import django
django.setup()
from exchange.trading.matcher.runner import Matcher
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
matcher = Matcher(sys.argv[1].split(","), batch_size=int(sys.argv[2]), relay_every=float(sys.argv[3]), publish=False)
signal.signal(signal.SIGTERM, matcher.stop)
signal.signal(signal.SIGINT, matcher.stop)
matcher.run()
print(f"matcher stopped: {matcher.stats}")
"""


class MatcherProcess:
    def __init__(self, params: Params, markets: list[str], log_path: Path, profile: str | None = None,
                 relay_every: float | None = None, extra_args: tuple[str, ...] = ()) -> None:
        cmd = [sys.executable]
        if profile:
            cmd += ["-m", "cProfile", "-o", profile]
        if relay_every is None:
            cmd += ["manage.py", "run_matcher", "--markets", ",".join(markets), *([] if params.publish else ["--no-publish"]),
                    "--batch-size", str(params.batch_size), *extra_args]
        else:
            snippet = Path(log_path).with_suffix(".py")
            snippet.write_text(MATCHER_SNIPPET)
            cmd += [str(snippet), ",".join(markets), str(params.batch_size), str(relay_every)]
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.time()
        self.backend_pid: int | None = None
        env = child_env(params)
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(ROOT)
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_owned(self, symbol: str, timeout: float = 60) -> float:
        """Wait until the matcher holds the market's advisory lock and its consumer group exists."""
        import redis
        from django.db import connection

        key = (LOCK_NAMESPACE << 32) | zlib.crc32(symbol.encode())
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the matcher exited early:\n{self.log_path.read_text(errors='replace')}")
            with connection.cursor() as cursor:
                cursor.execute(
                    """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s
                       AND objid::bigint = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
                    [key >> 32, key & 0xFFFFFFFF],
                )
                locked = cursor.fetchone()[0]
            if locked:
                with connection.cursor() as cursor:
                    cursor.execute(
                        """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s
                           AND objid::bigint = %s""", [key >> 32, key & 0xFFFFFFFF])
                    self.backend_pid = cursor.fetchone()[0]
                try:
                    if client.xinfo_groups(f"cmd:{symbol}"):
                        return time.time() - self.started
                except redis.ResponseError:
                    pass
            time.sleep(0.05)
        sys.exit(f"the matcher did not take {symbol} within {timeout}s:\n{self.log_path.read_text(errors='replace')}")

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the matcher process and of its PostgreSQL backend."""
        return cpu_seconds(self.process.pid), cpu_seconds(self.backend_pid)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.log_path.read_text(errors="replace")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 if it is gone or unreadable)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def wal_lsn() -> int:
    """The server's WAL position in bytes (server-wide: other databases' writes count too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def relayed_count(log_text: str) -> int:
    return sum(int(m) for m in re.findall(r"relayed (\d+) unapplied commands", log_text))


# ---------------------------------------------------------------------------------------------
# measurement helpers


def unapplied(market_id: int, first_id: int, last_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM trading_command WHERE market_id = %s AND applied_sequence IS NULL
                          AND id BETWEEN %s AND %s""", [market_id, first_id, last_id])
        return cursor.fetchone()[0]


def wait_applied(market_id: int, first_id: int, last_id: int, timeout: float, matcher: MatcherProcess) -> bool:
    deadline = time.time() + timeout
    last_report = time.time()
    while time.time() < deadline:
        left = unapplied(market_id, first_id, last_id)
        if left == 0:
            return True
        if matcher.process.poll() is not None:
            log(f"the matcher died:\n{matcher.log_path.read_text(errors='replace')[-3000:]}")
            return False
        if time.time() - last_report > 10:
            log(f"  ... {left} commands still unapplied")
            last_report = time.time()
        time.sleep(0.25)
    return False


def wait_stream_drained(redis_url: str, key: str, timeout: float, matcher: MatcherProcess) -> float | None:
    """Wait until the consumer group has read and acknowledged every entry (relay duplicates too)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    t0 = time.time()
    while time.time() - t0 < timeout:
        groups = client.xinfo_groups(key)
        group = groups[0] if groups else {}
        lag, pending = group.get("lag"), group.get("pending")
        if lag == 0 and pending == 0:
            return time.time()
        if matcher.process.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def commit_times(command_ids: list[int], notes: list[tuple[float, int]]) -> dict[int, float]:
    """Each command's commit time: the NOTIFY of the transaction that is the row's xmin."""
    from django.db import connection

    by_xid: dict[int, float] = {}
    for t, xid in notes:
        by_xid.setdefault(xid, t)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text::bigint FROM trading_command WHERE id = ANY(%s)", [command_ids])
        rows = cursor.fetchall()
    return {cid: by_xid[xid] for cid, xid in rows if xid in by_xid}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def phase_order_stats(market_id: int, first_order: int, last_order: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(*) FILTER (WHERE filled_quantity > 0),
                      count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'filled'),
                      count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'rejected'),
                      count(*) FILTER (WHERE status = 'pending')
               FROM trading_order WHERE market_id = %s AND id BETWEEN %s AND %s""",
            [market_id, first_order, last_order],
        )
        total, traded, open_, filled, cancelled, rejected, pending = cursor.fetchone()
        cursor.execute(
            """SELECT count(*), count(DISTINCT CASE WHEN aggressor = 'buy' THEN buy_order_id ELSE sell_order_id END)
               FROM trading_fill WHERE market_id = %s
                 AND (CASE WHEN aggressor = 'buy' THEN buy_order_id ELSE sell_order_id END) BETWEEN %s AND %s""",
            [market_id, first_order, last_order],
        )
        fills, takers = cursor.fetchone()
    return {"orders": total, "traded": traded, "takers": takers, "fills": fills, "open": open_, "filled": filled,
            "cancelled": cancelled, "rejected": rejected, "pending": pending}


def matcher_state(market_id: int) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT last_sequence FROM trading_matcherstate WHERE market_id = %s", [market_id])
        row = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM trading_order WHERE market_id = %s AND status = 'open'", [market_id])
        return (row[0] if row else 0), cursor.fetchone()[0]


def start_listener(params: Params, ctx):
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=listener_main, args=(params.database_url, ready, stop, out), daemon=True)
    proc.start()
    if not ready.wait(30):
        sys.exit("the commit listener did not start")
    return proc, stop, out


def stop_listener(listener) -> list[tuple[float, int]]:
    proc, stop, out = listener
    stop.set()
    notes = out.get(timeout=30)
    proc.join(timeout=10)
    return notes


def reserve(sequence: str, count: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        return next_ids(cursor, sequence, count)


# ---------------------------------------------------------------------------------------------
# the phases


def phase_throughput(params: Params, market, flow: Flow, matcher: MatcherProcess, ctx, results: dict,
                     phase: str = "A") -> None:
    import redis

    n = params.commands
    log(f"phase {phase} ({market.symbol}): writing a backlog of {n:,} commands (bulk, as order_place/order_cancel leave them)")
    listener = start_listener(params, ctx)
    t_build = time.time()
    order_ids = reserve("trading_order_id_seq", n)
    command_ids = reserve("trading_command_id_seq", n)
    commands = flow.commands(order_ids, n)
    write_commands(market, commands, command_ids, None)
    places = [c for c in commands if isinstance(c, Place)]
    build_s = time.time() - t_build
    log(f"  written in {build_s:.1f}s ({len(places):,} places, {n - len(places):,} cancels); ANALYZE, then XADD")
    analyze()
    load_before = loadavg()
    cpu_before = matcher.cpu()
    wal_before = wal_lsn()
    client = redis.Redis.from_url(params.redis_url)
    key = f"cmd:{market.symbol}"
    t_first_xadd = time.time()
    for start in range(0, n, 5000):
        pipe = client.pipeline(transaction=False)
        for cid in command_ids[start:start + 5000]:
            pipe.xadd(key, {"c": cid})
        pipe.execute()
    t_last_xadd = time.time()
    ok = wait_applied(market.pk, command_ids[0], command_ids[-1], timeout=max(120.0, n / 500), matcher=matcher)
    time.sleep(0.3)
    notes = stop_listener(listener)
    if not ok:
        sys.exit(f"phase {phase}: the matcher did not apply the backlog in time")
    # The relay may have re-published commands that were already in the stream: phase B must not
    # start behind them, so wait until the group has consumed everything.
    drained_at = wait_stream_drained(params.redis_url, f"cmd:{market.symbol}", timeout=600, matcher=matcher)
    cpu_after = matcher.cpu()
    wal_bytes = wal_lsn() - wal_before
    times = commit_times(command_ids, notes)
    missing = n - len(times)
    committed = sorted(times.values())
    t_end = committed[-1]
    elapsed = t_end - t_first_xadd
    t10, t90 = committed[int(0.1 * len(committed))], committed[int(0.9 * len(committed)) - 1]
    steady = 0.8 * len(committed) / (t90 - t10) if t90 > t10 else float("nan")
    per_second = Counter(int(t - t_first_xadd) for t in committed)
    stats = phase_order_stats(market.pk, order_ids[0], order_ids[-1])
    sequence, book_orders = matcher_state(market.pk)
    info = client.xinfo_stream(key)  # after the drain: every relay re-publication of phase A is counted
    batches = len({xid for _, xid in notes})
    results[phase] = {
        "commands": n, "places": len(places), "cancels": n - len(places), "mix": dict(flow.counts),
        "build_seconds": round(build_s, 2), "xadd_seconds": round(t_last_xadd - t_first_xadd, 3),
        "elapsed_seconds": round(elapsed, 3), "orders_per_s": round(n / elapsed), "steady_orders_per_s": round(steady),
        "trades": stats["fills"], "trades_per_s": round(stats["fills"] / elapsed),
        "batches": batches, "avg_batch": round(n / max(1, batches)), "commit_time_missing": missing,
        "per_second": [per_second.get(s, 0) for s in range(int(elapsed) + 1)],
        "stream_entries_added": info.get("entries-added", info.get(b"entries-added")),
        "relayed_during_A": (info.get("entries-added", info.get(b"entries-added")) or n) - n,
        "stream_drained_after_s": None if drained_at is None else round(drained_at - t_first_xadd, 1),
        "order_stats": stats, "journal_sequence": sequence, "book_open_orders": book_orders,
        "matcher_cpu_s": round(cpu_after[0] - cpu_before[0], 2), "backend_cpu_s": round(cpu_after[1] - cpu_before[1], 2),
        "loadavg_before": load_before, "loadavg_after": loadavg(), "wal_bytes_per_command": round(wal_bytes / n),
    }
    a = results[phase]
    log(f"  applied in {elapsed:.2f}s: {a['orders_per_s']:,} commands/s overall, {a['steady_orders_per_s']:,}/s steady "
        f"(10%-90%), {a['trades']:,} trades = {a['trades_per_s']:,}/s, {batches} batches")


def phase_baseline(params: Params, market, ctx, results: dict, logs: Path) -> None:
    """Phase A0: the same backlog (same seed, same number of traders) on a twin market, through
    ``run_matcher --in-flight 0``: one batch at a time, no overlap of planning and committing.
    The ratio of A to A0 is what the two-thread matcher buys, measured in the same run."""
    traders = create_traders("base", params.users, {market.base_id: Decimal(1000), market.quote_id: Decimal(100_000_000)})
    flow = Flow(random.Random(params.seed), traders, mid=3_000_000, cancel_ratio=params.cancel_ratio,
                marketable_ratio=params.marketable_ratio, market_ratio=params.market_ratio, ioc_ratio=params.ioc_ratio)
    matcher = MatcherProcess(params, [market.symbol], logs / "pipeline-matcher-baseline.log", extra_args=("--in-flight", "0"))
    matcher.wait_owned(market.symbol)
    try:
        phase_throughput(params, market, flow, matcher, ctx, results, phase="A0")
    finally:
        matcher.stop()


def phase_latency(params: Params, market, flow: Flow, matcher: MatcherProcess, ctx, results: dict) -> None:
    from django.db import connection

    m = int(params.rate * params.latency_seconds)
    log(f"phase B: {m:,} commands XADDed at {params.rate:,}/s for {params.latency_seconds:g}s (producer process)")
    with connection.cursor() as cursor:  # cancels may target phase A orders that are really still live
        cursor.execute("""SELECT id FROM trading_order WHERE market_id = %s AND status = 'open'
                          AND cancel_requested_at IS NULL ORDER BY id""", [market.pk])
        flow.live = [r[0] for r in cursor.fetchall()]
    flow.counts = Counter()
    listener = start_listener(params, ctx)
    order_ids = reserve("trading_order_id_seq", m)
    command_ids = reserve("trading_command_id_seq", m)
    commands = flow.commands(order_ids, m)
    # created_at = the moment each command is due to be XADDed, as order_place would leave it (it
    # commits just before its XADD); the start leaves time for writing the rows.
    start_at = time.time() + 2.0 + m * 150e-6
    times = [datetime.fromtimestamp(start_at + i / params.rate, UTC) for i in range(m)]
    write_commands(market, commands, command_ids, times)
    if time.time() > start_at - 0.5:
        log("  (rows written late: the producer starts behind schedule; latency is measured from the real XADD)")
    out = ctx.Queue()
    producer = ctx.Process(target=producer_main,
                           args=(params.redis_url, f"cmd:{market.symbol}", command_ids, start_at, params.rate, out))
    load_before = loadavg()
    cpu_before = matcher.cpu()
    producer.start()
    sent, lag = out.get(timeout=params.latency_seconds + 120)
    producer.join(timeout=10)
    ok = wait_applied(market.pk, command_ids[0], command_ids[-1], timeout=120, matcher=matcher)
    time.sleep(0.3)
    notes = stop_listener(listener)
    if not ok:
        sys.exit("phase B: the matcher did not apply every command in time")
    cpu_after = matcher.cpu()
    commits = commit_times(command_ids, notes)
    latencies_ms = [(commits[cid] - s) * 1000 for cid, s in zip(command_ids, sent, strict=True) if cid in commits]
    warm = int(params.rate)  # the first second: the matcher wakes from idle
    steady_ms = latencies_ms[warm:] if len(latencies_ms) > 2 * warm else latencies_ms
    duration = sent[-1] - sent[0]
    stats = phase_order_stats(market.pk, order_ids[0], order_ids[-1])
    batches = len({xid for _, xid in notes})
    results["B"] = {
        "commands": m, "offered_rate": params.rate, "achieved_xadd_rate": round(m / duration) if duration > 0 else None,
        "producer_lag_p99_ms": round(pct(lag, 99) * 1000, 2), "batches": batches, "avg_batch": round(m / max(1, batches), 1),
        "p50_ms": round(pct(latencies_ms, 50), 2), "p90_ms": round(pct(latencies_ms, 90), 2),
        "p99_ms": round(pct(latencies_ms, 99), 2), "p999_ms": round(pct(latencies_ms, 99.9), 2),
        "max_ms": round(max(latencies_ms), 2), "steady_p50_ms": round(pct(steady_ms, 50), 2),
        "steady_p99_ms": round(pct(steady_ms, 99), 2), "commit_time_missing": m - len(latencies_ms),
        "p99_ms_by_second": [round(pct(latencies_ms[i:i + warm], 99), 1) for i in range(0, len(latencies_ms), warm)],
        "max_ms_by_second": [round(max(latencies_ms[i:i + warm]), 1) for i in range(0, len(latencies_ms), warm)],
        "trades": stats["fills"], "mix": dict(flow.counts), "order_stats": stats,
        "matcher_cpu_s": round(cpu_after[0] - cpu_before[0], 2), "backend_cpu_s": round(cpu_after[1] - cpu_before[1], 2),
        "wall_s": round(max(commits.values()) - sent[0], 2) if commits else None,
        "loadavg_before": load_before, "loadavg_after": loadavg(),
    }
    b = results["B"]
    log(f"  XADD->commit p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, max {b['max_ms']} ms "
        f"({batches} batches, avg {b['avg_batch']} commands)")


def phase_entry(params: Params, ctx, results: dict) -> None:
    results["C"] = []
    env = child_env(params)
    for procs in params.entry_procs:
        log(f"phase C: order_place from {procs} client processes for {params.entry_seconds:g}s ({ENTRY_MARKET}, no matcher)")
        out = ctx.Queue()
        start_at = time.time() + 4.0 + 2.0 * procs  # process start + Django setup + warm-up
        workers = [ctx.Process(target=entry_client_main,
                               args=(env, f"entry{procs}p{i}_", ENTRY_MARKET, start_at, params.entry_seconds,
                                     params.seed + 1000 * procs + i, out))
                   for i in range(procs)]
        for w in workers:
            w.start()
        latencies, late, rate = [], 0.0, 0.0
        for _ in workers:
            got, was_late, window = out.get(timeout=params.entry_seconds + 120)
            latencies.extend(got)
            late = max(late, was_late)
            rate += len(got) / window  # each process over its own window of `seconds`
        if late:
            log(f"  (a client started {late:.1f}s late: its window overlapped the others' less)")
        for w in workers:
            w.join(timeout=30)
        row = {"processes": procs, "orders": len(latencies), "orders_per_s": round(rate),
               "p50_ms": round(pct(latencies, 50) * 1000, 2), "p99_ms": round(pct(latencies, 99) * 1000, 2)}
        results["C"].append(row)
        log(f"  {row['orders_per_s']:,} orders/s (call p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms)")


def analyze() -> None:
    """Planner statistics for the freshly bulk-loaded tables (this server may run without autovacuum)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run_manage(params: Params, *args: str) -> tuple[int, str, float]:
    """Exit code, standard output (the verdict is its last line; logging goes to stderr), seconds."""
    t0 = time.time()
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(params), capture_output=True,
                            text=True)
    output = result.stdout.strip() if result.returncode == 0 else (result.stdout + result.stderr).strip()
    return result.returncode, output, time.time() - t0


# ---------------------------------------------------------------------------------------------
# main


def machine() -> dict:
    from django.db import connection

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('synchronous_commit'), "
                       "current_setting('fsync'), current_setting('shared_buffers')")
        version, sync, fsync, shared = cursor.fetchone()
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "postgres": version, "synchronous_commit": sync, "fsync": fsync, "shared_buffers": shared}


def main(argv: list[str] | None = None) -> int:
    params = parse_args(argv)
    check_isolation(params)
    t_all = time.time()
    ctx = mp.get_context("spawn")
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    log(f"database {params.database_url}, redis {params.redis_url}")
    ensure_database(params)
    migrate(params)
    django_setup(params)
    reset_state(params)
    markets = create_markets()
    btc, eth = markets["BTC-USD"], markets["ETH-USD"]
    t0 = time.time()
    traders = create_traders("bench", params.users, {btc.base_id: Decimal(1000), btc.quote_id: Decimal(100_000_000)})
    for procs in params.entry_procs:
        for i in range(procs):
            create_traders(f"entry{procs}p{i}_", params.entry_users_per_proc,
                           {eth.base_id: Decimal(100_000), eth.quote_id: Decimal(100_000_000)})
    log(f"reset done; {params.users} BTC-USD traders funded in {time.time() - t0:.1f}s")
    results: dict = {"machine": machine(), "params": params.__dict__.copy()}

    if params.baseline:
        phase_baseline(params, markets[BASELINE_MARKET], ctx, results, logs)
    flow = Flow(random.Random(params.seed), traders, mid=3_000_000, cancel_ratio=params.cancel_ratio,
                marketable_ratio=params.marketable_ratio, market_ratio=params.market_ratio, ioc_ratio=params.ioc_ratio)
    matcher = MatcherProcess(params, [MAIN_MARKET], logs / "pipeline-matcher.log", profile=params.profile_matcher,
                             relay_every=params.relay_every)
    results["matcher_start_s"] = round(matcher.wait_owned(MAIN_MARKET), 2)
    try:
        phase_throughput(params, btc, flow, matcher, ctx, results)
        phase_latency(params, btc, flow, matcher, ctx, results)
    finally:
        matcher_log = matcher.stop()
    results["relayed_btc"] = relayed_count(matcher_log)
    stats_line = re.findall(r"matcher stopped: (.*)", matcher_log)
    results["matcher_stats"] = stats_line[-1] if stats_line else None

    phase_entry(params, ctx, results)
    log(f"draining {ENTRY_MARKET} with a matcher")
    drain = MatcherProcess(params, [ENTRY_MARKET], logs / "pipeline-matcher-drain.log")
    drain.wait_owned(ENTRY_MARKET)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM trading_command WHERE market_id = %s", [eth.pk])
        lo, hi = cursor.fetchone()
    drained = wait_applied(eth.pk, lo, hi, timeout=300, matcher=drain)
    drain.stop()
    if not drained:
        log(f"{ENTRY_MARKET} was not fully drained")

    log("verifying")
    analyze()
    verdicts = {}
    checks = [("verify_ledger",), ("verify_journal", "--market", MAIN_MARKET), ("verify_journal", "--market", ENTRY_MARKET)]
    if params.baseline:
        checks.append(("verify_journal", "--market", BASELINE_MARKET))
    for args in checks:
        code, output, seconds = run_manage(params, *args)
        verdicts[" ".join(args)] = {"exit": code, "output": output, "seconds": round(seconds, 1)}
    results["verify"] = verdicts
    results["total_seconds"] = round(time.time() - t_all, 1)
    (logs / "pipeline-results.json").write_text(json.dumps(results, indent=2, default=str))
    print_summary(params, results, logs)
    ok = all(v["exit"] == 0 for v in verdicts.values())
    return 0 if ok else 1


def print_summary(params: Params, r: dict, logs: Path) -> None:
    m, a, b = r["machine"], r["A"], r["B"]
    line = "=" * 96
    print(f"\n{line}\nOrder-pipeline benchmark{' (--quick)' if params.quick else ''}")
    print(f"machine: nproc={m['nproc']} {m['cpu']}; Python {m['python']}; PostgreSQL {m['postgres']} "
          f"(synchronous_commit={m['synchronous_commit']}, fsync={m['fsync']}, shared_buffers={m['shared_buffers']})")
    print(f"params: backlog N={params.commands:,} commands, {params.users:,} traders, mix: {params.cancel_ratio:.0%} cancels; "
          f"of places {params.marketable_ratio:.0%} marketable limits ({params.ioc_ratio:.0%} of them IOC), "
          f"{params.market_ratio:.0%} market; matcher batch {params.batch_size}, block 50 ms, "
          f"{'publishing' if params.publish else '--no-publish'}; seed {params.seed}")
    print(line)
    s = a["order_stats"]
    how = (f"manage.py run_matcher{'' if params.publish else ' --no-publish'}" if params.relay_every is None
           else f"Matcher(relay_every={params.relay_every:g}, publish=False) subprocess, NOT the stock run_matcher")
    print(f"A. matcher throughput from a backlog ({how}; started idle {r['matcher_start_s']} s before)")
    print(f"   {a['commands']:,} commands ({a['places']:,} places, {a['cancels']:,} cancels) XADDed in {a['xadd_seconds']} s, "
          f"all committed {a['elapsed_seconds']} s after the first XADD")
    print(f"   sustained: {a['orders_per_s']:,} commands/s overall, {a['steady_orders_per_s']:,} commands/s steady "
          f"(10%-90% of commits)   [target >= 10,000/s: {'MET' if a['steady_orders_per_s'] >= 10_000 else 'NOT MET'}]")
    print(f"   trades: {a['trades']:,} = {a['trades_per_s']:,} trades/s; {a['batches']} batches (avg {a['avg_batch']} commands)")
    print(f"   placed orders that traded: {s['traded'] / max(1, s['orders']):.1%} "
          f"(as taker {s['takers'] / max(1, s['orders']):.1%}); end state: {s['open']:,} open, {s['filled']:,} filled, "
          f"{s['cancelled']:,} cancelled, {s['rejected']:,} rejected; book {a['book_open_orders']:,} open orders")
    print(f"   commits per second since first XADD: {a['per_second']}")
    cost = a["matcher_cpu_s"] + a["backend_cpu_s"]
    print(f"   CPU: matcher process {a['matcher_cpu_s']} s + its writer's PostgreSQL backend {a['backend_cpu_s']} s for "
          f"{a['elapsed_seconds']} s wall = {1e6 * cost / a['commands']:.0f} us CPU per command (the two overlap: "
          f"{cost / a['elapsed_seconds']:.2f} cores busy); "
          f"loadavg {a['loadavg_before']} -> {a['loadavg_after']}; WAL {a['wal_bytes_per_command']:,} bytes per command")
    print(f"   stream entries added to cmd:{MAIN_MARKET} during A: {a['stream_entries_added']:,} for N={a['commands']:,} "
          f"commands: {a['relayed_during_A']:,} relay re-publications; the matcher finished reading the stream "
          f"{a['stream_drained_after_s']} s after the first XADD; relayed over A+B per the matcher log: {r['relayed_btc']:,}")
    if "A0" in r:
        a0 = r["A0"]
        print(f"A0. baseline, the same backlog on {BASELINE_MARKET} through run_matcher --in-flight 0 (one batch at a time): "
              f"{a0['orders_per_s']:,} commands/s overall, {a0['steady_orders_per_s']:,}/s steady; "
              f"two threads (A) / one batch at a time (A0): {a['orders_per_s'] / a0['orders_per_s']:.2f}x")
    print("B. XADD -> commit latency at a fixed offered rate (producer process, commit time from NOTIFY at commit)")
    print(f"   {b['commands']:,} commands at {b['offered_rate']:,}/s offered ({b['achieved_xadd_rate']:,}/s achieved, "
          f"producer lag p99 {b['producer_lag_p99_ms']} ms); {b['batches']} batches (avg {b['avg_batch']}); "
          f"{b['trades']:,} trades")
    print(f"   p50 {b['p50_ms']} ms, p90 {b['p90_ms']} ms, p99 {b['p99_ms']} ms, p99.9 {b['p999_ms']} ms, max {b['max_ms']} ms  "
          f"[target p99 < 50 ms: {'MET' if b['p99_ms'] < 50 else 'NOT MET'}]")
    print(f"   without the first second: p50 {b['steady_p50_ms']} ms, p99 {b['steady_p99_ms']} ms")
    print(f"   CPU: matcher {b['matcher_cpu_s']} s + backend {b['backend_cpu_s']} s over {b['wall_s']} s wall; "
          f"loadavg {b['loadavg_before']} -> {b['loadavg_after']}")
    print("C. order_place throughput (real service, each process its own users, ETH-USD, no matcher running)")
    for row in r["C"]:
        print(f"   {row['processes']} processes: {row['orders_per_s']:,} orders/s (per call p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms)")
    print("Verification")
    for name, v in r["verify"].items():
        lines = v["output"].splitlines()
        verdict = lines[-1] if lines else "(no output)"
        fails = [ln for ln in lines if ln.startswith(("FAIL", "      "))]
        print(f"   manage.py {name}: {verdict} (exit {v['exit']}, {v['seconds']} s)")
        for ln in fails[:10]:
            print(f"      {ln}")
    print(f"total {r['total_seconds']} s; matcher logs and JSON results in {logs}")
    print(line)


if __name__ == "__main__":
    sys.exit(main())
