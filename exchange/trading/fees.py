"""Which maker/taker rates a user's new order carries: the market's, or a volume tier's.

``order_place`` snapshots these rates into the order's place command, so the matcher charges
what was in force at entry, and a replay of the journal charges exactly the same. It looks them
up before its transaction: nothing slow runs while the order's balance row is locked. The tiers
themselves (``trading.models.FeeTier``) are edited in the console.
"""
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from exchange.markets.models import Market
from exchange.trading.models import FeeTier, Fill

VOLUME_WINDOW = timedelta(days=30)
VOLUME_CACHE_SECONDS = 60


def user_volume_30d(*, user_id: int, quote_id: int) -> Decimal:
    """The user's traded notional (as buyer or seller) over the last 30 days in the markets
    quoted in this asset. Cached for a minute: it sits on the order-entry path."""
    key = f"console:volume30d:{user_id}:{quote_id}"
    cached = cache.get(key)
    if cached is not None:
        return Decimal(cached)
    fills = Fill.objects.filter(created_at__gte=timezone.now() - VOLUME_WINDOW, market__quote_id=quote_id)
    notional = Sum(F("price") * F("quantity"))
    total = (fills.filter(buyer_id=user_id).aggregate(v=notional)["v"] or Decimal(0)) + (
        fills.filter(seller_id=user_id).exclude(buyer_id=user_id).aggregate(v=notional)["v"] or Decimal(0))
    cache.set(key, str(total), VOLUME_CACHE_SECONDS)
    return total


FeeTierRow = tuple[Decimal, Decimal, Decimal]  # (min_volume, maker_fee, taker_fee)


def fee_tiers(*, quote_id: int) -> list[FeeTierRow]:
    """The volume tiers of the markets quoted in this asset, highest threshold first.

    A plain statement: it runs in every order-entry group, where compiling the queryset cost
    more than the read."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min_volume, maker_fee, taker_fee FROM {FeeTier._meta.db_table}"
                       " WHERE quote_id = %s ORDER BY min_volume DESC", [quote_id])
        return cursor.fetchall()


def fee_rates_for(*, user_id: int, market: Market, tiers: list[FeeTierRow] | None = None) -> tuple[Decimal, Decimal]:
    """(maker, taker) for a new order of this user: the highest tier the user's 30-day volume
    reaches, where its rates are lower than the market's; otherwise the market's own.

    ``tiers`` (highest threshold first) may come already read with the order's other checks
    (``trading.entry`` reads them once per group of orders), saving order entry a round trip."""
    if tiers is None:
        tiers = fee_tiers(quote_id=market.quote_id)
    if not tiers:
        return market.maker_fee, market.taker_fee
    volume = user_volume_30d(user_id=user_id, quote_id=market.quote_id)
    for min_volume, maker, taker in tiers:
        if volume >= min_volume:
            return min(market.maker_fee, maker), min(market.taker_fee, taker)
    return market.maker_fee, market.taker_fee
