"""What comes into the engine: the order and the enums that describe it.

Prices are integer ticks and quantities integer lots; the conversion from the market's decimals
happens at the edge, never here. Enum values are short lowercase strings so that events and
snapshots serialise as plain JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled: the unfilled part rests
    IOC = "ioc"  # immediate or cancel: the unfilled part is cancelled
    FOK = "fok"  # fill or kill: fills completely at once, or is cancelled without touching the book


class SelfTradePrevention(StrEnum):
    """What happens when an incoming order meets a resting order of the same account.

    The incoming (newest) order's mode decides.
    """

    CANCEL_NEWEST = "cancel_newest"  # cancel the incoming order's remainder; the resting one stays
    CANCEL_OLDEST = "cancel_oldest"  # cancel the resting order; the incoming one keeps matching
    CANCEL_BOTH = "cancel_both"
    DECREMENT = "decrement"  # reduce both by the smaller quantity; an order reduced to 0 is cancelled


@dataclass(slots=True, frozen=True)
class Order:
    """An order as submitted. Immutable: the book keeps its own open quantity beside it.

    - ``price``: limit price in ticks; ``None`` for market and stop-market orders.
    - ``quantity``: lots; ``None`` only for a market (or stop-market) buy by quote amount.
    - ``quote_quantity``: for a buy by quote amount, the budget in tick-lots (price * lots);
      the fills spend ``sum(price * quantity) <= quote_quantity``.
    - ``stop_price``: for stop orders; a buy stop triggers when the last trade price is
      ``>= stop_price``, a sell stop when it is ``<= stop_price``.
    - ``account``: opaque (str or int); only compared for self-trade prevention.
    """

    order_id: int
    account: str | int
    side: Side
    price: int | None
    quantity: int | None
    type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST
    stop_price: int | None = None
    quote_quantity: int | None = None

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data (used by snapshots)."""
        return {
            "order_id": self.order_id,
            "account": self.account,
            "side": self.side.value,
            "price": self.price,
            "quantity": self.quantity,
            "type": self.type.value,
            "tif": self.tif.value,
            "post_only": self.post_only,
            "stp": self.stp.value,
            "stop_price": self.stop_price,
            "quote_quantity": self.quote_quantity,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Order:
        return cls(
            order_id=data["order_id"],
            account=data["account"],
            side=Side(data["side"]),
            price=data["price"],
            quantity=data["quantity"],
            type=OrderType(data["type"]),
            tif=TimeInForce(data["tif"]),
            post_only=data["post_only"],
            stp=SelfTradePrevention(data["stp"]),
            stop_price=data["stop_price"],
            quote_quantity=data["quote_quantity"],
        )


@dataclass(slots=True, frozen=True)
class OpenOrder:
    """A live order as the book holds it: resting in the book, or a stop waiting for its trigger.

    ``order`` carries the current price and, after an amend, the amended quantity;
    ``remaining`` is the open quantity (``None`` for a stop that buys by quote amount).
    """

    order: Order
    remaining: int | None
    is_stop: bool
