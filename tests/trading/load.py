"""A random trading load through the real entry services, shared by the fault tests."""
import random
import threading
from decimal import Decimal

from django.db import connection

from exchange.errors import ExchangeError
from exchange.trading.models import Command, Order
from exchange.trading.replay import verify_market
from exchange.trading.services import order_amend, order_cancel, order_place

MIDS = {"BTC-USD": Decimal("30000"), "ETH-USD": Decimal("2000")}


def random_orders(users: list, symbols: list[str], count: int, seed: int, placed: list) -> None:
    """Place, cancel and amend ``count`` times at random; record accepted order ids in ``placed``."""
    rng = random.Random(seed)
    mine: list[tuple[int, object]] = []
    try:
        for _ in range(count):
            user = rng.choice(users)
            roll = rng.random()
            try:
                if roll < 0.22 and mine:
                    order_id, owner = mine.pop(rng.randrange(len(mine)))
                    order_cancel(user=owner, order_id=order_id)
                elif roll < 0.27 and mine:
                    # Down (keeps priority), up (holds more), or a new price (may trade at once).
                    order_id, owner = rng.choice(mine)
                    change = rng.choice([{"quantity": "0.01"}, {"quantity": str(Decimal(rng.randint(21, 40)) / 100)},
                                         {"price": str((MIDS[Order.objects.get(pk=order_id).market.symbol]
                                                        + Decimal(rng.randint(-30, 30)) * 3).quantize(Decimal("0.01")))}])
                    order_amend(user=owner, order_id=order_id, **change)
                else:
                    symbol = rng.choice(symbols)
                    mid = MIDS[symbol]
                    side = rng.choice(["buy", "sell"])
                    offset = Decimal(rng.randint(-30, 30)) * mid / 10000  # within ±0.3%
                    price = (mid + offset).quantize(Decimal("0.01"))
                    quantity = Decimal(rng.randint(1, 20)) / 100
                    kind = rng.random()
                    if kind < 0.05 and side == "buy":
                        order = order_place(user=user, market=symbol, side="buy", order_type="market",
                                            quote_amount=str((price * quantity).quantize(Decimal("0.01"))))
                    elif kind < 0.08 and side == "sell":
                        order = order_place(user=user, market=symbol, side="sell", order_type="market",
                                            quantity=str(quantity))
                    else:
                        tif = "ioc" if kind > 0.92 else "gtc"
                        post_only = tif == "gtc" and kind > 0.88
                        order = order_place(user=user, market=symbol, side=side, price=str(price),
                                            quantity=str(quantity), time_in_force=tif, post_only=post_only,
                                            stp=rng.choice(["cancel_newest", "cancel_oldest", "cancel_both", "decrement"]))
                    placed.append(order.pk)
                    mine.append((order.pk, user))
            except ExchangeError as exc:
                if exc.code not in {"order_not_open", "no_reference_price", "invalid_amend", "invalid_quantity",
                                    "insufficient_funds", "price_band"}:
                    raise
    finally:
        connection.close()


def run_load(users: list, symbols: list[str], count: int, *, threads: int = 2, seed: int = 7) -> list[int]:
    placed: list[int] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            random_orders(users, symbols, count // threads, seed + index, placed)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return placed


def settle_and_check(markets, ledger_clean, wait, *, timeout=120):
    wait(lambda: not Command.objects.filter(applied_sequence__isnull=True).exists(), timeout=timeout,
         message="every command to be applied")
    assert not Order.objects.filter(status="pending").exists()
    assert set(Order.objects.values_list("status", flat=True)) <= {"open", "filled", "cancelled", "rejected"}
    # An acknowledged cancel is never lost: a cancel-requested order is not left open.
    assert not Order.objects.filter(cancel_requested_at__isnull=False, status="open").exists()
    for market in markets:
        report = verify_market(market)
        assert report.problems == [], report.problems
        assert report.commands == Command.objects.filter(market=market).count()
    ledger_clean()
