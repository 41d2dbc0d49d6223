"""``manage.py verify_ledger``: check every ledger invariant; exit 1 with a report on any breach."""
import sys

from django.core.management.base import BaseCommand

from exchange.ledger.verification import verify_ledger


class Command(BaseCommand):
    help = "Check the ledger's invariants (balanced entries, balances = postings, holds). Exits 1 on any breach."

    def handle(self, *args, **options):
        results = verify_ledger()
        breaches = 0
        for name, problems in results:
            mark = "ok  " if not problems else "FAIL"
            self.stdout.write(f"{mark} {name}")
            for problem in problems:
                self.stdout.write(f"       {problem}")
            breaches += len(problems)
        if breaches:
            self.stdout.write(self.style.ERROR(f"ledger NOT clean: {breaches} breach(es)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("ledger clean"))
