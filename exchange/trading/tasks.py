"""Periodic jobs of the trading app (thin: they call services)."""
from celery import shared_task

from exchange.markets.models import Market, MarketStatus
from exchange.trading.models import CommandKind
from exchange.trading.services import market_command


@shared_task
def markets_mark_daily_close() -> int:
    """Queue the daily close into every listed market's stream (beat runs it at 00:00 UTC)."""
    symbols = Market.objects.exclude(status=MarketStatus.DELISTED).values_list("symbol", flat=True)
    for symbol in symbols:
        market_command(market=symbol, kind=CommandKind.MARKET_CLOSE, reason="daily close")
    return len(symbols)
