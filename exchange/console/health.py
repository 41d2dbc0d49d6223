"""Engine and worker health, for the dashboard, its JSON endpoint and ``/metrics``.

Per market:
- **owner**: the session holding the market's PostgreSQL advisory lock (``pg_locks``): exactly
  the matcher that may write the market. No holder means no matcher: red at once.
- **heartbeat age**: ``MatcherState.heartbeat_at``, which the matcher refreshes about every 5 s
  and on every batch. Older than ``EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE`` (15 s): red (stuck).
- **backlog**: the stream's consumer group (``XINFO GROUPS cmd:{symbol}``: ``pending``
  delivered but not acknowledged, ``lag`` not yet read) and the ``Command`` rows not yet
  applied; when the oldest unapplied command is older than ``EXCHANGE_MATCHER_LAG_MAX_SECONDS``
  (10 s) the matcher is lagging: red.
- **last applied sequence** and **commands/s** (commands applied over the last minute).
"""
import time
import zlib
from collections.abc import Mapping
from datetime import timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from exchange.infra.launcher_hooks import launcher_status
from exchange.infra.redis_clients import redis_client
from exchange.markets.models import Market, MarketStatus
from exchange.trading.matcher.runner import LOCK_NAMESPACE
from exchange.trading.models import Command, MatcherState
from exchange.trading.streams import GROUP, stream_key

RATE_WINDOW_SECONDS = 60
OK, WARN, RED = "ok", "warn", "red"


def _lock_holders() -> dict[int, int]:
    """crc32(symbol) -> backend pid, for every granted matcher lock in this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT objid::bigint, pid FROM pg_locks
               WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid::bigint = %s
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
            [LOCK_NAMESPACE],
        )
        return dict(cursor.fetchall())


def _stream_info(symbol: str) -> dict:
    try:
        groups = redis_client().xinfo_groups(stream_key(symbol))
        length = redis_client().xlen(stream_key(symbol))
    except redis.ResponseError:  # no stream yet
        return {"stream_length": 0, "stream_pending": 0, "stream_lag": 0}
    except redis.RedisError as exc:
        return {"stream_length": None, "stream_pending": None, "stream_lag": None, "redis_error": str(exc)}
    group = next((g for g in groups if (g.get("name") in (GROUP, GROUP.encode()))), None)
    if group is None:
        return {"stream_length": length, "stream_pending": 0, "stream_lag": length}
    return {"stream_length": length, "stream_pending": int(group.get("pending") or 0),
            "stream_lag": None if group.get("lag") is None else int(group["lag"])}


def market_health() -> list[dict]:
    """Health of every market's engine, with a level (ok, warn, red) and the problems found."""
    now = timezone.now()
    holders = _lock_holders()
    states = {s.market_id: s for s in MatcherState.objects.all()}
    unapplied = {
        row["market_id"]: row
        for row in Command.objects.filter(applied_sequence__isnull=True).values("market_id")
        .annotate(n=Count("id"), oldest=Min("created_at"))
    }
    applied_recently = dict(
        Command.objects.filter(created_at__gte=now - timedelta(seconds=RATE_WINDOW_SECONDS), applied_sequence__isnull=False)
        .values("market_id").annotate(n=Count("id")).values_list("market_id", "n")
    )
    heartbeat_max = settings.EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE
    lag_max = settings.EXCHANGE_MATCHER_LAG_MAX_SECONDS
    rows = []
    for market in Market.objects.only("id", "symbol", "status").order_by("symbol"):
        state = states.get(market.pk)
        pid = holders.get(zlib.crc32(market.symbol.encode()))
        backlog: Mapping = unapplied.get(market.pk, {"n": 0, "oldest": None})
        heartbeat_age = None if state is None or state.heartbeat_at is None else (now - state.heartbeat_at).total_seconds()
        oldest_age = None if backlog["oldest"] is None else max(0.0, (now - backlog["oldest"]).total_seconds())
        row = {
            "market": market.symbol,
            "status": market.status,
            "owned": pid is not None,
            "owner": (state.owner if state else "") if pid is not None else "",
            "owner_pid": pid,
            "heartbeat_age": None if heartbeat_age is None else round(heartbeat_age, 1),
            "last_sequence": state.last_sequence if state else 0,
            "unapplied_commands": backlog["n"],
            "oldest_unapplied_age": None if oldest_age is None else round(oldest_age, 1),
            "commands_per_second": round(applied_recently.get(market.pk, 0) / RATE_WINDOW_SECONDS, 2),
            **_stream_info(market.symbol),
        }
        problems, level = [], OK
        idle = market.status == MarketStatus.DELISTED and not backlog["n"]
        if pid is None:
            problems.append("no matcher holds this market")
            level = WARN if idle else RED
        elif heartbeat_age is None or heartbeat_age > heartbeat_max:
            problems.append(f"heartbeat older than {heartbeat_max:g} s")
            level = RED
        if oldest_age is not None and oldest_age > lag_max:
            problems.append(f"lagging: {backlog['n']} commands unapplied, oldest {oldest_age:.0f} s")
            level = RED
        elif oldest_age is not None and oldest_age > lag_max / 2 and level == OK:
            problems.append(f"backlog of {backlog['n']} commands")
            level = WARN
        if row.get("redis_error"):
            problems.append("Redis: " + row["redis_error"])
            level = RED
        row["level"], row["problems"] = level, problems
        rows.append(row)
    return rows


