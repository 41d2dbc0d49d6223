"""The market's rules, checked in one place for every order before anything is written.

Everything here is exact ``Decimal`` arithmetic. The matching engine works in integers: a price
is a number of ticks and a quantity a number of lots, converted by ``price_to_ticks`` and
``quantity_to_lots`` once the checks have passed.
"""
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext

from exchange.amounts import MAX_DIGITS, parse_decimal
from exchange.errors import ExchangeError
from exchange.markets.models import Market, MarketStatus

SIDES = ("buy", "sell")
# As the models validate them (markets/models.py), in any case: clients may write btc-usd.
_ASSET_SYMBOL = re.compile(r"[A-Za-z0-9]{2,16}")
_MARKET_SYMBOL = re.compile(r"[A-Za-z0-9]{2,16}-[A-Za-z0-9]{2,16}")
ORDER_TYPES = ("limit", "market", "stop_limit", "stop_market")


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    """An order's terms after validation, in both Decimal and engine integer units."""

    side: str
    order_type: str
    price: Decimal | None
    quantity: Decimal | None
    quote_amount: Decimal | None
    stop_price: Decimal | None
    post_only: bool
    price_ticks: int | None
    quantity_lots: int | None
    stop_ticks: int | None


def market_symbol_parse(value: object) -> str:
    """A market symbol from a path or a query, upper-cased; ``unknown_market`` (404) for anything
    that cannot be one (a NUL byte, 10,000 characters, a list), before any query is made."""
    if not isinstance(value, str) or not _MARKET_SYMBOL.fullmatch(value):
        raise ExchangeError("unknown_market", "no such market", status=404)
    return value.upper()


def asset_symbol_parse(value: object) -> str:
    """An asset symbol from a path or a query, upper-cased; ``unknown_asset`` (400) otherwise."""
    if not isinstance(value, str) or not _ASSET_SYMBOL.fullmatch(value):
        raise ExchangeError("unknown_asset", "no such asset")
    return value.upper()


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    # Enough precision for the largest amount over the smallest step: under the default 28
    # digits the remainder raised DivisionImpossible instead of answering.
    with localcontext(prec=2 * MAX_DIGITS):
        return value % step == 0


def price_to_ticks(market: Market, price: Decimal) -> int:
    """The price as a whole number of ticks; raises ``tick_size`` if it is between ticks."""
    if not _is_multiple(price, market.tick_size):
        raise ExchangeError("tick_size", f"price {price} is not a multiple of the tick size {market.tick_size.normalize()}")
    with localcontext(prec=2 * MAX_DIGITS):
        return int(price / market.tick_size)


def quantity_to_lots(market: Market, quantity: Decimal) -> int:
    """The quantity as a whole number of lots; raises ``lot_size`` if it is between lots."""
    if not _is_multiple(quantity, market.lot_size):
        raise ExchangeError("lot_size", f"quantity {quantity} is not a multiple of the lot size {market.lot_size.normalize()}")
    with localcontext(prec=2 * MAX_DIGITS):
        return int(quantity / market.lot_size)


def ticks_to_price(market: Market, ticks: int) -> Decimal:
    return market.tick_size * ticks


def lots_to_quantity(market: Market, lots: int) -> Decimal:
    return market.lot_size * lots


def check_accepts_new_orders(market: Market, *, order_type: str, post_only: bool) -> None:
    """Refuse a new order that the market's status does not allow, with the status as the code."""
    status = market.status
    if status == MarketStatus.TRADING:
        return
    if status == MarketStatus.POST_ONLY:
        if order_type == "limit" and post_only:
            return
        raise ExchangeError("market_post_only", f"{market.symbol} accepts only post-only limit orders")
    codes = {
        MarketStatus.HALTED: ("market_halted", "is halted"),
        MarketStatus.CANCEL_ONLY: ("market_cancel_only", "accepts cancels only"),
        MarketStatus.DELISTED: ("market_delisted", "is delisted"),
    }
    code, words = codes[MarketStatus(status)]
    raise ExchangeError(code, f"{market.symbol} {words}", status=409 if code != "market_delisted" else 400)


def check_accepts_cancels(market: Market) -> None:
    """Cancels are allowed in every status: a halt must never trap an order in the book."""
    return None


def _positive(value: object, field: str) -> Decimal:
    number = parse_decimal(value, field=field)
    if number <= 0:
        raise ExchangeError(f"invalid_{field}", f"{field} must be positive")
    return number


