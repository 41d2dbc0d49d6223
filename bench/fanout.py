"""Market data at scale: many WebSocket subscribers to one market while orders arrive.

    DATABASE_URL=... .venv/bin/python bench/fanout.py --url http://127.0.0.1:8000 \\
        --subscribers 1000 --rate 250 --seconds 30

Two phases in the same run against the same venue: **baseline**, the order load alone, then
**fan-out**, the same load with ``--subscribers`` sockets on ``/ws/markets/{market}/`` (spread over
``--procs`` processes, one asyncio loop each). Orders are sent open-loop (every order has its
scheduled time; latency counts from it) by bench/entry.py's generator: a third cross, so trades
happen. Prints, per phase, accepted orders/s and POST latency p50/p99, and for the fan-out phase:
sockets connected and refused, delivery latency of trade messages from the trade's time (the
matcher's batch, just before its commit) to its arrival at each subscriber (p50/p99/max over
every subscriber), book messages received, and gaps (a book message whose ``prev_sequence`` is not
the previous one's ``sequence``).

Run the venue with rate limits raised (see bench/entry.py). Latencies are on one machine's clock.
"""
import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from entry import add_order_arguments, an_order, create_keys, headers, market_subscriber, pct  # the same generator


def subscriber_process(url: str, market: str, count: int, stop: float, out) -> None:
    stats = {"connected": 0, "refused": 0, "book": 0, "gaps": 0, "delays": []}

    async def main() -> None:
        await asyncio.gather(*(market_subscriber(url, market, stats, stop) for _ in range(count)))

    asyncio.run(main())
    out.put(stats)


async def send_orders(args, keys, seconds: float) -> list[tuple[int, float]]:
    """Open loop: order i is due at start + i / rate; returns (status, seconds from due to answer)."""
    results: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as client:
        start = time.monotonic() + 0.2

        async def one(i: int) -> None:
            due = start + i / args.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            key, secret = keys[i % len(keys)]
            order, _ = an_order(args, i)
            body = json.dumps(order).encode()
            try:
                response = await client.post("/api/v1/orders", content=body,
                                             headers=headers(key, secret, "POST", "/api/v1/orders", body))
                results.append((response.status_code, time.monotonic() - due))
            except httpx.HTTPError:
                results.append((0, time.monotonic() - due))

        await asyncio.gather(*(one(i) for i in range(int(args.rate * seconds))))
    return results


def order_report(name: str, results: list, seconds: float) -> None:
    accepted = [lat for status, lat in results if status == 201]
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"{name:9} orders: offered {len(results) / seconds:7.1f}/s  accepted {len(accepted) / seconds:7.1f}/s  "
          f"POST p50 {pct(accepted, 0.50):6.1f} ms  p99 {pct(accepted, 0.99):7.1f} ms  statuses {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_order_arguments(parser)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=2, help="processes holding the subscribers")
    parser.add_argument("--rate", type=float, default=250, help="orders per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    keys = create_keys(args.users, f"fanout{int(time.time())}")

    results = asyncio.run(send_orders(args, keys, args.seconds))
    order_report("baseline", results, args.seconds)

    out = multiprocessing.Queue()
    connect_time = max(10.0, args.subscribers / 100)
    stop = time.time() + connect_time + args.seconds + 2
    procs = [multiprocessing.Process(target=subscriber_process,
                                     args=(args.url, args.market, args.subscribers // args.procs, stop, out))
             for _ in range(args.procs)]
    for proc in procs:
        proc.start()
    time.sleep(connect_time)  # every socket connected and holding its snapshot before the load
    results = asyncio.run(send_orders(args, keys, args.seconds))
    order_report("fan-out", results, args.seconds)
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
