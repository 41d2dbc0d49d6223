"""Market data at scale: many WebSocket subscribers to one market while orders arrive.

    DATABASE_URL=... .venv/bin/python bench/fanout.py --url http://127.0.0.1:8000 \\
        --subscribers 1000 --rate 250 --seconds 30 [--updates 100ms | --updates 1000ms | --updates none]

Two phases in the same run against the same venue: **baseline**, the order load alone, then
**fan-out**, the same load with ``--subscribers`` sockets on ``/ws/markets/{market}/`` (spread over
``--subscriber-procs`` processes, one asyncio loop each), opened with ``?updates=100ms`` by
default (one ``batch`` message per window; ``--updates none``: every message alone, the default
contract). Orders are sent open loop (every order has its scheduled time; latency counts from
it) by bench/entry.py's generator (``--procs`` processes, aiohttp): a third cross, so trades
happen. Prints, per phase, entry.py's row (accepted orders/s, POST latency, statuses) and its
market-data line, and for the fan-out phase: sockets connected, refused and closed early by the
server; WebSocket messages and the market messages in them; book messages and gaps (a book
message whose ``prev_sequence`` is not the previous one's ``sequence``, inside a batch or across
messages); and the delivery delay of every trade message (inside batches too) from the trade's
time (the matcher's batch, just before its commit) to the arrival of the WebSocket message that
holds it at each subscriber: p50/p99/max over every (trade, subscriber). A trade's time is its
order's entry, so that delay includes the order's way through entry and the matcher; with
``--redis-url`` (default: REDIS_URL) each subscriber process also listens on the market's Redis
channel, as a web process's hub does, and prints the delay from the fan-out's PUBLISH to
arrival: the web tier's and the clients' own share.

The subscribers share the 2 cores with the venue, so they are cheap: a text is parsed (orjson)
once per process, not once per socket: the sockets of a process receive the same texts (a
window's text is the same string for every batched socket), so what a text holds (its book
sequences and gaps, its trades' times) is kept by the text and each socket checks its own chain
against it. Delays are counted in a millisecond histogram, not a list.

Run the venue with rate limits raised (see bench/entry.py). Latencies are on one machine's clock.
"""
import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import aiohttp
import orjson
import redis.asyncio as aioredis
from redis.connection import parse_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_share import Sampler
from entry import add_order_arguments, create_keys, market_report, report, run

CACHE_MAX = 20_000  # texts remembered per process (a few seconds' worth)


class Text:
    """What one received text holds, parsed once per process: its book chain (first
    ``prev_sequence``, last ``sequence``, book messages and gaps inside it), its trades' times,
    its market messages, or the snapshot's sequence."""

    __slots__ = ("books", "first_prev", "inner_gaps", "last", "messages", "snapshot", "trade_sequences",
                 "trade_times")

    def __init__(self, raw: str | bytes, times: dict[str, float]) -> None:
        message = orjson.loads(raw)
        kind = message.get("type")
        inner = message["messages"] if kind == "batch" else [message]
        self.snapshot = message["sequence"] if kind == "snapshot" else None
        self.messages = len(inner) if self.snapshot is None else 0
        self.books = self.inner_gaps = 0
        self.first_prev = self.last = None
        self.trade_times: list[float] = []
        self.trade_sequences: list[int] = []
        for item in inner:
            kind = item.get("type")
            if kind == "book":
                self.books += 1
                if self.last is None:
                    self.first_prev = item["prev_sequence"]
                elif item["prev_sequence"] != self.last:
                    self.inner_gaps += 1
                self.last = item["sequence"]
            elif kind == "trade":
                ts = item["ts"]
                sent = times.get(ts)
                if sent is None:
                    sent = times[ts] = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                self.trade_times.append(sent)
                self.trade_sequences.append(item["sequence"])


