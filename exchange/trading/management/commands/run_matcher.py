"""``manage.py run_matcher [--markets BTC-USD,ETH-USD]``: the only writer of books and fills."""
import logging
import signal

from django.core.management.base import BaseCommand

from exchange.trading.matcher.runner import Matcher


class Command(BaseCommand):
    help = "Run the matching process for some or all markets (one owner per market via advisory locks)."

    def add_arguments(self, parser):
        parser.add_argument("--markets", default="", help="Comma-separated symbols; default: every market.")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this long (benchmarks).")
        parser.add_argument("--no-publish", action="store_true", help="Do not push market data to Channels.")
        parser.add_argument("--in-flight", type=int, default=1, choices=[0, 1, 2],
                            help="Batches that may commit while the next is planned (0: one batch at a time).")
        parser.add_argument("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on this port.")

    def handle(self, *args, **opts):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        symbols = [s.strip().upper() for s in opts["markets"].split(",") if s.strip()] or None
        if opts["metrics_port"]:
            from exchange.trading.matcher.metrics import serve

            serve(opts["metrics_port"])
        matcher = Matcher(symbols, batch_size=opts["batch_size"], publish=not opts["no_publish"],
                          in_flight=opts["in_flight"])
        signal.signal(signal.SIGTERM, matcher.stop)
        signal.signal(signal.SIGINT, matcher.stop)
        self.stdout.write(f"matcher {matcher.owner} for {', '.join(symbols) if symbols else 'every market'}")
        matcher.run(max_seconds=opts["max_seconds"])
        self.stdout.write(f"matcher stopped: {matcher.stats}")
