"""Order entry: check, hold, record durably, then hand the command to the matcher.

Each service validates everything first, then in ONE transaction writes the order (or the
cancel request), its ledger hold and its ``Command`` row, and only after the commit XADDs the
command id to the market's stream. An order is therefore acknowledged only once it is durable,
and a crash between the commit and the XADD is repaired by the matcher's relay.
"""
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exchange.accounts.models import UserStatus
from exchange.amounts import parse_decimal
from exchange.errors import ExchangeError
from exchange.ledger.services import account_for_user, hold_place, lock_balances
from exchange.markets.rules import check_price_band, check_quantity, price_to_ticks
from exchange.markets.selectors import market_get
from exchange.trading.committer import committer
from exchange.trading.entry import PlaceRequest, orders_place_many
from exchange.trading.models import OPEN_STATUSES, Command, CommandKind, Order
from exchange.trading.streams import publish_commands


def _publish_after_commit(symbol: str, command: Command) -> None:
    transaction.on_commit(lambda: publish_commands(symbol, [command.pk]))


def order_place(
    *,
    user: User,
    market: str,
    side: str,
    order_type: str = "limit",
    quantity: object = None,
    price: object = None,
    quote_amount: object = None,
    stop_price: object = None,
    time_in_force: str = "gtc",
    post_only: bool = False,
    client_order_id: str | None = None,
    stp: str = "cancel_newest",
) -> Order:
    """Place an order: durable (status ``pending``, funds held) when this returns.

    A ``client_order_id`` already used by one of the user's open orders returns that order
    instead of placing a second one. A group of one for ``entry.orders_place_many``.
    """
    result = orders_place_many([PlaceRequest(
        user_id=user.pk, market=market, side=side, order_type=order_type, quantity=quantity, price=price,
        quote_amount=quote_amount, stop_price=stop_price, time_in_force=time_in_force, post_only=post_only,
        client_order_id=client_order_id, stp=stp)])[0]
    if isinstance(result, ExchangeError):
        raise result
    return result


def _batch_limit(items: list) -> None:
    limit = settings.EXCHANGE_MAX_BATCH_ORDERS
    if not items:
        raise ExchangeError("invalid_request", "a batch needs at least one item")
    if len(items) > limit:
        raise ExchangeError("batch_too_large", f"at most {limit} items in a batch")


def order_place_batch(*, user: User, orders: list[dict]) -> list[Order | ExchangeError]:
    """Place several orders (``order_place``'s keyword arguments each); one result per order, in
    order: the order, or the ``ExchangeError`` that refused it (the others are unaffected).

    What the API places goes through here, one order or a batch: the orders join this process's
    group commit (``committer.py``), so they share a transaction and its commit with whatever
    other requests are placing meanwhile. An order repeated by ``client_order_id`` (in the batch
    or already open) is placed once and returned again.
    """
    _batch_limit(orders)
    return committer.place_many([PlaceRequest(user_id=user.pk, **fields) for fields in orders])


@transaction.atomic
def order_cancel_batch(*, user: User, order_ids: list[object]) -> list[Order | ExchangeError]:
    """Ask to cancel several orders; one result per id, in order (the order, or the error), and
    one commit for the whole batch."""
    _batch_limit(order_ids)
    results: list[Order | ExchangeError] = []
    for order_id in order_ids:
        try:
            results.append(order_cancel(user=user, order_id=order_id))  # a savepoint of its own
        except ExchangeError as exc:
            results.append(exc)
    return results


def _order_pk(order_id: object) -> int:
    """An order id as the URL gave it; anything that is not one is an unknown order."""
    try:
        return int(str(order_id))
    except ValueError:
        raise ExchangeError("unknown_order", "no such order", status=404) from None


def _locked_own_order(user: User, order_id: object) -> Order:
    order_pk = _order_pk(order_id)
    # Someone else's order answers exactly like a missing one: ids reveal nothing.
    order = Order.objects.select_for_update(of=("self",)).select_related("market").filter(pk=order_pk, user=user).first()
    if order is None:
        raise ExchangeError("unknown_order", "no such order", status=404)
    return order


@transaction.atomic
def order_cancel(*, user: User, order_id: object) -> Order:
    """Ask the matcher to cancel an open order. The request is durable before it is sent;
    asking again for the same order is harmless and returns it."""
    order = _locked_own_order(user, order_id)
    if not order.is_open:
        raise ExchangeError("order_not_open", f"order {order.pk} is {order.status}", status=409)
    if order.cancel_requested_at is None:
        order.cancel_requested_at = timezone.now()
        order.save(update_fields=["cancel_requested_at", "updated_at"])
        command = Command.objects.create(market=order.market, kind=CommandKind.CANCEL, order=order)
        _publish_after_commit(order.market.symbol, command)
    return order


