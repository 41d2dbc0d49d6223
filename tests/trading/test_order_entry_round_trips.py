"""Order entry's round trips: every check is read before the transaction, and nothing but the
order's own writes runs inside it (the fee tiers and the 30-day volume used to be read while the
balance row was locked)."""
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)


def _inside_transaction(queries: list[dict]) -> list[str]:
    sqls = [q["sql"] for q in queries]
    begin = sqls.index("BEGIN")
    return sqls[begin + 1:sqls.index("COMMIT", begin)]


def test_an_order_costs_twelve_round_trips_and_reads_nothing_under_its_lock(market, make_user, assets, redis_url):
    from exchange.console.models import FeeTier

    FeeTier.objects.create(quote=assets["USD"], min_volume="1000", maker_fee="0.0005", taker_fee="0.001")
    alice = make_user("alice", USD="100000")
    order_place(user=alice, market="BTC-USD", side="buy", price="30000", quantity="0.01")
    cache.clear()  # the 30-day volume lookup runs again, as for a user's first order in a minute

    with CaptureQueriesContext(connection) as queries:
        order_place(user=alice, market="BTC-USD", side="buy", price="30000", quantity="0.01", client_order_id="c-1")

    # Was 16: four checks, the fee tiers and the two volume sums inside the transaction.
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]
    inside = _inside_transaction(queries.captured_queries)
    assert not [sql for sql in inside if sql.startswith("SELECT") and "ledger_ledgeraccount" not in sql], inside
    # The place command is the last row written: its id (the order of application) is taken after
    # any wait on the balance lock, just before the commit.
    assert inside[-1].startswith('INSERT INTO "trading_command"'), inside[-3:]
