"""Cancel-all asks every open order once, in chunks, and a real matcher applies every ask."""
from decimal import Decimal

import pytest

from exchange.infra.redis_clients import redis_client
from exchange.ledger.models import Balance
from exchange.trading import services
from exchange.trading.models import Command, Order
from exchange.trading.services import order_cancel, order_cancel_all, order_place
from exchange.trading.streams import stream_key

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _resting(user, market: str, count: int) -> list[Order]:
    return [order_place(user=user, market=market, side="buy", price=str(100 + index), quantity="1")
            for index in range(count)]


def _streamed_command_ids(symbol: str) -> list[int]:
    return [int(fields[b"c"]) for _, fields in redis_client().xrange(stream_key(symbol))]


def test_every_open_order_is_asked_once_across_chunks(market, eth_market, make_user, redis_url, monkeypatch):
    monkeypatch.setattr(services, "CANCEL_ALL_CHUNK", 7)
    user = make_user(USD="100000")
    other = make_user(USD="100000")
    btc = _resting(user, "BTC-USD", 17)
    eth = _resting(user, "ETH-USD", 9)
    theirs = _resting(other, "BTC-USD", 3)
    order_cancel(user=user, order_id=btc[0].pk)  # already asked: not asked again
    Order.objects.filter(pk=btc[1].pk).update(status="cancelled")  # no longer open: left alone
    redis_client().delete(stream_key("BTC-USD"), stream_key("ETH-USD"))

    asked = order_cancel_all(user=user, market="BTC-USD")
    assert [order.pk for order in asked] == [order.pk for order in btc[2:]]
    assert all(order.cancel_requested_at is not None for order in asked)

    asked_eth = order_cancel_all(user=user)  # every market: only ETH-USD's remain unasked
    assert [order.pk for order in asked_eth] == [order.pk for order in eth]
    assert order_cancel_all(user=user) == []

    for order in btc[:1] + btc[2:] + eth:
        assert Command.objects.filter(kind="cancel", order=order).count() == 1
    assert not Command.objects.filter(kind="cancel", order__in=[btc[1], *theirs]).exists()
    assert not Order.objects.filter(pk__in=[o.pk for o in theirs], cancel_requested_at__isnull=False).exists()
    # Each ask reached its market's stream once, after its chunk committed.
    assert sorted(_streamed_command_ids("BTC-USD")) == sorted(
        Command.objects.filter(kind="cancel", order__in=btc[2:]).values_list("pk", flat=True))
    assert sorted(_streamed_command_ids("ETH-USD")) == sorted(
        Command.objects.filter(kind="cancel", order__in=eth).values_list("pk", flat=True))


def test_the_matcher_cancels_them_all_and_releases_every_hold(market, make_user, start_matcher, wait, ledger_clean,
                                                              monkeypatch):
    monkeypatch.setattr(services, "CANCEL_ALL_CHUNK", 11)
    user = make_user(USD="100000")
    start_matcher("BTC-USD")
    orders = _resting(user, "BTC-USD", 40)
    wait(lambda: Order.objects.filter(user=user, status="open").count() == 40, message="all 40 resting")

    assert len(order_cancel_all(user=user, market="BTC-USD")) == 40
    wait(lambda: Order.objects.filter(pk__in=[o.pk for o in orders], status="cancelled").count() == 40,
         message="all 40 cancelled")
    usd = Balance.objects.get(account__user=user, asset__symbol="USD")
    assert (usd.available, usd.held) == (D("100000"), D(0))
    assert not Order.objects.filter(user=user).exclude(hold_remaining=0).exists()
    ledger_clean()
