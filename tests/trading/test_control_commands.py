"""Control commands take effect at a well-defined point in the sequence; stops and market buys
by amount settle exactly through the whole pipeline."""
from decimal import Decimal

import pytest

from exchange.errors import ExchangeError
from exchange.ledger.models import Balance
from exchange.markets.models import Market
from exchange.trading.models import Command, Fill, JournalEvent, Order
from exchange.trading.services import market_command, order_place, user_freeze

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def all_applied() -> bool:
    return not Command.objects.filter(applied_sequence__isnull=True).exists()


def test_halt_applies_in_sequence_and_resume_restores_trading(market, make_user, start_matcher, wait, ledger_clean):
    seller = make_user(BTC="1")
    buyer = make_user(USD="100000")
    sell = order_place(user=seller, market="BTC-USD", side="sell", price="100", quantity="1")
    halt = market_command(market="BTC-USD", kind="set_status", status="halted", reason="incident 42")
    # Accepted at entry (the market row still says trading) but behind the halt in the stream.
    late_buy = order_place(user=buyer, market="BTC-USD", side="buy", price="100", quantity="1")
    start_matcher("BTC-USD")
    wait(all_applied, message="the commands")
    late_buy.refresh_from_db()
    assert (late_buy.status, late_buy.cancel_reason) == ("rejected", "market_halted")
    assert not Fill.objects.exists()
    halt.refresh_from_db()
    assert not Fill.objects.filter(sequence__gt=halt.applied_sequence).exists()
    assert Market.objects.get(pk=market.pk).status == "halted"
    with pytest.raises(ExchangeError) as info:
        order_place(user=buyer, market="BTC-USD", side="buy", price="100", quantity="1")
    assert info.value.code == "market_halted"

    market_command(market="BTC-USD", kind="set_status", status="trading", reason="incident resolved")
    wait(lambda: Market.objects.get(pk=market.pk).status == "trading", message="resume")
    buy = order_place(user=buyer, market="BTC-USD", side="buy", price="100", quantity="1")
    wait(lambda: Order.objects.get(pk=buy.pk).status == "filled", message="the trade after resume")
    assert Order.objects.get(pk=sell.pk).status == "filled"
    assert list(JournalEvent.objects.filter(event_type="market_status").values_list("payload__status", flat=True)) == [
        "halted", "trading"]
    ledger_clean()


def test_cancel_all_of_a_market_releases_every_hold(market, make_user, start_matcher, wait, ledger_clean):
    users = [make_user(USD="10000", BTC="10") for _ in range(3)]
    start_matcher("BTC-USD")
    for i, user in enumerate(users):
        order_place(user=user, market="BTC-USD", side="buy", price=str(90 + i), quantity="1")
        order_place(user=user, market="BTC-USD", side="sell", price=str(110 + i), quantity="1")
    market_command(market="BTC-USD", kind="cancel_all", reason="delisting rehearsal")
    wait(all_applied, message="the cancel-all")
    assert set(Order.objects.values_list("status", "cancel_reason")) == {("cancelled", "market_cancel_all")}
    assert all(b.held == 0 for b in Balance.objects.filter(account__kind="user"))
    ledger_clean()


def test_freezing_a_user_cancels_their_orders(market, make_user, start_matcher, wait, ledger_clean):
    frozen = make_user(USD="10000")
    other = make_user(USD="10000")
    start_matcher("BTC-USD")
    theirs = order_place(user=frozen, market="BTC-USD", side="buy", price="90", quantity="1")
    mine = order_place(user=other, market="BTC-USD", side="buy", price="91", quantity="1")
    wait(lambda: Order.objects.get(pk=theirs.pk).status == "open", message="the order to rest")
    user_freeze(user=frozen, reason="compliance hold")
    wait(lambda: Order.objects.get(pk=theirs.pk).status == "cancelled", message="the freeze")
    assert Order.objects.get(pk=theirs.pk).cancel_reason == "user_frozen"
    assert Order.objects.get(pk=mine.pk).status == "open"
    assert Balance.objects.get(account__user=frozen, asset__symbol="USD").held == 0
    with pytest.raises(ExchangeError) as info:
        order_place(user=frozen, market="BTC-USD", side="buy", price="90", quantity="1")
    assert info.value.code == "account_frozen"
    ledger_clean()


