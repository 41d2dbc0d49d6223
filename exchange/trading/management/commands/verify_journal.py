"""``manage.py verify_journal [--market M]``: replay the journal through a fresh engine; exit 1 on
any difference in events, hashes, fills, orders or the book."""
import sys

from django.core.management.base import BaseCommand

from exchange.markets.models import Market
from exchange.trading.replay import verify_market


class Command(BaseCommand):
    help = "Replay each market's applied commands through a fresh engine and compare with the journal."

    def add_arguments(self, parser):
        parser.add_argument("--market", default=None)

    def handle(self, *args, **opts):
        markets = Market.objects.select_related("base", "quote").order_by("symbol")
        if opts["market"]:
            markets = markets.filter(symbol=opts["market"].upper())
        failed = False
        for market in markets:
            report = verify_market(market)
            mark = "ok  " if not report.problems else "FAIL"
            self.stdout.write(f"{mark} {market.symbol}: {report.commands} commands, {report.events} events, "
                              f"{report.fills} fills")
            for problem in report.problems:
                self.stdout.write(f"       {problem}")
            failed |= bool(report.problems)
        if failed:
            self.stdout.write(self.style.ERROR("journal NOT consistent"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("journal consistent"))
