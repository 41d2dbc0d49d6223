"""Keep a local order book from the public market data, and prove it right.

    python examples/market_data_client.py BTC-USD --url http://127.0.0.1:8000

What it does (the protocol of ``/ws/markets/{symbol}/``):

1. Connect. The first message is ``{"type": "snapshot", "sequence", "bids", "asks", "checksum"}``:
   the whole book at ``sequence``. Load it.
2. Each ``{"type": "book", "sequence", "prev_sequence", "changes", "checksum"}`` message:
   - ``sequence <= local sequence``: already in the book, ignore it;
   - ``prev_sequence == local sequence``: apply ``changes`` (``[side, price, quantity]``; side
     ``buy`` is a bid, ``sell`` an ask; quantity ``"0"`` removes the level), set the local
     sequence to ``sequence``, and check the checksum;
   - otherwise a message was missed (a gap): fetch
     ``GET /api/v1/markets/{symbol}/book-updates?after=<local sequence>`` and apply its
     ``updates`` by the same rule; if it answers 410 ``resnapshot_required`` (too old), take a new
     snapshot from ``GET /api/v1/markets/{symbol}/depth?levels=5000``.
3. The checksum is CRC32 of ``bids + ";" + asks``, each side the best 25 levels as
   ``price:quantity`` joined by ``,`` (bids highest first, asks lowest first), decimals written
   without exponent or trailing zeros (``format(Decimal(x).normalize(), "f")``). A mismatch means
   the local book is wrong: re-snapshot.
4. With ``--updates 100ms`` (``?updates=100ms``) a window's messages come in one
   ``{"type": "batch", "messages": [...]}``: handle each in order, exactly as above.

Needs only the standard library and ``websockets`` (for the command-line loop). The classes take
the HTTP fetch function as an argument, so tests drive them without a network.
"""
from __future__ import annotations

import argparse
import json
import logging
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from decimal import Decimal

log = logging.getLogger("market_data_client")
CHECKSUM_LEVELS = 25


def canonical(text: str) -> str:
    """A decimal as the checksum writes it: no exponent, no trailing zeros."""
    out = format(Decimal(text).normalize(), "f")
    return "0" if out in ("-0", "0") else out


def checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """CRC32 of the best 25 levels per side (levels best first)."""
    def side(levels):
        return ",".join(f"{canonical(p)}:{canonical(q)}" for p, q in levels[:CHECKSUM_LEVELS])

    return zlib.crc32(f"{side(bids)};{side(asks)}".encode("ascii"))


class Gap(Exception):
    """A book message does not follow the local sequence."""


