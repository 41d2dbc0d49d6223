"""``manage.py seed_demo``: demo assets, markets, users and balances. Safe to run again."""
from django.core.management.base import BaseCommand

from exchange.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo markets (BTC-USD, ETH-USD, ETH-BTC), users and balances; idempotent."

    def handle(self, *args, **options):
        result = seed_demo()
        for symbol in result.markets:
            self.stdout.write(f"market {symbol}")
        for username, role in result.users:
            self.stdout.write(f"user {username:<12} role {role:<11} password {DEMO_PASSWORD}")
