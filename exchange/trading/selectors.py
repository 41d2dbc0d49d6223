"""Reads for orders and fills, always scoped to their owner."""
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Cast, JSONObject

from exchange.accounts.models import Profile, UserStatus
from exchange.console.models import FeeTier
from exchange.errors import ExchangeError
from exchange.markets.models import Market
from exchange.trading.models import OPEN_STATUSES, Fill, Order


def order_entry_context(*, user: AbstractBaseUser, symbol: str, client_order_id: str | None = None) -> Market:
    """The market of a new order with everything order entry checks, read in ONE query.

    The market (with its assets) carries: ``user_frozen``, ``open_orders`` (the user's open
    orders in it), ``existing_order_id`` (the user's open order with this ``client_order_id``,
    in any market) and ``fee_tier_rows`` (the quote asset's volume tiers, highest first, exact
    decimals). Before, these were five round trips, one of them inside the order's transaction.
    Raises ``unknown_market`` (404).
    """
    open_orders = (Order.objects.filter(user_id=user.pk, market_id=OuterRef("pk"), status__in=OPEN_STATUSES)
                   .order_by().values("market_id").annotate(n=Count("pk")).values("n"))
    # Text, not JSON numbers: a rate must never pass through a float.
    tiers = (FeeTier.objects.filter(quote_id=OuterRef("quote_id")).order_by("-min_volume")
             .values(row=JSONObject(min_volume=Cast("min_volume", TextField()), maker=Cast("maker_fee", TextField()),
                                    taker=Cast("taker_fee", TextField()))))
    existing = (Subquery(Order.objects.filter(user_id=user.pk, client_order_id=client_order_id, status__in=OPEN_STATUSES)
                         .values("pk")[:1]) if client_order_id else Value(None, output_field=IntegerField()))
    market = (
        Market.objects.select_related("base", "quote").filter(symbol=str(symbol).upper())
        .annotate(user_frozen=Exists(Profile.objects.filter(user_id=user.pk, status=UserStatus.FROZEN)),
                  open_orders=Subquery(open_orders), existing_order_id=existing, fee_tier_json=ArraySubquery(tiers))
        .first()
    )
    if market is None:
        raise ExchangeError("unknown_market", f"no market {symbol!r}", status=404)
    market.fee_tier_rows = [(Decimal(t["min_volume"]), Decimal(t["maker"]), Decimal(t["taker"]))
                            for t in market.fee_tier_json]
    return market


def order_list(*, user: AbstractBaseUser, status: str | None = None, market: str | None = None) -> QuerySet[Order]:
    """The user's orders; ``status`` is ``open`` (pending or open) or ``closed`` (the rest)."""
    orders = Order.objects.filter(user=user).select_related("market")
    if status == "open":
        orders = orders.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        orders = orders.exclude(status__in=OPEN_STATUSES)
    elif status is not None:
        raise ExchangeError("invalid_status", "status must be open or closed")
    if market:
        orders = orders.filter(market__symbol=str(market).upper())
    return orders


def order_get(*, user: AbstractBaseUser, order_id: object) -> Order:
    """The user's order; someone else's is as unknown as a missing one."""
    try:
        pk = int(str(order_id))
    except ValueError:
        raise ExchangeError("unknown_order", "no such order", status=404) from None
    order = Order.objects.select_related("market").filter(pk=pk, user=user).first()
    if order is None:
        raise ExchangeError("unknown_order", "no such order", status=404)
    return order


def fill_list(*, user: AbstractBaseUser, market: str | None = None) -> QuerySet[Fill]:
    """The user's fills (as buyer or seller)."""
    fills = Fill.objects.filter(Q(buyer=user) | Q(seller=user)).select_related("market")
    if market:
        fills = fills.filter(market__symbol=str(market).upper())
    return fills
