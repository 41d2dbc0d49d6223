"""Book replay from snapshots (issue 17, "book replay that scales"): the alert page's book at any
sequence, replayed from the newest snapshot before it, is exactly the book replayed from the
first event of the market, and it reads only the journal after the snapshot.

The journal is the bench's order flow (``bench/surveillance_replay.py``: the simulator's
price-time book writing accepts, trades, cancels and amends as the matcher does) written as
journal rows, with a small snapshot interval so that a few thousand events cross many of them.
"""
import dataclasses
import importlib.util
import json
import random
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveillance import selectors, services
from surveillance.models import BookSnapshot

pytestmark = pytest.mark.django_db

BENCH = Path(__file__).resolve().parents[3] / "bench" / "surveillance_replay.py"
EVERY = 250
DEPTH = 4000


def _bench():
    spec = importlib.util.spec_from_file_location("surveillance_replay", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def journal(market, make_user, reviewer, write_journal):
    """A journal ``DEPTH`` events deep over eight accounts, three of them under one owner."""
    users = [make_user(f"trader{i}") for i in range(8)]
    for user in users[:3]:
        services.owner_set(actor=reviewer, user=user, owner="desk-9")
    accounts = [user.pk for user in users]
    write_journal(list(_bench().flow(DEPTH, seed=11, accounts=accounts)))
    return accounts


def exact(book: dict) -> str:
    """``book_at``'s answer as text: every amount as its decimal string, every order field."""
    orders = [dataclasses.asdict(record) for record in book["orders"]]
    return json.dumps({**book, "orders": orders}, default=str, sort_keys=True)


def test_book_at_from_a_snapshot_equals_the_replay_from_the_first_event(journal):
    rng = random.Random(5)
    sequences = [1, EVERY - 1, EVERY, EVERY + 1, 2 * EVERY, DEPTH - 1, DEPTH, *rng.sample(range(2, DEPTH), 14)]
    selectors.replay(market="BTC-USD", upto=DEPTH, every=EVERY)  # derives every snapshot on the way
    assert BookSnapshot.objects.filter(market="BTC-USD").count() == DEPTH // EVERY
    for sequence in sequences:
        fast = selectors.book_at(market="BTC-USD", sequence=sequence, accounts=journal, every=EVERY)
        full = selectors.book_at(market="BTC-USD", sequence=sequence, accounts=journal, use_snapshots=False)
        assert exact(fast) == exact(full), sequence
    deep = selectors.book_at(market="BTC-USD", sequence=DEPTH, accounts=journal, every=EVERY)
    assert deep["bids"]
    assert deep["asks"]
    assert len(deep["orders"]) > 20


def test_the_whole_state_round_trips_through_a_snapshot_with_amounts_as_strings(journal):
    """Beyond what the page shows: open quantities per account (which ``opposite_at_entry`` of
    later orders reads) and owners; and no amount in a stored snapshot is a float."""
    selectors.replay(market="BTC-USD", upto=3 * EVERY + 17, every=EVERY)  # writes 1..3 on the way
    assert BookSnapshot.objects.count() == 3
    for sequence in (3 * EVERY, 3 * EVERY + 17):  # the snapshot alone, and events after it
        fast, _ = selectors.replay(market="BTC-USD", upto=sequence, every=EVERY)
        full, _ = selectors.replay(market="BTC-USD", upto=sequence, use_snapshots=False)
        assert {k: r for k, r in fast.orders.items() if r.live} == {k: r for k, r in full.orders.items() if r.live}
        assert all(full.orders[key] == record for key, record in fast.orders.items())  # closed since the snapshot
        assert {k: str(v) for k, v in fast._live_qty.items()} == {k: str(v) for k, v in full._live_qty.items()}
        fast_book, full_book = fast.book("BTC-USD"), full.book("BTC-USD")
        assert str((fast_book.bids, fast_book.asks, fast_book.last_price, fast_book.last_trade_at)) == str(
            (full_book.bids, full_book.asks, full_book.last_price, full_book.last_trade_at))
        assert fast.owners == full.owners
        assert fast._accounts_of == full._accounts_of
        assert (fast.now, fast.event_count) == (full.now, full.event_count)
    state = BookSnapshot.objects.get(sequence=3 * EVERY).state
    amounts = [*(x for level in state["bids"] + state["asks"] for x in level), *(q for *_, q in state["live_qty"])]
    assert amounts
    assert all(isinstance(x, str) for x in amounts)


def test_a_replay_reads_only_the_journal_after_the_newest_snapshot(journal):
    selectors.replay(market="BTC-USD", upto=DEPTH, every=EVERY)
    target = 7 * EVERY + 120
    with CaptureQueriesContext(connection) as queries:
        selectors.book_at(market="BTC-USD", sequence=target, accounts=journal, every=EVERY)
    reads = [q["sql"] for q in queries.captured_queries if "trading_journalevent" in q["sql"] and '"sequence" <=' in q["sql"]]
    assert len(reads) == 1
    assert f'"sequence" > {7 * EVERY}' in reads[0]
    assert f'"sequence" <= {target}' in reads[0]


def test_the_chart_samples_from_a_snapshot_equal_those_from_the_first_event(journal):
    from exchange.trading.models import JournalEvent

    selectors.replay(market="BTC-USD", upto=DEPTH, every=EVERY)
    since = JournalEvent.objects.get(market__symbol="BTC-USD", sequence=2 * EVERY + 40).created_at
    _, fast = selectors.replay(market="BTC-USD", upto=3 * EVERY, sample_from=since, every=EVERY)
    _, full = selectors.replay(market="BTC-USD", upto=3 * EVERY, sample_from=since, use_snapshots=False)
    assert fast
    assert json.dumps(fast, default=str) == json.dumps(full, default=str)


def test_the_consumer_keeps_the_snapshots_up_with_the_journal(journal):
    """Following the journal, the real-time consumer writes every snapshot mark it passes (a
    journal without snapshots catches up one interval per step), each equal to the state a
    replay from the first event has there."""
    from surveillance import snapshots
    from surveillance.realtime import Consumer

    consumer = Consumer(["BTC-USD"], snapshot_every=EVERY)
    for _ in range(DEPTH // EVERY + 10):  # the journal in batches, then steps that only catch up
        consumer.step()
    stored = dict(BookSnapshot.objects.filter(market="BTC-USD").values_list("sequence", "state"))
    assert sorted(stored) == list(range(EVERY, DEPTH + 1, EVERY))
    for sequence in (EVERY, 9 * EVERY, DEPTH):
        full, _ = selectors.replay(market="BTC-USD", upto=sequence, use_snapshots=False)
        assert stored[sequence] == snapshots.dump(full, "BTC-USD", stored[sequence]["seen"])
    assert set(stored[DEPTH]["seen"]) == set(journal)