class LocalBook:
    """One market's book: price -> quantity per side, and the sequence it is at."""

    def __init__(self) -> None:
        self.sequence: int | None = None
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}

    def load(self, sequence: int, bids: list, asks: list) -> None:
        self.sequence = sequence
        self.bids = {Decimal(p): canonical(q) for p, q in bids}
        self.asks = {Decimal(p): canonical(q) for p, q in asks}

    def apply(self, message: dict) -> bool:
        """Apply a book message; False if it is already in the book, ``Gap`` if one is missing."""
        if self.sequence is None:
            raise Gap("no snapshot yet")
        if message["sequence"] <= self.sequence:
            return False
        if message["prev_sequence"] != self.sequence:
            raise Gap(f"at {self.sequence}, got {message['prev_sequence']} -> {message['sequence']}")
        for side, price, quantity in message["changes"]:
            levels = self.bids if side == "buy" else self.asks
            if Decimal(quantity) == 0:
                levels.pop(Decimal(price), None)
            else:
                levels[Decimal(price)] = canonical(quantity)
        self.sequence = message["sequence"]
        return True

    def levels(self, depth: int | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(bids, asks), best first, as (price, quantity) strings."""
        bids = [(canonical(str(p)), self.bids[p]) for p in sorted(self.bids, reverse=True)[:depth]]
        asks = [(canonical(str(p)), self.asks[p]) for p in sorted(self.asks)[:depth]]
        return bids, asks

    def checksum(self) -> int:
        return checksum(*self.levels(CHECKSUM_LEVELS))


Fetch = Callable[[str], tuple[int, dict]]  # path with query -> (HTTP status, JSON body)


def http_fetch(base_url: str) -> Fetch:
    def fetch(path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    return fetch


class BookFollower:
    """Feeds WebSocket messages into a ``LocalBook``, repairing gaps and bad checksums."""

    def __init__(self, symbol: str, fetch: Fetch) -> None:
        self.symbol = symbol
        self.fetch = fetch
        self.book = LocalBook()
        self.stats = {"applied": 0, "ignored": 0, "gaps": 0, "gap_fills": 0, "resnapshots": 0,
                      "checksum_mismatches": 0, "trades": 0, "tickers": 0}
        self.last_ticker: dict | None = None

    def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "snapshot":
            self.book.load(message["sequence"], message["bids"], message["asks"])
            self._verify(message["checksum"])
        elif kind == "book":
            self._on_book(message)
        elif kind == "trade":
            self.stats["trades"] += 1
        elif kind == "ticker":
            self.stats["tickers"] += 1
            self.last_ticker = message
        elif kind == "batch":  # ?updates=100ms: a window's messages, each as it would come alone
            for inner in message["messages"]:
                self.handle(inner)

    def _on_book(self, message: dict) -> None:
        try:
            applied = self.book.apply(message)
        except Gap as gap:
            log.info("%s: gap (%s): gap fill", self.symbol, gap)
            self.stats["gaps"] += 1
            self.repair()
            applied = self.book.apply(message)  # after the repair it is either old or next in line
        if applied:
            self.stats["applied"] += 1
            self._verify(message["checksum"])
        else:
            self.stats["ignored"] += 1

    def _verify(self, expected: int) -> None:
        if self.book.checksum() != expected:
            log.warning("%s: checksum mismatch at %s: re-snapshot", self.symbol, self.book.sequence)
            self.stats["checksum_mismatches"] += 1
            self.resnapshot()

    def repair(self) -> None:
        """Catch up from the gap-fill window, or re-snapshot if it is too far behind."""
        status, body = self.fetch(f"/api/v1/markets/{self.symbol}/book-updates?after={self.book.sequence}")
        if status == 200:
            self.stats["gap_fills"] += 1
            for update in body["updates"]:
                if self.book.apply(update):
                    self._verify(update["checksum"])
            return
        log.info("%s: gap fill refused (%s %s): re-snapshot", self.symbol, status, body.get("error"))
        self.resnapshot()

    def resnapshot(self) -> None:
        self.stats["resnapshots"] += 1
        status, body = self.fetch(f"/api/v1/markets/{self.symbol}/depth?levels=5000")
        if status != 200:
            raise RuntimeError(f"depth failed: {status} {body}")
        self.book.load(body["sequence"], body["bids"], body["asks"])


def main() -> None:
    from websockets.sync.client import connect

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("symbol")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the exchange's base URL")
    parser.add_argument("--levels", type=int, default=5, help="levels to print per side")
    parser.add_argument("--updates", choices=["100ms", "1000ms"],
                        help="a window's messages in one WebSocket message (default: every message alone)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    follower = BookFollower(args.symbol.upper(), http_fetch(args.url))
    ws_url = args.url.replace("http", "ws", 1).rstrip("/") + f"/ws/markets/{args.symbol.upper()}/" + (
        f"?updates={args.updates}" if args.updates else "")
    with connect(ws_url, origin=args.url) as socket:
        for raw in socket:
            message = json.loads(raw)
            follower.handle(message)
            if message.get("type") in ("snapshot", "book", "batch"):
                bids, asks = follower.book.levels(args.levels)
                stats = follower.stats
                print(f"#{follower.book.sequence} bids {bids} asks {asks} "
                      f"(checksum mismatches {stats['checksum_mismatches']}, gaps {stats['gaps']}, "
                      f"re-snapshots {stats['resnapshots']})")


if __name__ == "__main__":
    main()
