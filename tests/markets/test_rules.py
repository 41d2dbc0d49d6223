"""Order validation against a market's rules: exact Decimal checks with clear codes."""
from decimal import Decimal

import pytest

from exchange.errors import ExchangeError
from exchange.markets.models import MarketStatus
from exchange.markets.rules import validate_order


def codes(market, **kwargs) -> str:
    with pytest.raises(ExchangeError) as info:
        validate_order(market, **kwargs)
    return info.value.code


def test_a_valid_limit_order_is_converted_to_ticks_and_lots(market):
    checked = validate_order(market, side="buy", order_type="limit", price="100.05", quantity="0.5")
    assert checked.price == Decimal("100.05")
    assert checked.price_ticks == 10005
    assert checked.quantity_lots == 5000


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"price": "100.001", "quantity": "1"}, "tick_size"),
        ({"price": "100", "quantity": "0.00015"}, "lot_size"),
        ({"price": "100", "quantity": "0.0001"}, "min_notional"),
        ({"price": "1", "quantity": "101"}, "max_quantity"),
        ({"price": "0", "quantity": "1"}, "invalid_price"),
        ({"price": "-5", "quantity": "1"}, "invalid_price"),
        ({"price": "100", "quantity": "0"}, "invalid_quantity"),
        ({"price": "NaN", "quantity": "1"}, "invalid_price"),
        ({"price": "100", "quantity": "Infinity"}, "invalid_quantity"),
        ({"price": "1e30", "quantity": "1"}, "price_too_large"),
        ({"price": "abc", "quantity": "1"}, "invalid_price"),
        ({"price": 100.5, "quantity": "1"}, "invalid_price"),
        ({"price": None, "quantity": "1"}, "invalid_price"),
    ],
)
def test_bad_limit_orders_are_refused_with_their_code(market, kwargs, code):
    assert codes(market, side="buy", order_type="limit", **kwargs) == code


def test_min_quantity(market):
    market.min_quantity = Decimal("0.01")
    assert codes(market, side="sell", order_type="limit", price="50000", quantity="0.001") == "min_quantity"


def test_price_band_applies_around_the_last_price(market):
    market.last_price = Decimal("100")
    validate_order(market, side="buy", order_type="limit", price="110", quantity="1")
    validate_order(market, side="buy", order_type="limit", price="90", quantity="1")
    assert codes(market, side="buy", order_type="limit", price="110.01", quantity="1") == "price_band"
    assert codes(market, side="sell", order_type="limit", price="89.99", quantity="1") == "price_band"


def test_no_band_before_the_first_trade(market):
    market.last_price = None
    validate_order(market, side="buy", order_type="limit", price="1000000", quantity="1")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (MarketStatus.HALTED, "market_halted"),
        (MarketStatus.CANCEL_ONLY, "market_cancel_only"),
        (MarketStatus.DELISTED, "market_delisted"),
        (MarketStatus.POST_ONLY, "market_post_only"),
    ],
)
def test_every_status_that_refuses_new_orders(market, status, code):
    market.status = status
    assert codes(market, side="buy", order_type="limit", price="100", quantity="1") == code


def test_post_only_status_accepts_post_only_limits_only(market):
    market.status = MarketStatus.POST_ONLY
    validate_order(market, side="buy", order_type="limit", price="100", quantity="1", post_only=True)
    assert codes(market, side="buy", order_type="market", quantity="1") == "market_post_only"


def test_trading_status_accepts_every_type(market):
    validate_order(market, side="buy", order_type="market", quantity="1")
    validate_order(market, side="buy", order_type="market", quote_amount="100")
    validate_order(market, side="sell", order_type="stop_market", quantity="1", stop_price="90")
    validate_order(market, side="sell", order_type="stop_limit", quantity="1", stop_price="90", price="89")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"side": "hold", "order_type": "limit", "price": "1", "quantity": "1"}, "invalid_side"),
        ({"side": "buy", "order_type": "iceberg", "price": "1", "quantity": "1"}, "invalid_type"),
        ({"side": "buy", "order_type": "market", "price": "100", "quantity": "1"}, "invalid_price"),
        ({"side": "sell", "order_type": "market", "quote_amount": "100"}, "invalid_quote_amount"),
        ({"side": "buy", "order_type": "market", "quote_amount": "5"}, "min_notional"),
        ({"side": "buy", "order_type": "market", "quantity": "1", "quote_amount": "100"}, "invalid_quote_amount"),
        ({"side": "buy", "order_type": "stop_market", "quantity": "1"}, "invalid_stop_price"),
        ({"side": "buy", "order_type": "limit", "price": "100", "quantity": "1", "stop_price": "1"}, "invalid_stop_price"),
        ({"side": "buy", "order_type": "market", "quantity": "1", "post_only": True}, "invalid_post_only"),
        ({"side": "buy", "order_type": "market"}, "invalid_quantity"),
    ],
)
def test_malformed_orders(market, kwargs, code):
    assert codes(market, **kwargs) == code
