"""``manage.py run_demo_bots``: demo market makers and takers (exchange.demo_bots).

Exits at once, quietly, unless EXCHANGE_DEMO_MODE is on, so the Procfile can always list it.
"""
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the demo market makers and takers through the real order path (demo mode only)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.5, help="seconds between rounds")
        parser.add_argument("--markets", default="", help="comma-separated symbols (default: all)")
        parser.add_argument("--steps", type=int, default=0, help="stop after this many rounds (0: run forever)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, interval, markets, steps, seed, **options):
        if not settings.EXCHANGE_DEMO_MODE:
            return
        from django.db import close_old_connections

        from exchange.demo_bots import DemoBots

        bots = None
        done = 0
        while not steps or done < steps:
            close_old_connections()
            try:
                if bots is None:
                    bots = DemoBots(symbols=[s.strip().upper() for s in markets.split(",") if s.strip()] or None, seed=seed)
                    self.stdout.write(f"demo bots on {', '.join(b.market.symbol for b in bots.bots) or 'no markets'}")
                bots.step()
            except Exception as exc:  # keep the demo alive through a restart of the database or Redis
                self.stderr.write(f"demo bots: {exc!r}; retrying")
                bots = None
            done += 1
            time.sleep(interval)
