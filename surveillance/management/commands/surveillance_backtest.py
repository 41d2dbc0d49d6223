"""``manage.py surveillance_backtest EVENTS.jsonl --output ALERTS.jsonl [--params FILE]``.

Runs every detector over an exported journal (DESIGN 6.5) and writes the alert lines.
"""
from django.core.management.base import BaseCommand, CommandError

from surveillance.backtest import load_params, read_events, run_backtest, write_alerts


class Command(BaseCommand):
    help = "Back-test the surveillance detectors over a JSON Lines event log."

    def add_arguments(self, parser):
        parser.add_argument("events", help="DESIGN 6.5 events, JSON Lines (e.g. from export_events).")
        parser.add_argument("--output", required=True, help="Where to write the alert lines (JSON Lines).")
        parser.add_argument("--params", default=None, help='JSON file {typology: {param: value}}; defaults otherwise.')
        parser.add_argument("--typologies", default="", help="Comma-separated subset of detectors (default: all).")

    def handle(self, *args, **opts):
        try:
            params = load_params(opts["params"]) if opts["params"] else None
            typologies = [t.strip() for t in opts["typologies"].split(",") if t.strip()] or None
            alerts = run_backtest(read_events(opts["events"]), params, typologies)
        except (OSError, ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from exc
        count = write_alerts(alerts, opts["output"])
        by_typology: dict[str, int] = {}
        for alert in alerts:
            by_typology[alert.typology] = by_typology.get(alert.typology, 0) + 1
        summary = ", ".join(f"{name} {n}" for name, n in sorted(by_typology.items())) or "none"
        self.stdout.write(f"wrote {count} alerts to {opts['output']} ({summary})")
