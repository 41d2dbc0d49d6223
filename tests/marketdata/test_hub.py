"""The process's market data hub (``exchange/marketdata/hub.py``): one Redis subscription per web
process, every socket of a market fed from it, in order, and nothing heard across Redis databases."""
import asyncio

import pytest
import redis

from exchange.infra.pubsub import hub_publish
from exchange.marketdata.groups import market_group
from exchange.marketdata.hub import SOCKET_QUEUE_MAX, hub
from tests.conftest import TEST_REDIS_DB
from tests.marketdata.conftest import communicator, receive

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 40


def book_frame(sequence: int) -> dict:
    return {"type": "book", "market": "BTC-USD", "sequence": sequence, "prev_sequence": sequence - 1,
            "changes": [["buy", "29000", "0.1"]], "checksum": 1}


async def connected(count: int) -> list:
    sockets = [communicator("/ws/markets/BTC-USD/") for _ in range(count)]
    for socket in sockets:
        ok, _ = await socket.connect()
        assert ok
        assert (await receive(socket))["type"] == "snapshot"
    return sockets


def test_every_socket_gets_each_message_once_in_order_from_one_subscription(market, redis_url):
    async def scenario():
        sockets = await connected(SOCKETS)
        # One subscription for the process, whatever the number of sockets.
        assert len(hub().members[market_group("BTC-USD")]) == SOCKETS
        hub_publish(redis.Redis.from_url(redis_url),
                       [(market_group("BTC-USD"), {"type": "md.batch", "frames": [book_frame(s)]}) for s in range(1, 7)])
        for socket in sockets:
            assert [(await receive(socket))["sequence"] for _ in range(6)] == [1, 2, 3, 4, 5, 6]
            assert await socket.receive_nothing(timeout=0.05)
        for socket in sockets:
            await socket.disconnect()
        assert market_group("BTC-USD") not in hub().members

    asyncio.run(scenario())


def test_a_venue_hears_nothing_from_another_redis_database(redis_url, settings):
    # A group of this test's own: pub/sub channels are server-wide, and a market group's name
    # would reach the sockets of a test running beside this one on the other database.
    group = market_group("HUB-ISOLATION-TEST")
    other_db = redis_url.rsplit("/", 1)[0] + f"/{9 + (TEST_REDIS_DB - 9 + 1) % 7}"

    async def scenario():
        heard: asyncio.Queue = asyncio.Queue()
        assert await hub().join(group, heard)
        settings.REDIS_URL = other_db
        hub_publish(redis.Redis.from_url(other_db), [(group, {"type": "md.batch", "frames": [book_frame(99)]})])
        settings.REDIS_URL = redis_url
        hub_publish(redis.Redis.from_url(redis_url), [(group, {"type": "md.batch", "frames": [book_frame(1)]})])
        assert (await asyncio.wait_for(heard.get(), 10))["frames"][0]["sequence"] == 1
        await asyncio.sleep(0.2)
        assert heard.empty()

    asyncio.run(scenario())


def test_a_socket_that_falls_behind_is_closed_to_resync_and_the_others_go_on(redis_url):
    async def scenario():
        group = market_group("BTC-USD")
        slow, fast = asyncio.Queue(maxsize=SOCKET_QUEUE_MAX), asyncio.Queue(maxsize=SOCKET_QUEUE_MAX)
        assert await hub().join(group, slow)
        assert await hub().join(group, fast)
        for _ in range(SOCKET_QUEUE_MAX):  # a consumer that stopped reading
            slow.put_nowait({"type": "md.ticker"})
        hub_publish(redis.Redis.from_url(redis_url), [(group, {"type": "md.batch", "frames": [book_frame(1)]})])
        assert (await asyncio.wait_for(fast.get(), 10))["frames"][0]["sequence"] == 1
        assert hub().members[group] == {fast}
        assert slow.qsize() == 1
        assert slow.get_nowait() == {"type": "layer.lost"}  # its socket closes with 4503; the client resyncs

    asyncio.run(scenario())
