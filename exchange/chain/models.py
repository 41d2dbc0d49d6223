"""What the venue knows about chains: assets on a network, deposit addresses, deposits, and the
watcher's progress (its height and the hashes of the recent blocks it has seen).

Amounts on chain are integers in base units (wei); ``amount_base`` keeps them as NUMERIC(78, 0)
(a uint256 fits) beside the ledger's Decimal ``amount``.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Asset


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


def _base_units_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)


class Network(models.TextChoices):
    ETHEREUM = "ethereum", "Ethereum"


class TokenKind(models.TextChoices):
    NATIVE = "native", "Native coin"
    ERC20 = "erc20", "ERC-20 token"


class ChainAsset(models.Model):
    """How an exchange asset lives on a chain: one-to-one beside ``markets.Asset``.

    ``chain_decimals`` is the chain's own (ETH 18, USDT 6); amounts with more decimals than the
    exchange asset allows are never credited. ``four_eyes_threshold``: a withdrawal above it needs
    a second admin's approval.
    """

    asset = models.OneToOneField(Asset, on_delete=models.PROTECT, primary_key=True, related_name="chain")
    network = models.CharField(max_length=32, choices=Network.choices)
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    contract_address = models.CharField(max_length=42, blank=True, help_text="EIP-55 address; empty for the native coin.")
    chain_decimals = models.PositiveSmallIntegerField()
    confirmations = models.PositiveIntegerField(default=3)
    min_deposit = _amount_field(default=Decimal(0))
    min_withdrawal = _amount_field(default=Decimal(0))
    withdrawal_fee = _amount_field(default=Decimal(0))
    four_eyes_threshold = _amount_field(default=Decimal(0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["network", "asset__symbol"]
        constraints = [
            models.UniqueConstraint(fields=["network"], condition=models.Q(kind="native"), name="one_native_asset_per_network"),
            models.UniqueConstraint(fields=["network", "contract_address"], condition=models.Q(kind="erc20"),
                                    name="one_asset_per_contract"),
            models.CheckConstraint(condition=(models.Q(kind="native") & models.Q(contract_address=""))
                                   | (models.Q(kind="erc20") & ~models.Q(contract_address="")),
                                   name="tokens_have_a_contract"),
            models.CheckConstraint(condition=models.Q(chain_decimals__lte=77), name="chain_decimals_fit_uint256"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} on {self.network}"

    @property
    def symbol(self) -> str:
        return self.asset.symbol


class DepositAddress(models.Model):
    """One watch-only address per user and network, derived from the xpub at ``derivation_index``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposit_addresses")
    network = models.CharField(max_length=32, choices=Network.choices)
    derivation_index = models.PositiveIntegerField()
    address = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "network"], name="one_deposit_address_per_user_network"),
            models.UniqueConstraint(fields=["network", "derivation_index"], name="one_user_per_derivation_index"),
            models.UniqueConstraint(fields=["network", "address"], name="deposit_address_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.address}"


class WatcherCursor(models.Model):
    """The last block height the watcher has scanned on a network (it resumes from here)."""

    network = models.CharField(max_length=32, choices=Network.choices, unique=True)
    height = models.BigIntegerField()
    node_height = models.BigIntegerField(null=True, blank=True, help_text="The node's height at the last poll.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.network}@{self.height}"


class SeenBlock(models.Model):
    """A block the watcher scanned, with its hash: a different hash at a height later is a reorg."""

    network = models.CharField(max_length=32, choices=Network.choices)
    height = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["network", "height"], name="one_seen_block_per_height")]

    def __str__(self) -> str:
        return f"{self.network}#{self.height} {self.block_hash}"


class DepositStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CREDITED = "credited", "Credited"
    ORPHANED = "orphaned", "Orphaned"


class Deposit(models.Model):
    """One incoming transfer, recorded once per (network, txid, log_index).

    ``log_index`` is the token ``Transfer`` log's index, or -1 for a native value transfer (the
    output index on a UTXO chain). A reorg moves the row to ``orphaned``; the same transaction
    mined again brings the same row back to ``pending``. ``credit_count`` numbers the credits
    (a credit reversed by a deep reorg and earned again is a second, distinct ledger entry).
    """

    network = models.CharField(max_length=32, choices=Network.choices)
    txid = models.CharField(max_length=66)
    log_index = models.IntegerField()
    chain_asset = models.ForeignKey(ChainAsset, on_delete=models.PROTECT, related_name="deposits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits")
    address = models.CharField(max_length=64)
    amount = _amount_field()
    amount_base = _base_units_field()
    block_number = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DepositStatus.choices, default=DepositStatus.PENDING)
    credited = models.BooleanField(default=False, help_text="The ledger holds this deposit's credit now.")
    credit_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["network", "txid", "log_index"], name="deposit_once_per_transfer"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="deposit_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["user", "-id"]), models.Index(fields=["network", "status"])]

    def __str__(self) -> str:
        return f"deposit {self.network}:{self.txid}:{self.log_index} {self.amount} {self.status}"

    @property
    def ledger_reference(self) -> str:
        return f"chain:{self.pk}"


class ReorgReview(models.Model):
    """A credited deposit undone by a reorg deeper than its confirmations: what was reversed, what
    could not be (``shortfall``: already traded or withdrawn), and the account frozen until an
    admin resolves it in the console."""

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reorg_reviews")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT)
    amount = _amount_field()
    reversed_amount = _amount_field()
    shortfall = _amount_field()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolution = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"reorg review {self.pk}: {self.deposit_id} shortfall {self.shortfall}"
