"""Order entry's round trips: a group of orders costs a fixed number of statements whatever its
size, every check is read before the transaction, and the place commands are the last rows
written (their ids are the order of application, taken after any wait on a balance lock)."""
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exchange.ledger.models import Balance
from exchange.trading.entry import PlaceRequest, orders_place_many
from exchange.trading.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def _inside_transaction(queries: list[dict]) -> list[str]:
    sqls = [q["sql"] for q in queries]
    begin = sqls.index("BEGIN")
    return sqls[begin + 1:sqls.index("COMMIT", begin)]


def _group(user, n: int, tag: str) -> list[PlaceRequest]:
    return [PlaceRequest(user_id=user.pk, market="BTC-USD", side="buy", price="30000", quantity="0.01",
                         client_order_id=f"{tag}-{i}") for i in range(n)]


def test_a_group_costs_the_same_statements_whatever_its_size(market, make_user, assets, redis_url):
    from exchange.trading.models import FeeTier

    FeeTier.objects.create(quote=assets["USD"], min_volume="1000", maker_fee="0.0005", taker_fee="0.001")
    alice, bob = make_user("alice", USD="1000000"), make_user("bob", USD="1000000")
    orders_place_many(_group(alice, 1, "warm"))
    counts = []
    for n in (1, 20):
        cache.clear()  # the 30-day volume lookup runs again, as for a user's first order in a minute
        with CaptureQueriesContext(connection) as queries:
            results = orders_place_many(_group(alice, n, f"a{n}") + _group(bob, n, f"b{n}"))
        assert all(isinstance(r, Order) for r in results), results
        counts.append(len(queries))
        inside = _inside_transaction(queries.captured_queries)
        reads = [sql for sql in inside if sql.startswith("SELECT") and "FOR UPDATE" not in sql and "nextval" not in sql]
        assert not reads, reads
        # The last statement writes the orders and then their place commands (one statement).
        assert inside[-1].startswith('WITH placed AS (INSERT INTO "trading_order"'), inside[-3:]
        assert ') INSERT INTO "trading_command"' in inside[-1], inside[-1]
    assert counts[0] == counts[1], counts
    assert counts[0] <= 13, counts


def test_a_refused_order_in_a_group_changes_nothing_and_the_rest_are_placed(market, make_user):
    alice = make_user("alice", USD="700")  # enough for two of the three 300 USD orders
    unknown = PlaceRequest(user_id=alice.pk, market="NOPE-USD", side="buy", price="1", quantity="1")
    results = orders_place_many([*_group(alice, 3, "x"), unknown])
    assert [type(r).__name__ for r in results] == ["Order", "Order", "ExchangeError", "ExchangeError"]
    assert results[2].code == "insufficient_funds"
    assert results[3].code == "unknown_market"
    assert Order.objects.filter(user=alice).count() == 2
    usd = Balance.objects.get(account__user=alice, asset__symbol="USD")
    assert (usd.available, usd.held) == (Decimal("100"), Decimal("600"))


def test_a_client_order_id_repeated_in_a_group_is_placed_once(market, make_user):
    alice = make_user("alice", USD="10000")
    one = PlaceRequest(user_id=alice.pk, market="BTC-USD", side="buy", price="30000", quantity="0.01", client_order_id="same")
    results = orders_place_many([one, PlaceRequest(**{f: getattr(one, f) for f in one.__slots__})])
    assert results[0].pk == results[1].pk
    assert Order.objects.filter(user=alice).count() == 1


def test_the_group_commit_statements_are_prepared_on_the_connection(market, make_user):
    """Order entry's fixed statements bind their arrays on the server and are prepared after a few
    groups (exchange/infra/prepared.py), instead of being quoted into SQL text and parsed and
    planned again for every group; Django's own queries are not prepared."""
    alice = make_user("alice", USD="1000000")
    for i in range(7):  # past the prepare threshold (5)
        results = orders_place_many(_group(alice, 1 + i % 3, f"p{i}"))
        assert all(isinstance(r, Order) for r in results), results
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(s.startswith('WITH placed AS (INSERT INTO "trading_order"') for s in prepared), prepared
    assert any("FOR UPDATE OF b" in s for s in prepared), prepared  # the balances' lock (ledger/holds.py)
    assert any("nextval" in s for s in prepared), prepared
    assert all("$1" in s for s in prepared), prepared  # bound on the server: none is a client-quoted text
