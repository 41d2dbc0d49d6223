"""What the console adds to the venue's data: four-eyes approvals. (Fee tiers are trading's,
``trading.models.FeeTier``; the console edits them.)"""
from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Asset


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


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
