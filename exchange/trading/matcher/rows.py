"""From the matcher's order rows to its in-memory state and to the engine's orders.

Shared by the batch applier (a place, cancel or amend brings a row) and by recovery (the open
orders read when a matcher starts); both must read a row the same way, ticks and lots included.
"""
from decimal import Decimal

from exchange.matching import Order as EngineOrder
from exchange.matching import OrderType, SelfTradePrevention, Side, TimeInForce
from exchange.trading.matcher.state import MarketContext, OrderState


def dec_or_none(value) -> Decimal | None:
    """A decimal from a row or payload value that may be absent."""
    return None if value is None else Decimal(value)


def order_state_from_row(row: dict, fees: dict) -> OrderState:
    """The matcher's state of an order row; ``fees`` are the ones its place command carried."""
    return OrderState(
        order_id=row["id"], user_id=row["user_id"], account_id=row["account_id"], side=row["side"],
        order_type=row["order_type"], engine_price=dec_or_none(row["engine_price"]),
        open_quantity=dec_or_none(row["open_quantity"]),
        hold_remaining=_hold_as_known(row), maker_fee=Decimal(fees.get("maker_fee", "0")),
        taker_fee=Decimal(fees.get("taker_fee", "0")), status=row["status"],
        filled_quantity=Decimal(row.get("filled_quantity") or 0), filled_notional=Decimal(row.get("filled_notional") or 0),
        fees_paid=Decimal(row.get("fees_paid") or 0), priority=row.get("priority"),
        is_waiting_stop=bool(row.get("is_waiting_stop")),
    )


def _hold_as_known(row: dict) -> Decimal:
    """The order's hold as the matcher counts it. An amend adds to the row's hold when it is
    asked for, and the matcher counts that only when it applies the amend; an order the matcher
    has not applied yet has had nothing else happen to its hold, so it holds what it held when
    placed. (``recovery.open_order_rows`` takes unapplied amends off for open orders.)"""
    if row["status"] == "pending" and row.get("hold_amount") is not None:
        return Decimal(row["hold_amount"])
    return Decimal(row["hold_remaining"])


def engine_type(row: dict) -> str:
    """Market and stop-market buys by quantity run as limits at their protection price."""
    if row["engine_price"] is not None and row["order_type"] in ("market", "stop_market"):
        return "limit" if row["order_type"] == "market" else "stop_limit"
    return row["order_type"]


def engine_order(ctx: MarketContext, row: dict, *, open_quantity: Decimal | None = None) -> EngineOrder:
    """The engine's view of an order row: ticks and lots, the user id as the STP account."""
    kind = engine_type(row)
    price = row["engine_price"]
    quantity = row["open_quantity"] if open_quantity is None else open_quantity
    quote = row["quote_amount"]
    return EngineOrder(
        order_id=row["id"],
        account=row["user_id"],
        side=Side(row["side"]),
        price=None if price is None else int(Decimal(price) / ctx.tick_size),
        quantity=None if quantity is None else int(Decimal(quantity) / ctx.lot_size),
        type=OrderType(kind),
        tif=TimeInForce(row["time_in_force"]),
        post_only=row["post_only"],
        stp=SelfTradePrevention(row["stp"]),
        stop_price=None if row["stop_price"] is None else int(Decimal(row["stop_price"]) / ctx.tick_size),
        quote_quantity=None if quote is None else int(Decimal(quote) / (ctx.tick_size * ctx.lot_size)),
    )
