"""An order that is durable in PostgreSQL but whose XADD never reached the stream (the web
process died between its commit and its XADD) is republished by the matcher's relay and
applied, and that happens while other orders keep streaming in: the relay does not wait for a
quiet moment that a busy market never has."""
import threading
import time

import pytest
from django.db import connection

from exchange.trading.models import Order
from exchange.trading.replay import verify_market
from exchange.trading.services import order_place

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_order_whose_xadd_was_lost_is_applied_while_the_load_goes_on(market, make_user, start_matcher, wait,
                                                                       monkeypatch, ledger_clean, settings):
    settings.EXCHANGE_MAX_OPEN_ORDERS = 1_000_000
    alice = make_user(USD="100000")
    makers = [make_user(BTC="100000") for _ in range(2)]
    start_matcher("BTC-USD")
    first = order_place(user=alice, market="BTC-USD", side="buy", price="99", quantity="1")
    wait(lambda: Order.objects.get(pk=first.pk).status == "open", message="the matcher to run")  # its start-up relay is over
    with monkeypatch.context() as patch:
        patch.setattr("exchange.trading.entry.publish_commands", lambda symbol, command_ids: None)
        orphan = order_place(user=alice, market="BTC-USD", side="buy", price="100", quantity="1")
    done = threading.Event()
    placed_after_applied = []

    def keep_placing(user) -> None:
        price = 200
        try:
            while not done.is_set():
                order_place(user=user, market="BTC-USD", side="sell", price=str(price), quantity="0.1")
                price = 200 + (price - 199) % 15
                if Order.objects.filter(pk=orphan.pk, status="open").exists():
                    placed_after_applied.append(time.monotonic())
        finally:
            connection.close()

    threads = [threading.Thread(target=keep_placing, args=(maker,)) for maker in makers]
    for thread in threads:
        thread.start()
    try:
        wait(lambda: Order.objects.get(pk=orphan.pk).status == "open", timeout=30, message="the lost order to be relayed")
        wait(lambda: len(placed_after_applied) >= 5, timeout=10, message="the load to go on after the relay")
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert Order.objects.filter(market=market).count() > 100  # the market was busy all along
    wait(lambda: not Order.objects.filter(status="pending").exists(), message="every order applied")
    assert verify_market(market).problems == []
    ledger_clean()


def test_the_stream_keeps_only_what_is_not_yet_acknowledged(market, make_user, start_matcher, wait, redis_url):
    """Entries the matcher has read and acknowledged are trimmed away (every relay period), so a
    stream does not keep every command ever sent; nothing unapplied is lost by it."""
    import redis

    from exchange.trading.streams import stream_key

    client = redis.Redis.from_url(redis_url)
    seller = make_user(BTC="10")
    start_matcher("BTC-USD")
    orders = [order_place(user=seller, market="BTC-USD", side="sell", price=str(300 + i), quantity="0.1") for i in range(30)]
    wait(lambda: not Order.objects.filter(pk__in=[o.pk for o in orders], status="pending").exists(), message="orders applied")
    assert client.xlen(stream_key("BTC-USD")) >= 30
    wait(lambda: client.xlen(stream_key("BTC-USD")) <= 1, timeout=20, message="the acknowledged entries trimmed")
    late = order_place(user=seller, market="BTC-USD", side="sell", price="400", quantity="0.1")
    wait(lambda: Order.objects.get(pk=late.pk).status == "open", message="an order after the trim")
    assert verify_market(market).problems == []
