"""The double-entry ledger.

Every change of a balance is a ``LedgerEntry`` whose ``Posting`` rows sum to zero per asset.
A balance has two buckets, ``available`` and ``held``; moving funds between them is itself an
entry (a hold or a release), so the postings explain every balance to the last decimal.
Deposits and withdrawals post against the system ``external`` account, fees to ``fees``.
``Balance`` rows are a cache of the postings' sums kept in the same transaction, and
``verify_ledger`` proves that the cache and the postings agree.
"""
from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Asset


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class AccountKind(models.TextChoices):
    USER = "user", "User"
    EXTERNAL = "external", "External (deposits and withdrawals)"
    FEES = "fees", "Fees"


class LedgerAccount(models.Model):
    """Who owns a set of balances: one per user, plus the system's external and fee accounts."""

    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_account"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=models.Q(user__isnull=True), name="one_account_per_system_kind"),
            models.CheckConstraint(
                condition=(models.Q(kind="user") & models.Q(user__isnull=False))
                | (~models.Q(kind="user") & models.Q(user__isnull=True)),
                name="user_accounts_have_a_user",
            ),
        ]

    def __str__(self) -> str:
        return f"user:{self.user_id}" if self.user_id else self.kind

    @property
    def is_system(self) -> bool:
        return self.kind != AccountKind.USER


class Balance(models.Model):
    """The current ``available`` and ``held`` amounts of one asset in one account."""

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="balances")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT)
    available = _amount_field(default=0)
    held = _amount_field(default=0)
    # Copied from the account so that the database itself refuses a negative user balance.
    is_system = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="one_balance_per_account_asset"),
            models.CheckConstraint(condition=models.Q(held__gte=0), name="balance_held_gte_0"),
            models.CheckConstraint(
                condition=models.Q(available__gte=0) | models.Q(is_system=True), name="user_available_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.asset}: {self.available} + {self.held} held"

    @property
    def total(self):
        return self.available + self.held


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    TRADE = "trade", "Trade"
    FEE = "fee", "Fee"
    ADJUSTMENT = "adjustment", "Adjustment"


class LedgerEntry(models.Model):
    """One balanced change: what happened (``kind``) and what caused it (``reference``)."""

    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    reference = models.CharField(max_length=64, help_text="The cause, e.g. order:42, trade:7, withdrawal:3.")
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["reference"])]
        # Unique where set, and indexed only where set: the matcher writes thousands of entries
        # per batch without a key, and ``unique=True`` cost each of them two index insertions
        # (the unique index and Django's pattern-ops twin) for NULLs nobody looks up.
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                                               name="ledger_entry_idempotency_key_unique")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.reference}"


class Bucket(models.TextChoices):
    AVAILABLE = "available", "Available"
    HELD = "held", "Held"


class Posting(models.Model):
    """One leg of an entry. Postings to ``held`` name the hold they add to or draw from.

    The matcher writes thousands of postings per batch with COPY; PostgreSQL's foreign-key
    triggers on them cost more than the insert itself, so the references are not enforced by
    the database (``db_constraint=False``) and ``verify_ledger`` checks them instead.
    """

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="postings", db_constraint=False)
    # (account, asset) below serves lookups by account; by asset alone nothing needs an index.
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_constraint=False,
                                db_index=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, db_constraint=False, db_index=False)
    bucket = models.CharField(max_length=9, choices=Bucket.choices)
    amount = _amount_field()
    hold = models.CharField(max_length=64, null=True, blank=True, help_text="The hold this posting moves, e.g. order:42.")

    class Meta:
        indexes = [
            models.Index(fields=["account", "asset"]),
            models.Index(fields=["hold"], condition=models.Q(hold__isnull=False), name="posting_hold_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(bucket="held") & models.Q(hold__isnull=False))
                | (models.Q(bucket="available") & models.Q(hold__isnull=True)),
                name="held_postings_name_their_hold",
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="posting_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.asset} {self.bucket} {self.amount:+}"


class WithdrawalStatus(models.TextChoices):
    """One life for every withdrawal, on a chain or not.

    ``requested -> approved -> signed -> broadcast -> confirmed`` for an asset the withdrawal
    signer sends on chain; an asset without a chain adapter (USD, BTC) goes from ``requested``
    (or ``approved``) straight to ``confirmed`` when an admin records the payout. ``rejected``
    (by an admin), ``cancelled`` (by the user, while requested) and ``failed`` (the chain refused
    it) release the hold; ``confirmed`` consumes it.
    """

    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    SIGNED = "signed", "Signed"
    BROADCAST = "broadcast", "Broadcast"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


# The statuses whose hold has been given back: they count against nothing.
WITHDRAWAL_RELEASED = (WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED, WithdrawalStatus.FAILED)
WITHDRAWAL_FINAL = (WithdrawalStatus.CONFIRMED, *WITHDRAWAL_RELEASED)
# Which status may follow which (the services refuse any other move).
WITHDRAWAL_MOVES: dict[str, set[str]] = {
    WithdrawalStatus.REQUESTED: {WithdrawalStatus.APPROVED, WithdrawalStatus.CONFIRMED, WithdrawalStatus.REJECTED,
                                 WithdrawalStatus.CANCELLED},
    WithdrawalStatus.APPROVED: {WithdrawalStatus.SIGNED, WithdrawalStatus.CONFIRMED, WithdrawalStatus.REJECTED},
    WithdrawalStatus.SIGNED: {WithdrawalStatus.BROADCAST, WithdrawalStatus.CONFIRMED, WithdrawalStatus.FAILED},
    WithdrawalStatus.BROADCAST: {WithdrawalStatus.CONFIRMED, WithdrawalStatus.FAILED},
}


class Withdrawal(models.Model):
    """A request to send funds out. ``amount + fee`` is held from the request until the
    withdrawal is confirmed (the amount goes to the external account, the fee to the fee
    account) or released (rejected, cancelled, failed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT)
    amount = _amount_field()
    fee = _amount_field(default=0)
    address = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED)
    # Its worth in EXCHANGE_KYC_QUOTE when requested: what it counts against the daily KYC limit.
    quote_value = _amount_field(null=True, blank=True)
    # On a chain: the network, the hot wallet that sends it and the nonce the signer gave it, the
    # hash of the transaction that was mined (or of the latest one sent) and its block.
    network = models.CharField(max_length=32, blank=True, default="")
    sender = models.CharField(max_length=128, blank=True, default="")
    nonce = models.BigIntegerField(null=True, blank=True)
    txid = models.CharField(max_length=80, blank=True, default="")
    block_number = models.BigIntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it reached a final status.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="withdrawal_amount_gt_0"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="withdrawal_fee_gte_0"),
            models.UniqueConstraint(fields=["network", "sender", "nonce"], condition=models.Q(nonce__isnull=False),
                                    name="withdrawal_nonce_once_per_network"),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="withdrawal_user_created_idx"),
            models.Index(fields=["status"], name="withdrawal_status_idx"),
        ]

    def __str__(self) -> str:
        return f"withdrawal #{self.pk} {self.amount} {self.asset} ({self.status})"

    @property
    def hold_reference(self) -> str:
        return f"withdrawal:{self.pk}"

    @property
    def held(self):
        """What the request holds: the amount and the fee."""
        return self.amount + self.fee
