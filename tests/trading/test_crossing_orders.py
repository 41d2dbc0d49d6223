"""Two users, crossing orders, a real matcher: the trade settles exactly."""
from decimal import Decimal

import pytest

from exchange.ledger.models import Balance, Posting
from exchange.trading.models import Fill, Order
from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def balance(user, symbol):
    row = Balance.objects.get(account__user=user, asset__symbol=symbol)
    return row.available, row.held


def test_crossing_orders_trade_and_settle_to_the_last_decimal(market, make_user, start_matcher, wait, ledger_clean):
    alice = make_user("alice", BTC="1")
    bob = make_user("bob", USD="20000")
    start_matcher("BTC-USD")
    sell = order_place(user=alice, market="BTC-USD", side="sell", price="30000", quantity="0.5")
    wait(lambda: Order.objects.get(pk=sell.pk).status == "open", message="the sell to rest")
    buy = order_place(user=bob, market="BTC-USD", side="buy", price="30010", quantity="0.5")
    assert balance(bob, "USD") == (D("4995"), D("15005"))  # held at the limit price
    wait(lambda: Order.objects.get(pk=buy.pk).status == "filled", message="the buy to fill")

    fill = Fill.objects.get()
    assert (fill.price, fill.quantity, fill.aggressor) == (D("30000"), D("0.5"), "buy")
    assert (fill.buy_order_id, fill.sell_order_id) == (buy.pk, sell.pk)
    # Bob (taker, 0.2%) pays 15,000 USD, gets 0.5 BTC less 0.001; the 5 USD of price improvement
    # comes back. Alice (maker, 0.1%) gets 15,000 USD less 15.
    assert fill.buyer_fee == D("0.001")
    assert fill.seller_fee == D("15")
    assert balance(bob, "USD") == (D("5000"), D(0))
    assert balance(bob, "BTC") == (D("0.499"), D(0))
    assert balance(alice, "BTC") == (D("0.5"), D(0))
    assert balance(alice, "USD") == (D("14985"), D(0))
    fees = {(p.asset.symbol, p.amount) for p in Posting.objects.filter(account__kind="fees")}
    assert fees == {("BTC", D("0.001")), ("USD", D("15"))}
    for order in Order.objects.all():
        assert order.hold_remaining == 0
        assert order.status == "filled"
    ledger_clean()


def test_verify_journal_and_export_after_trading(market, make_user, start_matcher, wait, tmp_path):
    import orjson
    from django.core.management import call_command

    from exchange.trading.models import JournalEvent
    from exchange.trading.replay import verify_market

    alice = make_user("alice", BTC="1")
    bob = make_user("bob", USD="20000")
    start_matcher("BTC-USD")
    orders = [
        order_place(user=alice, market="BTC-USD", side="sell", price="30000", quantity="0.2"),
        order_place(user=alice, market="BTC-USD", side="sell", price="30100", quantity="0.3"),
        order_place(user=bob, market="BTC-USD", side="buy", price="30100", quantity="0.4"),
        order_place(user=bob, market="BTC-USD", side="buy", price="29000", quantity="0.1"),
    ]
    wait(lambda: not Order.objects.filter(pk__in=[o.pk for o in orders], status="pending").exists(), message="all applied")
    report = verify_market(market)
    assert report.problems == []
    assert report.fills == 2
    out = tmp_path / "events.jsonl"
    call_command("export_events", "--market", "BTC-USD", "--output", str(out))
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    types = [line["type"] for line in lines]
    assert types.count("trade") == 2
    assert types.count("account") == 2
    trade = next(line for line in lines if line["type"] == "trade")
    assert {"seq", "ts", "market", "trade_id", "price", "quantity", "buy_order_id", "sell_order_id", "buyer",
            "seller", "aggressor"} <= set(trade)
    assert trade["price"] == "30000"
    assert trade["aggressor"] == "buy"

    # Tampering with one stored event is detected.
    event = JournalEvent.objects.filter(event_type="trade").first()
    event.payload = {**event.payload, "quantity": "0.3"}
    event.save()
    assert verify_market(market).problems


def test_a_matcher_following_every_market_trades_one_listed_after_it_started(assets, make_user, start_matcher, wait,
                                                                             ledger_clean):
    """``run_matcher`` without ``--markets`` (what ``make run`` starts) picks up a new market
    without a restart: an operator's new listing once sat with every order pending forever."""
    from exchange.markets.services import market_create

    start_matcher()  # no markets yet
    carol = make_user("carol", ETH="1")
    bob = make_user("bob", USD="20000")
    market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.01", lot_size="0.0001")
    sell = order_place(user=carol, market="ETH-USD", side="sell", price="2000", quantity="0.5")
    buy = order_place(user=bob, market="ETH-USD", side="buy", price="2000", quantity="0.5")
    wait(lambda: Order.objects.get(pk=buy.pk).status == "filled", message="the new market to trade")
    assert Order.objects.get(pk=sell.pk).status == "filled"
    ledger_clean()