class Subscribers:
    """This process's sockets, their shared parse cache and their counts."""

    def __init__(self, url: str, market: str, updates: str, redis_url: str | None) -> None:
        self.url = url
        self.market = market
        self.redis_url = redis_url
        self.published: dict[int, float] = {}  # trade sequence -> when its PUBLISH reached this process
        self.ws_url = url.replace("http", "ws", 1) + f"/ws/markets/{market}/" + (
            "" if updates == "none" else f"?updates={updates}")
        self.texts: dict[str | bytes, Text] = {}
        self.times: dict[str, float] = {}
        self.sockets: list = []
        self.stopping = False
        self.stats = {"connected": 0, "refused": 0, "closed_early": 0, "ws_messages": 0, "messages": 0,
                      "book": 0, "gaps": 0, "trades": 0, "max": 0.0}
        self.delays: Counter = Counter()  # whole milliseconds -> trade messages delivered that late
        self.from_publish: Counter = Counter()  # the same from the PUBLISH
        self.unpublished = 0  # trades whose PUBLISH this process had not heard (should stay 0)

    def parsed(self, raw: str | bytes) -> Text:
        text = self.texts.get(raw)
        if text is None:
            if len(self.texts) >= CACHE_MAX:
                self.texts.clear()
                self.times.clear()
            text = self.texts[raw] = Text(raw, self.times)
        return text

    async def one(self, session: aiohttp.ClientSession) -> None:
        stats, delays = self.stats, self.delays
        try:
            ws = await session.ws_connect(self.ws_url, headers={"Origin": self.url}, max_msg_size=0,
                                          timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10))
        except (OSError, TimeoutError, aiohttp.ClientError):
            stats["refused"] += 1
            return
        stats["connected"] += 1
        self.sockets.append(ws)
        last = None
        try:
            async for frame in ws:
                now = time.time()
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                raw = frame.data
                text = self.parsed(raw)
                stats["ws_messages"] += 1
                if text.snapshot is not None:
                    last = text.snapshot
                    continue
                stats["messages"] += text.messages
                if text.books:
                    stats["book"] += text.books
                    stats["gaps"] += text.inner_gaps + (last is not None and text.first_prev != last)
                    last = text.last
                for sent in text.trade_times:
                    delay = now - sent
                    delays[int(delay * 1000)] += 1
                    if delay > stats["max"]:
                        stats["max"] = delay
                if self.redis_url:
                    for sequence in text.trade_sequences:
                        published = self.published.get(sequence)
                        if published is None:
                            self.unpublished += 1
                        else:
                            self.from_publish[int((now - published) * 1000)] += 1
                stats["trades"] += len(text.trade_times)
        except (OSError, aiohttp.ClientError):
            pass
        if not self.stopping:
            stats["closed_early"] += 1

    async def listen(self) -> None:
        """When each trade's PUBLISH reaches this process (the market's hub channel, infra/pubsub)."""
        db = parse_url(self.redis_url).get("db", 0)
        client = aioredis.Redis.from_url(self.redis_url)
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(f"exchange.md.{db}.market.{self.market}")
            async for message in pubsub.listen():
                if self.stopping:
                    break
                if message["type"] != "message":
                    continue
                now = time.time()
                event = orjson.loads(message["data"])
                for frame in event.get("frames", ()):
                    if frame.get("type") == "trade":
                        self.published[frame["sequence"]] = now
        await client.aclose()

    async def run(self, count: int, load: float, stop: float) -> dict:
        """Hold ``count`` sockets until ``stop``; this process's CPU is measured from ``load``."""
        cpu: list[float] = []
        listener = asyncio.create_task(self.listen()) if self.redis_url else None

        async def stopper() -> None:
            await asyncio.sleep(max(0.0, load - time.time()))
            cpu.append(time.process_time())
            await asyncio.sleep(max(0.0, stop - time.time()))
            cpu.append(time.process_time())
            self.stopping = True
            await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

        # aiohttp: its WebSocket frames are read by a compiled parser (the websockets package's
        # are Python), and the subscribers share the venue's cores.
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, connect=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(stopper(), *(self.one(session) for _ in range(count)))
        if listener is not None:
            listener.cancel()
        return {**self.stats, "delays": dict(self.delays), "from_publish": dict(self.from_publish),
                "unpublished": self.unpublished, "cores": (cpu[1] - cpu[0]) / max(1.0, stop - load)}


