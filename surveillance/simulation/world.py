"""The simulated market: a scheduler, the book, and the honest participants.

Honest participants are the hard negatives the detectors must leave alone:

- background traders: limit orders near the touch that live about a minute (E1's genuine orders
  lived 55.4 s) and small market orders, leaning towards a slowly drifting fair value;
- market makers: every second they cancel their whole ladder and post a new one around the last
  trade, skewed by inventory (ABIDES's `AdaptiveMarketMakerAgent`, O3), so their cancel ratio
  is far above 90%; one quotes 5 levels a side, one 20;
- execution algorithms: a TWAP working a large parent order with passive and marketable child
  orders, and a POV-style algorithm firing marketable child orders every few seconds;
- closing funds: every day, a large flow worked over the last 10 to 15 minutes to the close;
- one-off self-matchers: firms whose two desks trade with each other once a day.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from surveillance.simulation.engine import BUY, SELL, Journal, SimBook

DAY = 86_400.0


@dataclass
class Config:
    """Size of one simulated run (per seed)."""

    days: int = 2
    session_seconds: float = 3600.0
    markets: tuple = ("SIM-USD",)
    background_traders: int = 30
    background_rate: float = 0.5  # actions per second across all background traders
    start: float = 1_717_228_800.0  # 2024-06-01T08:00:00Z
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal("0.01")
    initial_price: int = 1000  # price steps (see `grain`)
    impact_per_unit: float = 0.4  # steps of fair value per unit taken aggressively, at depth 1
    impact_decay_seconds: float = 170.0  # impact half-life of about two minutes
    episodes: bool = True
    # The grid's dimensions (surveillance/simulation/grid.py); the defaults are the original market.
    grain: int = 1  # ticks per price step the participants quote in (1 unless the tick is fine)
    depth: float = 1.0  # multiplier of every order size, honest and manipulative
    rate: float = 1.0  # multiplier of the background order rate and the market makers' re-quote rate
    pace: float = 1.0  # manipulators' time constants multiplied by this (3 = three times slower)
    camouflage: float = 0.3  # share of episodes that sit near a detection threshold
    noise: float = 0.0  # manipulators' honest-looking orders, as a share of their own episode orders
    losses: bool = False  # manipulators unwind at a small loss instead of a profit
    hft: bool = True  # a high-frequency arbitrageur trades every market
    typologies: tuple = ()  # inject only these typologies (all when empty)
    single: bool = False  # each episode is one instance: one cycle, one burst, one round, two washes

    @property
    def volatility_scale(self) -> float:
        """Fair-value moves in steps scale with the price in steps, so volatility in % is constant."""
        return self.initial_price / 1000


@dataclass
class Account:
    name: str
    owner: str
    role: str


@dataclass
class Label:
    """One injected episode: what a detector should find."""

    typology: str
    market: str
    accounts: list
    start: float
    end: float
    camouflaged: bool = False
    details: dict = field(default_factory=dict)


class World:
    """Scheduler plus per-market state. `at(t, fn)` runs `fn(now)` at event time `t`."""

    def __init__(self, seed: int, config: Config):
        self.config = config
        self.rng = random.Random(seed)
        self.journal = Journal()
        self.ids = {"order": 0, "trade": 0}
        self.books = {
            m: SimBook(m, self.journal, tick=config.tick * config.grain, lot=config.lot, ids=self.ids)
            for m in config.markets
        }
        self.anchor = {m: float(config.initial_price) for m in config.markets}
        self.impact = dict.fromkeys(config.markets, 0.0)
        for market, book in self.books.items():
            book.on_trade = lambda side, lots, m=market: self._impact(m, side, lots)
        self.accounts: dict[str, Account] = {}
        self.background: dict[str, list[str]] = {m: [] for m in config.markets}
        self.labels: list[Label] = []
        self._queue: list = []
        self._seq = 0
        self.session_open = False

    # -- plumbing -----------------------------------------------------------------------------
    def account(self, name: str, role: str, owner: str | None = None, *, stp_off: bool = False) -> str:
        if name not in self.accounts:
            self.accounts[name] = Account(name, owner or name, role)
        if stp_off:
            for book in self.books.values():
                book.stp_off.add(name)
        return name

    def at(self, t: float, fn) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t, self._seq, fn))

    def run_until(self, t_end: float) -> None:
        while self._queue and self._queue[0][0] <= t_end:
            t, _, fn = heapq.heappop(self._queue)
            fn(t)

    def drop_pending(self) -> None:
        self._queue.clear()

    # -- helpers for agents ---------------------------------------------------------------------
    def fair(self, market: str) -> float:
        """Where the market makers centre their quotes: a drifting anchor plus decaying impact."""
        return self.anchor[market] + self.impact[market]

    def _impact(self, market: str, side: str, lots: int) -> None:
        units = lots * float(self.config.lot) / self.config.depth
        per_unit = self.config.impact_per_unit * self.config.volatility_scale
        self.impact[market] += per_unit * units * (1 if side == BUY else -1)

    def center(self, market: str) -> int:
        book = self.books[market]
        if book.last_price is not None:
            return book.last_price
        return round(self.fair(market))

    def position(self, account: str) -> int:
        return self.journal.positions.get(account, 0)

    def touch(self, market: str, side: str) -> int:
        """Best price on `side`, or a sensible default around the last trade."""
        best = self.books[market].best(side)
        if best is not None:
            return best
        return self.center(market) - 1 if side == BUY else self.center(market) + 1

    def lots(self, median: float, sigma: float = 0.6, low: int = 1) -> int:
        """A lognormal order size around `median` lots at depth 1, scaled by the market's depth."""
        return max(low, round(self.rng.lognormvariate(math.log(median * self.config.depth), sigma)))

    def q(self, lots: float) -> int:
        """`lots` at depth 1, in this market's depth."""
        return max(1, round(lots * self.config.depth))

    def t(self, seconds: float) -> float:
        """A manipulator's time constant at this run's pace."""
        return seconds * self.config.pace


