"""Market data's side of the matcher: candles in the batch's transaction, then publishing.

Implements the matcher's sink (``exchange.trading.matcher.sink``), named by the setting
``EXCHANGE_MATCHER_SINK``. ``capture`` runs on the matcher's thread when a batch is planned: the
candle rows its trades change (``candle_columns``) and, when publishing, the batch's book changes
and user news (``publisher.prepare_batch``). ``write`` upserts the candles inside the batch's
transaction, so candles and fills commit or roll back together; ``send`` publishes after the
commit.
"""
from dataclasses import dataclass

from exchange.marketdata.publisher import PreparedBatch, book_published, prepare_batch, send_batch, start_fanout
from exchange.marketdata.services import candle_columns, candles_upsert
from exchange.matching import OrderBook
from exchange.trading.matcher.state import BatchPlan, MarketContext


@dataclass(slots=True)
class CapturedBatch:
    market_id: int
    candles: list[list] | None  # the columns of the candle upsert
    prepared: PreparedBatch | None  # what is published, None when nothing is


class MarketDataSink:
    """The matcher's sink in every deployment (``EXCHANGE_MATCHER_SINK``'s default)."""

    def ready(self) -> None:
        start_fanout()

    def capture(self, ctx: MarketContext, book: OrderBook, plan: BatchPlan, *, publish: bool) -> CapturedBatch | None:
        # (sequence, price, quantity, created_at) of each trade, from the fills' rows.
        trades = [(f[0], f[1], f[2], f[-1]) for f in plan.fills]
        candles = candle_columns(trades) if trades else None
        prepared = prepare_batch(ctx, book, plan) if publish else None
        if candles is None and prepared is None:
            return None
        return CapturedBatch(ctx.market_id, candles, prepared)

    def write(self, captured: CapturedBatch | None) -> None:
        if captured is not None and captured.candles:
            candles_upsert(market_id=captured.market_id, columns=captured.candles)

    def send(self, captured: CapturedBatch | None) -> None:
        if captured is not None:
            send_batch(captured.prepared)

    def book_published(self, symbol: str, book: OrderBook) -> bool:
        return book_published(symbol, book)
