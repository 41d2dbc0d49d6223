"""Helpers for the market-data tests: the example client, WebSockets against the real ASGI app
(the real hub on the tests' private Redis db), and a random order load."""
import asyncio
import importlib.util
import random
import threading
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def load_example():
    spec = importlib.util.spec_from_file_location("market_data_client", ROOT / "examples" / "market_data_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def example():
    return load_example()


def rest_fetch(path: str) -> tuple[int, dict]:
    """GET through Django (the real views, urls and error handler), from any thread."""
    from django.db import connection
    from django.test import Client

    try:
        response = Client().get(path)
        return response.status_code, response.json()
    finally:
        connection.close()


def communicator(path: str, cookie: str | None = None):
    from channels.testing import WebsocketCommunicator

    from exchange.asgi import application

    headers = list(HEADERS)
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive(comm, timeout: float = 10.0) -> dict:
    """The next message, without asgiref's cancel-on-timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await comm.receive_nothing(timeout=0.02, interval=0.01):
        if loop.time() > deadline:
            raise AssertionError("no message in time")
    return await comm.receive_json_from()


def random_load(users: list, count: int, seed: int, *, symbol: str = "BTC-USD", threads: int = 2) -> list[int]:
    """Place and cancel orders at random around 30,000 through the real entry services."""
    from django.db import connection

    from exchange.errors import ExchangeError
    from exchange.trading.services import order_cancel, order_place

    placed: list[int] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        mine: list[tuple[int, object]] = []
        try:
            for _ in range(count // threads):
                user = rng.choice(users)
                try:
                    if rng.random() < 0.25 and mine:
                        order_id, owner = mine.pop(rng.randrange(len(mine)))
                        order_cancel(user=owner, order_id=order_id)
                        continue
                    side = rng.choice(["buy", "sell"])
                    # Bids mostly below 30,000 and asks mostly above, overlapping enough to trade:
                    # books deeper than the 25 checksum levels.
                    steps = rng.randint(-100, 15) if side == "buy" else rng.randint(-15, 100)
                    price = Decimal(30000) + Decimal(steps) * Decimal("0.5")
                    quantity = Decimal(rng.randint(1, 30)) / 1000
                    roll = rng.random()
                    if roll < 0.04:
                        order = order_place(user=user, market=symbol, side=side, order_type="market",
                                            quantity=str(quantity))
                    else:
                        order = order_place(user=user, market=symbol, side=side, price=str(price),
                                            quantity=str(quantity), time_in_force="ioc" if roll > 0.93 else "gtc")
                    placed.append(order.pk)
                    mine.append((order.pk, user))
                except ExchangeError as exc:
                    if exc.code not in {"order_not_open", "no_reference_price", "open_order_limit", "price_band",
                                        "insufficient_funds"}:
                        raise
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
    return placed


def all_applied(order_ids: list[int]) -> bool:
    from exchange.trading.models import Command

    return not Command.objects.filter(order_id__in=order_ids, applied_sequence__isnull=True).exists()
