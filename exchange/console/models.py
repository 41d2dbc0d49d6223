"""What the console adds to the venue's data: fee tiers and four-eyes approvals."""
from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Asset


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class FeeTier(models.Model):
    """A volume tier for the markets quoted in ``quote``: a user whose last-30-day traded
    notional in those markets is at least ``min_volume`` pays these rates, where they are
    lower than the market's own (a tier never raises a fee)."""

    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="fee_tiers")
    min_volume = _amount_field(help_text="30-day traded notional, in the quote asset.")
    maker_fee = models.DecimalField(max_digits=9, decimal_places=8)
    taker_fee = models.DecimalField(max_digits=9, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quote__symbol", "min_volume"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "min_volume"], name="fee_tier_unique_threshold"),
            models.CheckConstraint(condition=models.Q(min_volume__gte=0), name="fee_tier_min_volume_gte_0"),
            models.CheckConstraint(condition=models.Q(maker_fee__gte=0) & models.Q(taker_fee__gte=0),
                                   name="fee_tier_fees_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quote} >= {self.min_volume}: {self.maker_fee}/{self.taker_fee}"


class ApprovalKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit credit"
    ADJUSTMENT = "adjustment", "Balance adjustment"
    WITHDRAWAL = "withdrawal", "Withdrawal"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved and applied"
    REJECTED = "rejected", "Rejected"


class ApprovalRequest(models.Model):
    """A funds action waiting for a second admin: every manual credit (a deposit or a balance
    adjustment) and every withdrawal above its asset's four-eyes threshold.

    Nobody approves a request they made, nor one that pays their own account; on approval the
    ledger service runs in the approving transaction. A deposit's external ``reference`` is
    unique per asset among requests not rejected, so one bank transfer or transaction hash is
    credited at most once (a rejected request frees its reference for a corrected one).
    """

    kind = models.CharField(max_length=16, choices=ApprovalKind.choices)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = _amount_field()
    withdrawal = models.ForeignKey("ledger.Withdrawal", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=100, blank=True, default="",
                                 help_text="A deposit's external reference (bank transfer, transaction hash).")
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision_reason = models.TextField(blank=True)
    ledger_entry = models.ForeignKey("ledger.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["withdrawal"], condition=models.Q(status="pending"),
                                    name="one_pending_approval_per_withdrawal"),
            models.UniqueConstraint(fields=["asset", "reference"],
                                    condition=models.Q(kind="deposit") & ~models.Q(status="rejected"),
                                    name="deposit_reference_unique_per_asset"),
            models.CheckConstraint(condition=~models.Q(kind="deposit") | ~models.Q(reference=""),
                                   name="deposit_has_reference"),
        ]

    def __str__(self) -> str:
        return f"approval #{self.pk} {self.kind} {self.amount} {self.asset} ({self.status})"
