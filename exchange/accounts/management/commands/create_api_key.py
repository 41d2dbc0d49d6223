"""``manage.py create_api_key USER [--create-user] [--scopes read trade]``: prints JSON with key and secret."""
import json
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from exchange.accounts.services import api_key_create, user_create
from exchange.audit.models import AuditSource
from exchange.audit.services import audit_record
from exchange.errors import ExchangeError


class Command(BaseCommand):
    help = "Create an API key for a user and print {\"key\", \"secret\"} as JSON (the secret is shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="Create the user if it does not exist.")
        parser.add_argument("--email", default=None)
        parser.add_argument("--scopes", nargs="+", default=["read", "trade"])
        parser.add_argument("--label", default="")
        parser.add_argument("--allowed-ips", nargs="*", default=[])

    def handle(self, *args, **opts):
        User = get_user_model()
        user = User.objects.filter(username=opts["username"]).first()
        try:
            if user is None:
                if not opts["create_user"]:
                    raise CommandError(f"no user {opts['username']!r} (use --create-user)")
                user = user_create(
                    username=opts["username"],
                    email=opts["email"] or f"{opts['username']}@example.invalid",
                    password=secrets.token_urlsafe(24),
                )
            with transaction.atomic():
                api_key, secret = api_key_create(
                    user=user, scopes=opts["scopes"], label=opts["label"], allowed_ips=opts["allowed_ips"]
                )
                # An operator's key is not the user's own security change (no withdrawal lock), but
                # it must leave a trace in the append-only audit log.
                audit_record(actor=None, ip=None, action="api_key.create_cli", object_type="user",
                             object_id=user.pk, after={"key": api_key.key[:8], "scopes": api_key.scopes,
                                                       "label": api_key.label, "allowed_ips": api_key.allowed_ips},
                             source=AuditSource.SYSTEM)
        except ExchangeError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(json.dumps({"key": api_key.key, "secret": secret, "user": user.username, "scopes": api_key.scopes}))
