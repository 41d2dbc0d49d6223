"""The names market data is addressed by: the market and user groups and the per-user Redis keys.

Shared by the fan-out process that sends to them and the WebSocket consumers that listen on them.
A user's group is named in ``infra/pubsub.py``, where the chain watcher's deposit pushes find it too.
"""
from exchange.infra.pubsub import user_group

__all__ = ["market_group", "user_group", "user_listeners_key", "user_sequence_key"]


def market_group(symbol: str) -> str:
    """The group of a market's book, trades, status and ticker frames."""
    return f"market.{symbol}"


def user_sequence_key(user_id: int) -> str:
    """The Redis counter of the user's frame sequence (a gap tells their socket to reload)."""
    return f"md:user:{user_id}:seq"


def user_listeners_key(user_id: int) -> str:
    """How many ``/ws/user/`` sockets of this user are open (the consumer counts them)."""
    return f"md:user:{user_id}:listeners"
