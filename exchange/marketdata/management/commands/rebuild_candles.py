"""``manage.py rebuild_candles [SYMBOL ...]``: recompute candles from the fills.

The matcher keeps candles up to date in its batch transaction; this is for fills recorded before
the market-data app existed, or after a manual repair of the fills table.
"""
from django.core.management.base import BaseCommand

from exchange.marketdata.services import candles_rebuild
from exchange.markets.models import Market


class Command(BaseCommand):
    help = "Recompute every candle of the given markets (default: all) from their fills."

    def add_arguments(self, parser):
        parser.add_argument("symbols", nargs="*")

    def handle(self, *args, **opts):
        markets = Market.objects.order_by("symbol")
        if opts["symbols"]:
            markets = markets.filter(symbol__in=[s.upper() for s in opts["symbols"]])
        for market in markets:
            count = candles_rebuild(market=market)
            self.stdout.write(f"{market.symbol}: candles rebuilt from {count} fills")
