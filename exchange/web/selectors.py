"""Reads for the trader pages (the live parts are loaded by the browser from /api/v1/)."""
from django.contrib.auth.models import User
from django.db.models import QuerySet

from exchange.ledger.models import Withdrawal
from exchange.markets.models import Market


def market_list_for_pages() -> QuerySet[Market]:
    return Market.objects.select_related("base", "quote").order_by("symbol")


def market_rules(market: Market) -> dict:
    """The rules the order form checks before it sends (the server checks them again)."""
    def text(value):
        return None if value is None else format(value.normalize(), "f")

    return {
        "symbol": market.symbol, "base": market.base.symbol, "quote": market.quote.symbol,
        "status": market.status, "tick_size": text(market.tick_size), "lot_size": text(market.lot_size),
        "min_notional": text(market.min_notional), "min_quantity": text(market.min_quantity),
        "max_quantity": text(market.max_quantity), "maker_fee": text(market.maker_fee),
        "taker_fee": text(market.taker_fee), "maker_fee_pct": text(market.maker_fee * 100),
        "taker_fee_pct": text(market.taker_fee * 100), "last_price": text(market.last_price),
        "price_band_pct": text(market.price_band_pct),
    }


def withdrawal_list(*, user: User) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(user=user).select_related("asset").order_by("-created_at")
