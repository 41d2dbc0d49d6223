"""The open-order limit (``EXCHANGE_MAX_OPEN_ORDERS`` per user and market), counted at entry
from the partial index on open orders (``trading/entry._entry_checks``)."""
import re

import pytest
from django.test.utils import CaptureQueriesContext

from exchange.errors import ExchangeError
from exchange.trading.entry import PlaceRequest, orders_place_many
from exchange.trading.models import Order, OrderStatus


def _buy(user, market="BTC-USD", price="100") -> PlaceRequest:
    return PlaceRequest(user_id=user.pk, market=market, side="buy", price=price, quantity="1")


def _codes(results) -> list[str]:
    return [r.code if isinstance(r, ExchangeError) else "placed" for r in results]


@pytest.fixture
def cap(settings):
    settings.EXCHANGE_MAX_OPEN_ORDERS = 3
    return 3


def test_the_limit_is_per_user_and_market_and_counts_the_group_itself(cap, make_user, market, eth_market):
    alice, bob = make_user(USD="100000"), make_user(USD="100000")
    assert _codes(orders_place_many([_buy(alice) for _ in range(2)])) == ["placed"] * 2
    # One more fits; the group's second and third do not, whatever their order in the group.
    assert _codes(orders_place_many([_buy(alice), _buy(alice), _buy(bob), _buy(alice, "ETH-USD")])) == [
        "placed", "open_order_limit", "placed", "placed"]
    assert _codes(orders_place_many([_buy(alice)])) == ["open_order_limit"]
    assert Order.objects.filter(user=alice, market=market).count() == cap


def test_only_open_orders_count(cap, make_user, market):
    alice = make_user(USD="100000")
    orders_place_many([_buy(alice) for _ in range(cap)])
    assert _codes(orders_place_many([_buy(alice)])) == ["open_order_limit"]
    first = Order.objects.filter(user=alice).order_by("id").first()
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.CANCELLED)  # as the matcher closes it
    assert _codes(orders_place_many([_buy(alice)])) == ["placed"]


def test_the_checks_read_the_partial_indexes_of_open_orders(cap, make_user, market):
    """The count reads the user's open orders in the market, not the market's. The statement
    names the open statuses itself, so the partial index's condition is implied even under a
    prepared statement's generic plan."""
    from django.db import connection

    alice = make_user(USD="100000")
    with CaptureQueriesContext(connection) as queries:
        orders_place_many([_buy(alice)])
    checks = [q["sql"] for q in queries.captured_queries if "'frozen'" in q["sql"]]
    assert len(checks) == 1
    assert "IN ('pending', 'open')" in checks[0]
    parameters = max(int(n) for n in re.findall(r"\$(\d+)", checks[0]))
    with connection.cursor() as cursor:
        # The plan a prepared statement gets once it goes generic (the values do not matter to it);
        # with sequential scans off, as the tables of a test are too small for an index to pay.
        cursor.execute(f"PREPARE open_check AS {checks[0]}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN EXECUTE open_check({', '.join(['NULL'] * parameters)})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET plan_cache_mode")
        cursor.execute("DEALLOCATE open_check")
    assert "order_user_market_open_idx" in plan, plan
    # Which index the client order ids are read from is the planner's choice between the partial
    # ones (it picked either on different machines); without any, that scan never starts.
    assert "One-Time Filter: (cardinality(" in plan, plan
