"""``manage.py create_market BTC-USD --base BTC --quote USD --tick 0.01 --lot 0.0001 --min-notional 10``"""
from django.core.management.base import BaseCommand, CommandError

from exchange.errors import ExchangeError
from exchange.markets.services import asset_get_or_create, market_create


class Command(BaseCommand):
    help = "List a new market (creating its assets if they do not exist yet)."

    def add_arguments(self, parser):
        parser.add_argument("symbol")
        parser.add_argument("--base", required=True)
        parser.add_argument("--quote", required=True)
        parser.add_argument("--tick", required=True)
        parser.add_argument("--lot", required=True)
        parser.add_argument("--min-notional", default="0")
        parser.add_argument("--min-quantity", default="0")
        parser.add_argument("--max-quantity", default=None)
        parser.add_argument("--price-band-pct", default=None)
        parser.add_argument("--maker-fee", default="0.001")
        parser.add_argument("--taker-fee", default="0.002")
        parser.add_argument("--base-decimals", type=int, default=8)
        parser.add_argument("--quote-decimals", type=int, default=8)

    def handle(self, *args, **opts):
        if opts["symbol"].upper() != f"{opts['base']}-{opts['quote']}".upper():
            raise CommandError("SYMBOL must be BASE-QUOTE")
        base = asset_get_or_create(symbol=opts["base"], decimals=opts["base_decimals"])
        quote = asset_get_or_create(symbol=opts["quote"], decimals=opts["quote_decimals"])
        try:
            market = market_create(
                base=base,
                quote=quote,
                tick_size=opts["tick"],
                lot_size=opts["lot"],
                min_notional=opts["min_notional"],
                min_quantity=opts["min_quantity"],
                max_quantity=opts["max_quantity"],
                price_band_pct=opts["price_band_pct"],
                maker_fee=opts["maker_fee"],
                taker_fee=opts["taker_fee"],
            )
        except ExchangeError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"created market {market.symbol}")
