"""Market sockets with ``?updates=100ms`` (``exchange/marketdata/windows.py``) against the real
consumer, hub and Redis: one message per window holding every message the default socket sends,
in order, with the book chain contiguous across windows; the window built once per process;
snapshot filtering; an invalid value refused; a slow batched socket closed."""
import asyncio
import itertools
import json

import pytest
import redis

from exchange.infra.pubsub import hub_publish
from exchange.marketdata.groups import market_group
from exchange.marketdata.hub import hub
from exchange.marketdata.windows import batch_text, window_for
from tests.marketdata.conftest import communicator, receive

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = market_group("BTC-USD")


def book(sequence: int, prev: int) -> dict:
    return {"type": "book", "market": "BTC-USD", "sequence": sequence, "prev_sequence": prev,
            "changes": [["buy", "29000", "0.1"]], "checksum": 1}


def trade(sequence: int) -> dict:
    return {"type": "trade", "market": "BTC-USD", "trade_id": f"BTC-USD:{sequence}", "sequence": sequence,
            "price": "30000", "quantity": "0.01", "side": "buy", "ts": "2026-12-07T18:00:00Z"}


def batches(count: int) -> list[dict]:
    """``count`` matcher batches from sequence 1, as the fan-out publishes them: the book message
    (at the batch's sequence), then the batch's trades (their own, lower, sequences); every
    second batch has a trade."""
    out, sequence, prev = [], 1, 0
    for index in range(count):
        if index % 2 == 0:
            out.append({"type": "md.batch", "frames": [book(sequence + 1, prev), trade(sequence)]})
            prev, sequence = sequence + 1, sequence + 2
        else:
            out.append({"type": "md.batch", "frames": [book(sequence, prev)]})
            prev, sequence = sequence, sequence + 1
    return out


TICKER = {"type": "md.ticker", "ticker": {"type": "ticker", "market": "BTC-USD", "last": "30000"}}


def publish(redis_url: str, events: list[dict]) -> None:
    hub_publish(redis.Redis.from_url(redis_url), [(GROUP, event) for event in events])


async def opened(path: str):
    socket = communicator(path)
    ok, _ = await socket.connect()
    assert ok
    snapshot = await receive(socket)
    assert snapshot["type"] == "snapshot", snapshot
    return socket, snapshot


async def drain(socket, quiet: float = 1.5) -> list[str]:
    """Every text the socket is sent until it has been quiet for ``quiet`` seconds."""
    texts = []
    while not await socket.receive_nothing(timeout=quiet):
        texts.append((await socket.receive_output())["text"])
    return texts


def test_batched_socket_gets_every_message_of_the_default_socket_in_order_across_windows(market, redis_url):
    async def scenario() -> tuple[list[str], list[str]]:
        alone, _ = await opened("/ws/markets/BTC-USD/")
        batched, _ = await opened("/ws/markets/BTC-USD/?updates=100ms")
        flow = batches(40)
        for round_ in range(4):  # windows apart: several batch messages
            publish(redis_url, [*flow[10 * round_:10 * round_ + 10], TICKER])
            await asyncio.sleep(0.35)
        got = await drain(alone), await drain(batched)
        for socket in (alone, batched):
            await socket.disconnect()
        return got

    singles, windows = asyncio.run(scenario())
    decoded = [json.loads(text) for text in windows]
    assert all(set(message) == {"type", "messages"} and message["type"] == "batch" for message in decoded)
    assert all(message["messages"] for message in decoded)  # an empty window sends nothing
    assert 4 <= len(decoded) < len(singles)
    inner = [m for message in decoded for m in message["messages"]]
    assert inner == [json.loads(text) for text in singles]  # each exactly as sent alone, in order
    chain = [m for m in inner if m["type"] == "book"]
    assert len(chain) == 40
    assert all(m["prev_sequence"] == previous["sequence"] for previous, m in itertools.pairwise(chain))
    assert len([m for m in inner if m["type"] == "trade"]) == 20
    assert len([m for m in inner if m["type"] == "ticker"]) == 4
    # One window's text is the messages' own texts joined: what a default socket is sent, verbatim.
    assert windows[0] == batch_text(singles[:len(decoded[0]["messages"])])


