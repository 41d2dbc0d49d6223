"""Injected, labelled episodes of each typology, with randomised parameters.

(Just over 400 lines: one function per typology, kept together so pace and depth read alike.)

Each function schedules one episode on the world and returns its `Label`, whose `end` moves
forward as the episode plays out (the time the pattern completes). `camouflaged` episodes sit
near a detection threshold on purpose: just above it on one dimension, so they should still be
found, but with little margin.
"""

from __future__ import annotations

from surveillance.simulation.engine import BUY, SELL
from surveillance.simulation.world import Label, World


def _other(side: str) -> str:
    return SELL if side == BUY else BUY


def _step(side: str) -> int:
    """+1 tick is more aggressive for a buyer, -1 for a seller."""
    return 1 if side == BUY else -1


def _inside(world: World, market: str, side: str) -> int | None:
    """A price strictly inside the spread for an order on `side`, or None if the spread is one tick."""
    bid, ask = world.books[market].best(BUY), world.books[market].best(SELL)
    if bid is None or ask is None or ask - bid < 2:
        return None
    return bid + 1 if side == BUY else ask - 1


def _sweep_qty(world: World, market: str, side: str, limit: int, extra: int = 0) -> int:
    """Quantity that takes everything on the other side up to `limit`, plus `extra` lots."""
    book = world.books[market]
    other = _other(side)
    total = 0
    for price in list(book.prices[other]):
        if (side == BUY and price > limit) or (side == SELL and price < limit):
            continue
        total += book.depth(other, price)
    return total + extra


def _visible(world: World, market: str, side: str, levels: int = 10) -> int:
    book = world.books[market]
    prices = book.prices[side]
    chosen = prices[-levels:] if side == BUY else prices[:levels]
    return sum(book.depth(side, p) for p in chosen)


# -- spoofing and layering ------------------------------------------------------------------------

