"""Assets and the markets that trade them, with the rules every order is checked against."""
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Asset(models.Model):
    """Something that can be held: a coin or a currency, with its number of decimal places."""

    symbol = models.CharField(
        max_length=16, unique=True, validators=[RegexValidator(r"^[A-Z0-9]{2,16}$")]
    )
    name = models.CharField(max_length=64)
    decimals = models.PositiveSmallIntegerField(
        help_text="Decimal places an amount of this asset may have (at most 18)."
    )

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=models.Q(decimals__lte=18), name="asset_decimals_lte_18")
        ]

    def __str__(self) -> str:
        return self.symbol


class MarketStatus(models.TextChoices):
    TRADING = "trading", "Trading"
    HALTED = "halted", "Halted"
    CANCEL_ONLY = "cancel_only", "Cancel only"
    POST_ONLY = "post_only", "Post only"
    DELISTED = "delisted", "Delisted"


class Market(models.Model):
    """A pair such as BTC-USD: the base is bought and sold, priced in the quote.

    Rule changes apply to orders placed afterwards; resting orders keep the price and quantity
    they were accepted with.
    """

    symbol = models.CharField(
        max_length=33, unique=True, validators=[RegexValidator(r"^[A-Z0-9]{2,16}-[A-Z0-9]{2,16}$")]
    )
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="base_markets")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quote_markets")
    tick_size = _amount_field(help_text="Smallest price step, in the quote asset.")
    lot_size = _amount_field(help_text="Smallest quantity step, in the base asset.")
    min_notional = _amount_field(default=Decimal(0), help_text="Smallest price x quantity.")
    min_quantity = _amount_field(default=Decimal(0))
    max_quantity = _amount_field(null=True, blank=True)
    price_band_pct = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="A limit price may be at most this % away from the last price; empty: no band.",
    )
    maker_fee = models.DecimalField(max_digits=9, decimal_places=8, default=Decimal("0.001"))
    taker_fee = models.DecimalField(max_digits=9, decimal_places=8, default=Decimal("0.002"))
    status = models.CharField(max_length=16, choices=MarketStatus.choices, default=MarketStatus.TRADING)
    last_price = _amount_field(null=True, blank=True, help_text="Last trade price: the band's reference.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tick_size__gt=0), name="market_tick_size_gt_0"),
            models.CheckConstraint(condition=models.Q(lot_size__gt=0), name="market_lot_size_gt_0"),
            models.CheckConstraint(condition=models.Q(min_notional__gte=0), name="market_min_notional_gte_0"),
            models.CheckConstraint(condition=models.Q(maker_fee__gte=0), name="market_maker_fee_gte_0"),
            models.CheckConstraint(condition=models.Q(taker_fee__gte=0), name="market_taker_fee_gte_0"),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("quote")), name="market_base_differs_from_quote"
            ),
        ]

    def __str__(self) -> str:
        return self.symbol
