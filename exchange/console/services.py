"""The console's writes: one function per use case, each in one transaction with its audit entry.

Every function takes the acting admin (``actor``) and their address (``ip``), checks the role
(the views check it too), requires a reason, does the change through the owning app's service,
and appends the audit entry in the same transaction, so there is never a change without its
entry nor an entry for a change that rolled back.

Market status changes and cancel-alls go through the matcher's command stream
(``exchange.trading.services.market_command``): they take effect at a definite sequence
number, after every command queued before them, once the market's matcher applies them.
"""
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.accounts import services as accounts
from exchange.accounts.models import ApiKey, Profile, UserStatus
from exchange.accounts.roles import ADMIN, COMPLIANCE, user_has_role
from exchange.amounts import check_positive_amount, parse_amount, parse_decimal
from exchange.audit.models import AuditSource
from exchange.audit.services import audit_record
from exchange.console.models import ApprovalKind, ApprovalRequest, ApprovalStatus, FeeTier
from exchange.errors import ExchangeError
from exchange.ledger import limits as kyc
from exchange.ledger import services as ledger
from exchange.ledger.models import Balance, LedgerEntry, Withdrawal, WithdrawalStatus
from exchange.markets import services as markets
from exchange.markets.models import Asset, Market, MarketStatus
from exchange.trading import services as trading
from exchange.trading.models import OPEN_STATUSES, CommandKind, Order

RULE_FIELDS = ("tick_size", "lot_size", "min_notional", "min_quantity", "max_quantity", "price_band_pct", "maker_fee",
               "taker_fee")
# Resting orders are integers of ticks and lots in the matcher's book: these two never change
# once a market has had an order (list a new market instead).
FIXED_ONCE_TRADED = ("tick_size", "lot_size")
NULLABLE_RULES = ("max_quantity", "price_band_pct")


def _check_admin(actor: AbstractBaseUser) -> None:
    if not user_has_role(actor, ADMIN):
        raise ExchangeError("forbidden", "only admins can do this", status=403)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ExchangeError("reason_required", "give a reason: it goes into the audit log")
    return text


def _rules(market: Market) -> dict:
    return {f: getattr(market, f) for f in (*RULE_FIELDS, "status")}


def _locked_market(symbol: str) -> Market:
    market = Market.objects.select_for_update(of=("self",)).select_related("base", "quote").filter(
        symbol=str(symbol).upper()).first()
    if market is None:
        raise ExchangeError("unknown_market", f"no market {symbol!r}", status=404)
    return market


# ---------------------------------------------------------------------- assets and markets

