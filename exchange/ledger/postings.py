"""Pure builders of balanced postings: no database, so the matcher's bulk path and the
single-entry services compute settlement with exactly the same arithmetic."""
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

AVAILABLE = "available"
HELD = "held"


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One leg: ``amount`` (signed) of ``asset_id`` into ``bucket`` of ``account_id``."""

    account_id: int
    asset_id: int
    bucket: str
    amount: Decimal
    hold: str | None = None


def unbalanced_assets(postings: list[PostingSpec]) -> dict[int, Decimal]:
    """Assets whose legs do not sum to zero, with the difference (empty when balanced)."""
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for posting in postings:
        sums[posting.asset_id] += posting.amount
    return {asset: total for asset, total in sums.items() if total != 0}


def fee_amount(gross: Decimal, rate: Decimal, decimals: int) -> Decimal:
    """The fee on ``gross`` at ``rate``, rounded down to the asset's decimals.

    Rounding down keeps the fee an exact amount of the asset and never charges more than the
    schedule says; the sub-unit remainder stays with the trader.
    """
    return (gross * rate).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class TradeLegs:
    """Everything needed to settle one trade between a buyer and a seller."""

    buyer_account_id: int
    seller_account_id: int
    fee_account_id: int
    base_asset_id: int
    quote_asset_id: int
    quantity: Decimal  # base
    notional: Decimal  # quote: price x quantity, at the maker's price
    buyer_fee: Decimal  # base, kept from what the buyer receives
    seller_fee: Decimal  # quote, kept from what the seller receives
    buyer_hold: str
    seller_hold: str
    buyer_release: Decimal = Decimal(0)  # quote the buyer held above the trade price


def trade_postings(legs: TradeLegs) -> list[PostingSpec]:
    """The postings of one trade: each side pays from its hold, receives net of its fee.

    A buyer who held more than the trade costs (a limit above the maker's price) gets the
    difference released from the hold back to available in the same entry.
    """
    postings = [
        PostingSpec(legs.buyer_account_id, legs.quote_asset_id, HELD, -legs.notional, legs.buyer_hold),
        PostingSpec(legs.seller_account_id, legs.quote_asset_id, AVAILABLE, legs.notional - legs.seller_fee),
        PostingSpec(legs.seller_account_id, legs.base_asset_id, HELD, -legs.quantity, legs.seller_hold),
        PostingSpec(legs.buyer_account_id, legs.base_asset_id, AVAILABLE, legs.quantity - legs.buyer_fee),
    ]
    if legs.seller_fee:
        postings.append(PostingSpec(legs.fee_account_id, legs.quote_asset_id, AVAILABLE, legs.seller_fee))
    if legs.buyer_fee:
        postings.append(PostingSpec(legs.fee_account_id, legs.base_asset_id, AVAILABLE, legs.buyer_fee))
    if legs.buyer_release:
        postings.append(PostingSpec(legs.buyer_account_id, legs.quote_asset_id, HELD, -legs.buyer_release, legs.buyer_hold))
        postings.append(PostingSpec(legs.buyer_account_id, legs.quote_asset_id, AVAILABLE, legs.buyer_release))
    return [p for p in postings if p.amount != 0]
