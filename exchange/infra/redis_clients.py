"""The process's Redis client: one connection pool per URL, shared by every app.

Infrastructure, below the domain apps: the command streams (``trading.streams``), API keys and
rate limits (``api``), the Redis book and the fan-out (``marketdata``) all take their client here.
"""
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

# Every client's timeouts, sync or asyncio: a Redis that stops answering is an error in seconds.
CLIENT_OPTIONS: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 10}


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **CLIENT_OPTIONS)


def redis_client() -> redis.Redis:
    """The client of ``settings.REDIS_URL`` (one pool per process, created on first use)."""
    return _client(settings.REDIS_URL)
