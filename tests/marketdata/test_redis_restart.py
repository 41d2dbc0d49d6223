"""A Redis restart (its data lost) does not strand WebSocket clients: every open socket is told to
resync and closed with 4503, and a client that reconnects as soon as Redis is back gets a fresh
snapshot at once (no stale pooled connection fails its first attempt)."""
import asyncio
import json
import shutil
import socket
import subprocess
import time

import pytest
import websockets

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server of the test's own, so that restarting it disturbs nobody else."""

    def __init__(self, port: int) -> None:
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen([shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
                                         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def own_redis():
    server = Redis(_free_port())
    server.start()
    yield server
    server.kill()


@pytest.mark.parametrize("query", ["", "?updates=100ms"])
def test_sockets_resync_after_redis_restarts_without_its_data(market, own_redis, start_web, query):
    """Default and batched (``?updates=``) market sockets alike."""
    web = start_web(REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0")
    url = web.url.replace("http", "ws") + "/ws/markets/BTC-USD/" + query

    async def scenario() -> tuple[dict, int, float]:
        async with websockets.connect(url, origin=web.url) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            own_redis.kill()
            told = json.loads(await asyncio.wait_for(ws.recv(), 5))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        own_redis.start()
        back = time.monotonic()
        async with websockets.connect(url, origin=web.url) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert snapshot["type"] == "snapshot"
        return told, closed.value.rcvd.code, time.monotonic() - back

    told, code, resynced_in = asyncio.run(scenario())
    assert told["type"] == "error"
    assert told["code"] == "resync"
    assert code == 4503
    assert resynced_in < 2.0


def test_the_multi_market_socket_resyncs_after_redis_restarts(market, own_redis, start_web):
    """The same for /ws/stream/: told to resync (the socket's error shape), closed with 4503, and a
    client that reconnects and subscribes again gets its snapshot at once."""
    web = start_web(REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0")
    url = web.url.replace("http", "ws") + "/ws/stream/"
    subscribe = json.dumps({"op": "subscribe", "channels": ["book", "trades"], "markets": ["BTC-USD"]})

    async def subscribed(ws) -> dict:
        await ws.send(subscribe)
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ack"
        return json.loads(await asyncio.wait_for(ws.recv(), 5))

    async def scenario() -> tuple[dict, int, dict, float]:
        async with websockets.connect(url, origin=web.url) as ws:
            assert (await subscribed(ws))["type"] == "snapshot"
            own_redis.kill()
            told = json.loads(await asyncio.wait_for(ws.recv(), 5))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        own_redis.start()
        back = time.monotonic()
        async with websockets.connect(url, origin=web.url) as ws:
            snapshot = await subscribed(ws)
        return told, closed.value.rcvd.code, snapshot, time.monotonic() - back

    told, code, snapshot, resynced_in = asyncio.run(scenario())
    assert told["type"] == "error"
    assert told["error"]["code"] == "resync"
    assert code == 4503
    assert (snapshot["type"], snapshot["market"], snapshot["channel"]) == ("snapshot", "BTC-USD", "book")
    assert resynced_in < 2.0
