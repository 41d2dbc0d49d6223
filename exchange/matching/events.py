"""What comes out of the engine: one typed event per state change an outside observer needs.

The order pipeline persists these (order states, fills, ledger postings) and publishes the
``BookLevel`` changes as market data, so nothing may change inside the book without an event
saying so. Events are slotted dataclasses, not frozen: a frozen dataclass costs four times as
much to build, and the engine builds several per command. Treat them as immutable.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from exchange.matching.orders import Order, SelfTradePrevention, Side


class Reason(StrEnum):
    """Why a command was rejected or an order cancelled."""

    # Rejections (the command changed nothing).
    INVALID_ORDER = "invalid_order"  # fields do not fit the order type (see validation.py)
    DUPLICATE_ORDER_ID = "duplicate_order_id"  # an open order already has this id
    UNKNOWN_ORDER = "unknown_order"  # cancel/amend of an order that is not open (never was, or done)
    INVALID_AMEND = "invalid_amend"  # amend values that do not fit the order
    POST_ONLY_WOULD_TAKE = "post_only_would_take"  # post-only orders are rejected, never repriced
    # Cancellations (the order existed and is now finished).
    CANCELLED_BY_USER = "cancelled_by_user"
    IOC_REMAINDER = "ioc_remainder"  # the unfilled part of an immediate-or-cancel limit order
    NO_LIQUIDITY = "no_liquidity"  # a market order ran out of resting orders on the other side
    BUDGET_EXHAUSTED = "budget_exhausted"  # a buy by quote amount cannot afford one more lot
    FOK_NOT_FILLABLE = "fok_not_fillable"  # fill-or-kill that could not fill completely
    SELF_TRADE_PREVENTION = "self_trade_prevention"


@dataclass(slots=True)
class Accepted:
    """The order passed validation and is now live (it may still trade away at once)."""

    order: Order

    @property
    def order_id(self) -> int:
        return self.order.order_id

    @property
    def account(self) -> str | int:
        return self.order.account


@dataclass(slots=True)
class Rejected:
    """A command that changed nothing. ``command`` is "submit", "cancel" or "amend"."""

    order_id: int
    account: str | int | None  # None when cancel/amend named an order the book does not know
    command: str
    reason: Reason


@dataclass(slots=True)
class Trade:
    """A fill, always at the maker's (resting order's) price."""

    price: int
    quantity: int
    maker_order_id: int
    taker_order_id: int
    maker_account: str | int
    taker_account: str | int
    aggressor: Side  # the taker's side


@dataclass(slots=True)
class Cancelled:
    """The order is finished without being completely filled.

    ``remaining`` is the open quantity the cancellation removed (0 when a self-trade decrement
    already took it all; ``None`` for a buy by quote amount, whose unspent budget is in
    ``remaining_quote``).
    """

    order_id: int
    account: str | int
    remaining: int | None
    reason: Reason
    remaining_quote: int | None = None


@dataclass(slots=True)
class Amended:
    """An open order's price and/or open quantity changed.

    ``quantity`` is the new open quantity, ``price`` the (possibly unchanged) limit price.
    ``priority_kept`` is False when the order went to the back of its price level (or, for a
    waiting stop, behind the other stops).
    """

    order_id: int
    account: str | int
    price: int | None
    quantity: int | None
    priority_kept: bool


@dataclass(slots=True)
class Triggered:
    """A stop order's condition was met by ``trigger_price``; it now executes as a market or
    limit order, behind everything already in the book."""

    order_id: int
    account: str | int
    stop_price: int
    trigger_price: int


@dataclass(slots=True)
class SelfTradePrevented:
    """An incoming order met a resting order of the same account and no trade happened.

    ``quantity`` is what the ``decrement`` mode took off both orders (0 in the cancel modes).
    The orders it cancelled follow as ``Cancelled`` events with reason ``self_trade_prevention``.
    """

    taker_order_id: int
    maker_order_id: int
    account: str | int
    mode: SelfTradePrevention
    quantity: int


@dataclass(slots=True)
class BookLevel:
    """The new total open quantity at one price level; 0 means the level is gone."""

    side: Side
    price: int
    quantity: int


Event = Accepted | Rejected | Trade | Cancelled | Amended | Triggered | SelfTradePrevented | BookLevel
