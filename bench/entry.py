"""Order entry under load: an open-loop generator of signed orders against a running venue.

Open loop: every order has a scheduled send time, fixed in advance; a slow server cannot slow the
generator down, and every latency is measured from the scheduled time, so queueing anywhere
(client or server) shows. Several processes (``--procs``), each with one asyncio loop, keep-alive
HTTP connections and one private WebSocket per API key (``/ws/user/``) on which it sees its
orders' fills. The generator shares the machine with the venue, so its HTTP client is the
cheapest we have: ``bench/rawhttp.py`` (``--client raw``, the default). The generator's whole
CPU per order (signing, the order's JSON, the fill listeners included) is 0.45-0.5 ms with it and
0.7 ms with aiohttp (``--client aiohttp``; aiohttp was itself a third of httpx's).

    DATABASE_URL=... .venv/bin/python bench/entry.py --url http://127.0.0.1:8000 \\
        --steps 100,250,500,1000 --step-seconds 10 --spike-seconds 10 [--batch 10]

The venue must accept the load it is offered apart from shedding: run it with the rate limits
raised (EXCHANGE_RATE_LIMIT_IP_PER_MIN, EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN,
EXCHANGE_RATE_LIMIT_ORDERS) and EXCHANGE_MAX_OPEN_ORDERS high enough for the resting orders. The
bench creates its users and keys with ``manage.py create_api_key`` and funds them with
``manage.py deposit`` against DATABASE_URL, and ends with ``verify_ledger`` and ``verify_journal``.

Orders: about a third cross (IOC buys or sells at a price that takes the other side), the rest
rest a few ticks away from the mid (GTC). Per step it prints offered and accepted orders/s, orders
filled per second (fill messages on the WebSocket), p50/p99/max from the scheduled POST to its
response, the same for refusals (429/503), p50/p99 from POST to the crossing order's first fill,
and the responses by status code, and the p99 of the generator's own send lag (how late it sent, for want
of CPU: latency beyond it is the venue's). After the steps, a spike of 10x the highest step that was
sustained (accepted >= 95% of offered, p99 < 1 s). Throughout the steps and the spike another
process reads ``GET /api/v1/markets/{market}/depth`` open loop (``--depth-rate``, 20/s) and holds one
market socket; after each it prints depth p50/p99, book messages, gaps in their sequence and trade
delivery p99: whether market data stays served while order entry sheds. And per step, from /proc
(``cpu_share.py``), the cores each kind of process kept busy and the milliseconds of CPU one
accepted order cost in each: where the machine's time goes.
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.cpu_share import Sampler, per_order, reference_ms  # noqa: E402
from bench.rawhttp import RawHttpPool  # noqa: E402
from exchange.api.signing import signature  # noqa: E402  (plain HMAC, no Django needed)


def manage(*args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def create_keys(users: int, run: str) -> list[tuple[str, str]]:
    keys = []
    for i in range(users):
        name = f"bench{i}"
        created = json.loads(manage("create_api_key", name, "--create-user", "--scopes", "read", "trade"))
        for asset, amount in (("USD", "1000000000"), ("BTC", "100000")):
            manage("deposit", name, asset, amount, "--reference", f"bench:{run}:{name}:{asset}")
        keys.append((created["key"], created["secret"]))
    return keys


def headers(key: str, secret: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    return {"X-API-KEY": key, "X-API-TIMESTAMP": ts, "X-API-SIGNATURE": signature(secret, ts, method, path, body),
            "Content-Type": "application/json"}


def an_order(args, counter: int) -> tuple[dict, bool]:
    """One order: a third cross (IOC through the mid), the rest rest 1-20 ticks away from it."""
    mid, tick = Decimal(args.mid), Decimal(args.tick)
    side = random.choice(("buy", "sell"))
    crossing = counter % 3 == 0
    if crossing:
        price = mid + 25 * tick if side == "buy" else mid - 25 * tick
    else:
        away = random.randint(1, 20) * tick
        price = mid - away if side == "buy" else mid + away
    # A client order id, as bots send: two orders alike in the same millisecond would otherwise be
    # the same signed request, and the replay guard would refuse the second (401).
    order = {"market": args.market, "side": side, "price": str(price), "quantity": args.quantity,
             "time_in_force": "ioc" if crossing else "gtc", "client_order_id": uuid.uuid4().hex}
    return order, crossing


async def listen_fills(url: str, key: str, secret: str, fills: dict[int, float], ready: asyncio.Event) -> None:
    """The first fill message of each order, by order id, with the time it arrived."""
    ws_url = url.replace("http", "ws", 1) + "/ws/user/"
    async with websockets.connect(ws_url, origin=url, max_size=None, open_timeout=30) as ws:
        ts = str(int(time.time() * 1000))
        await ws.send(json.dumps({"type": "auth", "key": key, "timestamp": ts,
                                  "signature": signature(secret, ts, "GET", "/ws/user/", b"")}))
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "subscribed":
                ready.set()
            elif message.get("type") == "fill":
                fills.setdefault(int(message["fill"]["order_id"]), time.time())


async def market_subscriber(url: str, market: str, stats: dict, stop: float) -> None:
    """One socket on ``/ws/markets/{market}/`` until ``stop``: book messages, gaps (a book message
    whose ``prev_sequence`` is not the previous one's ``sequence``), and each trade message's
    delay from the trade's time (the matcher's batch, just before its commit)."""
    ws_url = url.replace("http", "ws", 1) + f"/ws/markets/{market}/"
    try:
        async with websockets.connect(ws_url, origin=url, max_size=None, open_timeout=60) as ws:
            stats["connected"] += 1
            last = None
            while time.time() < stop:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, stop - time.time()))
                except TimeoutError:
                    break
                now = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "snapshot":
                    last = message["sequence"]
                elif kind == "book":
                    stats["book"] += 1
                    if last is not None and message["prev_sequence"] != last:
                        stats["gaps"] += 1
                    last = message["sequence"]
                elif kind == "trade":
                    sent = datetime.fromisoformat(str(message["ts"]).replace("Z", "+00:00")).timestamp()
                    stats["delays"].append(now - sent)
    except (OSError, websockets.WebSocketException):
        stats["refused"] += 1


async def observe_market(args, stop: float) -> dict:
    """While orders are sent: ``GET .../depth`` open loop at ``--depth-rate`` per second (latency
    from each request's scheduled time) and one market socket checking that its sequence stays
    contiguous: what the rest of the venue sees while order entry is loaded or shedding."""
    stats: dict = {"connected": 0, "refused": 0, "book": 0, "gaps": 0, "delays": [], "depth": []}
    path = f"/api/v1/markets/{args.market}/depth"
    async with aiohttp.ClientSession(base_url=args.url, timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def one(due: float) -> None:
            try:
                async with http.get(path) as response:
                    await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                status = type(exc).__name__
            stats["depth"].append((status, time.time() - due))

        async def poll() -> None:
            tasks, start = [], time.time() + 0.5
            for n in range(int((stop - start) * args.depth_rate)):
                due = start + n / args.depth_rate
                await asyncio.sleep(max(0.0, due - time.time()))
                tasks.append(asyncio.create_task(one(due)))
            await asyncio.gather(*tasks)

        await asyncio.gather(market_subscriber(args.url, args.market, stats, stop), poll())
    return stats


def observer_main(args, stop: float, out) -> None:
    out.put(asyncio.run(observe_market(args, stop)))


async def run_phase(args, keys: list[tuple[str, str]], phases: list[tuple[str, float, float]], out) -> None:
    """Send this process's share of each phase (name, orders/s, seconds) on a fixed schedule."""
    fills: dict[int, float] = {}
    ready = [asyncio.Event() for _ in keys]
    listeners = [asyncio.create_task(listen_fills(args.url, k, s, fills, r)) for (k, s), r in zip(keys, ready, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
    records: list[tuple] = []  # (phase, scheduled, latency, status, order ids, crossing flags, send lag)
    counter = random.randint(0, 2)
    connector = aiohttp.TCPConnector(limit=args.connections)
    raw = RawHttpPool(args.url, limit=args.connections) if args.client == "raw" else None
    async with aiohttp.ClientSession(base_url=args.url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def send(phase: str, scheduled: float, key: str, secret: str, orders: list[tuple[dict, bool]]) -> None:
            lag = time.time() - scheduled  # the generator's own delay: CPU it did not get in time
            if args.batch > 1:
                path, body = "/api/v1/orders/batch", json.dumps({"orders": [o for o, _ in orders]}).encode()
            else:
                path, body = "/api/v1/orders", json.dumps(orders[0][0]).encode()
            try:
                if raw is not None:
                    status, payload = await raw.request("POST", path, headers(key, secret, "POST", path, body), body)
                else:
                    async with http.post(path, data=body, headers=headers(key, secret, "POST", path, body)) as response:
                        status = response.status
                        payload = await response.read()
                if status == 201:
                    ids = [json.loads(payload)["id"]]
                elif status == 200 and args.batch > 1:
                    ids = [r["order"]["id"] if r["status"] == 201 else None for r in json.loads(payload)["results"]]
                else:
                    ids = [None] * len(orders)
            except (TimeoutError, OSError, aiohttp.ClientError) as exc:
                status, ids = type(exc).__name__, [None] * len(orders)
            records.append((phase, scheduled, time.time() - scheduled, status, ids, [c for _, c in orders], lag))

        tasks = []
        for phase, rate, seconds in phases:
            requests_per_s = rate / args.batch
            start = time.time() + 0.2
            for n in range(int(requests_per_s * seconds)):
                scheduled = start + n / requests_per_s
                delay = scheduled - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                key, secret = keys[n % len(keys)]
                orders = []
                for _ in range(args.batch):
                    counter += 1
                    orders.append(an_order(args, counter))
                tasks.append(asyncio.create_task(send(phase, scheduled, key, secret, orders)))
        await asyncio.gather(*tasks)
        await asyncio.sleep(2)  # the last fills
        for listener in listeners:
            listener.cancel()
        out.put((records, fills))
        for key, secret in keys:  # leave nothing resting (a long run leaves thousands per key)
            path = f"/api/v1/orders?market={args.market}"
            try:
                async with http.delete(path, headers=headers(key, secret, "DELETE", path),
                                       timeout=aiohttp.ClientTimeout(total=300)) as response:
                    await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                print(f"cancelling what rests for a key failed: {exc!r}", file=sys.stderr, flush=True)


def process_main(args, keys, phases, out) -> None:
    asyncio.run(run_phase(args, keys, phases, out))


def run(args, keys, phases) -> tuple[list, dict, dict]:
    out: multiprocessing.Queue = multiprocessing.Queue()
    observed: multiprocessing.Queue = multiprocessing.Queue()
    share = [(name, rate / args.procs, seconds) for name, rate, seconds in phases]
    procs = [multiprocessing.Process(target=process_main, args=(args, keys[i::args.procs], share, out))
             for i in range(args.procs)]
    # Watch the market from the moment the senders are connected (a few seconds) to the end.
    stop = time.time() + 3 + sum(seconds for _, _, seconds in phases)
    observer = multiprocessing.Process(target=observer_main, args=(args, stop, observed))
    for p in [*procs, observer]:
        p.start()
    records, fills = [], {}
    for _ in procs:
        r, f = out.get()
        records += r
        fills.update(f)
    market = observed.get()
    for p in [*procs, observer]:
        p.join()
    return records, fills, market


def market_report(market: dict, names: str) -> None:
    depth_ok = [seconds for status, seconds in market["depth"] if status == 200]
    statuses = Counter(status for status, _ in market["depth"])
    print(json.dumps({"market data during": names, "depth p50 ms": round(pct(depth_ok, .5), 1),
                      "depth p99 ms": round(pct(depth_ok, .99), 1), "depth statuses": dict(statuses),
                      "socket connected": market["connected"], "book messages": market["book"], "gaps": market["gaps"],
                      "trade delivery p99 ms": round(pct(market["delays"], .99), 1)}), flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def report(records: list, fills: dict, name: str, rate: float, seconds: float, sampler: Sampler | None = None) -> dict:
    mine = [r for r in records if r[0] == name]
    statuses: Counter = Counter()
    for _, _, _, status, ids, _, _ in mine:
        if status == 200:  # a batch: count each order by its own result
            statuses.update(201 if i is not None else "item_error" for i in ids)
        else:
            statuses[status] += len(ids)
    accepted = sum(1 for r in mine for i in r[4] if i is not None)
    latencies = [r[2] for r in mine]
    refused = [r[2] for r in mine if r[3] in (429, 503)]
    to_fill = [fills[i] - r[1] for r in mine for i, crossing in zip(r[4], r[5], strict=True) if crossing and i in fills]
    filled = sum(1 for r in mine for i in r[4] if i in fills)
    row = {"step": name, "offered/s": rate, "accepted/s": round(accepted / seconds), "filled/s": round(filled / seconds),
           "p50 ms": round(pct(latencies, .5), 1), "p99 ms": round(pct(latencies, .99), 1),
           "max ms": round(pct(latencies, 1), 1), "refused p99 ms": round(pct(refused, .99), 1),
           "fill p50 ms": round(pct(to_fill, .5), 1), "fill p99 ms": round(pct(to_fill, .99), 1),
           "send lag p99 ms": round(pct([r[6] for r in mine], .99), 1), "statuses": dict(statuses)}
    print(json.dumps(row), flush=True)
    if sampler is not None and mine:
        # The step's steady part: from 3 s after its first scheduled order to its last.
        measured, busy = sampler.share(min(r[1] for r in mine) + 3, max(r[1] for r in mine))
        if measured:
            print(json.dumps({"step": name, "cores busy": round(sum(busy.values()), 2), "measured s": round(measured),
                              "cpu ms per accepted order": per_order(busy, accepted / seconds)}), flush=True)
    row["sustained"] = accepted >= 0.95 * rate * seconds and pct(latencies, .99) < 1000
    return row


def add_order_arguments(parser: argparse.ArgumentParser) -> None:
    """The venue and the orders ``an_order`` makes (shared with fanout.py)."""
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--market", default="BTC-USD")
    parser.add_argument("--mid", default="30000")
    parser.add_argument("--tick", default="0.01")
    parser.add_argument("--quantity", default="0.001")
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw",
                        help="the orders' HTTP client: raw (bench/rawhttp.py, least CPU) or aiohttp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_order_arguments(parser)
    parser.add_argument("--steps", default="100,250,500,1000,2000")
    parser.add_argument("--step-seconds", type=float, default=10)
    parser.add_argument("--spike-seconds", type=float, default=10)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--connections", type=int, default=128, help="keep-alive connections per process")
    parser.add_argument("--batch", type=int, default=1, help="orders per request (POST /api/v1/orders/batch)")
    parser.add_argument("--depth-rate", type=float, default=20, help="GET .../depth per second while orders are sent")
    args = parser.parse_args()
    # Before the load, on the idle venue: how fast the box is today (bench/cpu_share.py).
    print(json.dumps({"box": "pure-Python reference loop (ms, lower is faster)", "ms": reference_ms(),
                      "load average": os.getloadavg()[0]}), flush=True)
    keys = create_keys(args.users, run=str(int(time.time())))
    sampler = Sampler(database=os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0]).start()
    rates = args.steps.split(",")
    # A rate given twice (--steps 100,100) is two steps, each with its own row, not one merged.
    steps = [(f"step {rate}" + (f" (#{i + 1})" if rates.count(rate) > 1 else ""), float(rate), args.step_seconds)
             for i, rate in enumerate(rates)]
    records, fills, market = run(args, keys, steps)
    rows = [report(records, fills, name, rate, seconds, sampler) for name, rate, seconds in steps]
    market_report(market, "the steps")
    sustained = max((r["offered/s"] for r in rows if r["sustained"]), default=rows[0]["offered/s"])
    if args.spike_seconds > 0:
        spike = ("spike 10x", sustained * 10, args.spike_seconds)
        records, fills, market = run(args, keys, [spike])
        report(records, fills, *spike, sampler)
        market_report(market, "the spike")
    sampler.stop()
    for command in ("verify_ledger", "verify_journal"):
        output = manage(command).strip().splitlines()
        print(command, "->", output[-1] if output else "(no output)", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    main()
