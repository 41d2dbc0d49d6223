"""Reads for balances and ledger history, scoped to their owner."""
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import QuerySet

from exchange.ledger.models import Balance, Posting


def balance_list(*, user: User) -> QuerySet[Balance]:
    return Balance.objects.filter(account__user=user).select_related("asset").order_by("asset__symbol")


def posting_list(*, user: User, asset: str | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> QuerySet[Posting]:
    """The user's postings, each with its entry (kind, reference, time); ``since``/``until``
    bound the entry's time (inclusive)."""
    postings = Posting.objects.filter(account__user=user).select_related("entry", "asset")
    if asset:
        postings = postings.filter(asset__symbol=str(asset).upper())
    if since is not None:
        postings = postings.filter(entry__created_at__gte=since)
    if until is not None:
        postings = postings.filter(entry__created_at__lte=until)
    return postings
