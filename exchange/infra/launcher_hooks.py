"""Hooks that circus (scripts/launch.py) runs inside the supervisor, and what the console reads.

The supervisor counts every spawn of every watcher in Redis, so the console's health page can show
which processes the launcher had to restart, and when. The hook must never stop a spawn: a Redis
outage only loses the count.
"""
import os
import time

import redis

SPAWNS_KEY = "launcher:spawns"          # hash: watcher -> number of processes spawned
LAST_SPAWN_KEY = "launcher:last_spawn"  # hash: watcher -> unix time of the latest spawn
SIZE_KEY = "launcher:size"              # hash: watcher -> how many processes it should run
STARTED_KEY = "launcher:started_at"     # unix time the supervisor started its first process


def _client() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                                socket_timeout=0.5, socket_connect_timeout=0.5)


def after_spawn(watcher, arbiter, hook_name, **kwargs) -> bool:
    """circus hook: count the spawn. Always True, so circus goes on whatever happens here."""
    try:
        client = _client()
        pipe = client.pipeline()
        pipe.hincrby(SPAWNS_KEY, watcher.name, 1)
        pipe.hset(SIZE_KEY, watcher.name, watcher.numprocesses)
        pipe.hset(LAST_SPAWN_KEY, watcher.name, f"{time.time():.3f}")
        pipe.set(STARTED_KEY, f"{time.time():.3f}", nx=True)
        pipe.execute()
    except redis.RedisError:
        pass
    return True


def launcher_status(client: redis.Redis) -> list[dict]:
    """Per watcher: its size, the restarts since the launcher started (spawns beyond its size are
    restarts of processes that died) and the time of the latest spawn. Empty when the venue was
    not started by the launcher."""
    spawns, sizes, last = client.hgetall(SPAWNS_KEY), client.hgetall(SIZE_KEY), client.hgetall(LAST_SPAWN_KEY)
    rows = []
    for name in sorted(spawns):
        size = int(sizes.get(name, 1) or 1)
        rows.append({"process": name.decode() if isinstance(name, bytes) else name, "size": size,
                     "restarts": max(0, int(spawns[name]) - size), "last_spawn": float(last.get(name, 0) or 0)})
    return rows


def launcher_reset(client: redis.Redis) -> None:
    """Forget the counts of an earlier run (called once when the launcher starts)."""
    client.delete(SPAWNS_KEY, SIZE_KEY, LAST_SPAWN_KEY, STARTED_KEY)