def _check_price_band(market: Market, price: Decimal) -> None:
    if market.price_band_pct is None or market.last_price is None:
        return
    band = market.last_price * market.price_band_pct / 100
    low, high = market.last_price - band, market.last_price + band
    if not low <= price <= high:
        raise ExchangeError(
            "price_band",
            f"price {price} is outside the band {low.normalize()}..{high.normalize()} "
            f"({market.price_band_pct.normalize()}% around the last price)",
        )


def check_price_band(market: Market, price: Decimal) -> None:
    """Refuse a price outside the market's band around its last price (an amended price too)."""
    _check_price_band(market, price)


def check_quantity(market: Market, quantity: Decimal) -> int:
    """Check a base quantity against lot, min and max; return it in lots."""
    lots = quantity_to_lots(market, quantity)
    if quantity < market.min_quantity:
        raise ExchangeError("min_quantity", f"quantity is below the minimum {market.min_quantity.normalize()}")
    if market.max_quantity is not None and quantity > market.max_quantity:
        raise ExchangeError("max_quantity", f"quantity is above the maximum {market.max_quantity.normalize()}")
    return lots


def validate_order(
    market: Market,
    *,
    side: str,
    order_type: str,
    quantity: object = None,
    price: object = None,
    quote_amount: object = None,
    stop_price: object = None,
    post_only: bool = False,
) -> CheckedOrder:
    """Check an order against the market's status and rules; return its exact terms.

    Raises ``ExchangeError`` with one of: ``invalid_side``, ``invalid_type``, ``invalid_price``,
    ``invalid_quantity``, ``tick_size``, ``lot_size``, ``min_quantity``, ``max_quantity``,
    ``min_notional``, ``price_band``, ``market_halted``, ``market_cancel_only``,
    ``market_post_only``, ``market_delisted``.
    """
    if side not in SIDES:
        raise ExchangeError("invalid_side", "side must be 'buy' or 'sell'")
    if order_type not in ORDER_TYPES:
        raise ExchangeError("invalid_type", f"type must be one of {', '.join(ORDER_TYPES)}")
    if post_only and order_type != "limit":
        raise ExchangeError("invalid_post_only", "post-only applies to limit orders only")
    check_accepts_new_orders(market, order_type=order_type, post_only=post_only)

    has_limit_price = order_type in ("limit", "stop_limit")
    dec_price = ticks = None
    if has_limit_price:
        if price is None:
            raise ExchangeError("invalid_price", f"a {order_type} order needs a price")
        dec_price = _positive(price, "price")
        ticks = price_to_ticks(market, dec_price)
        _check_price_band(market, dec_price)
    elif price is not None:
        raise ExchangeError("invalid_price", f"a {order_type} order takes no price")

    dec_stop = stop_ticks = None
    if order_type.startswith("stop_"):
        if stop_price is None:
            raise ExchangeError("invalid_stop_price", f"a {order_type} order needs a stop price")
        dec_stop = _positive(stop_price, "stop_price")
        stop_ticks = price_to_ticks(market, dec_stop)
    elif stop_price is not None:
        raise ExchangeError("invalid_stop_price", f"a {order_type} order takes no stop price")

    dec_quantity = lots = dec_quote = None
    if quote_amount is not None:
        if order_type != "market" or side != "buy":
            raise ExchangeError("invalid_quote_amount", "only a market buy can be sized by quote amount")
        if quantity is not None:
            raise ExchangeError("invalid_quote_amount", "give either quantity or quote amount, not both")
        dec_quote = _positive(quote_amount, "quote_amount")
        if dec_quote < market.min_notional:
            raise ExchangeError("min_notional", f"amount is below the minimum notional {market.min_notional.normalize()}")
    else:
        if quantity is None:
            raise ExchangeError("invalid_quantity", "quantity is required")
        dec_quantity = _positive(quantity, "quantity")
        lots = check_quantity(market, dec_quantity)
        notional_price = dec_price if dec_price is not None else dec_stop
        if notional_price is not None and dec_quantity * notional_price < market.min_notional:
            raise ExchangeError(
                "min_notional",
                f"price x quantity {(dec_quantity * notional_price).normalize()} is below the minimum "
                f"notional {market.min_notional.normalize()}",
            )
    return CheckedOrder(
        side=side,
        order_type=order_type,
        price=dec_price,
        quantity=dec_quantity,
        quote_amount=dec_quote,
        stop_price=dec_stop,
        post_only=post_only,
        price_ticks=ticks,
        quantity_lots=lots,
        stop_ticks=stop_ticks,
    )
