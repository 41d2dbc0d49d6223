"""Batch orders through the REST API and a real matcher: each valid order applied exactly once,
each bad one reported in its place; batch cancels likewise; every order counts against the
order rate limit."""
from decimal import Decimal

import pytest

from exchange.trading.models import Command, Fill, Order
from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
BATCH = "/api/v1/orders/batch"


def test_a_mixed_batch_places_each_valid_order_once_and_reports_the_rest(
        market, make_user, start_matcher, wait, signed_client, ledger_clean):
    maker = make_user("maker", BTC="1")
    taker = make_user("taker", USD="1000")
    start_matcher("BTC-USD")
    resting = order_place(user=maker, market="BTC-USD", side="sell", price="100", quantity="0.5")
    wait(lambda: Order.objects.get(pk=resting.pk).status == "open", message="the sell to rest")
    api = signed_client(taker)
    orders = [
        {"market": "BTC-USD", "side": "buy", "price": "100", "quantity": "0.2", "client_order_id": "a"},  # fills
        {"market": "BTC-USD", "side": "buy", "price": "100.001", "quantity": "0.1"},  # off the tick
        {"market": "BTC-USD", "side": "buy", "price": "90", "quantity": "0.3", "client_order_id": "b"},  # rests
        {"market": "BTC-USD", "side": "sideways", "price": "90", "quantity": "0.1"},
        {"market": "NOPE-USD", "side": "buy", "price": "90", "quantity": "0.1"},
        {"market": "BTC-USD", "side": "buy", "price": "95", "quantity": "10.5"},  # 997.50 USD: more than is left
        {"market": "BTC-USD", "side": "buy", "price": "90", "quantity": "0.3", "client_order_id": "b"},  # same as "b"
    ]
    malformed = api.call("POST", BATCH, {"orders": [orders[0], "not an order"]})  # refused whole
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_orders"
    assert not Order.objects.filter(user=taker).exists()
    response = api.call("POST", BATCH, {"orders": orders})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 400, 201, 400, 404, 400, 201]
    assert [r.get("error", {}).get("code") for r in results] == [
        None, "tick_size", None, "invalid_side", "unknown_market", "insufficient_funds", None]
    assert results[6]["order"]["id"] == results[2]["order"]["id"]  # one order for client id "b"
    placed = Order.objects.filter(user=taker)
    assert sorted(placed.values_list("client_order_id", flat=True)) == ["a", "b"]
    assert Command.objects.filter(order__user=taker, kind="place").count() == 2

    wait(lambda: Order.objects.get(client_order_id="a").status == "filled", message="the matcher to fill a")
    wait(lambda: Order.objects.get(client_order_id="b").status == "open", message="b to rest")
    fill = Fill.objects.get()
    assert (fill.price, fill.quantity, fill.buyer_id) == (D("100"), D("0.2"), taker.pk)

    # A replay of the same signed request is refused; nothing is placed twice.
    replay = api.call("POST", BATCH, raw=api.last)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "replayed_request"
    # The same batch signed anew: the open "b" comes back, "a" (filled) is a new order.
    again = api.call("POST", BATCH, {"orders": orders[2:3]}).json()["results"]
    assert again == [{"status": 201, "order": again[0]["order"]}]
    assert again[0]["order"]["id"] == results[2]["order"]["id"]
    assert Order.objects.filter(user=taker).count() == 2
    ledger_clean()


def test_batch_cancel_reports_each_id(market, make_user, start_matcher, wait, signed_client, ledger_clean):
    alice = make_user("alice", USD="1000")
    mallory = make_user("mallory", USD="1000")
    start_matcher("BTC-USD")
    mine = [order_place(user=alice, market="BTC-USD", side="buy", price=str(90 + i), quantity="0.2") for i in range(3)]
    theirs = order_place(user=mallory, market="BTC-USD", side="buy", price="80", quantity="0.2")
    wait(lambda: Order.objects.filter(status="open").count() == 4, message="the orders to rest")
    api = signed_client(alice)

    malformed = api.call("DELETE", BATCH, {"ids": [mine[0].pk, "x"]})  # refused whole
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_ids"
    response = api.call("DELETE", BATCH, {"ids": [mine[0].pk, theirs.pk, mine[1].pk, 10**12]})
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 404, 202, 404]
    assert {r["error"]["code"] for r in results if "error" in r} == {"unknown_order"}
    wait(lambda: set(Order.objects.filter(pk__in=[mine[0].pk, mine[1].pk]).values_list("status", flat=True))
         == {"cancelled"}, message="the matcher to cancel both")
    assert Order.objects.get(pk=theirs.pk).status == "open"
    assert Order.objects.get(pk=mine[2].pk).status == "open"

    # ?ids= works too; an order no longer open is reported, the open one cancelled.
    path = f"{BATCH}?ids={mine[0].pk},{mine[2].pk}"
    results = api.call("DELETE", path).json()["results"]
    assert [(r["status"], r.get("error", {}).get("code")) for r in results] == [(409, "order_not_open"), (202, None)]
    wait(lambda: Order.objects.get(pk=mine[2].pk).status == "cancelled", message="the last cancel")
    assert Command.objects.filter(kind="cancel").count() == 3
    ledger_clean()


def test_batches_are_bounded_and_count_every_order_against_the_rate_limit(market, make_user, signed_client, settings):
    settings.EXCHANGE_RATE_LIMITS = {**settings.EXCHANGE_RATE_LIMITS, "orders": (5, 60)}
    alice = make_user("alice", USD="100000")
    api = signed_client(alice)
    order = {"market": "BTC-USD", "side": "buy", "price": "90", "quantity": "0.2"}

    too_many = api.call("POST", BATCH, {"orders": [order] * 21})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "batch_too_large"
    assert api.call("POST", BATCH, {"orders": []}).json()["error"]["code"] == "invalid_orders"
    from exchange.trading.streams import redis_client

    for key in redis_client().scan_iter("rl:orders:*"):
        redis_client().delete(key)
    assert api.call("POST", BATCH, {"orders": [order] * 3}).status_code == 200
    refused = api.call("POST", BATCH, {"orders": [order] * 3})  # 3 + 3 > 5
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"]
    assert Order.objects.count() == 3
