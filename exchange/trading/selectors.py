"""Reads for orders and fills, always scoped to their owner."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from exchange.errors import ExchangeError
from exchange.trading.models import OPEN_STATUSES, Fill, Order


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
