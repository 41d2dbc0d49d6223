"""Reads for markets."""
from exchange.errors import ExchangeError
from exchange.markets.models import Market


def market_get(*, symbol: str) -> Market:
    """The market with this symbol (case-insensitive), or ``unknown_market`` (404)."""
    try:
        return Market.objects.select_related("base", "quote").get(symbol=str(symbol).upper())
    except Market.DoesNotExist:
        raise ExchangeError("unknown_market", f"no market {symbol!r}", status=404) from None