@transaction.atomic
def asset_list(*, actor: AbstractBaseUser, ip: str | None, symbol: str, name: str, decimals: int, reason: str) -> Asset:
    """List a new asset (a coin or currency) with its number of decimals."""
    _check_admin(actor)
    why = _reason(reason)
    symbol = (symbol or "").strip().upper()
    if Asset.objects.filter(symbol=symbol).exists():
        raise ExchangeError("asset_exists", f"asset {symbol} is already listed", status=409)
    asset = Asset(symbol=symbol, name=(name or symbol).strip()[:64], decimals=decimals)
    try:
        asset.full_clean()
    except ValidationError as exc:
        raise ExchangeError("invalid_asset", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    asset.save()
    audit_record(actor=actor, ip=ip, action="asset.list", object_type="markets.asset", object_id=asset.symbol,
                 after={"symbol": asset.symbol, "name": asset.name, "decimals": asset.decimals}, reason=why)
    return asset


@transaction.atomic
def market_list(*, actor: AbstractBaseUser, ip: str | None, base: str, quote: str, reason: str, **rules: object) -> Market:
    """List a new market BASE-QUOTE with its rules. It opens in status ``trading``; its
    matcher picks it up when started for it (``run_matcher`` without ``--markets`` reads the
    market list when it starts)."""
    _check_admin(actor)
    why = _reason(reason)
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=[str(base).upper(), str(quote).upper()])}
    if str(base).upper() not in assets or str(quote).upper() not in assets:
        raise ExchangeError("unknown_asset", "list both assets first")
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise ExchangeError("invalid_rules", f"unknown rules: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in rules.items() if v not in (None, "")}
    if Market.objects.filter(symbol=f"{str(base).upper()}-{str(quote).upper()}").exists():
        raise ExchangeError("market_exists", "that market is already listed", status=409)
    market = markets.market_create(base=assets[str(base).upper()], quote=assets[str(quote).upper()], **given)
    audit_record(actor=actor, ip=ip, action="market.list", object_type="markets.market", object_id=market.symbol,
                 after=_rules(market), reason=why)
    return market


@transaction.atomic
def market_rules_update(*, actor: AbstractBaseUser, ip: str | None, market: str, reason: str, **changes: object) -> Market:
    """Change a market's rules. They apply to orders entered afterwards: every order is checked
    against the rules at entry, and carries the maker/taker fees of its entry in its place
    command. Resting orders keep their price, quantity and fees, even where a new rule (a
    larger minimum, a narrower band) would refuse them today. Tick and lot size can change only
    while the market has never had an order. An empty value clears max quantity and band."""
    _check_admin(actor)
    why = _reason(reason)
    row = _locked_market(market)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ExchangeError("invalid_rules", f"unknown rules: {', '.join(sorted(unknown))}")
    before = _rules(row)
    changed = []
    for field, raw in changes.items():
        if raw is None or raw == "":
            if field not in NULLABLE_RULES:
                continue
            value = None
        else:
            value = parse_decimal(raw, field=field)
        if value != getattr(row, field):
            setattr(row, field, value)
            changed.append(field)
    if not changed:
        raise ExchangeError("no_change", "nothing to change")
    if set(changed) & set(FIXED_ONCE_TRADED):
        if Order.objects.filter(market=row).exists():
            raise ExchangeError("rules_fixed", "tick and lot size cannot change once a market has had orders; "
                                "list a new market instead", status=409)
        markets._check_step_fits(row.tick_size, row.quote, "tick_size")
        markets._check_step_fits(row.lot_size, row.base, "lot_size")
        markets._check_step_fits(row.tick_size * row.lot_size, row.quote, "tick_size")
    try:
        row.full_clean(exclude=["symbol", "base", "quote", "status", "last_price"])
    except ValidationError as exc:
        raise ExchangeError("invalid_rules", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    if row.max_quantity is not None and row.max_quantity < row.min_quantity:
        raise ExchangeError("invalid_rules", "max quantity is below min quantity")
    # Only the changed columns: the matcher writes status and last price to the same row.
    row.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, ip=ip, action="market.rules_update", object_type="markets.market", object_id=row.symbol,
                 before={k: before[k] for k in changed}, after={k: getattr(row, k) for k in changed}, reason=why)
    return row


@transaction.atomic
def market_status_change(*, actor: AbstractBaseUser, ip: str | None, market: str, status: str, reason: str) -> list:
    """Queue a status change (trading, halted, cancel-only, post-only, delisted) into the
    market's stream; it takes effect at its sequence number. Delisting also cancels every
    resting order, right after the status change in the same stream. Returns the commands."""
    _check_admin(actor)
    why = _reason(reason)
    if status not in MarketStatus.values:
        raise ExchangeError("invalid_status", f"status must be one of {', '.join(MarketStatus.values)}")
    row = _locked_market(market)
    commands = [trading.market_command(market=row.symbol, kind=CommandKind.SET_STATUS, status=status, reason=why)]
    if status == MarketStatus.DELISTED:
        commands.append(trading.market_command(market=row.symbol, kind=CommandKind.CANCEL_ALL, reason=why))
    audit_record(actor=actor, ip=ip, action="market.status_change", object_type="markets.market", object_id=row.symbol,
                 before={"status": row.status},
                 after={"status": status, "commands": [c.pk for c in commands]}, reason=why)
    return commands


@transaction.atomic
def market_orders_cancel_all(*, actor: AbstractBaseUser, ip: str | None, market: str, reason: str):
    """Queue a cancel of every order of the market into its stream (holds are released as the
    matcher applies it). The market's status does not change: halt it first to stop new ones."""
    _check_admin(actor)
    why = _reason(reason)
    row = _locked_market(market)
    open_orders = Order.objects.filter(market=row, status__in=OPEN_STATUSES).count()
    command = trading.market_command(market=row.symbol, kind=CommandKind.CANCEL_ALL, reason=why)
    audit_record(actor=actor, ip=ip, action="market.cancel_all", object_type="markets.market", object_id=row.symbol,
                 before={"open_orders": open_orders}, after={"command": command.pk}, reason=why)
    return command


# ---------------------------------------------------------------------- users

def _profile(user: AbstractBaseUser) -> Profile:
    accounts.profile_for(user)
    return Profile.objects.select_for_update().get(user=user)


@transaction.atomic
def user_freeze(*, actor: AbstractBaseUser, ip: str | None, user: AbstractBaseUser, reason: str) -> Profile:
    """Freeze a user: no login (their sessions end), no orders, no API calls, and every open
    order cancelled through each market's stream (holds released as the matchers apply it)."""
    _check_admin(actor)
    why = _reason(reason)
    if user.pk == actor.pk:
        raise ExchangeError("cannot_freeze_yourself", "another admin must freeze your account", status=403)
    profile = _profile(user)
    if profile.status == UserStatus.FROZEN:
        raise ExchangeError("already_frozen", f"{user} is already frozen", status=409)
    open_orders = Order.objects.filter(user=user, status__in=OPEN_STATUSES).count()
    trading.user_freeze(user=user, reason=why)
    audit_record(actor=actor, ip=ip, action="user.freeze", object_type="auth.user", object_id=user.pk,
                 before={"status": profile.status, "open_orders": open_orders}, after={"status": UserStatus.FROZEN},
                 reason=why)
    profile.refresh_from_db()
    return profile


@transaction.atomic
def user_unfreeze(*, actor: AbstractBaseUser, ip: str | None, user: AbstractBaseUser, reason: str) -> Profile:
    """Let a frozen user log in and trade again (their cancelled orders stay cancelled)."""
    _check_admin(actor)
    why = _reason(reason)
    profile = _profile(user)
    if profile.status != UserStatus.FROZEN:
        raise ExchangeError("not_frozen", f"{user} is not frozen", status=409)
    accounts.user_set_status(user=user, status=UserStatus.ACTIVE)
    audit_record(actor=actor, ip=ip, action="user.unfreeze", object_type="auth.user", object_id=user.pk,
                 before={"status": UserStatus.FROZEN}, after={"status": UserStatus.ACTIVE}, reason=why)
    profile.refresh_from_db()
    return profile


@transaction.atomic
def user_kyc_set(*, actor: AbstractBaseUser | None, ip: str | None, user: AbstractBaseUser, level: int,
                 reason: str) -> Profile:
    """Set the user's KYC level (0 none, 1 basic, 2 verified, 3 enhanced): it decides how much
    they may withdraw and receive (``exchange.ledger.limits``). Admins and compliance officers
    set it in the console, never their own (``own_account``); ``actor=None`` is an operator at
    the server (``manage.py set_kyc_level``), audited as ``operator`` with the system source."""
    if actor is not None:
        if not (user_has_role(actor, ADMIN) or user_has_role(actor, COMPLIANCE)):
            raise ExchangeError("forbidden", "only admins and compliance officers set KYC levels", status=403)
        _not_own_account(actor, user.pk, "set the KYC level of")
    why = _reason(reason)
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 3:
        raise ExchangeError("invalid_kyc_level", "KYC level is 0, 1, 2 or 3")
    profile = _profile(user)
    before = profile.kyc_level
    profile.kyc_level = level
    profile.save(update_fields=["kyc_level"])
    audit_record(actor=actor, ip=ip, action="user.kyc_set", object_type="auth.user", object_id=user.pk,
                 before={"kyc_level": before}, after={"kyc_level": level},
                 reason=why, source=AuditSource.CONSOLE if actor else AuditSource.SYSTEM)
    return profile


@transaction.atomic
def user_api_key_revoke(*, actor: AbstractBaseUser, ip: str | None, api_key_id: int, reason: str) -> ApiKey:
    """Revoke one of a user's API keys for good."""
    _check_admin(actor)
    why = _reason(reason)
    api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise ExchangeError("unknown_api_key", "no such API key", status=404)
    if api_key.revoked_at is not None:
        raise ExchangeError("already_revoked", "this key is already revoked", status=409)
    accounts.api_key_revoke(api_key=api_key)
    audit_record(actor=actor, ip=ip, action="user.api_key_revoke", object_type="accounts.apikey", object_id=api_key.pk,
                 before={"key": api_key.key[:8], "user": api_key.user_id, "revoked_at": None},
                 after={"revoked_at": api_key.revoked_at}, reason=why)
    return api_key


# ---------------------------------------------------------------------- funds
#
# Who moves money: no admin alone. Every manual credit (a deposit, a balance adjustment) is a
# request that a second admin approves; a withdrawal above its asset's threshold needs a second
# admin too. Nobody approves a request they made, and nobody moves money into their own account
# or approves a withdrawal out of it (``own_account``, 403).

def four_eyes_threshold(asset: Asset) -> Decimal:
    """A withdrawal of ``asset`` above this amount, in the asset's own units, needs a second
    admin: ``EXCHANGE_FOUR_EYES_THRESHOLDS[asset]``, else ``EXCHANGE_FOUR_EYES_THRESHOLD``, which
    is 0 by default, so that an asset nobody configured never lets one admin send anything out
    alone (one number for every asset made 10,000 BTC a "small" withdrawal)."""
    per_asset = settings.EXCHANGE_FOUR_EYES_THRESHOLDS.get(asset.symbol)
    raw = per_asset if per_asset not in (None, "") else settings.EXCHANGE_FOUR_EYES_THRESHOLD
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ImproperlyConfigured(f"four-eyes threshold of {asset.symbol} is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"four-eyes threshold of {asset.symbol} must be 0 or more")
    return value


def _not_own_account(actor: AbstractBaseUser, beneficiary_id: object, doing: str) -> None:
    if beneficiary_id == actor.pk:
        raise ExchangeError("own_account", f"you cannot {doing} your own account: another admin must", status=403)


def _user(user_id: object) -> AbstractBaseUser:
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ExchangeError("unknown_user", "no such user", status=404)
    return user


def _ledger_deposit_reference(asset: Asset, reference: str) -> str:
    # The ledger's idempotency key is global; the asset in it makes a reference unique per asset.
    return f"{asset.symbol}:{reference}"


def _check_reference_free(asset: Asset, reference: str) -> None:
    """Refuse a reference already asked for or credited in this asset (``duplicate_reference``)."""
    taken = ApprovalRequest.objects.filter(kind=ApprovalKind.DEPOSIT, asset=asset, reference=reference).exclude(
        status=ApprovalStatus.REJECTED).exists()
    keys = [f"deposit:{_ledger_deposit_reference(asset, reference)}", f"deposit:{reference}"]
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
def deposit_credit(*, actor: AbstractBaseUser, ip: str | None, user: AbstractBaseUser, asset: Asset, amount: object,
                   reference: str, reason: str) -> ApprovalRequest:
    """Ask to credit a deposit that arrived outside the venue (a bank transfer, a transaction).

    Whatever the amount, nothing is credited until a second admin approves
    (``approval_approve``). The external ``reference`` is required and credits once per asset
    (``duplicate_reference``, 409); nobody asks for a credit to their own account
    (``own_account``, 403); the user's KYC tier must be able to receive it
    (``kyc_limit_exceeded``, checked again on approval)."""
    _check_admin(actor)
    why = _reason(reason)
    _not_own_account(actor, user.pk, "credit")
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise ExchangeError("reference_required", "a deposit needs its external reference (1 to 100 characters)")
    value = parse_amount(amount, decimals=asset.decimals)
    _check_reference_free(asset, reference)
    kyc.deposit_limit_check(user=user, asset=asset, amount=value)
    return _approval_request(actor=actor, ip=ip, kind=ApprovalKind.DEPOSIT, user=user, asset=asset, amount=value,
                             reason=why, reference=reference)


@transaction.atomic
def balance_adjust(*, actor: AbstractBaseUser, ip: str | None, user: AbstractBaseUser, asset: Asset, amount: object,
                   reason: str) -> ApprovalRequest:
    """Ask for a manual correction (positive or negative) of a user's available balance against
    the external account. It always waits for a second admin, whatever its amount or sign; a
    debit the balance cannot cover is refused at once (and again on approval)."""
    _check_admin(actor)
    why = _reason(reason)
    _not_own_account(actor, user.pk, "adjust")
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


def _pending_withdrawal(withdrawal_id: object) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_for_update(of=("self",)).select_related("asset", "user").filter(
        pk=withdrawal_id).first()
    if withdrawal is None:
        raise ExchangeError("unknown_withdrawal", "no such withdrawal", status=404)
    if withdrawal.status != WithdrawalStatus.PENDING:
        raise ExchangeError("withdrawal_not_pending", f"withdrawal {withdrawal.pk} is {withdrawal.status}", status=409)
    return withdrawal


@transaction.atomic
def withdrawal_approve(*, actor: AbstractBaseUser, ip: str | None, withdrawal_id: object,
                       reason: str) -> Withdrawal | ApprovalRequest:
    """Approve a pending withdrawal: up to its asset's threshold it completes at once (the held
    funds go out); above, it needs a second admin's approval (returns the pending request).
    Nobody approves a withdrawal from their own account (``own_account``, 403)."""
    _check_admin(actor)
    why = _reason(reason)
    withdrawal = _pending_withdrawal(withdrawal_id)
    _not_own_account(actor, withdrawal.user_id, "approve a withdrawal from")
    if withdrawal.amount > four_eyes_threshold(withdrawal.asset):
        existing = ApprovalRequest.objects.filter(withdrawal=withdrawal, status=ApprovalStatus.PENDING).first()
        if existing is not None:
            raise ExchangeError("approval_pending", f"withdrawal {withdrawal.pk} already waits for a second admin",
                                status=409)
        return _approval_request(actor=actor, ip=ip, kind=ApprovalKind.WITHDRAWAL, user=withdrawal.user,
                                 asset=withdrawal.asset, amount=withdrawal.amount, reason=why, withdrawal=withdrawal)
    ledger.withdrawal_complete(withdrawal_id=withdrawal.pk)
    audit_record(actor=actor, ip=ip, action="funds.withdrawal_complete", object_type="ledger.withdrawal",
                 object_id=withdrawal.pk, before={"status": WithdrawalStatus.PENDING},
                 after={"status": WithdrawalStatus.COMPLETED, "amount": withdrawal.amount,
                        "asset": withdrawal.asset.symbol, "threshold": four_eyes_threshold(withdrawal.asset)},
                 reason=why)
    withdrawal.refresh_from_db()
    return withdrawal


@transaction.atomic
def withdrawal_reject(*, actor: AbstractBaseUser, ip: str | None, withdrawal_id: object, reason: str) -> Withdrawal:
    """Refuse a pending withdrawal: the held amount goes back to available. One admin is
    enough (nothing leaves the venue); a pending approval for it is rejected with it."""
    _check_admin(actor)
    why = _reason(reason)
    withdrawal = _pending_withdrawal(withdrawal_id)
    ledger.withdrawal_reject(withdrawal_id=withdrawal.pk)
    ApprovalRequest.objects.filter(withdrawal=withdrawal, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.REJECTED, decided_by=actor, decided_at=timezone.now(), decision_reason=why)
    audit_record(actor=actor, ip=ip, action="funds.withdrawal_reject", object_type="ledger.withdrawal",
                 object_id=withdrawal.pk, before={"status": WithdrawalStatus.PENDING},
                 after={"status": WithdrawalStatus.REJECTED}, reason=why)
    withdrawal.refresh_from_db()
    return withdrawal


def _pending_approval(approval_id: object) -> ApprovalRequest:
    approval = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("asset", "user").filter(
        pk=approval_id).first()
    if approval is None:
        raise ExchangeError("unknown_approval", "no such approval request", status=404)
    if approval.status != ApprovalStatus.PENDING:
        raise ExchangeError("approval_not_pending", f"request {approval.pk} is {approval.status}", status=409)
    return approval


@transaction.atomic
def approval_approve(*, actor: AbstractBaseUser, ip: str | None, approval_id: object, reason: str) -> ApprovalRequest:
    """The second admin approves: the deposit is credited, the adjustment posted or the
    withdrawal completed, now. The admin who asked can never approve (``four_eyes``), nor can
    the user the money goes to or comes from (``own_account``), both 403."""
    _check_admin(actor)
    why = _reason(reason)
    approval = _pending_approval(approval_id)
    if approval.requested_by_id == actor.pk:
        raise ExchangeError("four_eyes", "another admin must approve this: you asked for it", status=403)
    _not_own_account(actor, approval.user_id, "approve money movements of")
    if approval.kind == ApprovalKind.DEPOSIT:
        kyc.deposit_limit_check(user=approval.user, asset=approval.asset, amount=approval.amount)
        ledger_reference = _ledger_deposit_reference(approval.asset, approval.reference)
        if LedgerEntry.objects.filter(idempotency_key=f"deposit:{ledger_reference}").exists():
            raise ExchangeError("duplicate_reference", f"reference {approval.reference!r} is already credited",
                                status=409)
        entry = ledger.deposit_credit(user=approval.user, asset=approval.asset, amount=approval.amount,
                                      reference=ledger_reference, memo=approval.reason[:255])
    elif approval.kind == ApprovalKind.ADJUSTMENT:
        entry = ledger.balance_adjust(user=approval.user, asset=approval.asset, amount=approval.amount,
                                      reason=f"{approval.reason} (approved: {why})")
    else:
        _pending_withdrawal(approval.withdrawal_id)
        ledger.withdrawal_complete(withdrawal_id=approval.withdrawal_id)
        entry = LedgerEntry.objects.filter(kind="withdrawal", reference=f"withdrawal:{approval.withdrawal_id}").first()
    approval.status = ApprovalStatus.APPROVED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_reason = why
    approval.ledger_entry = entry
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "ledger_entry"])
    after = {"status": ApprovalStatus.APPROVED, "ledger_entry": entry.pk if entry else None,
             "user": approval.user_id, "asset": approval.asset.symbol, "amount": approval.amount}
    if approval.kind == ApprovalKind.DEPOSIT:
        after["reference"] = approval.reference
    audit_record(actor=actor, ip=ip, action=f"funds.{approval.kind}_approve", object_type="console.approvalrequest",
                 object_id=approval.pk, before={"status": ApprovalStatus.PENDING, "requested_by": approval.requested_by_id},
                 after=after, reason=why)
    return approval


