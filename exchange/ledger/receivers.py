"""Every user has a ledger account from the moment they exist.

The ledger sits above accounts (accounts knows nothing of money), so it is the ledger that
opens the account when a user is created, whoever creates them: sign-up (``user_create``),
``create_api_key --create-user``, the demo, Django's admin or ``createsuperuser``. Nothing else
happens here: the account is an empty row, and ``account_for_user`` would create it on first
use anyway.
"""
from django.conf import settings
from django.db.models.signals import post_save

from exchange.ledger.services import account_for_user


def _open_ledger_account(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:  # not while loading fixtures
        account_for_user(instance)


def connect() -> None:
    post_save.connect(_open_ledger_account, sender=settings.AUTH_USER_MODEL, dispatch_uid="ledger_account_for_new_user")