def test_a_window_is_built_once_in_the_process_and_shared_by_its_sockets(redis_url):
    async def scenario() -> None:
        first, second, other = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
        assert await hub().join(GROUP, first, 0.1)
        assert await hub().join(GROUP, second, 0.1)
        assert await hub().join(GROUP, other, 1.0)
        assert GROUP not in hub().members  # batched sockets are not sent each message
        assert {s: len(w.queues) for s, w in hub().windows[GROUP].items()} == {0.1: 2, 1.0: 1}
        publish(redis_url, batches(3))
        one, two = await asyncio.wait_for(first.get(), 10), await asyncio.wait_for(second.get(), 10)
        assert one is two  # the same event, the same text: built once for every socket of the window
        assert [sequence for sequence, _ in one["parts"]] == [2, 1, 3, 5, 4]
        assert one["text"] == batch_text(text for _, text in one["parts"])
        assert (await asyncio.wait_for(other.get(), 10))["text"] == one["text"]
        await asyncio.sleep(1.5)  # no message, no window
        assert first.empty()
        assert second.empty()
        assert other.empty()
        for queue in (first, second, other):
            hub().leave(GROUP, queue)
        assert GROUP not in hub().windows

    asyncio.run(scenario())


def test_a_snapshot_inside_a_window_gets_that_socket_the_messages_after_it(market, redis_url):
    from exchange.marketdata.selectors import book_store

    async def scenario() -> tuple[list[str], list[str]]:
        before, snapshot = await opened("/ws/markets/BTC-USD/?updates=1000ms")
        assert snapshot["sequence"] == 0
        # The book moves to 3 (as the matcher writes it before publishing); a socket opening now
        # has its snapshot at 3, inside the window that the messages 1..6 will share.
        book_store().write("BTC-USD", mode="reset", expected_head=None, head=3, message=None, changes=[])
        after, snapshot = await opened("/ws/markets/BTC-USD/?updates=1000ms")
        assert snapshot["sequence"] == 3
        publish(redis_url, [*batches(4), TICKER])
        got = await drain(before, 2.5), await drain(after, 2.5)
        for socket in (before, after):
            await socket.disconnect()
        return got

    everything, filtered = asyncio.run(scenario())
    inner = [m for text in everything for m in json.loads(text)["messages"]]
    assert [m.get("sequence") for m in inner] == [2, 1, 3, 5, 4, 6, None]
    mine = [m for text in filtered for m in json.loads(text)["messages"]]
    assert [m.get("sequence") for m in mine] == [5, 4, 6, None]  # the book chains from 3: 5's prev_sequence
    assert mine == [m for m in inner if m.get("sequence") is None or m["sequence"] > 3]


def test_window_for_filters_by_snapshot_and_shares_the_text_otherwise():
    parts = [(5, '{"s": 5}'), (4, '{"s": 4}'), (None, '{"t": 1}'), (6, '{"s": 6}')]
    event = {"type": "md.window", "text": batch_text(text for _, text in parts), "parts": parts, "lowest": 4}
    assert window_for(event, 3) is event["text"]
    assert json.loads(window_for(event, 4)) == {"type": "batch", "messages": [{"s": 5}, {"t": 1}, {"s": 6}]}
    assert json.loads(window_for(event, 6)) == {"type": "batch", "messages": [{"t": 1}]}
    assert window_for({**event, "parts": parts[:2], "lowest": 4}, 9) is None


@pytest.mark.parametrize("query", ["updates=5ms", "updates=", "updates=100ms&updates=1000ms", "updates=100MS"])
def test_an_invalid_updates_value_is_refused(market, redis_url, query):
    async def scenario() -> tuple[dict, dict]:
        socket = communicator(f"/ws/markets/BTC-USD/?{query}")
        ok, _ = await socket.connect()
        assert ok
        error = await receive(socket)
        closed = await socket.receive_output(timeout=10)
        assert GROUP not in hub().windows
        assert GROUP not in hub().members
        return error, closed

    error, closed = asyncio.run(scenario())
    assert error["type"] == "error"
    assert error["code"] == "invalid_updates"
    assert "100ms" in error["message"]
    assert closed == {"type": "websocket.close", "code": 4400}


def test_a_batched_socket_that_falls_behind_is_closed_to_resync(redis_url):
    async def scenario() -> None:
        slow, fast = asyncio.Queue(), asyncio.Queue()
        assert await hub().join(GROUP, slow, 0.1)
        assert await hub().join(GROUP, fast, 0.1)
        window = hub().windows[GROUP][0.1]
        for _ in range(window.backlog_max):  # a consumer that stopped reading: 10 s of windows
            slow.put_nowait({"type": "md.window"})
        publish(redis_url, batches(1))
        assert [s for s, _ in (await asyncio.wait_for(fast.get(), 10))["parts"]] == [2, 1]
        assert window.queues == {fast}
        assert slow.qsize() == 1
        assert slow.get_nowait() == {"type": "layer.lost"}  # its socket closes with 4503; the client resyncs
        hub().leave(GROUP, fast)

    asyncio.run(scenario())