# Cancel-all asks in chunks: each chunk's orders are locked, marked and given their commands in
# three statements and one commit, and no transaction holds thousands of row locks against the
# matcher's batches.
CANCEL_ALL_CHUNK = 500


def order_cancel_all(*, user: User, market: str | None = None) -> list[Order]:
    """Cancel every open order of the user (in one market, or all). Returns those asked.

    The orders open when the call starts are asked in chunks of ``CANCEL_ALL_CHUNK``, in id order
    (the matcher writes orders in id order too). One order at a time, with its own lock, save,
    command and commit, cancelling 5,000 resting orders took half a minute."""
    orders = Order.objects.filter(user=user, status__in=OPEN_STATUSES, cancel_requested_at__isnull=True)
    if market is not None:
        orders = orders.filter(market=market_get(symbol=market))
    ids = list(orders.order_by("id").values_list("id", flat=True))
    cancelled: list[Order] = []
    for start in range(0, len(ids), CANCEL_ALL_CHUNK):
        cancelled.extend(_cancel_chunk(user, ids[start:start + CANCEL_ALL_CHUNK]))
    return cancelled


@transaction.atomic
def _cancel_chunk(user: User, order_ids: list[int]) -> list[Order]:
    """Ask to cancel those of ``order_ids`` still open and not yet asked (one filled or cancelled
    meanwhile drops out when its lock is taken: PostgreSQL re-checks the condition then)."""
    orders = list(
        Order.objects.select_for_update(of=("self",)).select_related("market")
        .filter(pk__in=order_ids, user=user, status__in=OPEN_STATUSES, cancel_requested_at__isnull=True)
        .order_by("id")
    )
    if not orders:
        return []
    now = timezone.now()
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(cancel_requested_at=now, updated_at=now)
    commands = Command.objects.bulk_create(
        [Command(market=order.market, kind=CommandKind.CANCEL, order=order) for order in orders])
    by_symbol: dict[str, list[int]] = {}
    for order, command in zip(orders, commands, strict=True):
        order.cancel_requested_at = order.updated_at = now
        by_symbol.setdefault(order.market.symbol, []).append(command.pk)
    for symbol, command_ids in by_symbol.items():
        transaction.on_commit(partial(publish_commands, symbol, command_ids))
    return orders


@transaction.atomic
def order_amend(*, user: User, order_id: object, quantity: object = None, price: object = None) -> Order:
    """Ask to change an open limit (or stop-limit) order's price and/or quantity.

    ``quantity`` is the order's new total quantity, what it has filled included (as on other
    venues): its open quantity becomes ``quantity - filled``. Keeping the price and not raising
    the quantity keeps time priority; anything else sends the order to the back of the queue.

    Whatever more the amended order needs held is held now, in this transaction with the
    ``amend`` command, so an amend the caller cannot pay for is refused (``insufficient_funds``)
    before anything changes. What it needs less is released by the matcher when it applies the
    amend: until then the order may still fill at its old terms. The command carries the added
    amount, so the matcher gives it back if the amend cannot be applied (the order filled or was
    cancelled meanwhile, or a fill left it short). The returned order carries ``priority_kept``,
    the matcher's rule applied to the order as this transaction sees it.
    """
    new_quantity = None if quantity is None else parse_decimal(quantity, field="quantity")
    new_price = None if price is None else parse_decimal(price, field="price")
    if new_quantity is None and new_price is None:
        raise ExchangeError("invalid_amend", "give a new quantity, a new price, or both")
    # Lock order as in the matcher's batches, balance row first, then the order row: the other
    # way round the two could deadlock.
    order = _own_order(user, order_id)
    account = account_for_user(user)
    lock_balances({(account.pk, order.hold_asset_id)})
    order = _locked_own_order(user, order.pk)
    _check_amendable(order)
    market = order.market
    target_price = order.price if new_price is None else new_price
    target_quantity = order.quantity if new_quantity is None else new_quantity
    if new_price is not None:
        if new_price <= 0:
            raise ExchangeError("invalid_price", "price must be positive")
        price_to_ticks(market, new_price)
        check_price_band(market, new_price)
    if new_quantity is not None:
        if new_quantity <= 0:
            raise ExchangeError("invalid_quantity", "quantity must be positive")
        check_quantity(market, new_quantity)
        if new_quantity <= order.filled_quantity:
            raise ExchangeError("invalid_quantity",
                                f"quantity must be more than the {order.filled_quantity.normalize()} already filled")
    if target_price * target_quantity < market.min_notional:
        raise ExchangeError("min_notional", f"amount is below the minimum notional {market.min_notional.normalize()}")
    open_after = target_quantity - order.filled_quantity
    needed = target_price * open_after if order.side == "buy" else open_after
    added = max(needed - order.hold_remaining, Decimal(0))
    if added:
        hold_place(user=user, asset=order.hold_asset, amount=added, hold=order.hold_reference)  # or insufficient_funds
        Order.objects.filter(pk=order.pk).update(hold_remaining=F("hold_remaining") + added, updated_at=timezone.now())
    payload: dict = {"hold_added": str(added), "placed": _placed_terms(order)}
    if new_price is not None:
        payload["price"] = str(new_price)
    if new_quantity is not None:
        payload["quantity"] = str(new_quantity)
    command = Command.objects.create(market=market, kind=CommandKind.AMEND, order=order, payload=payload)
    _publish_after_commit(market.symbol, command)
    order.refresh_from_db()
    order.priority_kept = target_price == order.price and open_after <= order.open_quantity
    return order


