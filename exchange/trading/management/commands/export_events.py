"""``manage.py export_events [--market M] [--since ISO] > events.jsonl``: the journal as DESIGN 6.5
JSON Lines (surveillance reads this). Each account appears in an ``account`` event before its
first use; an account's owner is its user (one user, one beneficial owner)."""
import sys

import orjson
from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from exchange.trading.models import JournalEvent

ACCOUNT_FIELDS = ("account", "buyer", "seller")


class Command(BaseCommand):
    help = "Write the event journal as JSON Lines to stdout (or --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--market", default=None)
        parser.add_argument("--since", default=None, help="ISO-8601 time; only events at or after it.")
        parser.add_argument("--output", default=None)

    def handle(self, *args, **opts):
        events = JournalEvent.objects.select_related("market").order_by("market__symbol", "sequence")
        if opts["market"]:
            events = events.filter(market__symbol=opts["market"].upper())
        if opts["since"]:
            since = parse_datetime(opts["since"])
            if since is None:
                self.stderr.write("--since must be an ISO-8601 date-time")
                sys.exit(2)
            events = events.filter(created_at__gte=since)
        out = open(opts["output"], "wb") if opts["output"] else sys.stdout.buffer  # noqa: SIM115
        seen: set = set()
        try:
            for event in events.iterator(chunk_size=5000):
                ts = event.created_at.isoformat().replace("+00:00", "Z")
                base = {"seq": event.sequence, "ts": ts, "market": event.market.symbol}
                for name in ACCOUNT_FIELDS:
                    account = event.payload.get(name)
                    if account is not None and account not in seen:
                        seen.add(account)
                        out.write(orjson.dumps({**base, "type": "account", "account": account, "owner": account}) + b"\n")
                out.write(orjson.dumps({**base, "type": event.event_type, **event.payload}) + b"\n")
        finally:
            if opts["output"]:
                out.close()
