"""From a checked order to what the engine sees and what must be held.

A buy never holds more than it can spend, and the engine never lets it spend more than it
holds: a limit buy holds price x quantity; a market buy by quote amount holds the amount; a
market (or stop-market) buy by quantity becomes an immediate-or-cancel limit at a protection
price (the last price plus the slippage cap) and holds protection x quantity. Sells hold the
base quantity. Fees are charged in the asset received, so nothing extra is held for them.
"""
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

from exchange.errors import ExchangeError
from exchange.markets.models import Asset, Market
from exchange.markets.rules import CheckedOrder


@dataclass(frozen=True, slots=True)
class OrderTerms:
    engine_type: str  # limit, market, stop_limit, stop_market
    time_in_force: str
    engine_price: Decimal | None  # limit or protection price
    hold_asset: Asset
    hold_amount: Decimal


def slippage_cap() -> Decimal:
    return Decimal(str(getattr(settings, "EXCHANGE_MARKET_SLIPPAGE_PCT", "5")))


def protection_price(market: Market, reference: Decimal | None) -> Decimal:
    """The worst price a market buy by quantity accepts: reference + the slippage cap, on a tick."""
    if reference is None:
        raise ExchangeError(
            "no_reference_price",
            "a market buy by quantity needs a last price; place a limit order or buy by quote amount",
        )
    raw = reference * (1 + slippage_cap() / 100)
    return (raw / market.tick_size).to_integral_value(rounding=ROUND_DOWN) * market.tick_size


def order_terms(market: Market, checked: CheckedOrder, *, time_in_force: str) -> OrderTerms:
    """The engine order type, time in force, price and the hold for ``checked`` on ``market``."""
    kind = checked.order_type
    # The asserts restate what markets.rules guaranteed when it checked the order.
    if checked.side == "sell":
        assert checked.quantity is not None, "a sell is always by quantity"
        return OrderTerms(kind, time_in_force if kind in ("limit", "stop_limit") else "ioc",
                          checked.price, market.base, checked.quantity)
    if kind in ("limit", "stop_limit"):
        assert checked.price is not None, "a limit order has a price"
        assert checked.quantity is not None, "a limit order has a quantity"
        return OrderTerms(kind, time_in_force, checked.price, market.quote, checked.price * checked.quantity)
    if kind == "market" and checked.quote_amount is not None:
        return OrderTerms("market", "ioc", None, market.quote, checked.quote_amount)
    reference = checked.stop_price if kind == "stop_market" else market.last_price
    price = protection_price(market, reference)
    engine_type = "stop_limit" if kind == "stop_market" else "limit"
    assert checked.quantity is not None, "a market buy not by quote amount is by quantity"
    return OrderTerms(engine_type, "ioc", price, market.quote, price * checked.quantity)