def _pressure(world: World, market: str, t0: float, tag: str, camo: bool, *, typology: str) -> Label:
    rng, book = world.rng, world.books[market]
    account = world.account(tag, "manipulator")
    label = Label(typology, market, [account], t0, t0, camo)
    y = rng.choice((BUY, SELL))
    x = _other(y)
    cycles = 1 if world.config.single else rng.randint(1, 3)  # one cycle: a single instance must be enough
    weak = rng.choice(("ratio", "share", "cancel", "life")) if camo else None
    label.details = {"cycles": cycles, "camouflage": weak}

    def cycle(now, k=1):
        best_y, best_x = world.touch(market, y), world.touch(market, x)
        price_y = best_y + _step(y) if abs(best_x - best_y) > 1 else best_y
        genuine = world.q(rng.randint(100, 300))
        genuine_id = book.submit(now, account, y, price_y, genuine)
        ratio = rng.uniform(6, 8) if weak == "ratio" else rng.uniform(10, 40)
        share = rng.uniform(0.25, 0.3) if weak == "share" else rng.uniform(0.35, 0.6)
        visible = _visible(world, market, x)
        size = max(round(ratio * genuine), round(visible * share / (1 - share)))
        if typology == "spoofing":
            n = rng.choice((1, 1, 2))
            prices = [best_x - _step(x) * lvl for lvl in rng.sample((1, 2), n)]
        else:
            n = rng.randint(3, 5)
            first = rng.randint(1, 2)
            prices = [best_x - _step(x) * (first + i) for i in range(n)]
        spoof_ids = [book.submit(now, account, x, price, max(1, size // n)) for price in prices]
        amend = typology == "layering" and rng.random() < 0.5
        delay = world.t(rng.uniform(12, 18) if weak == "life" else rng.uniform(0.3, 6))
        if amend:  # Sarao-style modifications while the layer rests
            for i in range(rng.randint(1, 4)):
                def modify(t, i=i):
                    for order_id in spoof_ids:
                        order = book.orders.get(order_id)
                        if order is not None:
                            book.amend(t, order_id, qty=max(1, order.remaining + world.q(rng.randint(-20, 20))))
                world.at(now + delay * (i + 1) / 6, modify)

        def watch(t):
            # The spoofer watches its genuine order: once it has filled, the layer goes (E1: 2.3 s
            # after the fill). If nobody has taken it by `delay`, the imbalance draws a
            # counterparty that does.
            if genuine_id in book.orders and t < now + delay:
                world.at(t + 0.25, watch)
                return
            if genuine_id in book.orders:
                counterparty = rng.choice(world.background[market])
                qty = _sweep_qty(world, market, x, price_y)
                if qty > 0:
                    book.submit(t, counterparty, x, price_y, qty, tif="ioc")
            pull = world.t(rng.uniform(3, 4.5) if weak == "cancel" else rng.uniform(0.2, 2.5))
            world.at(t + pull, pull_layers)

        def pull_layers(t):
            ordered = sorted(spoof_ids, key=lambda oid: abs(book.orders[oid].price - best_x) if oid in book.orders else 0)
            for i, order_id in enumerate(ordered):  # closest to the touch first (E1)
                book.cancel(t + 0.01 * i, order_id)
            book.cancel(t + 0.05, genuine_id)
            label.end = t + 0.01 * len(ordered)
            if k < cycles:
                world.at(t + world.t(rng.uniform(10, 40)), lambda t2: cycle(t2, k + 1))

        world.at(now + 0.25, watch)

    world.at(t0, cycle)
    return label


def spoofing(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    return _pressure(world, market, t0, tag, camo, typology="spoofing")


def layering(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    return _pressure(world, market, t0, tag, camo, typology="layering")


# -- wash and circular trading ----------------------------------------------------------------------

def _chain(world: World, market: str, legs: list, label: Label, now: float) -> None:
    """Play crossing legs one after the other: (seller, buyer, lots, gap, pause) each.

    The seller rests inside the spread (waiting for one if the spread is a single tick), the
    buyer takes it `gap` seconds later, and the next leg starts `pause` seconds after that.
    """
    if not legs:
        return
    book = world.books[market]
    (seller, buyer, qty, gap, pause), rest = legs[0], legs[1:]
    price = _inside(world, market, SELL)
    if price is None:
        world.at(now + 0.5, lambda t: _chain(world, market, legs, label, t))
        return
    order_id = book.submit(now, seller, SELL, price, qty)

    def take(t):
        queue = book.levels[SELL].get(price)
        if book.best(SELL) != price or not queue or queue[0].order_id != order_id:
            # someone else is in front (or took it): pull it and set the cross up again
            book.cancel(t, order_id)
            world.at(t + 0.5, lambda t2: _chain(world, market, legs, label, t2))
            return
        book.submit(t, buyer, BUY, price, book.orders[order_id].remaining, tif="ioc")
        label.end = max(label.end, t)
        book.cancel(t + 0.01, order_id)
        world.at(t + pause, lambda t2: _chain(world, market, rest, label, t2))

    world.at(now + gap, take)


def wash_trading(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    rng = world.rng
    owner = f"{tag}-owner"
    accounts = [world.account(f"{tag}-a", "manipulator", owner, stp_off=True)]
    if rng.random() < 0.6:
        accounts.append(world.account(f"{tag}-b", "manipulator", owner, stp_off=True))
    label = Label("wash_trading", market, list(accounts), t0, t0, camo)
    trades = 2 if camo or world.config.single else rng.randint(2, 6)
    legs = []
    for _ in range(trades):
        seller, buyer = rng.sample(accounts, 2) if len(accounts) == 2 else (accounts[0], accounts[0])
        gap = world.t(rng.uniform(2.5, 8) if camo else rng.uniform(0.05, 1.5))
        pause = world.t(rng.uniform(60, 300) if camo else rng.uniform(5, 60))
        legs.append((seller, buyer, world.q(rng.randint(100, 800)), gap, pause))
    world.at(t0, lambda t: _chain(world, market, legs, label, t))
    label.details = {"trades": trades}
    return label


def circular_trading(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    rng, book = world.rng, world.books[market]
    members = [world.account(f"{tag}-{i}", "manipulator") for i in range(rng.randint(3, 5))]
    label = Label("circular_trading", market, list(members), t0, t0, camo)
    rounds = 1 if world.config.single else 2 if camo else rng.randint(1, 3)
    base = world.q(rng.randint(300, 1500))
    legs = []
    for _ in range(rounds):
        for i, seller in enumerate(members):
            buyer = members[(i + 1) % len(members)]
            pause = world.t(rng.uniform(10, 40) if camo else rng.uniform(2, 15))
            legs.append((seller, buyer, round(base * rng.uniform(0.95, 1.05)), world.t(rng.uniform(0.05, 0.6)), pause))
    world.at(t0, lambda t: _chain(world, market, legs, label, t))
    if camo:  # some trading with the market too, to look less closed
        span = sum(leg[4] for leg in legs)
        for member in members:
            side = rng.choice((BUY, SELL))
            qty = round(base * rng.uniform(0.1, 0.2))
            world.at(t0 + rng.uniform(0, span), lambda t, m=member, s=side, q=qty: book.submit(t, m, s, None, q))
    label.details = {"members": len(members), "rounds": rounds}
    return label


# -- closing, momentum, messaging -------------------------------------------------------------------

def marking_the_close(world: World, market: str, close: float, tag: str, camo: bool) -> Label:
    rng, book = world.rng, world.books[market]
    account = world.account(tag, "manipulator")
    side = rng.choice((BUY, SELL))
    length = world.config.session_seconds
    start = close - min(length / 3, world.t(rng.uniform(200, 250) if camo else rng.uniform(30, 150)))
    last = close - rng.uniform(1, 5)
    orders = rng.randint(3, 8)
    label = Label("marking_the_close", market, [account], start, close, camo)

    def send(now):
        limit = world.touch(market, _other(side)) + _step(side) * rng.randint(1, 3)
        book.submit(now, account, side, limit, _sweep_qty(world, market, side, limit, extra=0), tif="ioc")

    for i in range(orders):
        world.at(start + (last - start) * i / (orders - 1), send)
    if rng.random() < 0.5:  # a little ordinary trading earlier in the day
        for _ in range(rng.randint(1, 4)):
            world.at(close - length * rng.uniform(0.3, 0.8),
                     lambda t: book.submit(t, account, rng.choice((BUY, SELL)), None, world.lots(150)))
    label.details = {"orders": orders, "side": side}
    return label


def momentum_ignition(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    rng, book = world.rng, world.books[market]
    account = world.account(tag, "manipulator")
    side = rng.choice((BUY, SELL))
    other = _other(side)
    orders = 3 if camo else rng.randint(3, 5)
    burst = world.t(rng.uniform(1, 4))
    label = Label("momentum_ignition", market, [account], t0, t0, camo)
    origin = {}

    def ignite(now):
        best = world.touch(market, other)
        qty = book.depth(other, best) + world.q(rng.randint(1, 50))
        book.submit(now, account, side, best + _step(side), qty, tif="ioc")

    for i in range(orders):
        world.at(t0 + burst * i / (orders - 1), ignite)
    end = t0 + burst
    for _ in range(rng.randint(3, 8)):  # others join the move
        follower = rng.choice(world.background[market])
        world.at(end + rng.uniform(0.5, 10), lambda t, f=follower: book.submit(t, f, side, None, world.lots(600, 0.4)))
    share = rng.uniform(0.55, 0.65) if camo else rng.uniform(0.7, 1.0)
    resting: list[int] = []

    def offer(now):
        origin["position"] = world.position(account)
        if world.config.losses:  # dumped at once into the bids: the unwind gives back the gain
            book.submit(now, account, other, None, max(1, round(abs(origin["position"]) * share)))
            origin["target"] = 0
            return
        target = round(abs(origin["position"]) * share)
        origin["target"] = target
        chunks = rng.randint(2, 3)
        for j in range(chunks):
            price = world.touch(market, other) + _step(side) * j
            resting.append(book.submit(now, account, other, price, max(1, target // chunks)))

    def finish(now):
        for order_id in resting:
            book.cancel(now, order_id)
        done = abs(origin["position"] - world.position(account))
        left = origin["target"] - done
        if left > 0:
            book.submit(now, account, other, None, left)
        label.end = now

    world.at(end + world.t(rng.uniform(0.3, 1.5)), offer)
    world.at(end + world.t(rng.uniform(15, 40)), finish)
    label.details = {"orders": orders, "unwind": share}
    return label


def quote_stuffing(world: World, market: str, t0: float, tag: str, camo: bool) -> Label:
    rng, book = world.rng, world.books[market]
    account = world.account(tag, "manipulator")
    label = Label("quote_stuffing", market, [account], t0, t0, camo)
    now = t0
    bursts = 1 if world.config.single else rng.randint(1, 3)
    for _ in range(bursts):
        rate = (rng.uniform(230, 300) if camo else rng.uniform(400, 2000)) / world.config.pace  # messages/s
        duration = world.t(rng.uniform(1.2, 4))
        pairs = int(rate * duration / 2)
        for i in range(pairs):
            t = now + i * 2 / rate

            def stuff(ts, rate=rate):
                side = rng.choice((BUY, SELL))
                price = world.touch(market, side) - _step(side) * rng.randint(3, 8)
                order_id = book.submit(ts, account, side, price, world.q(rng.randint(1, 20)))
                world.at(ts + rng.uniform(0.0005, 1.8 / rate), lambda t2: book.cancel(t2, order_id))

            world.at(t, stuff)
        label.end = now + duration
        now += duration + world.t(rng.uniform(3, 20))
    label.details = {"bursts": bursts}
    return label


# -- pump and dump, and the honest rally that looks like one ------------------------------------------

def _crowd(world: World, market: str, t0: float, tag: str, role: str) -> list[str]:
    rng, book = world.rng, world.books[market]
    buyers = [world.account(f"{tag}-crowd-{i}", role) for i in range(rng.randint(40, 80))]
    length = rng.uniform(100, 200)
    for buyer in buyers:
        for _ in range(rng.randint(1, 4)):
            world.at(
                t0 + rng.uniform(0, length),
                lambda t, b=buyer: book.submit(
                    t, b, BUY, world.touch(market, SELL) + rng.randint(0, 2), world.lots(300, 0.5), tif="ioc"
                ),
            )
    return buyers


def news_rally(world: World, market: str, t0: float, tag: str) -> None:
    """An honest rally: many buyers, nobody who accumulated before selling into it."""
    _crowd(world, market, t0, tag, "news_crowd")


def _accumulate(world: World, market: str, account: str, target: int, spike: float, now: float) -> None:
    """Quiet buying until `target` lots are held or the spike starts: small market orders and bids."""
    rng, book = world.rng, world.books[market]
    left = target - world.position(account)
    if left <= 0 or now >= spike:
        return
    qty = min(left, world.lots(300, 0.4))
    if rng.random() < 0.5:
        book.submit(now, account, BUY, None, qty)
    else:
        order_id = book.submit(now, account, BUY, world.touch(market, BUY), qty)
        world.at(now + world.t(30), lambda t: book.cancel(t, order_id))
    world.at(now + world.t(rng.uniform(10, 40)), lambda t: _accumulate(world, market, account, target, spike, t))


def pump_and_dump(world: World, market: str, spike: float, tag: str, camo: bool, session_start: float) -> Label:
    rng, book = world.rng, world.books[market]
    accumulators = [world.account(f"{tag}-acc-{i}", "manipulator") for i in range(rng.randint(1, 3))]
    begin = max(session_start + 60, spike - world.t(rng.uniform(900, 1500)))
    label = Label("pump_and_dump", market, list(accumulators), begin, spike, camo)
    weak = rng.choice(("size", "dump")) if camo else None  # one dimension near its threshold
    dump_share = rng.uniform(0.55, 0.65) if weak == "dump" else rng.uniform(0.7, 1.0)
    for account in accumulators:
        target = world.q(rng.randint(3000, 4000) if weak == "size" else rng.randint(3500, 8000))
        t = begin + world.t(rng.uniform(0, 60))

        world.at(t, lambda now, a=account, g=target: _accumulate(world, market, a, g, spike, now))

        def dump(now, account=account, chunk=0, state=None):
            state = state if state is not None else {"start": world.position(account)}
            goal = round(state["start"] * dump_share)
            sold = state["start"] - world.position(account)
            if sold >= goal or now > spike + world.t(540):
                label.end = max(label.end, now)
                if sold < goal:
                    book.submit(now, account, SELL, None, goal - sold)
                return
            qty = min(goal - sold, max(1, goal // 6))
            if world.config.losses:  # into the bids, giving up the spread and the queue
                book.submit(now, account, SELL, None, qty)
            else:
                order_id = book.submit(now, account, SELL, world.touch(market, SELL), qty)
                world.at(now + world.t(8), lambda t2: book.cancel(t2, order_id))
            label.end = max(label.end, now)
            world.at(now + world.t(rng.uniform(6, 15)), lambda t2: dump(t2, account, chunk + 1, state))

        world.at(spike + world.t(rng.uniform(60, 120)), dump)
    _crowd(world, market, spike, tag, "crowd")
    label.details = {"accumulators": len(accumulators), "dump": dump_share, "camouflage": weak}
    return label


def noise(world: World, market: str, label: Label, open_at: float, close: float) -> None:
    """Honest-looking orders by the episode's accounts around it, `config.noise` of ten per account.

    Small limit orders at the touch that live about a minute, and small market orders, on either
    side: the camouflage that breaks rules wanting every order of the account to fit the pattern.
    """
    rng, book = world.rng, world.books[market]
    count = round(world.config.noise * 10)
    span = world.t(300)
    for account in label.accounts:
        for _ in range(count):
            def act(now, account=account):
                side = rng.choice((BUY, SELL))
                if rng.random() < 0.5:
                    book.submit(now, account, side, None, world.lots(100))
                    return
                order_id = book.submit(now, account, side, world.touch(market, side), world.lots(100))
                world.at(now + rng.expovariate(1 / 60), lambda t, oid=order_id: book.cancel(t, oid))

            world.at(min(close - 1, max(open_at + 1, label.start + rng.uniform(-span / 2, span))), act)