# -- honest participants ----------------------------------------------------------------------

def fair_value(world: World, market: str, start: float, end: float) -> None:
    """A slow random walk in ticks plus the impact of aggressive trades, decaying, every second."""
    decay = math.exp(-1 / world.config.impact_decay_seconds)
    sigma = 0.25 * world.config.volatility_scale

    def step(now):
        world.anchor[market] += world.rng.gauss(0, sigma)
        world.impact[market] *= decay
        if now + 1 < end:
            world.at(now + 1, step)

    world.at(start, step)


def background(world: World, market: str, accounts: list[str], start: float, end: float) -> None:
    rng, book = world.rng, world.books[market]
    rate = world.config.background_rate * world.config.rate

    def act(now):
        account = rng.choice(accounts)
        center = world.center(market)
        lean = max(-0.3, min(0.3, 0.04 * (world.fair(market) - center)))
        side = BUY if rng.random() < 0.5 + lean else SELL
        qty = world.lots(120)
        if rng.random() < 0.3:
            book.submit(now, account, side, None, qty)
        else:
            opposite = SELL if side == BUY else BUY
            touch = world.touch(market, side)
            price = touch + rng.randint(-4, 0) if side == BUY else touch - rng.randint(-4, 0)
            far = world.touch(market, opposite)
            price = min(price, far - 1) if side == BUY else max(price, far + 1)
            order_id = book.submit(now, account, side, price, qty)
            life = rng.expovariate(1 / 60)
            world.at(now + life, lambda t, oid=order_id: book.cancel(t, oid))
        nxt = now + rng.expovariate(rate)
        if nxt < end:
            world.at(nxt, act)

    world.at(start + rng.random(), act)


def market_maker(world: World, market: str, account: str, start: float, end: float, *, levels: int, size: int) -> None:
    """Cancel everything and re-post a two-sided ladder every second (ABIDES-style)."""
    rng, book = world.rng, world.books[market]
    live: list[int] = []
    limit = world.q(size * levels * 2)

    def quote(now):
        for order_id in live:
            book.cancel(now, order_id)
        live.clear()
        inventory = world.position(account)
        skew = max(-0.5, min(0.5, inventory / limit))
        center = round(world.fair(market) - skew * 2)
        # post-only: never cross what others show
        best_ask, best_bid = book.best(SELL), book.best(BUY)
        top_bid = center - 1 if best_ask is None else min(center - 1, best_ask - 1)
        top_ask = center + 1 if best_bid is None else max(center + 1, best_bid + 1)
        for i in range(levels):
            bid_qty = world.q(size * (1 - skew) * rng.uniform(0.8, 1.2))
            ask_qty = world.q(size * (1 + skew) * rng.uniform(0.8, 1.2))
            live.append(book.submit(now, account, BUY, top_bid - i, bid_qty))
            live.append(book.submit(now, account, SELL, top_ask + i, ask_qty))
        nxt = now + (1.0 + rng.uniform(-0.05, 0.05)) / world.config.rate
        if nxt < end:
            world.at(nxt, quote)

    world.at(start + rng.random(), quote)


