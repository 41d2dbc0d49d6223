"""Writes for assets and markets: one function per use case."""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from exchange.amounts import parse_decimal
from exchange.errors import ExchangeError
from exchange.markets.models import Asset, Market


def asset_get_or_create(*, symbol: str, name: str = "", decimals: int = 8) -> Asset:
    """Return the asset with this symbol, creating it with these decimals if it is new."""
    asset, _ = Asset.objects.get_or_create(
        symbol=symbol.upper(), defaults={"name": name or symbol.upper(), "decimals": decimals}
    )
    return asset


def _check_step_fits(step: Decimal, asset: Asset, field: str) -> None:
    exponent = step.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > asset.decimals:
        raise ExchangeError(f"invalid_{field}", f"{field} has more decimals than {asset.symbol} ({asset.decimals})")


@transaction.atomic
def market_create(
    *,
    base: Asset,
    quote: Asset,
    tick_size: object,
    lot_size: object,
    min_notional: object = "0",
    min_quantity: object = "0",
    max_quantity: object = None,
    price_band_pct: object = None,
    maker_fee: object = "0.001",
    taker_fee: object = "0.002",
) -> Market:
    """List a new market BASE-QUOTE with its rules.

    The tick must be expressible in the quote asset's decimals and the lot in the base's, and
    tick x lot in the quote's, so that every trade's notional is an exact amount of the quote.
    """
    tick = parse_decimal(tick_size, field="tick_size")
    lot = parse_decimal(lot_size, field="lot_size")
    if tick <= 0 or lot <= 0:
        raise ExchangeError("invalid_rules", "tick size and lot size must be positive")
    _check_step_fits(tick, quote, "tick_size")
    _check_step_fits(lot, base, "lot_size")
    _check_step_fits(tick * lot, quote, "tick_size")
    market = Market(
        symbol=f"{base.symbol}-{quote.symbol}",
        base=base,
        quote=quote,
        tick_size=tick,
        lot_size=lot,
        min_notional=parse_decimal(min_notional, field="min_notional"),
        min_quantity=parse_decimal(min_quantity, field="min_quantity"),
        max_quantity=None if max_quantity is None else parse_decimal(max_quantity, field="max_quantity"),
        price_band_pct=None if price_band_pct is None else parse_decimal(price_band_pct, field="price_band_pct"),
        maker_fee=parse_decimal(maker_fee, field="maker_fee"),
        taker_fee=parse_decimal(taker_fee, field="taker_fee"),
    )
    try:
        market.full_clean()
    except ValidationError as exc:
        raise ExchangeError("invalid_rules", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    market.save()
    return market
