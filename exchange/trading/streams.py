"""The Redis command streams: one per market, ``cmd:{symbol}``, read by one consumer group.

Entries carry only the command id: the command itself is in PostgreSQL, which stays the
source of truth if Redis loses everything.
"""
import logging

import redis

from exchange.infra.redis_clients import redis_client

GROUP = "matchers"
CONSUMER = "matcher"  # one name for every matcher: only the lock holder reads, and it inherits the pending list


def stream_key(symbol: str) -> str:
    return f"cmd:{symbol}"


def publish_commands(symbol: str, command_ids: list[int]) -> None:
    """XADD the commands to the market's stream. Failures are logged, never raised: the
    commands are durable in PostgreSQL and the matcher's relay republishes what is missing."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for command_id in command_ids:
            pipe.xadd(stream_key(symbol), {"c": command_id})
        pipe.execute()
    except redis.RedisError:
        logging.getLogger(__name__).warning("XADD to %s failed; the relay will republish %s", symbol, command_ids)
