"""The deposit state machine: record, confirm and credit, orphan and reverse.

    (seen in a block)        (confirmations reached)          (its block left the chain)
    ─────────────▶ pending ─────────────────────────▶ credited ──────────────────────▶ orphaned
                      │  ▲                                                                │
                      │  └─────────── the same transaction mined again (same row) ◀───────┘
                      └──(its block left the chain)──▶ orphaned

Every function runs inside the watcher's one transaction per step, so a deposit's status and its
ledger entry commit together or not at all; ledger entries carry idempotency keys on top of that.
A credit reversed by a reorg deeper than the confirmations takes back what is available, records
any shortfall in a ``ReorgReview`` and freezes the account (trading's freeze: open orders are
cancelled) until an admin resolves it in the console.
"""
import logging
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max

from exchange.chain.adapters.base import Transfer
from exchange.chain.hd import derive_address
from exchange.chain.models import ChainAsset, Deposit, DepositAddress, DepositStatus, ReorgReview
from exchange.chain.units import UnitsError, from_base_units, to_base_units
from exchange.ledger.models import AccountKind, Balance, EntryKind
from exchange.ledger.postings import AVAILABLE, PostingSpec
from exchange.ledger.services import account_for_user, deposit_credit, entry_post, system_account
from exchange.trading.services import user_freeze

log = logging.getLogger("exchange.chain")


def deposit_address_get(*, user, network: str, xpub: str) -> DepositAddress:
    """The user's deposit address on ``network``, derived at the next free index on first use."""
    existing = DepositAddress.objects.filter(user=user, network=network).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        # One allocator per network at a time: indexes are handed out in order, without gaps.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"deposit-address:{network}"])
        existing = DepositAddress.objects.filter(user=user, network=network).first()
        if existing is not None:
            return existing
        last = DepositAddress.objects.filter(network=network).aggregate(m=Max("derivation_index"))["m"]
        index = 0 if last is None else last + 1
        return DepositAddress.objects.create(user=user, network=network, derivation_index=index,
                                             address=derive_address(xpub, index, network=network))


def deposit_record(*, network: str, transfer: Transfer, chain_asset: ChainAsset, user_id: int) -> Deposit | None:
    """Record a transfer seen in a canonical block: a new row ``pending``; an orphaned row whose
    transaction was mined again goes back to ``pending`` in its new block. Anything already
    recorded in this block is left alone (a restart that scans a block again changes nothing).
    Below the asset's minimum deposit: not recorded (returns None)."""
    amount = from_base_units(transfer.amount, chain_asset.chain_decimals)
    if amount < chain_asset.min_deposit or not _fits_ledger(amount, chain_asset.asset.decimals):
        log.info("ignoring %s %s in %s:%s (below the minimum or finer than the ledger keeps)",
                 amount, chain_asset.symbol, transfer.txid, transfer.index)
        return None
    deposit, created = Deposit.objects.select_for_update().get_or_create(
        network=network, txid=transfer.txid.lower(), log_index=transfer.index,
        defaults={"chain_asset": chain_asset, "user_id": user_id, "address": transfer.to_address, "amount": amount,
                  "amount_base": Decimal(transfer.amount), "block_number": transfer.block_number,
                  "block_hash": transfer.block_hash, "confirmations": 0, "status": DepositStatus.PENDING})
    if created:
        return deposit
    if deposit.status == DepositStatus.ORPHANED or deposit.block_hash != transfer.block_hash:
        deposit.status = DepositStatus.PENDING if not deposit.credited else deposit.status
        deposit.block_number, deposit.block_hash, deposit.confirmations = transfer.block_number, transfer.block_hash, 0
        deposit.save(update_fields=["status", "block_number", "block_hash", "confirmations", "updated_at"])
        return deposit
    return None


def _fits_ledger(amount: Decimal, decimals: int) -> bool:
    """Representable in the asset's decimals without rounding (checked on the digits, not through
    the decimal context, whose 28 digits a large amount of wei exceeds)."""
    try:
        to_base_units(amount, decimals)
    except UnitsError:
        return False
    return True


