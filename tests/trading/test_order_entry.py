"""Order entry refuses bad input with a clear error and writes nothing, holds nothing."""
from decimal import Decimal

import pytest

from exchange.accounts.models import UserStatus
from exchange.accounts.services import user_set_status
from exchange.errors import ExchangeError
from exchange.ledger.models import Balance, LedgerEntry
from exchange.markets.models import MarketStatus
from exchange.trading.models import Command, Order
from exchange.trading.services import order_amend, order_cancel, order_cancel_all, order_place

pytestmark = pytest.mark.django_db
D = Decimal


def state():
    return (Order.objects.count(), Command.objects.count(), LedgerEntry.objects.count(),
            sorted(Balance.objects.values_list("account_id", "asset_id", "available", "held")))


def refused(code: str, call) -> None:
    before = state()
    with pytest.raises(ExchangeError) as info:
        call()
    assert info.value.code == code
    assert 400 <= info.value.status < 500
    assert state() == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"market": "DOGE-USD"}, "unknown_market"),
        ({"price": "100.001"}, "tick_size"),
        ({"quantity": "0.00001"}, "lot_size"),
        ({"price": "10", "quantity": "0.5"}, "min_notional"),
        ({"quantity": "1000"}, "max_quantity"),
        ({"quantity": "50"}, "insufficient_funds"),
        ({"side": "short"}, "invalid_side"),
        ({"time_in_force": "gtd"}, "invalid_time_in_force"),
        ({"stp": "none"}, "invalid_stp"),
        ({"price": "NaN"}, "invalid_price"),
        ({"quantity": "-1"}, "invalid_quantity"),
        ({"order_type": "market", "price": None}, "no_reference_price"),
        ({"post_only": True, "time_in_force": "ioc"}, "invalid_post_only"),
        ({"client_order_id": "x" * 65}, "invalid_client_order_id"),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(market, make_user, kwargs, code):
    user = make_user(USD="1000")
    order = {"user": user, "market": "BTC-USD", "side": "buy", "price": "100", "quantity": "1", **kwargs}
    refused(code, lambda: order_place(**order))


@pytest.mark.parametrize(
    ("status", "code"),
    [(MarketStatus.HALTED, "market_halted"), (MarketStatus.CANCEL_ONLY, "market_cancel_only"),
     (MarketStatus.DELISTED, "market_delisted")],
)
def test_markets_that_refuse_orders(market, make_user, status, code):
    user = make_user(USD="1000")
    market.status = status
    market.save()
    refused(code, lambda: order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1"))


def test_a_frozen_user_cannot_place(market, make_user):
    user = make_user(USD="1000")
    user_set_status(user=user, status=UserStatus.FROZEN)
    refused("account_frozen", lambda: order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1"))


def test_order_place_holds_exactly_and_is_durable(market, make_user, ledger_clean):
    user = make_user(USD="1000", BTC="1")
    buy = order_place(user=user, market="BTC-USD", side="buy", price="100.5", quantity="2")
    sell = order_place(user=user, market="BTC-USD", side="sell", price="200", quantity="0.25")
    assert (buy.status, buy.hold_amount, buy.hold_asset.symbol) == ("pending", D("201"), "USD")
    assert (sell.hold_amount, sell.hold_asset.symbol) == (D("0.25"), "BTC")
    assert Command.objects.filter(kind="place").count() == 2
    usd = Balance.objects.get(account__user=user, asset__symbol="USD")
    assert (usd.available, usd.held) == (D("799"), D("201"))
    ledger_clean()


def test_market_buy_holds_by_quote_amount_or_protection_price(market, make_user):
    user = make_user(USD="1000")
    by_amount = order_place(user=user, market="BTC-USD", side="buy", order_type="market", quote_amount="100")
    assert by_amount.hold_amount == D("100")
    market.last_price = D("100")
    market.save()
    by_quantity = order_place(user=user, market="BTC-USD", side="buy", order_type="market", quantity="1")
    assert by_quantity.engine_price == D("105")  # last price + the 5% slippage cap
    assert by_quantity.hold_amount == D("105")


def test_duplicate_client_order_id_returns_the_existing_order(market, make_user):
    user = make_user(USD="1000")
    first = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1", client_order_id="abc")
    before = state()
    again = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1", client_order_id="abc")
    assert again.pk == first.pk
    assert state() == before


def test_cancel_of_someone_elses_or_an_unknown_order(market, make_user):
    owner = make_user(USD="1000")
    other = make_user(USD="1000")
    order = order_place(user=owner, market="BTC-USD", side="buy", price="100", quantity="1")
    refused("unknown_order", lambda: order_cancel(user=other, order_id=order.pk))
    refused("unknown_order", lambda: order_cancel(user=owner, order_id=10**12))
    refused("unknown_order", lambda: order_cancel(user=owner, order_id="abc"))
    assert Order.objects.get(pk=order.pk).cancel_requested_at is None


def test_cancel_is_recorded_durably_once(market, make_user):
    user = make_user(USD="1000")
    order = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    order_cancel(user=user, order_id=order.pk)
    order_cancel(user=user, order_id=order.pk)
    assert Order.objects.get(pk=order.pk).cancel_requested_at is not None
    assert Command.objects.filter(kind="cancel", order=order).count() == 1
    assert len(order_cancel_all(user=user)) == 0


def test_amend_that_needs_more_funds_than_available_is_refused(market, make_user):
    user = make_user(USD="150")
    order = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    refused("insufficient_funds", lambda: order_amend(user=user, order_id=order.pk, quantity="2"))
    refused("tick_size", lambda: order_amend(user=user, order_id=order.pk, price="99.999"))
    assert Command.objects.filter(kind="amend").count() == 0
    order_amend(user=user, order_id=order.pk, quantity="1.5")  # the 50 USD still available
    assert Order.objects.get(pk=order.pk).hold_remaining == 150
    assert Command.objects.filter(kind="amend").count() == 1
