"""What a market's matcher keeps in memory besides the engine's book."""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class MarketContext:
    """The market's fixed rules and the matcher's running position in its sequence."""

    market_id: int
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    base_id: int
    quote_id: int
    base_decimals: int
    quote_decimals: int
    fee_account_id: int
    status: str
    last_price: Decimal | None
    sequence: int
    last_hash: str
    applied_commands: int = 0


@dataclass(slots=True)
class OrderState:
    """An order as the matcher tracks it while it is live, and what changed in this batch.

    ``hold_remaining`` is the matcher's view of the order's hold; the database is updated by
    ``hold_delta`` (a relative change) so that the two never overwrite each other.
    """

    order_id: int
    user_id: int
    account_id: int
    side: str
    order_type: str
    engine_price: Decimal | None
    open_quantity: Decimal | None
    hold_remaining: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    status: str = "pending"
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees_paid: Decimal = ZERO
    cancel_reason: str = ""
    priority: int | None = None
    is_waiting_stop: bool = False
    hold_delta: Decimal = ZERO
    dirty: bool = False


@dataclass(slots=True)
class CommandRow:
    """A command loaded from PostgreSQL, with its order's terms when it has one."""

    command_id: int
    kind: str
    payload: dict
    created_at: datetime
    applied: bool
    order: dict | None = None  # the order row's columns (see persist.ORDER_COLUMNS)
    market_id: int | None = None

    def market_matches(self, market_id: int) -> bool:
        return self.market_id == market_id


@dataclass(slots=True)
class BatchPlan:
    """Everything one batch must write, built in memory before the one transaction."""

    commands: list[tuple[int, int, int]] = field(default_factory=list)  # (command id, sequence, position)
    journal: list[tuple[int, str, dict, str, datetime]] = field(default_factory=list)  # seq, type, payload, hash, ts
    fills: list[tuple] = field(default_factory=list)
    entries: list[tuple[str, str | None, list]] = field(default_factory=list)  # kind, reference, postings
    orders: dict[int, OrderState] = field(default_factory=dict)
    book_changes: list[tuple[str, int, int]] = field(default_factory=list)  # side, price ticks, quantity lots
    trades: list[dict] = field(default_factory=list)  # public trade messages
    amends: list[tuple] = field(default_factory=list)  # (order id, new price or None, new quantity or None)
    status_changed: bool = False
