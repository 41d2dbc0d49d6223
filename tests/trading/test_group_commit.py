"""Group commit: concurrent requests in one process share transactions, each order is placed
exactly once with its own result, and a failed group hands its error to every waiter."""
import threading

import pytest
from django.db import DatabaseError, connection

from exchange.errors import ExchangeError
from exchange.ledger.models import Balance
from exchange.trading.committer import GroupCommitter
from exchange.trading.entry import PlaceRequest
from exchange.trading.models import Command, Order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def committer():
    instance = GroupCommitter()
    yield instance
    instance.stop()


def _place_concurrently(committer, requests: list[PlaceRequest], threads: int = 16) -> list:
    results: list = [None] * len(requests)
    start = threading.Barrier(threads)

    def work(offset: int) -> None:
        start.wait()
        for i in range(offset, len(requests), threads):
            try:
                results[i] = committer.place(requests[i])
            except Exception as exc:  # the test looks at every outcome
                results[i] = exc

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_concurrent_orders_share_commits_and_each_is_placed_once(market, make_user, committer):
    users = [make_user(USD="1000000") for _ in range(4)]
    requests = [PlaceRequest(user_id=users[i % 4].pk, market="BTC-USD", side="buy", price=str(20000 + i % 50),
                             quantity="0.01", client_order_id=f"g-{i}") for i in range(400)]
    results = _place_concurrently(committer, requests)

    assert all(isinstance(r, Order) for r in results), {type(r).__name__ for r in results}
    assert len({r.pk for r in results}) == 400
    assert Order.objects.filter(market=market).count() == 400 == Command.objects.filter(kind="place").count()
    for result, request in zip(results, requests, strict=True):
        assert (result.user_id, result.client_order_id) == (request.user_id, request.client_order_id)
    assert committer.orders == 400
    assert committer.groups < 400  # the orders did share commits


def test_each_order_in_a_group_gets_its_own_refusal(market, make_user, committer):
    poor = make_user(USD="250")  # one 200 USD order fits, the others do not
    rich = make_user(USD="1000000")
    requests = [PlaceRequest(user_id=(poor if i % 2 else rich).pk, market="BTC-USD", side="buy", price="20000",
                             quantity="0.01") for i in range(40)]
    results = _place_concurrently(committer, requests, threads=8)

    poor_results = [r for r, q in zip(results, requests, strict=True) if q.user_id == poor.pk]
    assert sum(isinstance(r, Order) for r in poor_results) == 1
    assert all(r.code == "insufficient_funds" for r in poor_results if isinstance(r, ExchangeError))
    assert all(isinstance(r, Order) for r, q in zip(results, requests, strict=True) if q.user_id == rich.pk)
    held = Balance.objects.get(account__user=poor, asset__symbol="USD").held
    assert held == 200


def test_a_database_failure_reaches_every_waiter_and_the_next_group_works(market, make_user, committer, monkeypatch):
    alice = make_user(USD="1000000")
    order = PlaceRequest(user_id=alice.pk, market="BTC-USD", side="buy", price="20000", quantity="0.01")
    assert isinstance(committer.place(order), Order)  # the thread holds a connection now
    with connection.cursor() as cursor:  # PostgreSQL ends the committer's session
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with pytest.raises(DatabaseError, match=r"(?i)terminat|closed"):
        committer.place(order)
    assert isinstance(committer.place(order), Order)  # reconnected for the next group
