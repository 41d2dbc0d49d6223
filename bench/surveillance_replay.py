"""Book replay at depth: the alert page's ``book_at`` 1,000,000 journal events into a market.

    python bench/surveillance_replay.py                          # 1,000,000 events (~3 min)
    python bench/surveillance_replay.py --depth 100000 --reference-depth 20000   # quick

Needs PostgreSQL (DATABASE_URL's server); uses a database of its own (``bench_surveillance_replay``,
dropped and recreated, and dropped at the end unless ``--keep``). Writes a journal ``--depth``
events deep with COPY (a random order flow matched by the simulator's price-time book, the events
the matcher writes: accepts, trades, cancels, amends; the resting book stays a few hundred orders
deep), derives the book snapshots with one pass over it, then times ``book_at`` at the deepest
sequence and just before a snapshot mark (the worst case: a whole snapshot interval to apply),
median of ``--runs``, against the replay from the first event at ``--reference-depth`` (the old
way; it grows linearly with the depth).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

DB = "bench_surveillance_replay"
MARKET = "BTC-USD"
START = 1_780_000_000.0  # epoch seconds of the first event
ACCOUNTS = range(1, 41)  # journal accounts are user ids


def flow(count: int, *, seed: int = 7, accounts: Sequence = ACCOUNTS) -> Iterator[dict]:
    """``count`` journal events (DESIGN 6.5 dicts with ``seq`` and ``ts``) of one market: limit
    orders near the touch, cancels and amends of resting ones, marketable orders that trade."""
    from surveillance.simulation.engine import BUY, SELL, Journal, SimBook

    rng = random.Random(seed)
    journal = Journal()
    book = SimBook(MARKET, journal, tick=Decimal("0.01"), lot=Decimal("0.0001"), ids={"order": 0, "trade": 0})
    now, mid, emitted = START, 3_000_000, 0
    while True:
        now += rng.expovariate(200.0)
        if rng.random() < 0.05:
            mid += rng.choice((-1, 1))
        account = rng.choice(accounts)
        side = rng.choice((BUY, SELL))
        roll = rng.random()
        if book.orders and (roll < 0.25 or len(book.orders) > 600):
            order_id = rng.choice(list(book.orders)) if len(book.orders) < 50 else next(iter(book.orders))
            book.cancel(now, order_id)
        elif book.orders and roll < 0.38:
            order = book.orders[rng.choice(list(book.orders))]
            book.amend(now, order.order_id, qty=max(1, order.remaining - rng.randint(0, order.remaining)))
        elif roll < 0.36:
            book.submit(now, account, side, None if roll < 0.34 else mid, rng.randint(1, 400), tif="ioc")
        else:
            offset = int(rng.paretovariate(1.5))
            price = mid - offset if side == BUY else mid + offset
            book.submit(now, account, side, price, rng.randint(1, 500))
        for event in journal.events:
            yield event
            emitted += 1
            if emitted == count:
                return
        journal.events.clear()


def _database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/exchange")
    return base.rsplit("/", 1)[0] + "/" + name


def setup_database() -> None:
    """Recreate the bench's own database and point Django at it."""
    import psycopg

    admin = psycopg.connect(_database_url("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{DB}"')
    admin.close()
    os.environ["DATABASE_URL"] = _database_url(DB)
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop_database() -> None:
    """The bench's database holds a few hundred MB at full depth: gone when the figures are printed."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


def write_journal(depth: int, seed: int) -> int:
    """COPY ``depth`` events into ``trading_journalevent``; returns the market's id."""
    from datetime import UTC, datetime

    from django.db import connection

    from exchange.markets.services import asset_get_or_create, market_create

    market = market_create(
        base=asset_get_or_create(symbol="BTC", name="Bitcoin", decimals=8),
        quote=asset_get_or_create(symbol="USD", name="US dollar", decimals=8), tick_size="0.01",
        lot_size="0.0001", min_notional="10", min_quantity="0.0001", max_quantity="100", price_band_pct="10",
        maker_fee="0.001", taker_fee="0.002")
    skip = ("seq", "ts", "market", "type")
    with connection.cursor() as cursor, cursor.copy(
            "COPY trading_journalevent (market_id, sequence, event_type, payload, hash, created_at) FROM STDIN") as copy:
        for event in flow(depth, seed=seed):
            payload = json.dumps({k: v for k, v in event.items() if k not in skip})
            copy.write_row((market.pk, event["seq"], event["type"], payload, "0" * 64,
                            datetime.fromisoformat(event["ts"]).astimezone(UTC)))
    return market.pk


def _timed(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=1_000_000)
    parser.add_argument("--reference-depth", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the bench's database afterwards")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    setup_database()
    from surveillance import selectors, snapshots
    from surveillance.models import BookSnapshot

    started = time.perf_counter()
    write_journal(args.depth, args.seed)
    print(f"journal: {args.depth:,} events written with COPY in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    selectors.replay(market=MARKET, upto=args.depth)
    built = time.perf_counter() - started
    print(f"snapshots: {BookSnapshot.objects.count():,} (every {snapshots.EVERY:,} events), one pass from the "
          f"first event writing them: {built:.1f} s ({built / args.depth * 1e6:.0f} us/event)")

    accounts = list(ACCOUNTS)
    for label, sequence in (("at the deepest sequence", args.depth),
                            ("just before a snapshot mark (worst case)", args.depth - 1)):
        median, times = _timed(lambda s=sequence: selectors.book_at(market=MARKET, sequence=s, accounts=accounts),
                               args.runs)
        print(f"book_at {label} {sequence:,}: median {median:.3f} s over {args.runs} runs "
              f"(min {min(times):.3f}, max {max(times):.3f})")
    reference = min(args.reference_depth, args.depth)
    median, _ = _timed(lambda: selectors.book_at(market=MARKET, sequence=reference, accounts=accounts,
                                                 use_snapshots=False), max(1, args.runs // 2))
    print(f"book_at from the first event at {reference:,}: median {median:.2f} s "
          f"(linear: about {median * args.depth / reference:.1f} s at {args.depth:,})")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('surveillance_booksnapshot')), "
                       "pg_size_pretty(pg_total_relation_size('trading_journalevent'))")
        snapshot_size, journal_size = cursor.fetchone()
    print(f"storage: snapshots {snapshot_size}, journal {journal_size}")
    deep = selectors.book_at(market=MARKET, sequence=args.depth, accounts=accounts)
    print(f"the book at {args.depth:,}: {len(deep['orders'])} resting orders, best bid "
          f"{deep['bids'][0]['price'] if deep['bids'] else None}, best ask {deep['asks'][0]['price'] if deep['asks'] else None}")

    if not args.keep:
        drop_database()


if __name__ == "__main__":
    main()
