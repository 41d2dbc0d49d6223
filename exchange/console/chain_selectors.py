"""The console's reads of chain money: deposits and withdrawals with filters, and the reviews
a deep reorganisation opened (the watcher froze those accounts)."""
from django.db.models import QuerySet

from exchange.chain.models import Deposit, ReorgReview
from exchange.ledger.models import Withdrawal

LIST_LIMIT = 200


def _filtered(rows: QuerySet, *, asset_field: str, asset: str = "", status: str = "", username: str = "") -> QuerySet:
    if asset:
        rows = rows.filter(**{asset_field: asset.upper()})
    if status:
        rows = rows.filter(status=status)
    if username:
        rows = rows.filter(user__username=username.strip())
    return rows


def deposit_search(*, asset: str = "", status: str = "", username: str = "") -> QuerySet:
    rows = Deposit.objects.select_related("user", "chain_asset__asset").order_by("-id")
    return _filtered(rows, asset_field="chain_asset__asset__symbol", asset=asset, status=status,
                     username=username)[:LIST_LIMIT]


def withdrawal_search(*, asset: str = "", status: str = "", username: str = "") -> QuerySet:
    rows = Withdrawal.objects.select_related("user", "asset").order_by("-id")
    return _filtered(rows, asset_field="asset__symbol", asset=asset, status=status, username=username)[:LIST_LIMIT]


def reorg_reviews(*, open_only: bool = True) -> QuerySet:
    rows = ReorgReview.objects.select_related("user", "asset", "deposit", "resolved_by").order_by("-id")
    return rows.filter(resolved_at__isnull=True) if open_only else rows[:LIST_LIMIT]
