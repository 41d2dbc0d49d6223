"""``manage.py deposit USER ASSET AMOUNT [--reference REF]``: credit a deposit by hand."""
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange.errors import ExchangeError
from exchange.ledger.services import deposit_credit
from exchange.markets.models import Asset


class Command(BaseCommand):
    help = "Credit a deposit to a user (idempotent when --reference is given)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("asset")
        parser.add_argument("amount")
        parser.add_argument("--reference", default=None, help="External reference; the same one credits once.")

    def handle(self, *args, **opts):
        try:
            user = get_user_model().objects.get(username=opts["username"])
            asset = Asset.objects.get(symbol=opts["asset"].upper())
        except (get_user_model().DoesNotExist, Asset.DoesNotExist) as exc:
            raise CommandError(str(exc)) from None
        reference = opts["reference"] or f"manual-{uuid.uuid4()}"
        try:
            entry = deposit_credit(user=user, asset=asset, amount=opts["amount"], reference=reference)
        except ExchangeError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"deposited {opts['amount']} {asset.symbol} to {user.username} (entry #{entry.pk})")
