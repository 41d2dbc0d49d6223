"""Load shedding through a real Daphne: with order entry full, excess orders get a fast 503 with
Retry-After and the error body, accepted ones complete, and market data is still served."""
import asyncio
import statistics
import time

import httpx
import pytest

from exchange.infra.shedding import Budget
from exchange.trading.models import Order
from tests.frontdoor.conftest import lock_balance, refusals_while_one_order_waits

pytestmark = pytest.mark.django_db(transaction=True)


def test_order_entry_sheds_with_503_while_market_data_is_served(start_web, trader_key):
    web = start_web(EXCHANGE_MAX_INFLIGHT_ORDERS="2", EXCHANGE_SHED_QUEUE_MS="5", EXCHANGE_MAX_INFLIGHT_REQUESTS="200",
                    EXCHANGE_API_RECV_WINDOW_MS="60000",
                    EXCHANGE_MAX_OPEN_ORDERS="100000")

    async def post(client: httpx.AsyncClient):
        path, body = trader_key.order()
        started = time.monotonic()
        response = await client.post(path, content=body, headers=trader_key.headers("POST", path, body))
        return response, time.monotonic() - started

    async def run():
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=web.url, limits=limits, timeout=30) as client:
            # Warm up: the first request loads the URLconf; then open the keep-alive connections,
            # so that what is timed below is the server's answer, not TCP set-up.
            await client.get("/api/v1/markets/BTC-USD/depth")
            await asyncio.gather(*(client.get("/api/v1/markets/BTC-USD/depth") for _ in range(100)))
            # The admitted orders wait on the trader's balance row until the rest have arrived, so
            # the budget is surely full whatever the timing of this machine.
            orders = [asyncio.ensure_future(post(client)) for _ in range(80)]
            depth = [asyncio.ensure_future(client.get("/api/v1/markets/BTC-USD/depth")) for _ in range(20)]
            await asyncio.sleep(1.0)
            await asyncio.get_running_loop().run_in_executor(None, locker.rollback)
            results = await asyncio.gather(*orders, *depth)
        return results[:80], results[80:]

    locker = lock_balance("bot", "USD")
    try:
        orders, depth = asyncio.run(run())
    finally:
        locker.close()
    statuses = [r.status_code for r, _ in orders]
    assert set(statuses) <= {201, 503}, statuses
    refused = [(r, seconds) for r, seconds in orders if r.status_code == 503]
    assert refused, "nothing was shed"
    assert statuses.count(201) >= 2
    for response, _ in refused:
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "overloaded"
    assert [r.status_code for r in depth] == [200] * 20
    # Every accepted order is durable, and only those.
    assert Order.objects.count() == statuses.count(201)


def test_a_refusal_is_answered_at_once_and_the_admitted_order_completes(start_web, trader_key, wait):
    """The one order-entry place is taken by an order blocked on its balance row (locked here);
    every further order is refused within 50 ms; once the lock goes, the blocked order completes."""
    web = start_web(EXCHANGE_MAX_INFLIGHT_ORDERS="1", EXCHANGE_SHED_QUEUE_MS="5")
    accepted, refusals, depth = refusals_while_one_order_waits(web.url, trader_key, lock_balance("bot", "USD"), 10)
    assert [r.status_code for r, _ in refusals] == [503] * 10
    assert refusals[0][0].json() == {"error": {"code": "overloaded", "message": "order entry is busy: retry shortly"}}
    assert statistics.median(seconds for _, seconds in refusals) < 0.05, refusals
    assert depth.status_code == 200
    assert accepted.status_code == 201
    assert Order.objects.count() == 1


def test_a_budget_admits_in_order_and_refuses_past_its_queue():
    async def scenario():
        budget = Budget("orders", 1)
        assert await budget.enter(0)
        assert not await budget.enter(0)  # full, and no waiting allowed
        waiter = asyncio.ensure_future(budget.enter(1.0))
        await asyncio.sleep(0)
        assert not await budget.enter(1.0)  # the queue holds at most `limit` waiters
        budget.leave()  # the place goes straight to the waiter
        assert await waiter
        assert budget.in_flight == 1
        late = await budget.enter(0.01)  # times out
        budget.leave()
        assert (late, budget.in_flight, len(budget.waiters)) == (False, 0, 0)

    asyncio.run(scenario())
