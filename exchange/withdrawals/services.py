"""Writes of the withdrawal side: request, cancel, and the user's address allow-list.

``withdrawal_create`` is the one door for a new withdrawal (the API and the wallet page): it
checks everything that does not need the ledger's lock first (the asset, the address, the
amount's shape and minimum, the account's state, the reserves, the allow-list, the second
factor for a browser request), then holds ``amount + fee`` in the ledger's transaction. A
refused request holds nothing.
"""
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.accounts.models import Profile, UserStatus
from exchange.amounts import parse_amount
from exchange.errors import ExchangeError
from exchange.ledger import services as ledger
from exchange.ledger.models import Withdrawal, WithdrawalStatus
from exchange.markets.models import Asset
from exchange.withdrawals.models import AllowedAddress, AllowListSetting
from exchange.withdrawals.rules import address_normalise, allow_list_delay_hours, rules_for
from exchange.withdrawals.selectors import asset_suspended


def asset_by_symbol(symbol: object) -> Asset:
    asset = Asset.objects.filter(symbol=str(symbol or "").strip().upper()[:16]).first()
    if asset is None:
        raise ExchangeError("unknown_asset", "no such asset", status=404)
    return asset


def _check_account(user: AbstractBaseUser, *, otp_token: str | None, second_factor: bool) -> None:
    from exchange.accounts.security import require_otp, withdrawals_locked_until

    if Profile.objects.filter(user_id=user.pk, status=UserStatus.FROZEN).exists():
        raise ExchangeError("account_frozen", "this account is frozen: withdrawals are stopped", status=403)
    until = withdrawals_locked_until(user)
    if until is not None:
        raise ExchangeError("withdrawals_locked", f"withdrawals are locked until {until:%Y-%m-%d %H:%M} UTC "
                            "after a security change on your account", status=403)
    if second_factor:
        require_otp(user=user, token=otp_token)


def _check_allow_list(user: AbstractBaseUser, network: str, address: str) -> None:
    if not AllowListSetting.objects.filter(user=user, enabled=True).exists():
        return
    entry = AllowedAddress.objects.filter(user=user, network=network, address__iexact=address).first()
    if entry is None:
        raise ExchangeError("address_not_allowed", "your allow-list is on and this address is not on it", status=403)
    if entry.usable_from > timezone.now():
        raise ExchangeError("address_not_yet_allowed", f"this address is usable from {entry.usable_from:%Y-%m-%d %H:%M} "
                            "UTC", status=403)


def withdrawal_create(*, user: AbstractBaseUser, asset: object, amount: object, address: object,
                      otp_token: str | None = None, second_factor: bool = False) -> Withdrawal:
    """Request a withdrawal of ``amount`` (plus the asset's fee, held with it) to ``address``.

    ``second_factor``: a browser request, which needs a current two-factor code. Refusals (4xx):
    ``unknown_asset``, ``invalid_address``, ``invalid_amount``, ``amount_precision``,
    ``below_minimum``, ``account_frozen``, ``withdrawals_locked``, ``withdrawals_suspended`` (the
    reserves do not cover the asset), ``address_not_allowed``, ``address_not_yet_allowed``,
    ``invalid_otp``, ``insufficient_funds`` and the KYC limits."""
    asset = asset if isinstance(asset, Asset) else asset_by_symbol(asset)
    rules = rules_for(asset)
    destination = address_normalise(rules.network, address)
    value = parse_amount(amount, decimals=rules.decimals)
    if value < rules.min_amount:
        raise ExchangeError("below_minimum", f"the minimum withdrawal is {rules.min_amount.normalize():f} {asset.symbol}")
    if rules.network and asset_suspended(asset):
        raise ExchangeError("withdrawals_suspended", f"{asset.symbol} withdrawals are stopped until the reserves are "
                            "checked again", status=503)
    _check_allow_list(user, rules.network, destination)
    _check_account(user, otp_token=otp_token, second_factor=second_factor)
    return ledger.withdrawal_request(user=user, asset=asset, amount=value, address=destination, fee=rules.fee,
                                     network=rules.network)


@transaction.atomic
def withdrawal_cancel(*, user: AbstractBaseUser, withdrawal_id: object) -> Withdrawal:
    """The user takes back a withdrawal no admin has let go yet: the hold is released. Another
    user's withdrawal is as unknown as a missing one (404)."""
    withdrawal = ledger.withdrawal_lock(withdrawal_id)
    if withdrawal.user_id != user.pk:
        raise ExchangeError("unknown_withdrawal", "no such withdrawal", status=404)
    if withdrawal.status != WithdrawalStatus.REQUESTED:
        raise ExchangeError("withdrawal_not_cancellable", f"withdrawal {withdrawal.pk} is {withdrawal.status}: only a "
                            "requested withdrawal can be cancelled", status=409)
    # A second admin's approval that was waiting for it lapses (the console lists only those
    # whose withdrawal is still requested, and refuses to approve any other).
    return ledger.withdrawal_release(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.CANCELLED)


@transaction.atomic
def allowed_address_add(*, user: AbstractBaseUser, asset: object, address: object, label: str = "",
                        otp_token: str | None = None) -> AllowedAddress:
    """Put an address on the user's allow-list (a current two-factor code needed); usable after
    ``EXCHANGE_ALLOW_LIST_DELAY_HOURS``."""
    from exchange.accounts.security import require_otp

    asset = asset if isinstance(asset, Asset) else asset_by_symbol(asset)
    network = rules_for(asset).network
    destination = address_normalise(network, address)
    require_otp(user=user, token=otp_token)
    usable = timezone.now() + timedelta(hours=allow_list_delay_hours())
    try:
        with transaction.atomic():
            return AllowedAddress.objects.create(user=user, network=network, address=destination, label=label[:64],
                                                 usable_from=usable)
    except IntegrityError:
        raise ExchangeError("address_exists", "this address is on your allow-list already", status=409) from None


@transaction.atomic
def allowed_address_remove(*, user: AbstractBaseUser, entry_id: object) -> None:
    deleted, _ = AllowedAddress.objects.filter(user=user, pk=str(entry_id)).delete() if str(entry_id).isdigit() else (0, 0)
    if not deleted:
        raise ExchangeError("unknown_address", "no such allowed address", status=404)


@transaction.atomic
def allow_list_set(*, user: AbstractBaseUser, enabled: bool, otp_token: str | None = None) -> AllowListSetting:
    """Turn the allow-list on (no code needed: it only restricts) or off (a current code)."""
    from exchange.accounts.security import require_otp

    if not enabled:
        require_otp(user=user, token=otp_token)
    setting, _ = AllowListSetting.objects.update_or_create(user=user, defaults={"enabled": enabled})
    return setting

