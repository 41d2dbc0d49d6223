"""The canonical text of book levels and the book checksum (see the API docs).

A price or quantity is written as ``format(d.normalize(), "f")``: no exponent, no trailing
zeros, no trailing dot (``30000``, ``0.25``). The checksum covers the best 25 levels per side:

    text     = bids + ";" + asks
    bids     = ",".join(price + ":" + quantity for the best 25 bids, highest price first)
    asks     = ",".join(price + ":" + quantity for the best 25 asks, lowest price first)
    checksum = zlib.crc32(text.encode("ascii"))        # unsigned, 0 .. 2**32 - 1

An empty side contributes an empty string, so an empty book's text is ``";"``.
"""
import zlib
from decimal import Decimal

CHECKSUM_LEVELS = 25


def decimal_text(value: Decimal) -> str:
    """The canonical text of a price or quantity."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def checksum_text(bids: list, asks: list) -> str:
    """``bids`` and ``asks`` best first, as (price text, quantity text) pairs."""
    def side(levels: list) -> str:
        return ",".join(f"{price}:{quantity}" for price, quantity in levels[:CHECKSUM_LEVELS])

    return f"{side(bids)};{side(asks)}"


def book_checksum(bids: list, asks: list) -> int:
    return zlib.crc32(checksum_text(bids, asks).encode("ascii"))
