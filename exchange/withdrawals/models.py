"""What the withdrawal side of custody keeps: allow-listed addresses, the signer's own nonce
counter and heartbeat, every transaction it signed (before it was sent), and reserve reports.

The withdrawal itself is ``ledger.Withdrawal`` (one model for chain and non-chain assets).
"""
from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.ledger.models import Withdrawal
from exchange.markets.models import Asset


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class AllowedAddress(models.Model):
    """An address the user may withdraw to when their allow-list is on; usable from
    ``usable_from`` (a delay after adding it, so a thief cannot add and use one at once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="allowed_addresses")
    network = models.CharField(max_length=32)
    address = models.CharField(max_length=128)
    label = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    usable_from = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "network", "address"], name="allowed_address_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.network}:{self.address}"


class AllowListSetting(models.Model):
    """Whether the user's withdrawals are restricted to their allowed addresses."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="allow_list")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} allow-list {'on' if self.enabled else 'off'}"


class SignerAccount(models.Model):
    """The hot wallet of a network as the signer knows it: its public address, the next nonce
    it will give (its own durable counter, advanced in the transaction that records a signed
    transaction), and its heartbeat. Never the key."""

    network = models.CharField(max_length=32)
    address = models.CharField(max_length=128)
    next_nonce = models.BigIntegerField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=255, blank=True, help_text="What the signer last reported (e.g. waiting for funds).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["network", "address"], name="one_signer_account")]

    def __str__(self) -> str:
        return f"{self.network}:{self.address} next nonce {self.next_nonce}"


class SignedTransaction(models.Model):
    """A transaction the signer signed, recorded (raw bytes included) before it is broadcast,
    so that after a crash the same bytes are sent again instead of signing anew. A fee bump is
    another row with the same nonce and a higher price; at most one of them is ever mined."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="transactions")
    network = models.CharField(max_length=32)
    sender = models.CharField(max_length=128)
    nonce = models.BigIntegerField()
    txid = models.CharField(max_length=80, unique=True)
    raw = models.TextField(help_text="The signed transaction, hex.")
    gas_price = models.DecimalField(max_digits=78, decimal_places=0)
    created_at = models.DateTimeField(auto_now_add=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["network", "sender", "nonce"])]

    def __str__(self) -> str:
        return f"{self.network} nonce {self.nonce} {self.txid}"


class ReserveReport(models.Model):
    """One reserve check of one asset: what the chain held at ``height`` (hot wallet plus
    deposit addresses) against what the ledger owes users. ``short`` stops its withdrawals."""

    network = models.CharField(max_length=32)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    height = models.BigIntegerField()
    on_chain = _amount_field()
    liabilities = _amount_field()
    short = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.height}: {self.on_chain} vs {self.liabilities}"
