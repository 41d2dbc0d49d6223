"""Console writes that move money: deposit credits, balance adjustments, withdrawal decisions.

Who moves money: no admin alone. Every manual credit (a deposit, a balance adjustment) is a
request that a second admin approves (``approvals``); a withdrawal above its asset's threshold
needs a second admin too. Nobody approves a request they made, and nobody moves money into their
own account, approves a withdrawal out of it or to an address of their own (``own_account``, 403).
"""
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.amounts import check_positive_amount, parse_amount, parse_decimal
from exchange.audit.services import audit_record
from exchange.console.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from exchange.console.services.guards import check_admin, check_not_own_account, check_reason
from exchange.errors import ExchangeError
from exchange.ledger import limits as kyc
from exchange.ledger import services as ledger
from exchange.ledger.models import Balance, LedgerEntry, Withdrawal, WithdrawalStatus
from exchange.markets.models import Asset


def four_eyes_threshold(asset: Asset) -> Decimal:
    """A withdrawal of ``asset`` above this amount, in the asset's own units, needs a second
    admin: ``EXCHANGE_FOUR_EYES_THRESHOLDS[asset]``, else ``EXCHANGE_FOUR_EYES_THRESHOLD``, which
    is 0 by default, so that an asset nobody configured never lets one admin send anything out
    alone (one number for every asset made 10,000 BTC a "small" withdrawal). An asset on a
    chain has its own threshold beside its other chain rules (``chain.ChainAsset``)."""
    from exchange.withdrawals.rules import rules_for

    on_chain = rules_for(asset).four_eyes_threshold
    if on_chain is not None:
        return on_chain
    per_asset = settings.EXCHANGE_FOUR_EYES_THRESHOLDS.get(asset.symbol)
    raw = per_asset if per_asset not in (None, "") else settings.EXCHANGE_FOUR_EYES_THRESHOLD
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ImproperlyConfigured(f"four-eyes threshold of {asset.symbol} is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"four-eyes threshold of {asset.symbol} must be 0 or more")
    return value


def ledger_deposit_reference(asset: Asset, reference: str) -> str:
    """The reference the ledger credits under: its idempotency key is global, and the asset in
    it makes an external reference unique per asset."""
    return f"{asset.symbol}:{reference}"


def _check_reference_free(asset: Asset, reference: str) -> None:
    """Refuse a reference already asked for or credited in this asset (``duplicate_reference``)."""
    taken = ApprovalRequest.objects.filter(kind=ApprovalKind.DEPOSIT, asset=asset, reference=reference).exclude(
        status=ApprovalStatus.REJECTED).exists()
    keys = [f"deposit:{ledger_deposit_reference(asset, reference)}", f"deposit:{reference}"]
    credited = LedgerEntry.objects.filter(idempotency_key__in=keys, postings__asset=asset).exists()
    if taken or credited:
        raise ExchangeError("duplicate_reference", f"{asset.symbol} deposit reference {reference!r} was already "
                            "used: one external transfer is credited once", status=409)


def _approval_request(*, actor, ip, kind: str, user, asset: Asset, amount: Decimal, reason: str,
                      withdrawal: Withdrawal | None = None, reference: str = "") -> ApprovalRequest:
    try:
        with transaction.atomic():
            approval = ApprovalRequest.objects.create(kind=kind, user=user, asset=asset, amount=amount,
                                                      withdrawal=withdrawal, reference=reference, reason=reason,
                                                      requested_by=actor)
    except IntegrityError:
        # The unique constraints are the last word when two admins ask at the same moment.
        if kind == ApprovalKind.DEPOSIT:
            raise ExchangeError("duplicate_reference", f"{asset.symbol} deposit reference {reference!r} was already "
                                "used: one external transfer is credited once", status=409) from None
        raise ExchangeError("approval_pending", "this already waits for a second admin", status=409) from None
    after = {"user": user.pk, "asset": asset.symbol, "amount": amount,
             "withdrawal": withdrawal.pk if withdrawal else None}
    if kind == ApprovalKind.DEPOSIT:
        after["reference"] = reference
    if kind == ApprovalKind.WITHDRAWAL:
        after["threshold"] = four_eyes_threshold(asset)
    audit_record(actor=actor, ip=ip, action=f"funds.{kind}_requested", object_type="console.approvalrequest",
                 object_id=approval.pk, after=after, reason=reason)
    return approval


@transaction.atomic
def deposit_credit(*, actor: User, ip: str | None, user: User, asset: Asset, amount: object,
                   reference: str, reason: str) -> ApprovalRequest:
    """Ask to credit a deposit that arrived outside the venue (a bank transfer, a transaction).

    Whatever the amount, nothing is credited until a second admin approves
    (``approval_approve``). The external ``reference`` is required and credits once per asset
    (``duplicate_reference``, 409); nobody asks for a credit to their own account
    (``own_account``, 403); the user's KYC tier must be able to receive it
    (``kyc_limit_exceeded``, checked again on approval)."""
    check_admin(actor)
    why = check_reason(reason)
    check_not_own_account(actor, user.pk, "credit")
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise ExchangeError("reference_required", "a deposit needs its external reference (1 to 100 characters)")
    value = parse_amount(amount, decimals=asset.decimals)
    _check_reference_free(asset, reference)
    kyc.deposit_limit_check(user=user, asset=asset, amount=value)
    return _approval_request(actor=actor, ip=ip, kind=ApprovalKind.DEPOSIT, user=user, asset=asset, amount=value,
                             reason=why, reference=reference)


@transaction.atomic
def balance_adjust(*, actor: User, ip: str | None, user: User, asset: Asset, amount: object,
                   reason: str) -> ApprovalRequest:
    """Ask for a manual correction (positive or negative) of a user's available balance against
    the external account. It always waits for a second admin, whatever its amount or sign; a
    debit the balance cannot cover is refused at once (and again on approval)."""
    check_admin(actor)
    why = check_reason(reason)
    check_not_own_account(actor, user.pk, "adjust")
    value = parse_decimal(amount)
    if value == 0:
        raise ExchangeError("invalid_amount", "an adjustment must not be zero")
    check_positive_amount(abs(value), decimals=asset.decimals)
    if value < 0:
        available = (Balance.objects.filter(account__user=user, asset=asset).values_list("available", flat=True).first()
                     or Decimal(0))
        if available + value < 0:
            raise ExchangeError("insufficient_funds", f"{user} has {available.normalize():f} {asset.symbol} available")
    return _approval_request(actor=actor, ip=ip, kind=ApprovalKind.ADJUSTMENT, user=user, asset=asset, amount=value,
                             reason=why)


def pending_withdrawal(withdrawal_id: int) -> Withdrawal:
    """The withdrawal, locked, if it still waits for a decision (else 404 or 409)."""
    return ledger.withdrawal_lock(withdrawal_id, allowed=(WithdrawalStatus.REQUESTED,))


def check_not_to_actor(actor: User, withdrawal: Withdrawal) -> None:
    """Nobody approves a withdrawal to an address of their own: one they withdrew to, put on
    their allow-list, or were given to deposit to (``own_account``, 403)."""
    from exchange.withdrawals.selectors import addresses_of_user

    address = withdrawal.address.lower()
    if Withdrawal.objects.filter(user=actor, address__iexact=address).exists() or address in addresses_of_user(actor):
        raise ExchangeError("own_account", "this withdrawal goes to an address of yours: another admin must approve it",
                            status=403)


def withdrawal_go(withdrawal: Withdrawal) -> tuple[Withdrawal, str]:
    """Let an approved withdrawal go: one on a chain becomes ``approved`` for the signer; one
    without (a bank transfer, BTC until its adapter exists) is recorded as paid out
    (``confirmed``). Returns it and the audit action's verb."""
    if withdrawal.network:
        return ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.APPROVED), "approve"
    return ledger.withdrawal_complete(withdrawal_id=withdrawal.pk), "complete"


