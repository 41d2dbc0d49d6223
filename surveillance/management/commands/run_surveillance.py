"""``manage.py run_surveillance [--markets BTC-USD,ETH-USD] [--once]``: the real-time consumer."""
import signal

from django.core.management.base import BaseCommand

from exchange.matching.gc_policy import freeze_loaded_state
from surveillance.realtime import Consumer


class Command(BaseCommand):
    help = "Follow the committed journal of every market and raise surveillance alerts."

    def add_arguments(self, parser):
        parser.add_argument("--markets", default="", help="Comma-separated symbols (default: every market).")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds to wait when there is nothing new.")
        parser.add_argument("--once", action="store_true", help="Process what is committed now, then exit.")

    def handle(self, *args, **opts):
        markets = [m for m in opts["markets"].split(",") if m.strip()] or None
        consumer = Consumer(markets)
        if opts["once"]:
            total = stored = 0
            while True:
                events, alerts = consumer.step()
                total, stored = total + events, stored + alerts
                if not events:
                    break
            self.stdout.write(f"processed {total} events, stored {stored} alerts")
            return
        freeze_loaded_state()  # as the web processes do (exchange/asgi.py): collections walk only new objects
        stopping = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
        self.stdout.write(f"surveillance: following {', '.join(markets) if markets else 'every market'}")
        self.stdout.flush()
        consumer.run(interval=opts["interval"], stop=lambda: bool(stopping))