def test_stop_limit_triggers_on_the_last_trade(market, make_user, start_matcher, wait, ledger_clean):
    maker = make_user(BTC="10", USD="100000")
    taker = make_user(BTC="10", USD="100000")
    stopper = make_user(BTC="10")
    start_matcher("BTC-USD")
    stop = order_place(user=stopper, market="BTC-USD", side="sell", order_type="stop_limit",
                       stop_price="95", price="94", quantity="1")
    wait(lambda: Order.objects.get(pk=stop.pk).status == "open", message="the stop to wait")
    assert Order.objects.get(pk=stop.pk).is_waiting_stop
    order_place(user=maker, market="BTC-USD", side="buy", price="95", quantity="1")
    order_place(user=maker, market="BTC-USD", side="buy", price="94", quantity="1")
    order_place(user=taker, market="BTC-USD", side="sell", price="95", quantity="1")  # prints 95: the stop fires
    wait(lambda: Order.objects.get(pk=stop.pk).status == "filled", message="the stop to fill at 94")
    assert Fill.objects.filter(sell_order_id=stop.pk, price=D("94")).exists()
    assert JournalEvent.objects.filter(event_type="order_triggered", payload__order_id=stop.pk).exists()
    ledger_clean()


def test_market_buy_by_amount_spends_at_most_the_amount(market, make_user, start_matcher, wait, ledger_clean):
    seller = make_user(BTC="10")
    buyer = make_user(USD="1000")
    start_matcher("BTC-USD")
    order_place(user=seller, market="BTC-USD", side="sell", price="300", quantity="0.5")
    order_place(user=seller, market="BTC-USD", side="sell", price="301", quantity="2")
    buy = order_place(user=buyer, market="BTC-USD", side="buy", order_type="market", quote_amount="500")
    wait(lambda: Order.objects.get(pk=buy.pk).status not in ("pending", "open"), message="the market buy")
    buy.refresh_from_db()
    # 0.5 BTC at 300 = 150; the 350 left buys 1.1627 BTC at 301 (whole lots of 0.0001) = 349.9727.
    assert buy.filled_notional == D("150") + D("301") * D("1.1627")
    assert buy.filled_quantity == D("1.6627")
    assert buy.cancel_reason == "budget_exhausted"
    assert buy.hold_remaining == 0
    usd = Balance.objects.get(account__user=buyer, asset__symbol="USD")
    assert usd.available == D("1000") - buy.filled_notional
    assert usd.held == 0
    ledger_clean()


def test_the_daily_close_is_journalled_in_sequence_with_the_last_price(market, make_user, start_matcher, wait):
    from exchange.trading.tasks import markets_mark_daily_close

    seller = make_user(BTC="1")
    buyer = make_user(USD="1000")
    start_matcher("BTC-USD")
    order_place(user=seller, market="BTC-USD", side="sell", price="101.5", quantity="1")
    order_place(user=buyer, market="BTC-USD", side="buy", price="101.5", quantity="1")
    assert markets_mark_daily_close() == 1
    wait(all_applied, message="the close")
    close = JournalEvent.objects.get(event_type="market_close")
    assert close.payload["price"] == "101.5"
    trade = JournalEvent.objects.get(event_type="trade")
    assert close.sequence > trade.sequence


def test_a_cancel_that_overtakes_its_order_replays_in_the_same_order(market, make_user, start_matcher, wait, redis_url):
    """The order's XADD was lost and is relayed after its cancel: the cancel wins, and the replay
    must apply the two commands in that order although neither changes the sequence after it."""
    import redis as redis_lib

    from exchange.trading.replay import verify_market
    from exchange.trading.services import order_cancel
    from exchange.trading.streams import stream_key

    user = make_user(USD="1000")
    order = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    order_cancel(user=user, order_id=order.pk)
    place, cancel = Command.objects.order_by("id")
    client = redis_lib.Redis.from_url(redis_url)
    client.delete(stream_key("BTC-USD"))
    client.xadd(stream_key("BTC-USD"), {"c": cancel.pk})
    client.xadd(stream_key("BTC-USD"), {"c": place.pk})
    start_matcher("BTC-USD")
    wait(all_applied, message="both commands")
    order.refresh_from_db()
    assert (order.status, order.cancel_reason, order.hold_remaining) == ("cancelled", "cancelled_by_user", 0)
    place.refresh_from_db()
    cancel.refresh_from_db()
    assert cancel.applied_position < place.applied_position
    assert verify_market(market).problems == []


def test_a_user_cancel_without_a_user_is_refused_and_queues_nothing(market):
    with pytest.raises(ExchangeError) as refused:
        market_command(market=market.symbol, kind="cancel_user", reason="compliance hold")
    assert refused.value.code == "user_required"
    assert not Command.objects.exists()
