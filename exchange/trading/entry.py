"""Placing orders in groups: the one way an order becomes durable.

A group is whatever should commit together: one order (``services.order_place``), one batch
request, or every order that reached a web process while the previous group committed (the
group committer, ``trading/committer.py``). Whatever its size, a group costs a fixed number of
statements: one read of every check (frozen accounts, open orders, open client order ids), ids
for the new orders, the ledger's bulk hold (``ledger.holds.holds_place_many``), one INSERT of
the orders, one of their place commands, and ONE commit, so N orders cost one WAL flush. Each
order still gets its own result: the order, or the ``ExchangeError`` that refused it, and a
refused order changes nothing.

The commands are written last, right before the commit: a command's id is its place in the
market's order of application, and an id taken before a wait on a balance lock would commit
after ids taken later (the book stream then showed gaps).
"""
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from exchange.accounts.models import Profile, UserStatus
from exchange.errors import ExchangeError
from exchange.infra.bulk import json_insert
from exchange.infra.prepared import prepared_cursor
from exchange.ledger.holds import HoldRequest, holds_place_many
from exchange.markets.models import Market
from exchange.markets.rules import validate_order
from exchange.markets.selectors import markets_by_symbol
from exchange.trading.fees import fee_rates_for, fee_tiers
from exchange.trading.models import OPEN_STATUSES, Command, CommandKind, Order
from exchange.trading.streams import publish_commands
from exchange.trading.terms import order_terms

TIME_IN_FORCE = ("gtc", "ioc", "fok")
STP_MODES = ("cancel_newest", "cancel_oldest", "cancel_both", "decrement")


@dataclass(slots=True)
class PlaceRequest:
    """One order to place, as the API and the services name its terms."""

    user_id: int
    market: str
    side: str
    order_type: str = "limit"
    quantity: object = None
    price: object = None
    quote_amount: object = None
    stop_price: object = None
    time_in_force: str = "gtc"
    post_only: bool = False
    client_order_id: str | None = None
    stp: str = "cancel_newest"


@dataclass(slots=True)
class _Candidate:
    index: int
    order: Order
    maker_fee: Decimal
    taker_fee: Decimal


Result = Order | ExchangeError


def orders_place_many(requests: list[PlaceRequest]) -> list[Result]:
    """Place every request that passes its checks, in one transaction; one result per request,
    in order. An order whose ``client_order_id`` is already open (or earlier in the same group)
    is not placed twice: that order is its result."""
    if not requests:
        return []
    try:
        results, candidates = _check_group(requests)  # reads only, before the transaction
        with transaction.atomic():
            placed = _write(candidates)
    except IntegrityError:
        # Another process opened an order with one of these client order ids between our check
        # and our insert. Rare: place them one at a time, each answered by the unique index.
        if len(requests) == 1:
            request = requests[0]
            _, _, open_by_client_id = _entry_checks([request], {})
            if (request.user_id, request.client_order_id) in open_by_client_id:
                return [open_by_client_id[(request.user_id, request.client_order_id)]]
            raise
        return [orders_place_many([request])[0] for request in requests]
    for candidate, ok in zip(candidates, placed, strict=True):
        asset = candidate.order.hold_asset
        results[candidate.index] = candidate.order if ok else ExchangeError(
            "insufficient_funds", f"not enough available {asset.symbol}")
    for i, result in enumerate(results):  # a client order id repeated within the group
        if isinstance(result, int):
            results[i] = results[result]
    return results  # type: ignore[return-value]


