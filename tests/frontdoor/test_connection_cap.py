"""The connection cap holds: two web processes with a small pool, hammered by 64 concurrent
clients, never open more PostgreSQL sessions than their pools allow; overload is a 503 JSON,
never a 500, and PostgreSQL never refuses a connection."""
import asyncio
import itertools
import random
import threading
import time

import httpx
import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)
POOL_MAX = 3


def _conninfo() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1",
                                          port=str(s["PORT"] or 5432), password=s["PASSWORD"] or None)


def test_two_web_processes_stay_under_their_pool_cap(start_web, trader_key, tmp_path):
    env = {"DATABASE_POOL_MAX_SIZE": str(POOL_MAX), "DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_TIMEOUT": "2",
           "EXCHANGE_MAX_INFLIGHT_ORDERS": "64", "EXCHANGE_MAX_INFLIGHT_REQUESTS": "64",
           "EXCHANGE_MAX_OPEN_ORDERS": "100000", "EXCHANGE_API_RECV_WINDOW_MS": "60000"}  # a loaded CI box
    # Sessions already open are not the web processes': this pytest process's own (its Django
    # connection, and those that earlier tests' threads left open in it) and any other. Only the
    # sessions that appear after them are counted against the pools.
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        before = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()").fetchall()]
    webs = [start_web(**env), start_web(**env)]
    sessions: list[int] = []
    busiest: list[tuple] = []
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT pid, state, backend_start, client_port, left(query, 80) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND NOT (pid = ANY(%s))",
                    [before]).fetchall()
                if len(rows) > max(sessions, default=0):
                    busiest[:] = rows  # what the sessions were at the peak, for the failure message
                sessions.append(len(rows))
                time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()

    async def client(n: int, deadline: float, results: list) -> None:
        url = webs[n % 2].url
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for done in itertools.count():
                if done >= 3 and time.monotonic() > deadline:  # at least 3 each, however slow the box
                    break
                if random.random() < 0.7:
                    path, body = trader_key.order()
                    response = await http.post(path, content=body, headers=trader_key.headers("POST", path, body))
                else:
                    # A query of its own: two reads signed in the same millisecond would be a replay.
                    path = f"/api/v1/balances?n={n}-{done}"
                    response = await http.get(path, headers=trader_key.headers("GET", path))
                results.append(response)

    async def hammer() -> list:
        results: list = []
        deadline = time.monotonic() + 5
        await asyncio.gather(*(client(n, deadline, results) for n in range(64)))
        return results

    try:
        responses = asyncio.run(hammer())
    finally:
        stop.set()
        sampler.join()

    by_status = {status: len(list(group)) for status, group in
                 itertools.groupby(sorted(r.status_code for r in responses))}
    assert set(by_status) <= {200, 201, 503}, by_status
    assert sum(by_status.values()) >= 64 * 3, by_status
    assert by_status.get(201, 0) > 64, by_status
    for response in responses:
        if response.status_code == 503:
            assert response.json()["error"]["code"] in ("overloaded", "database_unavailable")
            assert response.headers["Retry-After"]
    # Both pools full, and once in a while a backend the pool has just let go still listed beside
    # its replacement (seen once in four runs on a loaded box; 64 clients without a pool opened
    # 40 sessions per process). The test's own and the sampler's sessions are not counted (the
    # bound was 2 * POOL_MAX + 3 with them; in the full suite, connections left open by earlier
    # tests' threads in this process were counted too, and broke it).
    assert max(sessions) <= 2 * POOL_MAX + 1, busiest
    logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("web-*.log"))
    assert "too many clients" not in logs
    assert "Traceback" not in logs
