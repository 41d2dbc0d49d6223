"""Apply a batch of commands to the in-memory book and plan every write: pure, no I/O.

The same commands applied to the same state always give the same plan, which is what lets
``verify_journal`` replay the journal through a fresh engine and compare it event by event.
"""
from datetime import datetime
from decimal import Decimal

from exchange.ledger.postings import AVAILABLE, HELD, PostingSpec, TradeLegs, fee_amount, trade_postings
from exchange.matching import (
    Accepted,
    Amended,
    BookLevel,
    Cancelled,
    OrderBook,
    OrderType,
    Rejected,
    SelfTradePrevented,
    Side,
    Trade,
    Triggered,
)
from exchange.trading.matcher.journal import chain_hash
from exchange.trading.matcher.rows import dec_or_none, engine_order, order_state_from_row
from exchange.trading.matcher.state import ZERO, BatchPlan, CommandRow, MarketContext, OrderState

# Market statuses in which the book accepts a new order (post_only: only post-only limits).
ACCEPTING = {"trading", "post_only"}


class BatchApplier:
    """Applies commands for one market and accumulates a ``BatchPlan``."""

    def __init__(self, ctx: MarketContext, book: OrderBook, orders: dict[int, OrderState]) -> None:
        self.ctx = ctx
        self.book = book
        self.orders = orders
        self.plan = BatchPlan()
        self._ts: datetime | None = None  # the created_at of the command being applied (apply() sets it first)
        self._touched: list[OrderState] = []

    # ------------------------------------------------------------------ journal

    def _journal(self, event_type: str, payload: dict) -> int:
        ctx = self.ctx
        ctx.sequence += 1
        ctx.last_hash = chain_hash(ctx.last_hash, event_type, ctx.sequence, payload)
        self.plan.journal.append((ctx.sequence, event_type, payload, ctx.last_hash, self._ts))  # type: ignore[arg-type]  # set by apply()
        return ctx.sequence

    def _touch(self, state: OrderState) -> OrderState:
        if not state.dirty:
            state.dirty = True
            self.plan.orders[state.order_id] = state
        self._touched.append(state)
        return state

    # ------------------------------------------------------------------ money

    def _release(self, state: OrderState, amount: Decimal) -> None:
        if amount <= 0:
            return
        hold = f"order:{state.order_id}"
        asset = self.ctx.quote_id if state.side == "buy" else self.ctx.base_id
        self.plan.entries.append(("release", hold, [
            PostingSpec(state.account_id, asset, HELD, -amount, hold),
            PostingSpec(state.account_id, asset, AVAILABLE, amount),
        ]))
        state.hold_remaining -= amount
        state.hold_delta -= amount

    def _normalise_hold(self, state: OrderState) -> None:
        """Release what an order holds beyond what its open quantity can still need."""
        if state.status == "pending":
            return  # not in the book yet (an amend overtook its place): it needs all it holds
        if state.status != "open":
            self._release(state, state.hold_remaining)
            return
        if state.open_quantity is None:
            return
        if state.side == "sell":
            needed = state.open_quantity
        elif state.engine_price is not None:
            needed = state.engine_price * state.open_quantity
        else:
            return
        self._release(state, state.hold_remaining - needed)

    def _finish(self, state: OrderState, status: str, reason: str = "") -> None:
        state.status = status
        state.cancel_reason = reason
        state.is_waiting_stop = False
        self._touch(state)

    # ------------------------------------------------------------------ commands

    def apply(self, commands: list[CommandRow]) -> BatchPlan:
        for command in commands:
            if command.applied:
                continue
            self._ts = command.created_at
            self._touched = []
            handler = getattr(self, f"_apply_{command.kind}")
            handler(command)
            for state in self._touched:
                if state.status == "open" and self.book.get_order(state.order_id) is None:
                    state.status = "filled"
                self._normalise_hold(state)
            self.ctx.applied_commands += 1
            self.plan.commands.append((command.command_id, self.ctx.sequence, self.ctx.applied_commands))
        return self.plan

    def _apply_place(self, command: CommandRow) -> None:
        row: dict = command.order  # type: ignore[assignment]  # place, cancel and amend carry their order
        state = self.orders.get(row["id"])
        if state is not None and state.status != "pending":
            return  # cancelled before the matcher saw it, or applied before: nothing to do
        overtaken = state
        state = order_state_from_row(row, command.payload)
        if overtaken is not None:  # an amend overtook the place: what it released still counts
            state.hold_delta = overtaken.hold_delta
            overtaken.dirty = False
        self.orders[state.order_id] = state
        self._touch(state)
        status = self.ctx.status
        if status not in ACCEPTING or (status == "post_only" and not row["post_only"]):
            self._journal("order_rejected", {"order_id": state.order_id, "account": state.user_id,
                                             "reason": f"market_{status}"})
            self._finish(state, "rejected", f"market_{status}")
            return
        order = engine_order(self.ctx, row)
        self._handle(self.book.submit(order), row=row)

    def _apply_cancel(self, command: CommandRow) -> None:
        row: dict = command.order  # type: ignore[assignment]  # place, cancel and amend carry their order
        order_id = row["id"]
        state = self.orders.get(order_id)
        if state is None and row["status"] == "pending":
            # The cancel overtook its order (its XADD was lost and is being relayed): the order
            # never reaches the book.
            state = order_state_from_row(row, {})
            self.orders[order_id] = state
        if state is None:
            return
        if state.status == "pending":
            self._touch(state)
            self._journal("order_cancelled", {"order_id": order_id, "account": state.user_id,
                                              "remaining": _str(state.open_quantity), "reason": "cancelled_by_user"})
            self._finish(state, "cancelled", "cancelled_by_user")
            return
        if state.status == "open":
            self._handle(self.book.cancel(order_id))

    def _apply_amend(self, command: CommandRow) -> None:
        """Apply a new price and/or total quantity (``services.order_amend``). The amount the
        service added to the hold joins the order's hold here; when the amend cannot apply (the
        order is finished, a fill left it needing more than it holds, the engine refuses it)
        nothing changes but that amount going back to available (``_normalise_hold``)."""
        row: dict = command.order  # type: ignore[assignment]  # place, cancel and amend carry their order
        payload = command.payload
        added = Decimal(payload.get("hold_added") or 0)
        state = self.orders.get(row["id"])
        if state is None:
            # Finished and forgotten, or its place not applied yet (the place's XADD was lost
            # and the amend came first): the amend has nothing to change.
            state = order_state_from_row(row, {})
            if state.status == "pending":
                self.orders[state.order_id] = state  # its place may follow, in this batch even
            else:
                state.hold_remaining = ZERO  # what it held is settled; only ``added`` is left
        self._touch(state)
        state.hold_remaining += added
        if state.status == "pending":
            self._release(state, added)  # a pending order keeps its hold (``_normalise_hold``)
            return
        if state.status != "open":
            return
        ctx = self.ctx
        price = dec_or_none(payload.get("price"))
        quantity = dec_or_none(payload.get("quantity"))
        open_after = state.open_quantity if quantity is None else quantity - state.filled_quantity
        if open_after is None or open_after <= 0:
            return  # filled meanwhile up to (or past) the new quantity
        limit = state.engine_price if price is None else price
        needed = open_after if state.side == "sell" else limit * open_after  # type: ignore[operator]  # an amended order is a limit
        if needed > state.hold_remaining:
            return  # a fill since the amend was asked leaves the order short of funds for it
        events = self.book.amend(
            order_id=state.order_id,
            quantity=None if quantity is None else int(open_after / ctx.lot_size),
            price=None if price is None else int(price / ctx.tick_size),
        )
        if any(type(event) is Amended for event in events):
            self.plan.amends.append((state.order_id, price, quantity))
        self._handle(events)

    def _apply_set_status(self, command: CommandRow) -> None:
        self.ctx.status = command.payload["status"]
        self.plan.status_changed = True
        self._journal("market_status", {"status": self.ctx.status, "reason": command.payload.get("reason", "")})

    def _apply_market_close(self, command: CommandRow) -> None:
        """The daily close: its reference price is the last trade price at this point in sequence
        (surveillance checks trading into it: marking the close)."""
        self._journal("market_close", {"price": _str(self.ctx.last_price), "reason": command.payload.get("reason", "")})

    def _cancel_where(self, keep, reason: str) -> None:
        for open_order in list(self.book.open_orders()):
            if keep(open_order.order):
                continue
            self._handle(self.book.cancel(open_order.order.order_id), reason=reason)

    def _apply_cancel_all(self, command: CommandRow) -> None:
        self._cancel_where(lambda order: False, "market_cancel_all")

    def _apply_cancel_user(self, command: CommandRow) -> None:
        user_id = command.payload["user_id"]
        self._cancel_where(lambda order: order.account != user_id, "user_frozen")
        for state in self.orders.values():  # orders of theirs the book has not seen yet
            if state.user_id == user_id and state.status == "pending":
                self._touch(state)
                self._journal("order_cancelled", {"order_id": state.order_id, "account": user_id,
                                                  "remaining": _str(state.open_quantity), "reason": "user_frozen"})
                self._finish(state, "cancelled", "user_frozen")

    # ------------------------------------------------------------------ engine events

    def _handle(self, events: list, *, row: dict | None = None, reason: str | None = None) -> None:
        ctx = self.ctx
        for event in events:
            kind = type(event)
            if kind is BookLevel:
                self.plan.book_changes.append((event.side.value, event.price, event.quantity))
            elif kind is Trade:
                self._trade(event)
            elif kind is Accepted:
                state = self._touch(self.orders[event.order.order_id])
                order = event.order
                seq = self._journal("order_accepted", {
                    "order_id": order.order_id, "account": order.account, "side": order.side.value,
                    "order_type": row["order_type"] if row else order.type.value,
                    "price": _str(None if order.price is None else order.price * ctx.tick_size),
                    "quantity": _str(None if order.quantity is None else order.quantity * ctx.lot_size),
                    "tif": order.tif.value,
                })
                state.status = "open"
                state.priority = seq
                state.is_waiting_stop = order.type in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET)
            elif kind is Cancelled:
                state = self.orders[event.order_id]
                why = reason or event.reason.value
                self._journal("order_cancelled", {
                    "order_id": event.order_id, "account": event.account,
                    "remaining": _str(None if event.remaining is None else event.remaining * ctx.lot_size), "reason": why,
                })
                if event.remaining is not None and state.open_quantity is not None:
                    state.open_quantity -= event.remaining * ctx.lot_size
                self._finish(state, "cancelled", why)
            elif kind is Rejected:
                if event.command != "submit":
                    continue  # a cancel or amend that found nothing to change: no state changed
                state = self.orders[event.order_id]
                self._journal("order_rejected", {"order_id": event.order_id, "account": event.account,
                                                 "reason": event.reason.value})
                self._finish(state, "rejected", event.reason.value)
            elif kind is Amended:
                state = self._touch(self.orders[event.order_id])
                seq = self._journal("order_amended", {
                    "order_id": event.order_id, "account": event.account,
                    "price": _str(None if event.price is None else event.price * ctx.tick_size),
                    "quantity": _str(None if event.quantity is None else event.quantity * ctx.lot_size),
                })
                if event.price is not None:
                    state.engine_price = event.price * ctx.tick_size
                if event.quantity is not None:
                    state.open_quantity = event.quantity * ctx.lot_size
                if not event.priority_kept:
                    state.priority = seq
            elif kind is Triggered:
                state = self._touch(self.orders[event.order_id])
                seq = self._journal("order_triggered", {
                    "order_id": event.order_id, "account": event.account,
                    "stop_price": _str(event.stop_price * ctx.tick_size),
                    "trigger_price": _str(event.trigger_price * ctx.tick_size),
                })
                state.priority = seq
                state.is_waiting_stop = False
            elif kind is SelfTradePrevented:
                self._journal("self_trade_prevented", {
                    "taker_order_id": event.taker_order_id, "maker_order_id": event.maker_order_id,
                    "account": event.account, "mode": event.mode.value,
                    "quantity": _str(event.quantity * ctx.lot_size),
                })
                if event.quantity:
                    for order_id in (event.taker_order_id, event.maker_order_id):
                        state = self._touch(self.orders[order_id])
                        if state.open_quantity is not None:
                            state.open_quantity -= event.quantity * ctx.lot_size

    def _trade(self, trade: Trade) -> None:
        ctx = self.ctx
        price = trade.price * ctx.tick_size
        quantity = trade.quantity * ctx.lot_size
        notional = price * quantity
        maker = self._touch(self.orders[trade.maker_order_id])
        taker = self._touch(self.orders[trade.taker_order_id])
        buyer, seller = (taker, maker) if trade.aggressor is Side.BUY else (maker, taker)
        buyer_rate = buyer.taker_fee if buyer is taker else buyer.maker_fee
        seller_rate = seller.taker_fee if seller is taker else seller.maker_fee
        buyer_fee = fee_amount(quantity, buyer_rate, ctx.base_decimals)
        seller_fee = fee_amount(notional, seller_rate, ctx.quote_decimals)
        release = ZERO
        if buyer.engine_price is not None and buyer.engine_price > price:
            release = (buyer.engine_price - price) * quantity
        seq = self._journal("trade", {
            "trade_id": f"{ctx.symbol}:{ctx.sequence + 1}", "price": _str(price), "quantity": _str(quantity),
            "buy_order_id": buyer.order_id, "sell_order_id": seller.order_id,
            "buyer": buyer.user_id, "seller": seller.user_id, "aggressor": trade.aggressor.value,
            "maker_order_id": maker.order_id, "taker_order_id": taker.order_id,
        })
        legs = TradeLegs(
            buyer_account_id=buyer.account_id, seller_account_id=seller.account_id, fee_account_id=ctx.fee_account_id,
            base_asset_id=ctx.base_id, quote_asset_id=ctx.quote_id, quantity=quantity, notional=notional,
            buyer_fee=buyer_fee, seller_fee=seller_fee, buyer_hold=f"order:{buyer.order_id}",
            seller_hold=f"order:{seller.order_id}", buyer_release=release,
        )
        self.plan.entries.append(("trade", f"trade:{ctx.symbol}:{seq}", trade_postings(legs)))
        self.plan.fills.append((seq, price, quantity, buyer.order_id, seller.order_id, buyer.user_id, seller.user_id,
                                trade.aggressor.value, buyer_fee, seller_fee, self._ts))
        self.plan.trades.append({"sequence": seq, "price": _str(price), "quantity": _str(quantity),
                                 "side": trade.aggressor.value, "ts": self._ts.isoformat()})  # type: ignore[union-attr]  # set by apply()
        for state, consumed, _received, fee in (
            (buyer, notional + release, quantity, buyer_fee),
            (seller, quantity, notional, seller_fee),
        ):
            state.hold_remaining -= consumed
            state.hold_delta -= consumed
            state.filled_quantity += quantity
            state.filled_notional += notional
            state.fees_paid += fee
            if state.open_quantity is not None:
                state.open_quantity -= quantity
        ctx.last_price = price


def _str(value: Decimal | None) -> str | None:
    """Decimals as plain strings without exponent or trailing zeros (``1E+1`` would be ``10``)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text
