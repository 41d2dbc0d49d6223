#!/usr/bin/env python
"""A small market maker written only against ccxt's unified API, through the venue's driver.

    pip install ./clients/ccxt               # once (make's venv already has it)
    python manage.py create_api_key mm --create-user --scopes read trade   # {"key", "secret"}
    export EXCHANGE_KEY=... EXCHANGE_SECRET=...
    python examples/ccxt_market_maker.py 60 --symbol BTC/USD --url http://127.0.0.1:8000

It quotes one post-only bid and one post-only ask around a mid (the middle of the book, else the
last price, else ``--mid``), ``--spread-bps`` apart, ``--size`` each. Once a second it reads its
new fills (``fetch_my_trades``) and its open orders; when a quote has traded (or is gone), it
cancels what is left and quotes again around the new mid. After ``seconds`` it cancels its
orders and prints its fills and balances. Fund the key's user first (the faucet in demo mode,
``manage.py deposit`` otherwise).

Prices are computed with ``Decimal`` and handed to ccxt as strings; the driver rounds them to the
market's tick and lot (ccxt's ``price_to_precision`` / ``amount_to_precision``), so what reaches
the venue is always on its grid.
"""
import argparse
import contextlib
import os
import sys
import time
from decimal import Decimal

import ccxt
from exchange_ccxt import Venue


def dec(value: object) -> Decimal:
    """A ccxt number (a float in the unified structures) as the decimal it was written as."""
    return Decimal(str(value))


class MarketMaker:
    """Two quotes around a mid; re-quoted whenever one of them trades."""

    def __init__(self, venue: Venue, symbol: str, size: Decimal, spread_bps: Decimal, fallback_mid: Decimal | None) -> None:
        self.venue, self.symbol, self.size = venue, symbol, size
        self.half_spread = spread_bps / Decimal(20_000)
        self.fallback_mid = fallback_mid
        self.quotes: dict[str, str] = {}  # side -> order id
        self.seen_fills: set[str] = set()
        self.fills: list[dict] = []
        self.last_price: Decimal | None = None
        self.count = 0
        # The venue's clock: "since" must not be ahead of it.
        self.since = venue.fetch_time()

    def mid(self) -> Decimal | None:
        """The middle of the book; one-sided or empty, the last fill or trade price; else --mid."""
        book = self.venue.fetch_order_book(self.symbol, limit=1)
        if book["bids"] and book["asks"]:
            return (dec(book["bids"][0][0]) + dec(book["asks"][0][0])) / 2
        if self.last_price is not None:
            return self.last_price
        last = self.venue.fetch_ticker(self.symbol)["last"]
        return dec(last) if last is not None else self.fallback_mid

    def quote(self) -> None:
        """Cancel what is left of the old quotes, then place a bid and an ask around the mid."""
        for order_id in self.quotes.values():
            with contextlib.suppress(ccxt.OrderNotFound):  # filled or cancelled meanwhile
                self.venue.cancel_order(order_id, self.symbol)
        self.quotes = {}
        mid = self.mid()
        if mid is None:
            print("no mid price yet (empty book, no trades): pass --mid")
            return
        prices = {"buy": mid * (1 - self.half_spread), "sell": mid * (1 + self.half_spread)}
        for side, price in prices.items():
            self.count += 1
            try:
                order = self.venue.create_order(self.symbol, "limit", side, str(self.size), str(price),
                                                {"postOnly": True, "clientOrderId": f"mm-{self.since}-{self.count}"})
            except (ccxt.InsufficientFunds, ccxt.InvalidOrder) as exc:
                print(f"{side} not quoted: {exc}")
                continue
            self.quotes[side] = order["id"]
            print(f"quote {side} {order['info']['quantity']} @ {order['info']['price']} (order {order['id']})")

    def step(self) -> None:
        """Read new fills and open orders; re-quote if a quote traded or is no longer open."""
        traded = False
        for fill in self.venue.fetch_my_trades(self.symbol, since=self.since):
            if fill["id"] in self.seen_fills:
                continue
            self.seen_fills.add(fill["id"])
            self.fills.append(fill)
            self.last_price = dec(fill["price"])
            venue_fill = fill["info"]  # the venue's exact decimal strings, for printing
            print(f"fill {fill['side']} {venue_fill['quantity']} @ {venue_fill['price']} ({fill['takerOrMaker']}, "
                  f"fee {venue_fill['fee']} {fill['fee']['currency']})")
            traded = True
        open_ids = {order["id"] for order in self.venue.fetch_open_orders(self.symbol)}
        if traded or len(self.quotes) < 2 or not set(self.quotes.values()) <= open_ids:
            self.quote()

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self.quote()
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                self.step()
            except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
                print(f"venue busy, retrying: {exc}")  # rate limits and overload are worth waiting out
        self.venue.cancel_all_orders(self.symbol)
        # Cancels are applied by the matcher just after the 202: wait for them, so the balances
        # printed below no longer count the quotes' holds.
        deadline = time.monotonic() + 10
        while self.venue.fetch_open_orders(self.symbol) and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"done: {len(self.fills)} fills")
        market = self.venue.market(self.symbol)
        for row in self.venue.fetch_balance()["info"]:
            if row["asset"] in (market["baseId"], market["quoteId"]):
                print(f"{row['asset']}: available {row['available']} held {row['held']} total {row['total']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", type=float, help="how long to quote")
    parser.add_argument("--symbol", default="BTC/USD")
    parser.add_argument("--url", default=os.environ.get("EXCHANGE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--size", type=Decimal, default=Decimal("0.01"), help="base amount per quote")
    parser.add_argument("--spread-bps", type=Decimal, default=Decimal("20"), help="bid to ask, in basis points of the mid")
    parser.add_argument("--mid", type=Decimal, default=None, help="the mid to start from if the market has no price yet")
    args = parser.parse_args()
    key, secret = os.environ.get("EXCHANGE_KEY"), os.environ.get("EXCHANGE_SECRET")
    if not key or not secret:
        sys.exit("set EXCHANGE_KEY and EXCHANGE_SECRET (manage.py create_api_key USER --scopes read trade)")
    venue = Venue({"apiKey": key, "secret": secret, "urls": {"api": args.url}})
    venue.load_markets()
    MarketMaker(venue, args.symbol, args.size, args.spread_bps, args.mid).run(args.seconds)


if __name__ == "__main__":
    main()