def _own_order(user: User, order_id: object) -> Order:
    order_pk = _order_pk(order_id)
    order = Order.objects.filter(pk=order_pk, user=user).only("id", "hold_asset_id").first()
    if order is None:
        raise ExchangeError("unknown_order", "no such order", status=404)
    return order


def _check_amendable(order: Order) -> None:
    if not order.is_open:
        raise ExchangeError("order_not_open", f"order {order.pk} is {order.status}", status=409)
    if order.cancel_requested_at is not None:
        raise ExchangeError("order_not_open", f"order {order.pk} is being cancelled", status=409)
    if order.order_type not in ("limit", "stop_limit") or order.quantity is None:
        raise ExchangeError("invalid_amend", "only limit and stop-limit orders can be amended")


def _placed_terms(order: Order) -> dict:
    """The price and quantity the order was placed with. The matcher writes an amended price and
    quantity over the order's own, and ``verify_journal`` replays the order from its placement,
    so the first amend records them and every later amend repeats them."""
    first = Command.objects.filter(order=order, kind=CommandKind.AMEND).order_by("id").values_list(
        "payload", flat=True).first()
    if first and "placed" in first:
        return first["placed"]
    return {"price": str(order.price), "quantity": str(order.quantity)}


@transaction.atomic
def market_command(*, market: str, kind: str, reason: str, status: str | None = None, user_id: int | None = None) -> Command:
    """Queue a control command (status change, cancel-all, a user's orders) into the market's
    stream, so it takes effect at a well-defined point in the sequence."""
    if kind not in (CommandKind.SET_STATUS, CommandKind.CANCEL_ALL, CommandKind.CANCEL_USER, CommandKind.MARKET_CLOSE):
        raise ExchangeError("invalid_command", f"unknown control command {kind!r}")
    if not reason or not reason.strip():
        raise ExchangeError("reason_required", "a control command needs a reason")
    market_row = market_get(symbol=market)
    payload: dict = {"reason": reason.strip()[:255]}
    if kind == CommandKind.SET_STATUS:
        from exchange.markets.models import MarketStatus

        if status not in MarketStatus.values:
            raise ExchangeError("invalid_status", f"status must be one of {', '.join(MarketStatus.values)}")
        payload["status"] = status
    if kind == CommandKind.CANCEL_USER:
        if user_id is None:  # found by mypy: int(None) was a TypeError, a 500 to the caller
            raise ExchangeError("user_required", "cancelling a user's orders needs the user")
        payload["user_id"] = int(user_id)
    command = Command.objects.create(market=market_row, kind=kind, payload=payload)
    _publish_after_commit(market_row.symbol, command)
    return command


def user_orders_cancel_everywhere(*, user_id: int, reason: str) -> list[Command]:
    """Queue a cancel of all of a user's orders in every market where they have open ones."""
    symbols = (
        Order.objects.filter(user_id=user_id, status__in=OPEN_STATUSES)
        .values_list("market__symbol", flat=True)
        .distinct()
    )
    return [market_command(market=s, kind=CommandKind.CANCEL_USER, reason=reason, user_id=user_id) for s in symbols]



def user_freeze(*, user: User, reason: str) -> None:
    """Freeze a user: no more logins, orders or API calls, and every open order cancelled
    (through each market's stream, so the cancels take effect in sequence)."""
    from exchange.accounts.services import user_set_status

    with transaction.atomic():
        user_set_status(user=user, status=UserStatus.FROZEN)
        user_orders_cancel_everywhere(user_id=user.pk, reason=reason)
