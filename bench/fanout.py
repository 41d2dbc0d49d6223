"""Market data at scale: many WebSocket subscribers to one market while orders arrive.

    DATABASE_URL=... .venv/bin/python bench/fanout.py --url http://127.0.0.1:8000 \\
        --subscribers 1000 --rate 250 --seconds 30

Two phases in the same run against the same venue: **baseline**, the order load alone, then
**fan-out**, the same load with ``--subscribers`` sockets on ``/ws/markets/{market}/`` (spread over
``--subscriber-procs`` processes, one asyncio loop each). Orders are sent open-loop (every order
has its scheduled time; latency counts from it) by bench/entry.py's generator (``--procs``
processes, aiohttp): a third cross, so trades happen. Prints, per phase, entry.py's row (accepted
orders/s, POST latency, statuses) and its market-data line, and for the fan-out phase:
sockets connected and refused, delivery latency of trade messages from the trade's time (the
matcher's batch, just before its commit) to its arrival at each subscriber (p50/p99/max over
every subscriber), book messages received, and gaps (a book message whose ``prev_sequence`` is not
the previous one's ``sequence``).

Run the venue with rate limits raised (see bench/entry.py). Latencies are on one machine's clock.
"""
import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from entry import add_order_arguments, create_keys, market_report, market_subscriber, pct, report, run


def subscriber_process(url: str, market: str, count: int, stop: float, out) -> None:
    stats = {"connected": 0, "refused": 0, "book": 0, "gaps": 0, "delays": []}

    async def main() -> None:
        await asyncio.gather(*(market_subscriber(url, market, stats, stop) for _ in range(count)))

    asyncio.run(main())
    out.put(stats)


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
    args = parser.parse_args()
    args.batch, args.depth_rate = 1, 5  # single orders; entry.py's market observer polls depth lightly
    keys = create_keys(args.users, f"fanout{int(time.time())}")
    phase = ("orders", args.rate, args.seconds)

    records, fills, market = run(args, keys, [phase])
    print("baseline:", end=" ")
    report(records, fills, *phase)
    market_report(market, "baseline")

    out = multiprocessing.Queue()
    connect_time = max(10.0, args.subscribers / 100)
    stop = time.time() + connect_time + args.seconds + 5
    share = args.subscribers // args.subscriber_procs
    procs = [multiprocessing.Process(target=subscriber_process, args=(args.url, args.market, share, stop, out))
             for _ in range(args.subscriber_procs)]
    for proc in procs:
        proc.start()
    time.sleep(connect_time)  # every socket connected and holding its snapshot before the load
    records, fills, market = run(args, keys, [phase])
    print("fan-out:", end=" ")
    report(records, fills, *phase)
    market_report(market, "fan-out")
    stats = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    delays = [d for s in stats for d in s["delays"]]
    print(f"fan-out   sockets: connected {sum(s['connected'] for s in stats)}  refused {sum(s['refused'] for s in stats)}  "
          f"book messages {sum(s['book'] for s in stats)}  gaps {sum(s['gaps'] for s in stats)}")
    print(f"fan-out   trade delivery over {len(delays)} messages: p50 {pct(delays, 0.50):.1f} ms  "
          f"p99 {pct(delays, 0.99):.1f} ms  max {max(delays, default=0) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
