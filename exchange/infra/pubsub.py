"""Publishing to the web processes' market-data hubs (``exchange/marketdata/hub.py``).

Each web process holds one Redis subscription to every group's channel and fans each message out
to its own sockets, so a message is PUBLISHed once whatever the number of sockets, instead of
being stored and read back once per socket as Channels groups do. Public market groups and
private user groups (``user.{id}``: only the signed-in owner's socket joins it) go the same way.
Here, below the apps, so that every app that has something to push (the matcher's fan-out,
the chain watcher's deposits) can publish without depending on the web layer.
"""
import json

import redis
from django.conf import settings


def channel_prefix(url: str) -> str:
    """Pub/sub channels are shared by every database of a Redis server: the database is part of
    the name, so two venues (or test runs) on one server never hear each other."""
    db = redis.connection.parse_url(url).get("db", 0)
    return f"exchange.md.{db}."


def user_group(user_id: int) -> str:
    """The group of one user's order, fill, balance and deposit frames: only their signed-in
    ``/ws/user/`` sockets join it. Here, where every publisher of those frames can name it."""
    return f"user.{user_id}"


def hub_channel(group: str) -> str:
    return channel_prefix(settings.REDIS_URL) + group


def hub_publish(client: redis.Redis, messages: list[tuple[str, dict]]) -> None:
    """PUBLISH each (group, message) once, in order, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for group, message in messages:
        pipe.publish(hub_channel(group), json.dumps(message))
    pipe.execute()
