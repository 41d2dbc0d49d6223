"""Writes to the ledger: one function per use case, each one balanced entry in one transaction.

All of them go through ``entry_post``, which locks the touched balance rows in a fixed order
(account id, then asset id) so that concurrent entries never deadlock, applies the postings,
and lets the database's check constraints refuse anything that would go negative.
"""
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from exchange.amounts import check_positive_amount, parse_amount, parse_decimal
from exchange.errors import ExchangeError
from exchange.ledger import limits
from exchange.ledger.models import (
    WITHDRAWAL_FINAL,
    WITHDRAWAL_MOVES,
    WITHDRAWAL_RELEASED,
    AccountKind,
    Balance,
    EntryKind,
    LedgerAccount,
    LedgerEntry,
    Posting,
    Withdrawal,
    WithdrawalStatus,
)
from exchange.ledger.postings import AVAILABLE, HELD, PostingSpec, TradeLegs, fee_amount, trade_postings, unbalanced_assets
from exchange.markets.models import Asset


def account_for_user(user: User) -> LedgerAccount:
    """The user's ledger account, created on first use."""
    account, _ = LedgerAccount.objects.get_or_create(user=user, defaults={"kind": AccountKind.USER})
    return account


def system_account(kind: str) -> LedgerAccount:
    """The system's ``external`` or ``fees`` account, created on first use."""
    account, _ = LedgerAccount.objects.get_or_create(kind=kind, user=None)
    return account


def lock_balances(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Balance]:
    """Create missing balance rows, then lock all of them in (account, asset) order."""
    system_ids = set(
        LedgerAccount.objects.filter(pk__in={a for a, _ in pairs}).exclude(kind=AccountKind.USER).values_list("pk", flat=True)
    )
    Balance.objects.bulk_create(
        [Balance(account_id=a, asset_id=s, is_system=a in system_ids) for a, s in sorted(pairs)],
        ignore_conflicts=True,
    )
    query = Balance.objects.select_for_update().order_by("account_id", "asset_id")
    accounts = {a for a, _ in pairs}
    assets = {s for _, s in pairs}
    rows = query.filter(account_id__in=accounts, asset_id__in=assets)
    return {(b.account_id, b.asset_id): b for b in rows if (b.account_id, b.asset_id) in pairs}


def _check_holds_cover(postings: list[PostingSpec]) -> None:
    """Refuse drawing more from a hold than it still has (a hold never goes negative)."""
    draws: dict[tuple[str | None, int, int], Decimal] = defaultdict(Decimal)
    for p in postings:
        if p.bucket == HELD:
            draws[(p.hold, p.account_id, p.asset_id)] += p.amount
    for (hold, account_id, asset_id), delta in draws.items():
        if delta >= 0:
            continue
        remaining = (
            Posting.objects.filter(hold=hold, account_id=account_id, asset_id=asset_id, bucket=HELD)
            .aggregate(s=Sum("amount"))["s"]
            or Decimal(0)
        )
        if remaining + delta < 0:
            raise ExchangeError("insufficient_hold", f"hold {hold} has {remaining}, cannot release {-delta}")


@transaction.atomic
def entry_post(
    *, kind: str, reference: str, postings: list[PostingSpec], idempotency_key: str | None = None, memo: str = ""
) -> LedgerEntry:
    """Record one balanced entry and apply it to the balances, all or nothing.

    With an ``idempotency_key`` seen before, the earlier entry is returned and nothing changes.
    Raises ``unbalanced_entry``, ``insufficient_funds`` or ``insufficient_hold``.
    """
    if idempotency_key is not None:
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    if not postings:
        raise ExchangeError("empty_entry", "an entry needs postings")
    unbalanced = unbalanced_assets(postings)
    if unbalanced:
        raise ExchangeError("unbalanced_entry", f"postings do not sum to zero: {unbalanced}")
    balances = lock_balances({(p.account_id, p.asset_id) for p in postings})
    _check_holds_cover(postings)
    for p in postings:
        balance = balances[(p.account_id, p.asset_id)]
        if p.bucket == AVAILABLE:
            balance.available += p.amount
        else:
            balance.held += p.amount
        if balance.held < 0 or (balance.available < 0 and not balance.is_system):
            raise ExchangeError("insufficient_funds", f"not enough {'held' if balance.held < 0 else 'available'} balance")
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(kind=kind, reference=reference, idempotency_key=idempotency_key, memo=memo)
    except IntegrityError:
        # A concurrent request with the same key won the race: return its entry instead.
        if idempotency_key is None:
            raise
        transaction.set_rollback(True)
        return LedgerEntry.objects.get(idempotency_key=idempotency_key)
    Posting.objects.bulk_create(
        [
            Posting(entry=entry, account_id=p.account_id, asset_id=p.asset_id, bucket=p.bucket, amount=p.amount, hold=p.hold)
            for p in postings
        ]
    )
    Balance.objects.bulk_update(list(balances.values()), ["available", "held", "updated_at"])
    return entry


