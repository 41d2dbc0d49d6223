"""Amending an order, end to end through a real matcher: the engine's priority rule, the hold
taken when the amend is asked and settled when it is applied, and the amend that arrives too
late (the order filled meanwhile) giving its hold back. Every test ends with a clean ledger and
a journal that replays to the same events and orders (``verify_journal``)."""
from decimal import Decimal

import pytest

from exchange.ledger.models import Balance
from exchange.trading.models import Command, JournalEvent, Order
from exchange.trading.replay import verify_market
from exchange.trading.services import order_amend, order_place

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def balance(user, symbol: str) -> tuple[Decimal, Decimal]:
    row = Balance.objects.get(account__user=user, asset__symbol=symbol)
    return row.available, row.held


def applied(wait) -> None:
    wait(lambda: not Command.objects.filter(applied_sequence__isnull=True).exists(), message="every command applied")


def checked(market, ledger_clean) -> None:
    assert verify_market(market).problems == []
    ledger_clean()


@pytest.fixture
def resting(market, make_user, start_matcher, wait):
    """Two 1 BTC bids at 100, ``first`` ahead of ``second`` in the queue, and the matcher."""
    user = make_user("bidder", USD="1000")
    matcher = start_matcher("BTC-USD")
    first = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    second = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    wait(lambda: Order.objects.filter(status="open").count() == 2, message="both bids to rest")
    return user, first, second, matcher


def test_a_smaller_quantity_keeps_priority_and_releases_the_hold(resting, market, wait, ledger_clean):
    user, first, _, _ = resting
    before = Order.objects.get(pk=first.pk).priority
    amended = order_amend(user=user, order_id=first.pk, quantity="0.4")
    assert amended.priority_kept is True
    assert balance(user, "USD") == (D(800), D(200))  # released only once applied
    applied(wait)
    order = Order.objects.get(pk=first.pk)
    assert (order.quantity, order.open_quantity, order.price, order.priority) == (D("0.4"), D("0.4"), D(100), before)
    assert order.hold_remaining == D(40)
    assert balance(user, "USD") == (D(860), D(140))
    event = JournalEvent.objects.filter(event_type="order_amended").get()
    assert event.payload == {"order_id": first.pk, "account": user.pk, "price": "100", "quantity": "0.4"}
    checked(market, ledger_clean)


def test_a_larger_quantity_holds_more_at_once_and_loses_priority(resting, market, wait, ledger_clean):
    user, first, second, _ = resting
    amended = order_amend(user=user, order_id=first.pk, quantity="1.5")
    assert amended.priority_kept is False
    assert balance(user, "USD") == (D(750), D(250))  # held in the amend's own transaction
    assert Order.objects.get(pk=first.pk).hold_remaining == D(150)
    applied(wait)
    order = Order.objects.get(pk=first.pk)
    assert (order.quantity, order.open_quantity, order.hold_remaining) == (D("1.5"), D("1.5"), D(150))
    assert order.priority > Order.objects.get(pk=second.pk).priority  # now behind the second bid
    checked(market, ledger_clean)


def test_a_new_price_moves_the_order_and_its_hold(resting, market, wait, ledger_clean):
    user, first, _, _ = resting
    assert order_amend(user=user, order_id=first.pk, price="99.5").priority_kept is False
    applied(wait)
    order = Order.objects.get(pk=first.pk)
    assert (order.price, order.engine_price, order.quantity, order.hold_remaining) == (D("99.5"), D("99.5"), D(1),
                                                                                        D("99.5"))
    assert balance(user, "USD") == (D("800.5"), D("199.5"))
    checked(market, ledger_clean)


def test_a_crossing_price_trades_like_a_new_order(resting, market, make_user, wait, ledger_clean):
    user, first, _, _ = resting
    seller = make_user("seller", BTC="1")
    ask = order_place(user=seller, market="BTC-USD", side="sell", price="101", quantity="0.5")
    wait(lambda: Order.objects.get(pk=ask.pk).status == "open", message="the ask to rest")
    order_amend(user=user, order_id=first.pk, price="101")  # holds 1 USD more
    applied(wait)
    order = Order.objects.get(pk=first.pk)
    assert (order.filled_quantity, order.open_quantity, order.hold_remaining) == (D("0.5"), D("0.5"), D("50.5"))
    assert Order.objects.get(pk=ask.pk).status == "filled"
    checked(market, ledger_clean)


def test_an_amend_too_late_gives_its_hold_back(resting, market, make_user, start_matcher, wait, ledger_clean):
    """The order fills before the matcher reaches the amend: the amend changes nothing and the
    extra hold it took returns to available."""
    user, first, _, matcher = resting
    seller = make_user("seller", BTC="2")
    # With the matcher stopped, queue a sell that fills both bids, and only then an amend of the
    # first (still open in the database): the restarted matcher applies them in that order.
    matcher.kill()
    order_place(user=seller, market="BTC-USD", side="sell", price="100", quantity="2")
    order_amend(user=user, order_id=first.pk, quantity="3")  # holds 200 USD more
    assert balance(user, "USD") == (D(600), D(400))
    start_matcher("BTC-USD")
    applied(wait)
    assert Order.objects.get(pk=first.pk).status == "filled"
    assert Order.objects.get(pk=first.pk).hold_remaining == 0
    assert Order.objects.get(pk=first.pk).quantity == D(1)
    assert balance(user, "USD")[1] == 0
    assert not JournalEvent.objects.filter(event_type="order_amended").exists()
    checked(market, ledger_clean)


def test_an_amend_asked_while_the_matcher_is_down_applies_once_after_restart(market, make_user, start_matcher, wait,
                                                                             ledger_clean):
    user = make_user("bidder", USD="1000")
    matcher = start_matcher("BTC-USD")
    bid = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    wait(lambda: Order.objects.get(pk=bid.pk).status == "open", message="the bid to rest")
    matcher.kill()
    order_amend(user=user, order_id=bid.pk, quantity="2")  # the restarted matcher rebuilds with it unapplied
    pending = order_place(user=user, market="BTC-USD", side="buy", price="90", quantity="1")
    order_amend(user=user, order_id=pending.pk, price="95", quantity="2")  # an order the matcher never saw
    start_matcher("BTC-USD")
    applied(wait)
    first, second = Order.objects.get(pk=bid.pk), Order.objects.get(pk=pending.pk)
    assert (first.open_quantity, first.hold_remaining) == (D(2), D(200))
    assert (second.status, second.price, second.open_quantity, second.hold_remaining) == ("open", D(95), D(2), D(190))
    assert balance(user, "USD") == (D(610), D(390))
    assert Command.objects.filter(kind="amend", applied_sequence__isnull=False).count() == 2
    checked(market, ledger_clean)