def _check_group(requests: list[PlaceRequest]) -> tuple[list, list[_Candidate]]:
    """Every check that needs no lock, for the whole group: the results known already (errors,
    orders placed before under the same client order id) and the orders still to write."""
    results: list = [None] * len(requests)
    for i, request in enumerate(requests):
        try:
            _normalise(request)
        except ExchangeError as exc:
            results[i] = exc
    live = [i for i, r in enumerate(results) if r is None]
    markets = markets_by_symbol({requests[i].market for i in live})
    frozen, open_count, open_by_client_id = _entry_checks([requests[i] for i in live], markets)
    tiers = {quote_id: fee_tiers(quote_id=quote_id) for quote_id in {m.quote_id for m in markets.values()}}
    cap = settings.EXCHANGE_MAX_OPEN_ORDERS
    candidates: list[_Candidate] = []
    claimed_client_ids: dict[tuple[int, str | None], int] = {}  # earlier in this group -> its index
    for i in live:
        request = requests[i]
        try:
            market = markets.get(request.market)
            if market is None:
                raise ExchangeError("unknown_market", f"no market {request.market!r}", status=404)
            cid_key = (request.user_id, request.client_order_id)
            if request.client_order_id is not None:
                if cid_key in open_by_client_id:
                    results[i] = open_by_client_id[cid_key]
                    continue
                if cid_key in claimed_client_ids:
                    results[i] = claimed_client_ids[cid_key]  # resolved below, once placed
                    continue
            if request.user_id in frozen:
                raise ExchangeError("account_frozen", "this account is frozen", status=403)
            checked = validate_order(
                market, side=request.side, order_type=request.order_type, quantity=request.quantity,
                price=request.price, quote_amount=request.quote_amount, stop_price=request.stop_price,
                post_only=request.post_only,
            )
            terms = order_terms(market, checked, time_in_force=request.time_in_force)
            if open_count[(request.user_id, market.pk)] >= cap:
                raise ExchangeError("open_order_limit", f"at most {cap} open orders per market", status=409)
            # The fee schedule in force at entry travels with the order, so a replay of the journal
            # settles with exactly the same fees even after the schedule changes.
            maker_fee, taker_fee = fee_rates_for(user_id=request.user_id, market=market, tiers=tiers[market.quote_id])
        except ExchangeError as exc:
            results[i] = exc
            continue
        open_count[(request.user_id, market.pk)] += 1
        if request.client_order_id is not None:
            claimed_client_ids[cid_key] = i
        order = Order(
            user_id=request.user_id, market=market, side=request.side, order_type=request.order_type,
            time_in_force=terms.time_in_force, post_only=request.post_only, stp=request.stp, price=checked.price,
            stop_price=checked.stop_price, quantity=checked.quantity, quote_amount=checked.quote_amount,
            engine_price=terms.engine_price, open_quantity=checked.quantity, hold_asset=terms.hold_asset,
            hold_amount=terms.hold_amount, hold_remaining=terms.hold_amount, client_order_id=request.client_order_id,
        )
        candidates.append(_Candidate(i, order, maker_fee, taker_fee))
    return results, candidates


def _normalise(request: PlaceRequest) -> None:
    if request.client_order_id is not None:
        request.client_order_id = str(request.client_order_id).strip()
        if not request.client_order_id or len(request.client_order_id) > 64:
            raise ExchangeError("invalid_client_order_id", "client_order_id must be 1 to 64 characters")
    request.market = str(request.market).upper()
    if request.time_in_force not in TIME_IN_FORCE:
        raise ExchangeError("invalid_time_in_force", "time_in_force must be gtc, ioc or fok")
    if request.stp not in STP_MODES:
        raise ExchangeError("invalid_stp", f"stp must be one of {', '.join(STP_MODES)}")
    if request.order_type == "market" and request.time_in_force == "gtc":
        request.time_in_force = "ioc"
    if request.post_only and request.time_in_force != "gtc":
        raise ExchangeError("invalid_post_only", "a post-only order must be good-till-cancelled")


# The open statuses as an SQL list (fixed identifiers of the code, not input), for the partial index.
_OPEN_STATUSES_SQL = "(" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + ")"