def _amount(asset: Asset, amount: object) -> Decimal:
    return parse_amount(amount, decimals=asset.decimals)


def deposit_credit(
    *, user: User, asset: Asset, amount: object, reference: str, memo: str = ""
) -> LedgerEntry:
    """Credit a deposit, once per external ``reference`` (a second call with it changes nothing)."""
    value = _amount(asset, amount)
    user_account = account_for_user(user)
    external = system_account(AccountKind.EXTERNAL)
    return entry_post(
        kind=EntryKind.DEPOSIT,
        reference=f"deposit:{reference}"[:64],
        idempotency_key=f"deposit:{reference}",
        memo=memo,
        postings=[
            PostingSpec(external.pk, asset.pk, AVAILABLE, -value),
            PostingSpec(user_account.pk, asset.pk, AVAILABLE, value),
        ],
    )


@transaction.atomic
def hold_place(*, user: User, asset: Asset, amount: object, hold: str) -> LedgerEntry:
    """Move ``amount`` from available to held under the name ``hold`` (e.g. ``order:42``).

    Every order placement runs this, so it is two statements instead of ``entry_post``'s
    general path: a conditional UPDATE of the one balance row (which locks it and refuses a
    shortfall atomically), then the entry and its two postings in one INSERT.
    """
    value = _amount(asset, amount)
    account = account_for_user(user)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE ledger_balance SET available = available - %s, held = held + %s, updated_at = now()
               WHERE account_id = %s AND asset_id = %s AND available >= %s""",
            [value, value, account.pk, asset.pk, value],
        )
        if cursor.rowcount != 1:
            raise ExchangeError("insufficient_funds", f"not enough available {asset.symbol}")
        cursor.execute(
            """WITH entry AS (
                   INSERT INTO ledger_ledgerentry (kind, reference, memo, created_at)
                   VALUES (%s, %s, '', now()) RETURNING id)
               INSERT INTO ledger_posting (entry_id, account_id, asset_id, bucket, amount, hold)
               SELECT entry.id, %s, %s, v.bucket, v.amount, v.hold FROM entry,
                      (VALUES ('available', -%s::numeric, NULL), ('held', %s::numeric, %s)) AS v(bucket, amount, hold)
               RETURNING entry_id""",
            [EntryKind.HOLD, hold, account.pk, asset.pk, value, value, hold],
        )
        entry_id = cursor.fetchone()[0]
    return LedgerEntry(pk=entry_id, kind=EntryKind.HOLD, reference=hold)


def hold_release(*, user: User, asset: Asset, amount: object, hold: str) -> LedgerEntry:
    """Give back ``amount`` of the hold ``hold`` to available (a cancel, or a price improvement)."""
    value = _amount(asset, amount)
    account = account_for_user(user)
    return entry_post(
        kind=EntryKind.RELEASE,
        reference=hold,
        postings=[
            PostingSpec(account.pk, asset.pk, HELD, -value, hold),
            PostingSpec(account.pk, asset.pk, AVAILABLE, value),
        ],
    )


def hold_remaining(*, user: User, asset: Asset, hold: str) -> Decimal:
    """What is left of the hold ``hold``: the sum of its postings."""
    account = account_for_user(user)
    total = Posting.objects.filter(account=account, asset=asset, bucket=HELD, hold=hold).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


def trade_settle(
    *,
    buyer: User,
    seller: User,
    base: Asset,
    quote: Asset,
    price: object,
    quantity: object,
    buyer_fee_rate: object,
    seller_fee_rate: object,
    buyer_hold: str,
    seller_hold: str,
    buyer_limit_price: object = None,
    reference: str,
) -> LedgerEntry:
    """Settle one trade at ``price``: the buyer pays quote from ``buyer_hold`` and receives base
    less the buyer's fee; the seller delivers base from ``seller_hold`` and receives quote less
    the seller's fee; fees go to the fee account. Fees are charged in the asset received.

    When the buyer held at ``buyer_limit_price`` above ``price``, the difference is released.
    The matcher settles whole batches with the same ``trade_postings`` arithmetic.
    """
    dec_price = check_positive_amount(parse_decimal(price, field="price"), decimals=quote.decimals, field="price")
    dec_quantity = _amount(base, quantity)
    notional = dec_price * dec_quantity
    if notional != notional.quantize(Decimal(1).scaleb(-quote.decimals)):
        raise ExchangeError("invalid_notional", f"price x quantity has more decimals than {quote.symbol}")
    release = Decimal(0)
    if buyer_limit_price is not None:
        limit = parse_decimal(buyer_limit_price, field="price")
        if limit < dec_price:
            raise ExchangeError("invalid_price", "the trade price is above the buyer's limit")
        release = (limit - dec_price) * dec_quantity
    legs = TradeLegs(
        buyer_account_id=account_for_user(buyer).pk,
        seller_account_id=account_for_user(seller).pk,
        fee_account_id=system_account(AccountKind.FEES).pk,
        base_asset_id=base.pk,
        quote_asset_id=quote.pk,
        quantity=dec_quantity,
        notional=notional,
        buyer_fee=fee_amount(dec_quantity, parse_decimal(buyer_fee_rate, field="fee"), base.decimals),
        seller_fee=fee_amount(notional, parse_decimal(seller_fee_rate, field="fee"), quote.decimals),
        buyer_hold=buyer_hold,
        seller_hold=seller_hold,
        buyer_release=release,
    )
    return entry_post(kind=EntryKind.TRADE, reference=reference, postings=trade_postings(legs))


@transaction.atomic
def withdrawal_request(*, user: User, asset: Asset, amount: object, address: str, fee: object = 0,
                       network: str = "") -> Withdrawal:
    """Ask to withdraw: ``amount + fee`` is held at once, so it cannot be traded or withdrawn twice.

    The user's KYC tier must allow it (``kyc_withdrawals_not_allowed``, ``kyc_limit_exceeded``,
    403): the check locks the user's ledger account row and counts the last 24 hours in this
    transaction, so two concurrent requests cannot both fit a daily limit only one fits.
    Chain rules (address format, minimum, fee) are the caller's (``exchange.withdrawals``)."""
    value = _amount(asset, amount)
    charge = parse_decimal(fee, field="fee")
    if charge < 0:
        raise ExchangeError("invalid_fee", "a fee must not be negative")
    address = (address or "").strip()
    if not address or len(address) > 128:
        raise ExchangeError("invalid_address", "a withdrawal needs a destination address")
    worth = limits.withdrawal_limit_check(user=user, asset=asset, amount=value)
    withdrawal = Withdrawal.objects.create(user=user, asset=asset, amount=value, fee=charge, address=address,
                                           quote_value=worth, network=network)
    hold_place(user=user, asset=asset, amount=value + charge, hold=withdrawal.hold_reference)
    return withdrawal


