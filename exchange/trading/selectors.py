"""Reads for orders and fills, always scoped to their owner."""

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Case, Q, QuerySet, When

from exchange.errors import ExchangeError
from exchange.trading.models import OPEN_STATUSES, Fill, Order


def _in_range(rows: QuerySet, field: str, since: datetime | None, until: datetime | None) -> QuerySet:
    if since is not None:
        rows = rows.filter(**{f"{field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{field}__lte": until})
    return rows


def order_list(*, user: User, status: str | None = None, market: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> QuerySet[Order]:
    """The user's orders; ``status`` is ``open`` (pending or open) or ``closed`` (the rest);
    ``since``/``until`` bound their creation time (inclusive)."""
    orders = Order.objects.filter(user=user).select_related("market")
    if status == "open":
        orders = orders.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        orders = orders.exclude(status__in=OPEN_STATUSES)
    elif status is not None:
        raise ExchangeError("invalid_status", "status must be open or closed")
    if market:
        orders = orders.filter(market__symbol=str(market).upper())
    return _in_range(orders, "created_at", since, until)


def order_get(*, user: User, order_id: object) -> Order:
    """The user's order; someone else's is as unknown as a missing one."""
    try:
        pk = int(str(order_id))
    except ValueError:
        raise ExchangeError("unknown_order", "no such order", status=404) from None
    order = Order.objects.select_related("market").filter(pk=pk, user=user).first()
    if order is None:
        raise ExchangeError("unknown_order", "no such order", status=404)
    return order


def order_get_by_client_id(*, user: User, client_order_id: str) -> Order:
    """The user's order with this ``client_order_id``: the open one if there is one (at most one
    can be open), else the latest. A client order id can be reused once its order is closed."""
    order = (Order.objects.select_related("market").filter(user=user, client_order_id=str(client_order_id).strip())
             .order_by(Case(When(status__in=OPEN_STATUSES, then=0), default=1), "-id").first())
    if order is None:
        raise ExchangeError("order_not_found", "no order with this client_order_id", status=404)
    return order


def fill_list(*, user: User, market: str | None = None, since: datetime | None = None,
              until: datetime | None = None) -> QuerySet[Fill]:
    """The user's fills (as buyer or seller), with the market's assets (a fee's asset)."""
    fills = Fill.objects.filter(Q(buyer=user) | Q(seller=user)).select_related("market__base", "market__quote")
    if market:
        fills = fills.filter(market__symbol=str(market).upper())
    return _in_range(fills, "created_at", since, until)