def twap(world: World, market: str, account: str, start: float, end: float, *, side: str, total: int) -> None:
    """Work `total` lots evenly: each slice rests at the touch, or crosses when behind schedule."""
    rng, book = world.rng, world.books[market]
    children = max(4, int((end - start) / rng.uniform(20, 40)))
    interval = (end - start) / children
    opposite = SELL if side == BUY else BUY
    origin = world.position(account)
    total = world.q(total * world.config.rate)  # a parent order is a share of the market's volume
    resting: list[int] = []

    def child(now, n=1):
        for order_id in resting:
            book.cancel(now, order_id)
        resting.clear()
        left = total - abs(world.position(account) - origin)
        if left <= 0:
            return
        behind = left - total * (children - n) / children
        qty = max(1, min(left, round(total / children * rng.uniform(0.7, 1.3))))
        if behind > qty or rng.random() < 0.3:
            book.submit(now, account, side, world.touch(market, opposite), qty, tif="ioc")
        else:
            resting.append(book.submit(now, account, side, world.touch(market, side), qty))
        if n < children:
            world.at(now + interval, lambda t: child(t, n + 1))

    world.at(start, child)


def pov(world: World, market: str, account: str, start: float, end: float, *, side: str) -> None:
    """Marketable child orders every 2-6 s, each allowed to take up to two levels."""
    rng, book = world.rng, world.books[market]
    opposite = SELL if side == BUY else BUY

    def child(now):
        step = 1 if side == BUY else -1
        book.submit(now, account, side, world.touch(market, opposite) + step * rng.randint(0, 1), world.lots(100, 0.4), tif="ioc")
        nxt = now + rng.uniform(2, 6)
        if nxt < end:
            world.at(nxt, child)

    world.at(start, child)


def closing_fund(world: World, market: str, account: str, close: float, *, side: str, total: int) -> None:
    """A daily flow worked into the close: marketable child orders over the last 10-15 minutes."""
    rng, book = world.rng, world.books[market]
    start = close - rng.uniform(600, 900)
    children = rng.randint(20, 35)
    interval = (close - 5 - start) / children
    opposite = SELL if side == BUY else BUY
    total = world.q(total)

    def child(now, left=children):
        qty = max(1, round(total / children * rng.uniform(0.7, 1.3)))
        step = 1 if side == BUY else -1
        book.submit(now, account, side, world.touch(market, opposite) + step * rng.randint(0, 1), qty, tif="ioc")
        if left > 1:
            world.at(now + interval, lambda t: child(t, left - 1))

    world.at(start, child)


def self_matcher(world: World, market: str, desk_a: str, desk_b: str, t: float) -> None:
    """Two desks of one firm: desk A rests an order, desk B's order happens to take it, once."""
    rng, book = world.rng, world.books[market]

    def rest(now):
        side = rng.choice((BUY, SELL))
        price = world.touch(market, side)
        order_id = book.submit(now, desk_a, side, price, world.lots(150))
        world.at(now + rng.uniform(20, 90), lambda t2: book.cancel(t2, order_id))

        def take(now2):
            if order_id not in book.orders:
                return
            other = SELL if side == BUY else BUY
            qty = book.depth(side, price)
            book.submit(now2, desk_b, other, price, qty, tif="ioc")

        world.at(now + rng.uniform(1, 15), take)

    world.at(t, rest)


def hft_arbitrageur(world: World, market: str, account: str, start: float, end: float) -> None:
    """A high-frequency arbitrageur: many short-lived small quotes, and stale quotes taken at once.

    Several times a second it compares the book with the fair value (its "other venue"): a quote
    on the wrong side of fair value by a step or more is taken with an IOC; otherwise it shows a
    small quote at the touch and pulls it a fraction of a second later. Its inventory is flattened
    with the same IOCs, so it trades both ways in bursts: the look-alike of quote stuffing,
    momentum ignition and spoofing that does nothing abusive.
    """
    rng, book = world.rng, world.books[market]
    live: list[int] = []
    cap = world.q(400)

    def act(now):
        for order_id in live:
            book.cancel(now, order_id)
        live.clear()
        fair = world.fair(market)
        bid, ask = book.best(BUY), book.best(SELL)
        inventory = world.position(account)
        if ask is not None and ask <= fair - 1 and inventory < cap:
            book.submit(now, account, BUY, ask, min(book.depth(SELL, ask), world.lots(40, 0.5)), tif="ioc")
        elif bid is not None and bid >= fair + 1 and inventory > -cap:
            book.submit(now, account, SELL, bid, min(book.depth(BUY, bid), world.lots(40, 0.5)), tif="ioc")
        elif bid is not None and ask is not None:
            side = SELL if inventory > 0 else BUY if inventory < 0 else rng.choice((BUY, SELL))
            price = bid if side == BUY else ask
            live.append(book.submit(now, account, side, price, world.lots(20, 0.5)))
        nxt = now + rng.uniform(0.1, 0.4) / world.config.rate
        if nxt < end:
            world.at(nxt, act)

    world.at(start + rng.random(), act)