def withdrawal_lock(withdrawal_id: object, *, allowed: tuple[str, ...] | None = None) -> Withdrawal:
    """The withdrawal, locked for a change; with ``allowed``, refuse any other status
    (``withdrawal_not_pending``, 409). Unknown: ``unknown_withdrawal`` (404)."""
    # of=("self",): locking the joined asset and user rows too would serialise unrelated work on them.
    try:
        pk = int(str(withdrawal_id))
    except ValueError:
        raise ExchangeError("unknown_withdrawal", "no such withdrawal", status=404) from None
    withdrawal = Withdrawal.objects.select_for_update(of=("self",)).select_related("asset", "user").filter(pk=pk).first()
    if withdrawal is None:
        raise ExchangeError("unknown_withdrawal", "no such withdrawal", status=404)
    if allowed is not None and withdrawal.status not in allowed:
        raise ExchangeError("withdrawal_not_pending", f"withdrawal {withdrawal.pk} is {withdrawal.status}", status=409)
    return withdrawal


def _move(withdrawal: Withdrawal, status: str, **fields) -> Withdrawal:
    if status not in WITHDRAWAL_MOVES.get(withdrawal.status, set()):
        raise ExchangeError("withdrawal_not_pending", f"withdrawal {withdrawal.pk} is {withdrawal.status}, "
                            f"it cannot become {status}", status=409)
    withdrawal.status = status
    now = timezone.now()
    if status == WithdrawalStatus.APPROVED:
        withdrawal.approved_at = now
    if status in WITHDRAWAL_FINAL:
        withdrawal.decided_at = now
    for name, value in fields.items():
        setattr(withdrawal, name, value)
    withdrawal.save(update_fields=["status", "approved_at", "decided_at", "updated_at", *fields])
    return withdrawal