@transaction.atomic
def approval_reject(*, actor: AbstractBaseUser, ip: str | None, approval_id: object, reason: str) -> ApprovalRequest:
    """Turn a request down (the requester may withdraw their own). Nothing is posted; a
    withdrawal stays pending in the queue, to be rejected or asked again; a rejected deposit
    frees its reference for a corrected request."""
    _check_admin(actor)
    why = _reason(reason)
    approval = _pending_approval(approval_id)
    approval.status = ApprovalStatus.REJECTED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_reason = why
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(actor=actor, ip=ip, action=f"funds.{approval.kind}_reject", object_type="console.approvalrequest",
                 object_id=approval.pk, before={"status": ApprovalStatus.PENDING},
                 after={"status": ApprovalStatus.REJECTED}, reason=why)
    return approval


# ---------------------------------------------------------------------- fees

def _fee_rate(value: object, field: str) -> Decimal:
    rate = parse_decimal(value, field=field)
    if not Decimal(0) <= rate < Decimal("0.1"):
        raise ExchangeError(f"invalid_{field}", f"{field} must be between 0 and 0.1 (10%)")
    return rate


@transaction.atomic
def fee_tier_create(*, actor: AbstractBaseUser, ip: str | None, quote: Asset, min_volume: object, maker_fee: object,
                    taker_fee: object, reason: str) -> FeeTier:
    """Add a volume tier for the markets quoted in ``quote``. It applies to orders entered from
    now on (each order carries the fees of its entry)."""
    _check_admin(actor)
    why = _reason(reason)
    volume = parse_decimal(min_volume, field="min_volume")
    if volume < 0:
        raise ExchangeError("invalid_min_volume", "the volume threshold must not be negative")
    if FeeTier.objects.filter(quote=quote, min_volume=volume).exists():
        raise ExchangeError("tier_exists", "a tier with this threshold exists; delete it first", status=409)
    tier = FeeTier.objects.create(quote=quote, min_volume=volume, maker_fee=_fee_rate(maker_fee, "maker_fee"),
                                  taker_fee=_fee_rate(taker_fee, "taker_fee"))
    audit_record(actor=actor, ip=ip, action="fees.tier_create", object_type="console.feetier", object_id=tier.pk,
                 after={"quote": quote.symbol, "min_volume": tier.min_volume, "maker_fee": tier.maker_fee,
                        "taker_fee": tier.taker_fee}, reason=why)
    return tier


@transaction.atomic
def fee_tier_delete(*, actor: AbstractBaseUser, ip: str | None, tier_id: object, reason: str) -> None:
    """Remove a volume tier (orders already entered keep the fees they carry)."""
    _check_admin(actor)
    why = _reason(reason)
    tier = FeeTier.objects.select_for_update().select_related("quote").filter(pk=tier_id).first()
    if tier is None:
        raise ExchangeError("unknown_tier", "no such fee tier", status=404)
    before = {"quote": tier.quote.symbol, "min_volume": tier.min_volume, "maker_fee": tier.maker_fee,
              "taker_fee": tier.taker_fee}
    pk = tier.pk
    tier.delete()
    audit_record(actor=actor, ip=ip, action="fees.tier_delete", object_type="console.feetier", object_id=pk,
                 before=before, reason=why)
