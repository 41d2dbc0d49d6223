"""Caught-up market sockets are written to by the hub itself (``exchange/marketdata/wire.py``),
against a real Daphne process, the real hub and Redis: every socket, default and ``?updates=``,
gets exactly the texts of the ordinary path in order (the book chain contiguous), a socket that
stops reading is closed (it never was on the queue path, where Twisted buffered for it without
end) while the others carry on, and a Redis loss still closes every socket with 4503."""
import asyncio
import itertools
import json
import time

import pytest
import redis
import websockets

from exchange.infra.pubsub import channel_prefix, hub_publish
from exchange.marketdata.groups import market_group
from exchange.marketdata.windows import frame_text
from tests.marketdata.test_redis_restart import own_redis  # noqa: F401  (fixture)
from tests.marketdata.test_update_windows import TICKER, batches

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = market_group("BTC-USD")


def publish(redis_url: str, events: list[dict]) -> None:
    hub_publish(redis.Redis.from_url(redis_url), [(GROUP, event) for event in events])


async def read_until_quiet(ws, quiet: float = 1.5) -> list[str]:
    texts = []
    while True:
        try:
            texts.append(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return texts


def test_every_socket_gets_the_ordinary_texts_in_order(market, redis_url, start_web):
    web = start_web()
    base = web.url.replace("http", "ws") + "/ws/markets/BTC-USD/"
    flow = batches(60)

    async def scenario() -> tuple[list[list[str]], list[list[str]]]:
        alone = [await websockets.connect(base, origin=web.url) for _ in range(6)]
        batched = [await websockets.connect(base + "?updates=100ms", origin=web.url) for _ in range(6)]
        for ws in alone + batched:
            assert json.loads(await ws.recv())["type"] == "snapshot"
        # Rounds windows apart: the first message of each socket goes the ordinary way and makes
        # it caught up; the rest are written to it directly.
        for round_ in range(6):
            publish(redis_url, [*flow[10 * round_:10 * round_ + 10], TICKER])
            await asyncio.sleep(0.3)
        got = await asyncio.gather(*(read_until_quiet(ws) for ws in alone + batched))
        for ws in alone + batched:
            await ws.close()
        return got[:len(alone)], got[len(alone):]

    alone, batched = asyncio.run(scenario())
    expected = []
    for round_ in range(6):
        for event in flow[10 * round_:10 * round_ + 10]:
            expected.extend(frame_text(event, index) for index in range(len(event["frames"])))
        expected.append(json.dumps(TICKER["ticker"]))
    for texts in alone:
        assert texts == expected  # byte for byte what the ordinary path sends, each message alone
    for texts in batched:
        decoded = [json.loads(text) for text in texts]
        assert all(message["type"] == "batch" and message["messages"] for message in decoded)
        assert [m for message in decoded for m in message["messages"]] == [json.loads(t) for t in expected]
        assert len(decoded) >= 6
    chain = [json.loads(t) for t in expected if json.loads(t)["type"] == "book"]
    assert all(m["prev_sequence"] == previous["sequence"] for previous, m in itertools.pairwise(chain))


def big_batches(count: int, start: int) -> list[dict]:
    """Book messages of about 60 kB each (a long list of changes), their chain unbroken."""
    changes = [["buy", f"{29000 + i}.5", "0.1"] for i in range(2000)]
    return [{"type": "md.batch", "frames": [{"type": "book", "market": "BTC-USD", "sequence": start + n + 1,
                                             "prev_sequence": start + n, "changes": changes, "checksum": 1}]}
            for n in range(count)]


@pytest.mark.parametrize("query", ["", "?updates=100ms"])
def test_a_socket_that_stops_reading_is_closed_and_the_others_carry_on(market, redis_url, start_web, query):
    web = start_web(EXCHANGE_MD_SOCKET_STALL_SECONDS="1")
    url = web.url.replace("http", "ws") + "/ws/markets/BTC-USD/" + query

    async def scenario() -> tuple[int, str, int]:
        # max_queue=1: the client stops reading from TCP as soon as one message waits for recv.
        slow = await websockets.connect(url, origin=web.url, max_queue=1, max_size=None)
        healthy = await websockets.connect(url, origin=web.url, max_size=None)
        assert json.loads(await slow.recv())["type"] == "snapshot"
        assert json.loads(await healthy.recv())["type"] == "snapshot"
        publish(redis_url, [TICKER])  # one message each: both are caught up from now on
        assert "ticker" in await slow.recv()
        assert "ticker" in await healthy.recv()
        books = 0
        deadline = time.monotonic() + 6  # ~60 MB offered, far more than the kernel buffers hold
        async def keep_reading() -> None:
            nonlocal books
            while True:
                message = json.loads(await healthy.recv())
                books += len(message.get("messages", [message]))
        reader = asyncio.get_running_loop().create_task(keep_reading())
        sequence = 0
        while time.monotonic() < deadline:
            publish(redis_url, big_batches(10, sequence))
            sequence += 10
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        reader.cancel()
        # The slow client reads again: what it gets ends with the server closing it.
        code = None
        try:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
        state = healthy.state.name
        await healthy.close()
        return code, state, books - sequence

    code, healthy_state, missing = asyncio.run(scenario())
    assert code in (4503, 1006)  # its close frame, or the connection dropped behind its unread bytes
    assert healthy_state == "OPEN"
    assert missing == 0  # the reading socket got every book message


def test_caught_up_sockets_are_closed_4503_when_redis_is_lost(market, own_redis, start_web):  # noqa: F811
    web = start_web(REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0")
    base = web.url.replace("http", "ws") + "/ws/markets/BTC-USD/"

    async def scenario() -> list[tuple[dict, int]]:
        sockets = [await websockets.connect(base + query, origin=web.url) for query in ("", "?updates=100ms")]
        for ws in sockets:
            assert json.loads(await ws.recv())["type"] == "snapshot"
        publisher = redis.Redis(port=own_redis.port)
        for _ in range(2):  # the first makes them caught up, the second goes directly
            publisher.publish(channel_prefix(f"redis://127.0.0.1:{own_redis.port}/0") + GROUP, json.dumps(TICKER))
            for ws in sockets:
                assert "ticker" in await asyncio.wait_for(ws.recv(), 5)
        own_redis.kill()
        out = []
        for ws in sockets:
            told = json.loads(await asyncio.wait_for(ws.recv(), 5))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            out.append((told, closed.value.rcvd.code))
        return out

    for told, code in asyncio.run(scenario()):
        assert (told["type"], told["code"]) == ("error", "resync")
        assert code == 4503


def test_a_users_socket_gets_its_messages_as_send_json_wrote_them(market, make_user, redis_url, start_web):
    """The private stream goes the same way once subscribed: every frame of every ``user.events``
    message, in order, byte for byte the JSON text the consumer's ``send_json`` writes; another
    user's messages never reach it; and it still answers its own pings."""
    from exchange.accounts.services import api_key_create
    from exchange.infra.pubsub import user_group
    from exchange.marketdata.auth import ws_signature

    alice, bob = make_user("alice"), make_user("bob")
    key, secret = api_key_create(user=alice, scopes=["read"])
    web = start_web()
    rounds = [[{"type": "order", "id": 10 * r + i, "status": "open", "price": f"{30000 + i}.5", "note": "é"}
               for i in range(1 + r % 3)] for r in range(8)]

    async def scenario() -> list[str]:
        async with websockets.connect(web.url.replace("http", "ws") + "/ws/user/", origin=web.url) as ws:
            timestamp = str(int(time.time() * 1000))
            await ws.send(json.dumps({"type": "auth", "key": key.key, "timestamp": timestamp,
                                      "signature": ws_signature(secret, timestamp)}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            client = redis.Redis.from_url(redis_url)
            for round_, events in enumerate(rounds):
                hub_publish(client, [(user_group(bob.pk), {"type": "user.events", "events": [{"type": "not yours"}]}),
                                     (user_group(alice.pk), {"type": "user.events", "events": events})])
                if round_ == 4:
                    await ws.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(0.2)
            return await read_until_quiet(ws)

    texts = asyncio.run(scenario())
    pong = json.dumps({"type": "pong"})
    assert texts.count(pong) == 1
    assert [t for t in texts if t != pong] == [json.dumps(frame) for events in rounds for frame in events]
