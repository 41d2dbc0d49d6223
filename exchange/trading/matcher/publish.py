"""After commit: push the batch's book changes and trades to the market's Channels group.

Every message carries the market sequence of the batch's last event. Publishing never blocks
the matcher for long and never fails it: a client that misses a message sees the gap in the
sequence and re-syncs.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from exchange.matching import OrderBook
from exchange.trading.matcher.state import BatchPlan, MarketContext

log = logging.getLogger("exchange.matcher")


def _coalesce(changes: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The last quantity of each level changed in the batch, in first-change order."""
    latest: dict[tuple[str, int], int] = {}
    for side, price, quantity in changes:
        latest[(side, price)] = quantity
    return [(side, price, quantity) for (side, price), quantity in latest.items()]


def publish_batch(ctx: MarketContext, book: OrderBook, plan: BatchPlan) -> None:
    if not plan.book_changes and not plan.trades and not plan.status_changed:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    group = f"market.{ctx.symbol}"
    tick, lot = ctx.tick_size, ctx.lot_size
    message = {
        "type": "market.update",
        "sequence": ctx.sequence,
        "status": ctx.status,
        "changes": [[side, str(price * tick), str(quantity * lot)] for side, price, quantity in _coalesce(plan.book_changes)],
        "trades": plan.trades,
    }
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.exception("publishing %s failed", ctx.symbol)
