"""``manage.py set_kyc_level USER LEVEL --reason "..."``: set a user's KYC tier from the server.

For an operator with shell access (the console is the usual way: admins and compliance officers,
never for themselves). The change is audited like a console one, with no actor and the system
source, and the reason is required.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange.console.services.users import user_kyc_set
from exchange.errors import ExchangeError


class Command(BaseCommand):
    help = "Set a user's KYC level (0 none, 1 basic, 2 verified, 3 enhanced); audited with the reason."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("level", type=int, choices=[0, 1, 2, 3])
        parser.add_argument("--reason", required=True, help="Why (goes into the audit log).")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        try:
            profile = user_kyc_set(actor=None, ip=None, user=user, level=opts["level"], reason=opts["reason"])
        except ExchangeError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"{user.username}: KYC level {profile.kyc_level}")