def deposits_confirm(*, network: str, height: int) -> list[Deposit]:
    """Count confirmations of pending deposits up to the scanned ``height``; credit those that
    reached their asset's count, in this transaction. Returns the deposits that changed."""
    changed = []
    pending = (Deposit.objects.select_for_update().select_related("chain_asset__asset", "user")
               .filter(network=network, status=DepositStatus.PENDING, block_number__isnull=False).order_by("id"))
    for deposit in pending:
        confirmations = max(0, height - deposit.block_number + 1)
        if confirmations == deposit.confirmations:
            continue
        deposit.confirmations = confirmations
        if confirmations >= deposit.chain_asset.confirmations:
            deposit.credit_count += 1
            deposit_credit(user=deposit.user, asset=deposit.chain_asset.asset, amount=deposit.amount,
                           reference=f"{deposit.ledger_reference}:{deposit.credit_count}",
                           memo=f"{network} {deposit.txid}:{deposit.log_index}")
            deposit.status, deposit.credited = DepositStatus.CREDITED, True
        deposit.save(update_fields=["confirmations", "status", "credited", "credit_count", "updated_at"])
        changed.append(deposit)
    return changed


def deposits_orphan_above(*, network: str, height: int) -> list[Deposit]:
    """Every deposit in a block above ``height`` left the canonical chain: ``orphaned``; a
    credited one is reversed and its owner frozen for review. Returns the deposits that changed."""
    changed = []
    gone = (Deposit.objects.select_for_update().select_related("chain_asset__asset", "user")
            .filter(network=network, block_number__gt=height)
            .exclude(status=DepositStatus.ORPHANED).order_by("id"))
    for deposit in gone:
        if deposit.credited:
            _credit_reverse(deposit)
        deposit.status, deposit.credited, deposit.confirmations = DepositStatus.ORPHANED, False, 0
        deposit.save(update_fields=["status", "credited", "confirmations", "updated_at"])
        changed.append(deposit)
    return changed


def _credit_reverse(deposit: Deposit) -> ReorgReview:
    """Take back a credit as far as the available balance allows; record the rest; freeze."""
    user, asset = deposit.user, deposit.chain_asset.asset
    account = account_for_user(user)
    external = system_account(AccountKind.EXTERNAL)
    balance = Balance.objects.select_for_update().filter(account=account, asset=asset).first()
    available = balance.available if balance else Decimal(0)
    reversed_amount = min(available, deposit.amount)
    if reversed_amount > 0:
        entry_post(kind=EntryKind.ADJUSTMENT, reference=f"{deposit.ledger_reference}:reversal"[:64],
                   idempotency_key=f"chain-reversal:{deposit.pk}:{deposit.credit_count}",
                   memo=f"deposit {deposit.txid}:{deposit.log_index} left the chain (reorg)",
                   postings=[PostingSpec(account.pk, asset.pk, AVAILABLE, -reversed_amount),
                             PostingSpec(external.pk, asset.pk, AVAILABLE, reversed_amount)])
    review = ReorgReview.objects.create(deposit=deposit, user=user, asset=asset, amount=deposit.amount,
                                        reversed_amount=reversed_amount, shortfall=deposit.amount - reversed_amount)
    user_freeze(user=user, reason=f"credited deposit {deposit.pk} reversed by a chain reorganisation")
    log.warning("deep reorg: deposit %s of %s %s reversed (%s taken back, shortfall %s); user %s frozen",
                deposit.pk, deposit.amount, asset.symbol, reversed_amount, review.shortfall, user.pk)
    return review


def users_by_address(network: str) -> dict[str, int]:
    """Our deposit addresses on ``network`` (lower case) -> their owner's id."""
    return {a.lower(): u for a, u in DepositAddress.objects.filter(network=network).values_list("address", "user_id")}
