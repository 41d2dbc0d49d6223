"""After commit: push the batch to the market data (the Redis book, Channels groups).

The work is in ``exchange.marketdata.publisher``; this module keeps the runner's entry point.
Publishing never fails the matcher and never blocks it on the network for more than one Redis
round trip: a client that misses a message sees the gap in the sequence and repairs it.
"""
from exchange.marketdata.publisher import PreparedBatch, book_published, prepare_batch, send_batch

__all__ = ["PreparedBatch", "book_published", "prepare_batch", "send_batch"]