@transaction.atomic
def withdrawal_advance(*, withdrawal_id: object, status: str, **fields) -> Withdrawal:
    """Move a withdrawal along without touching money (``approved``, ``signed``, ``broadcast``),
    setting chain ``fields`` (nonce, sender, txid, ...) in the same write."""
    if status in WITHDRAWAL_FINAL:
        raise ExchangeError("invalid_status", f"{status} moves money: use withdrawal_complete or withdrawal_release")
    return _move(withdrawal_lock(withdrawal_id), status, **fields)


@transaction.atomic
def withdrawal_complete(*, withdrawal_id: object, **fields) -> Withdrawal:
    """The funds have left: the held amount goes to the external account, the fee to the fee
    account, and the withdrawal is ``confirmed``."""
    withdrawal = withdrawal_lock(withdrawal_id)
    _move(withdrawal, WithdrawalStatus.CONFIRMED, **fields)
    account = account_for_user(withdrawal.user)
    hold = withdrawal.hold_reference
    postings = [PostingSpec(account.pk, withdrawal.asset_id, HELD, -withdrawal.held, hold),
                PostingSpec(system_account(AccountKind.EXTERNAL).pk, withdrawal.asset_id, AVAILABLE, withdrawal.amount)]
    if withdrawal.fee:
        postings.append(PostingSpec(system_account(AccountKind.FEES).pk, withdrawal.asset_id, AVAILABLE, withdrawal.fee))
    entry_post(kind=EntryKind.WITHDRAWAL, reference=hold, postings=postings)
    return withdrawal


@transaction.atomic
def withdrawal_release(*, withdrawal_id: object, status: str, reason: str = "") -> Withdrawal:
    """The withdrawal will not happen (``rejected``, ``cancelled`` or ``failed``): the held
    amount and fee go back to available."""
    if status not in WITHDRAWAL_RELEASED:
        raise ExchangeError("invalid_status", f"{status} does not release a withdrawal")
    withdrawal = withdrawal_lock(withdrawal_id)
    _move(withdrawal, status, failure_reason=reason[:255])
    hold_release(user=withdrawal.user, asset=withdrawal.asset, amount=withdrawal.held, hold=withdrawal.hold_reference)
    return withdrawal


def withdrawal_reject(*, withdrawal_id: object) -> Withdrawal:
    """An admin refuses it: the held funds go back to available."""
    return withdrawal_release(withdrawal_id=withdrawal_id, status=WithdrawalStatus.REJECTED)


def balance_adjust(*, user: User, asset: Asset, amount: object, reason: str) -> LedgerEntry:
    """A manual correction (positive or negative) against the external account, with a reason."""
    value = parse_decimal(amount)
    if value == 0:
        raise ExchangeError("invalid_amount", "an adjustment must not be zero")
    check_positive_amount(abs(value), decimals=asset.decimals)
    if not reason.strip():
        raise ExchangeError("reason_required", "an adjustment needs a reason")
    account = account_for_user(user)
    external = system_account(AccountKind.EXTERNAL)
    return entry_post(
        kind=EntryKind.ADJUSTMENT,
        reference=f"adjustment:{account.pk}",
        memo=reason[:255],
        postings=[
            PostingSpec(external.pk, asset.pk, AVAILABLE, -value),
            PostingSpec(account.pk, asset.pk, AVAILABLE, value),
        ],
    )


def faucet_credit(*, user: User, asset: Asset, amount: object) -> LedgerEntry:
    """Demo mode only: credit play money, at most ``EXCHANGE_FAUCET_LIMITS[asset]`` per request."""
    import uuid

    from django.conf import settings

    if not settings.EXCHANGE_DEMO_MODE:
        raise ExchangeError("faucet_disabled", "the faucet exists only in demo mode", status=404)
    value = _amount(asset, amount)
    limit = Decimal(settings.EXCHANGE_FAUCET_LIMITS.get(asset.symbol, "0"))
    if value > limit:
        raise ExchangeError("faucet_limit", f"at most {limit} {asset.symbol} per request")
    return deposit_credit(user=user, asset=asset, amount=value, reference=f"faucet:{uuid.uuid4()}", memo="demo faucet")