def celery_health(*, ping_timeout: float = 0.5) -> dict:
    """Queue lengths on the broker and the workers that answer a ping (cached 10 s: a ping
    waits its whole timeout)."""
    cached = cache.get("console:celery_health")
    if cached is not None:
        return cached
    queues = {getattr(q, "name", q) for q in (getattr(settings, "CELERY_TASK_QUEUES", None) or [])} or {"celery"}
    result: dict = {"queues": {}, "workers": [], "error": ""}
    try:
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        result["queues"] = {name: broker.llen(name) for name in sorted(queues)}
        from exchange.celery import app

        replies = app.control.ping(timeout=ping_timeout) or []
        result["workers"] = sorted(name for reply in replies for name, answer in reply.items() if answer.get("ok") == "pong")
    except Exception as exc:  # the dashboard must render whatever the broker does
        result["error"] = f"{type(exc).__name__}: {exc}"
    cache.set("console:celery_health", result, 10)
    return result


def launcher_health(*, recent_seconds: float = 60) -> list[dict]:
    """The launcher's processes (scripts/launch.py): size, restarts, and whether one restarted
    in the last minute. Empty when the venue runs some other way."""
    try:
        rows = launcher_status(redis_client())
    except redis.RedisError:
        return []
    now = time.time()
    for row in rows:
        age = now - row["last_spawn"] if row["last_spawn"] else None
        row["last_spawn_age"] = None if age is None else round(age, 1)
        row["level"] = WARN if row["restarts"] and age is not None and age < recent_seconds else OK
    return rows


def venue_health() -> dict:
    """Everything the dashboard's health panel shows, with the alerts to raise."""
    markets = market_health()
    celery = celery_health()
    processes = launcher_health()
    alerts = [f"{m['market']}: {p}" for m in markets for p in m["problems"] if m["level"] == RED]
    alerts += [f"{p['process']} restarted {p['last_spawn_age']:.0f} s ago ({p['restarts']} restarts)"
               for p in processes if p["level"] != OK]
    if celery["error"]:
        alerts.append(f"Celery broker: {celery['error']}")
    elif not celery["workers"]:
        alerts.append("no Celery worker answers")
    level = RED if any(m["level"] == RED for m in markets) else (
        WARN if alerts or any(m["level"] == WARN for m in markets) else OK)
    return {"generated_at": timezone.now().isoformat(), "level": level, "alerts": alerts, "markets": markets,
            "celery": celery, "processes": processes}


