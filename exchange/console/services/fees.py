"""Console writes on fee schedules: the volume tiers of each quote asset."""
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from exchange.amounts import parse_decimal
from exchange.audit.services import audit_record
from exchange.console.services.guards import check_admin, check_reason
from exchange.errors import ExchangeError
from exchange.markets.models import Asset
from exchange.trading.models import FeeTier


def _fee_rate(value: object, field: str) -> Decimal:
    rate = parse_decimal(value, field=field)
    if not Decimal(0) <= rate < Decimal("0.1"):
        raise ExchangeError(f"invalid_{field}", f"{field} must be between 0 and 0.1 (10%)")
    return rate


@transaction.atomic
def fee_tier_create(*, actor: User, ip: str | None, quote: Asset, min_volume: object, maker_fee: object,
                    taker_fee: object, reason: str) -> FeeTier:
    """Add a volume tier for the markets quoted in ``quote``. It applies to orders entered from
    now on (each order carries the fees of its entry)."""
    check_admin(actor)
    why = check_reason(reason)
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
def fee_tier_delete(*, actor: User, ip: str | None, tier_id: int, reason: str) -> None:
    """Remove a volume tier (orders already entered keep the fees they carry)."""
    check_admin(actor)
    why = check_reason(reason)
    tier = FeeTier.objects.select_for_update().select_related("quote").filter(pk=tier_id).first()
    if tier is None:
        raise ExchangeError("unknown_tier", "no such fee tier", status=404)
    before = {"quote": tier.quote.symbol, "min_volume": tier.min_volume, "maker_fee": tier.maker_fee,
              "taker_fee": tier.taker_fee}
    pk = tier.pk
    tier.delete()
    audit_record(actor=actor, ip=ip, action="fees.tier_delete", object_type="console.feetier", object_id=pk,
                 before=before, reason=why)