def _entry_checks(requests: list[PlaceRequest], markets: dict[str, Market]):
    """In one round trip: frozen users, open orders per (user, market) counted up to the limit,
    and the users' open orders carrying any of the requested client order ids.

    Each count reads at most ``EXCHANGE_MAX_OPEN_ORDERS`` entries of the partial index on open
    orders (``order_user_market_open_idx``): counting through the market's index read every open
    order in the market, everyone's, for every group (4 ms with 3,000 resting orders). The client
    order ids come from the users' open orders, and not at all for a group without any (a
    one-time filter: the scan does not start). The indexes of open orders are partial, so the open
    statuses are written into the statement: its prepared, generic plan could not use them for
    statuses passed as a parameter."""
    users = sorted({r.user_id for r in requests})
    pairs = sorted({(r.user_id, markets[r.market].pk) for r in requests if r.market in markets})
    client_ids = sorted({r.client_order_id for r in requests if r.client_order_id is not None})
    orders = Order._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""SELECT 'frozen', user_id, NULL::bigint, NULL::text, 0::bigint FROM {Profile._meta.db_table}
                    WHERE user_id = ANY(%(users)s) AND status = %(frozen)s
                UNION ALL
                SELECT 'open', p.user_id, p.market_id, NULL, (
                    SELECT count(*) FROM (
                        SELECT FROM {orders} o WHERE o.user_id = p.user_id AND o.market_id = p.market_id
                            AND o.status IN {_OPEN_STATUSES_SQL}
                        LIMIT %(cap)s) AS counted)
                    FROM unnest(%(pair_users)s::bigint[], %(pair_markets)s::bigint[]) AS p(user_id, market_id)
                UNION ALL
                SELECT 'client', user_id, id, client_order_id, 0 FROM {orders}
                    WHERE cardinality(%(client_ids)s::text[]) > 0
                        AND user_id = ANY(%(users)s) AND client_order_id = ANY(%(client_ids)s)
                        AND client_order_id IS NOT NULL AND status IN {_OPEN_STATUSES_SQL}""",
            {"users": users, "pair_users": [u for u, _ in pairs], "pair_markets": [m for _, m in pairs],
             "cap": settings.EXCHANGE_MAX_OPEN_ORDERS, "client_ids": client_ids,
             "frozen": str(UserStatus.FROZEN)},
        )
        rows = cursor.fetchall()
    frozen = {user for kind, user, _, _, _ in rows if kind == "frozen"}
    open_count: dict[tuple[int, int], int] = defaultdict(int)
    open_count.update({(user, market): n for kind, user, market, _, n in rows if kind == "open"})
    existing_ids = {(user, cid): order_id for kind, user, order_id, cid, _ in rows if kind == "client"}
    by_id = Order.objects.select_related("market").in_bulk(existing_ids.values()) if existing_ids else {}
    return frozen, open_count, {key: by_id[order_id] for key, order_id in existing_ids.items()}


def _write(candidates: list[_Candidate]) -> list[bool]:
    """Ids, holds, orders, commands; publish the commands once committed."""
    if not candidates:
        return []
    with prepared_cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Order._meta.db_table, len(candidates)])
        for candidate, (order_id,) in zip(candidates, cursor.fetchall(), strict=True):
            candidate.order.pk = order_id
    placed = holds_place_many([
        HoldRequest(c.order.user_id, c.order.hold_asset_id, c.order.hold_amount, c.order.hold_reference)
        for c in candidates])
    accepted = [c for c, ok in zip(candidates, placed, strict=True) if ok]
    if accepted:
        orders = [c.order for c in accepted]
        commands = [Command(market=c.order.market, kind=CommandKind.PLACE, order=c.order,
                            payload={"maker_fee": str(c.maker_fee), "taker_fee": str(c.taker_fee)})
                    for c in accepted]
        # One statement for both tables: the orders as a CTE, then their place commands.
        orders_sql, orders_params = json_insert(Order, orders, with_pk=True)
        commands_sql, commands_params = json_insert(Command, commands)
        with prepared_cursor() as cursor:
            cursor.execute(f"WITH placed AS ({orders_sql}) {commands_sql} RETURNING id, order_id",
                           orders_params + commands_params)
            command_of = {order_id: command_id for command_id, order_id in cursor.fetchall()}
        by_market: dict[str, list[int]] = defaultdict(list)
        for order in orders:
            order._state.adding = False  # saved, as bulk_create would leave it
            by_market[order.market.symbol].append(command_of[order.pk])
        transaction.on_commit(lambda: [publish_commands(symbol, sorted(ids)) for symbol, ids in by_market.items()])  # type: ignore[func-returns-value]  # the list only runs the calls
    return placed
