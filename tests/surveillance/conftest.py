"""Helpers for the surveillance tests: a hand-written journal, no Django."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


class Tape:
    """Writes DESIGN 6.5 events by hand; the test says what trades, the tape keeps the books.

    `at(seconds)` sets the clock (seconds after 09:00 UTC); every event written after it carries
    that time. Amounts go in as strings or numbers and come out as decimal strings.
    """

    def __init__(self, market: str = "BTC-USD"):
        self.market = market
        self.events: list[dict] = []
        self.now = 0.0
        self._seq = 0
        self._order = 0
        self._trade = 0
        self.orders: dict[int, dict] = {}

    def at(self, seconds: float) -> "Tape":
        self.now = seconds
        return self

    def _emit(self, kind: str, **fields) -> dict:
        self._seq += 1
        ts = (START + timedelta(seconds=self.now)).isoformat(timespec="microseconds")
        event = {"seq": self._seq, "ts": ts, "market": self.market, "type": kind, **fields}
        self.events.append(event)
        return event

    def account(self, account: str, owner: str) -> None:
        self._emit("account", account=account, owner=owner)

    def order(self, account: str, side: str, price, qty, *, tif: str = "gtc") -> int:
        self._order += 1
        self.orders[self._order] = {"account": account, "side": side, "remaining": Decimal(str(qty))}
        self._emit(
            "order_accepted", order_id=self._order, account=account, side=side,
            order_type="market" if price is None else "limit",
            price=None if price is None else str(price), quantity=str(qty), tif=tif,
        )
        return self._order

    def cancel(self, order_id: int) -> None:
        order = self.orders[order_id]
        self._emit("order_cancelled", order_id=order_id, account=order["account"],
                   remaining=str(order["remaining"]), reason="user")
        order["remaining"] = Decimal(0)

    def amend(self, order_id: int, price, qty) -> None:
        order = self.orders[order_id]
        order["remaining"] = Decimal(str(qty))
        self._emit("order_amended", order_id=order_id, account=order["account"], price=str(price), quantity=str(qty))

    def trade(self, taker: int, maker: int, price, qty) -> None:
        """`taker` order trades `qty` at `price` against resting `maker` order."""
        self._trade += 1
        taker_order, maker_order = self.orders[taker], self.orders[maker]
        buy, sell = (taker, maker) if taker_order["side"] == "buy" else (maker, taker)
        for order in (taker_order, maker_order):
            order["remaining"] -= Decimal(str(qty))
        self._emit(
            "trade", trade_id=self._trade, price=str(price), quantity=str(qty),
            buy_order_id=buy, sell_order_id=sell, buyer=self.orders[buy]["account"],
            seller=self.orders[sell]["account"], aggressor=taker_order["side"],
        )

    def take(self, account: str, maker: int, price, qty) -> int:
        """An IOC order by `account` that takes `qty` of `maker` at `price`."""
        side = "sell" if self.orders[maker]["side"] == "buy" else "buy"
        order_id = self.order(account, side, price, qty, tif="ioc")
        self.trade(order_id, maker, price, qty)
        return order_id

    def cross(self, seller: str, buyer: str, price, qty, gap: float = 0.2) -> None:
        """`seller` rests, `buyer` takes all of it `gap` seconds later."""
        resting = self.order(seller, "sell", price, qty)
        self.at(self.now + gap)
        self.take(buyer, resting, price, qty)

    def ladder(self, account: str, mid, levels: int = 5, size=10, step="0.1") -> list[int]:
        """A two-sided ladder around `mid`: bids below, asks above."""
        mid, step = Decimal(str(mid)), Decimal(step)
        ids = []
        for i in range(1, levels + 1):
            ids.append(self.order(account, "buy", mid - step * i, size))
            ids.append(self.order(account, "sell", mid + step * i, size))
        return ids

    def close(self) -> None:
        self._emit("market_close")


@pytest.fixture
def tape() -> Tape:
    return Tape()
