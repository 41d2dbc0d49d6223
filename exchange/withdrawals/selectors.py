"""Reads of the withdrawal side (the API, the wallet page, the console, the signer)."""
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from exchange.ledger.models import Withdrawal
from exchange.markets.models import Asset
from exchange.withdrawals.models import AllowedAddress, ReserveReport


def withdrawal_list(*, user: AbstractBaseUser, asset: str | None = None, status: str | None = None) -> QuerySet:
    rows = Withdrawal.objects.filter(user=user).select_related("asset")
    if asset:
        rows = rows.filter(asset__symbol=asset.upper())
    if status:
        rows = rows.filter(status=status)
    return rows


def addresses_of_user(user: AbstractBaseUser) -> set[str]:
    """Every address that is the user's own, lower-cased: their allow-list and, where the
    chain app gave them some, their deposit addresses."""
    from exchange.chain.models import DepositAddress

    own = set(AllowedAddress.objects.filter(user=user).values_list("address", flat=True))
    own |= set(DepositAddress.objects.filter(user=user).values_list("address", flat=True))
    return {a.lower() for a in own}


def reserve_latest(asset: Asset) -> ReserveReport | None:
    return ReserveReport.objects.filter(asset=asset).order_by("-id").first()


def asset_suspended(asset: Asset) -> bool:
    """Withdrawals of ``asset`` stop while its latest reserve check found the chain short."""
    report = reserve_latest(asset)
    return report is not None and report.short