@transaction.atomic
def withdrawal_approve(*, actor: User, ip: str | None, withdrawal_id: int,
                       reason: str) -> Withdrawal | ApprovalRequest:
    """Approve a requested withdrawal: up to its asset's threshold it goes at once (to the
    signer on a chain, else it is recorded as paid out); above, it needs a second admin's
    approval (returns the pending request). Nobody approves a withdrawal from their own account
    or to an address of their own (``own_account``, 403)."""
    check_admin(actor)
    why = check_reason(reason)
    withdrawal = pending_withdrawal(withdrawal_id)
    check_not_own_account(actor, withdrawal.user_id, "approve a withdrawal from")
    check_not_to_actor(actor, withdrawal)
    if withdrawal.amount > four_eyes_threshold(withdrawal.asset):
        existing = ApprovalRequest.objects.filter(withdrawal=withdrawal, status=ApprovalStatus.PENDING).first()
        if existing is not None:
            raise ExchangeError("approval_pending", f"withdrawal {withdrawal.pk} already waits for a second admin",
                                status=409)
        return _approval_request(actor=actor, ip=ip, kind=ApprovalKind.WITHDRAWAL, user=withdrawal.user,
                                 asset=withdrawal.asset, amount=withdrawal.amount, reason=why, withdrawal=withdrawal)
    withdrawal, action = withdrawal_go(withdrawal)
    audit_record(actor=actor, ip=ip, action=f"funds.withdrawal_{action}", object_type="ledger.withdrawal",
                 object_id=withdrawal.pk, before={"status": WithdrawalStatus.REQUESTED},
                 after={"status": withdrawal.status, "amount": withdrawal.amount,
                        "asset": withdrawal.asset.symbol, "threshold": four_eyes_threshold(withdrawal.asset)},
                 reason=why)
    return withdrawal


@transaction.atomic
def withdrawal_reject(*, actor: User, ip: str | None, withdrawal_id: int, reason: str) -> Withdrawal:
    """Refuse a withdrawal not yet signed (requested, or approved and waiting for the signer):
    the held amount and fee go back to available. One admin is enough (nothing leaves the
    venue); a pending approval for it is rejected with it."""
    check_admin(actor)
    why = check_reason(reason)
    withdrawal = ledger.withdrawal_lock(withdrawal_id, allowed=(WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED))
    before = withdrawal.status
    withdrawal = ledger.withdrawal_reject(withdrawal_id=withdrawal.pk)
    ApprovalRequest.objects.filter(withdrawal=withdrawal, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.REJECTED, decided_by=actor, decided_at=timezone.now(), decision_reason=why)
    audit_record(actor=actor, ip=ip, action="funds.withdrawal_reject", object_type="ledger.withdrawal",
                 object_id=withdrawal.pk, before={"status": before},
                 after={"status": WithdrawalStatus.REJECTED}, reason=why)
    return withdrawal