def subscriber_process(url: str, market: str, updates: str, redis_url: str | None, count: int, load: float,
                       stop: float, out) -> None:
    out.put(asyncio.run(Subscribers(url, market, updates, redis_url).run(count, load, stop)))


def histogram_pct(delays: Counter, q: float) -> float:
    """The ``q`` quantile of a millisecond histogram, in ms (the bucket's upper edge)."""
    total = sum(delays.values())
    if not total:
        return float("nan")
    rank, seen = min(total - 1, int(q * total)), 0
    for ms in sorted(delays):
        seen += delays[ms]
        if seen > rank:
            return ms + 1.0
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_order_arguments(parser)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--subscriber-procs", type=int, default=2, help="processes holding the subscribers")
    parser.add_argument("--procs", type=int, default=2, help="processes sending the orders")
    parser.add_argument("--connections", type=int, default=128, help="keep-alive connections per sending process")
    parser.add_argument("--rate", type=float, default=250, help="orders per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--updates", default="100ms",
                        help="the sockets' ?updates= window (100ms, 1000ms), or none: every message alone")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="the venue's Redis, to time each trade's PUBLISH (default: REDIS_URL)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the phase without subscribers")
    args = parser.parse_args()
    args.batch, args.depth_rate = 1, 5  # single orders; entry.py's market observer polls depth lightly
    keys = create_keys(args.users, f"fanout{int(time.time())}")
    phase = ("orders", args.rate, args.seconds)
    # The subscribers are this bench's children: the "generator" row counts them with the order
    # senders; their own share is printed at the end.
    sampler = Sampler(database=os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0]).start()

    if not args.no_baseline:
        records, fills, market = run(args, keys, [phase])
        print("baseline:", end=" ")
        report(records, fills, *phase, sampler)
        market_report(market, "baseline")

    out = multiprocessing.Queue()
    connect_time = max(10.0, args.subscribers / 100)
    load = time.time() + connect_time
    stop = load + args.seconds + 5
    share = args.subscribers // args.subscriber_procs
    procs = [multiprocessing.Process(target=subscriber_process,
                                     args=(args.url, args.market, args.updates, args.redis_url, share, load, stop, out))
             for _ in range(args.subscriber_procs)]
    for proc in procs:
        proc.start()
    time.sleep(connect_time)  # every socket connected and holding its snapshot before the load
    print(f"fan-out   the load starts at {time.strftime('%H:%M:%S')}", flush=True)
    records, fills, market = run(args, keys, [phase])
    print("fan-out:", end=" ")
    report(records, fills, *phase, sampler)
    market_report(market, "fan-out")
    stats = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    delays: Counter = Counter()
    from_publish: Counter = Counter()
    for s in stats:
        delays.update({int(ms): n for ms, n in s["delays"].items()})
        from_publish.update({int(ms): n for ms, n in s["from_publish"].items()})

    def total(key: str) -> int:
        return sum(s[key] for s in stats)

    print(f"fan-out   updates={args.updates}  sockets: connected {total('connected')}  refused {total('refused')}  "
          f"closed early {total('closed_early')}  WebSocket messages {total('ws_messages')}  "
          f"market messages {total('messages')}  book messages {total('book')}  gaps {total('gaps')}")
    print(f"fan-out   trade delivery over {sum(delays.values())} (trade, subscriber) deliveries: "
          f"p50 {histogram_pct(delays, 0.50):.0f} ms  p99 {histogram_pct(delays, 0.99):.0f} ms  "
          f"max {max(s['max'] for s in stats) * 1000:.1f} ms")
    if args.redis_url:
        print(f"fan-out   the same from the fan-out's PUBLISH: p50 {histogram_pct(from_publish, 0.50):.0f} ms  "
              f"p99 {histogram_pct(from_publish, 0.99):.0f} ms  max {max(from_publish, default=-1) + 1} ms  "
              f"(trades whose PUBLISH was not heard: {total('unpublished')})")
    print(f"fan-out   the subscriber processes kept {sum(s['cores'] for s in stats):.2f} cores busy during the load")
    sampler.stop()


if __name__ == "__main__":
    main()
