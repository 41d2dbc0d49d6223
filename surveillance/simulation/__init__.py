"""A deterministic market simulator that writes DESIGN 6.5 journal events with labelled abuse.

    from surveillance.simulation import simulate, Config
    run = simulate(seed=7)                 # same seed, same events, same labels
    run.events                             # list of event dicts, in journal order
    run.labels                             # injected episodes: typology, market, accounts, window
    run.roles                              # account -> role ("market_maker", "manipulator", ...)

Per market and simulated day: honest background traders, two market makers, a TWAP and a
POV execution algorithm, a closing fund, two firms that self-match once, sometimes an honest
news rally; and injected episodes of every typology, some camouflaged near the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveillance.simulation import episodes as ep
from surveillance.simulation.engine import BUY, SELL
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES, TYPOLOGIES
from surveillance.simulation.world import (
    DAY,
    Account,
    Config,
    Label,
    World,
    background,
    closing_fund,
    fair_value,
    hft_arbitrageur,
    market_maker,
    pov,
    self_matcher,
    twap,
)


@dataclass
class Simulation:
    seed: int
    config: Config
    events: list
    labels: list
    accounts: dict

    @property
    def roles(self) -> dict:
        return {name: account.role for name, account in self.accounts.items()}


def simulate(seed: int, config: Config | None = None) -> Simulation:
    """Run `config.days` sessions on every market; deterministic for `seed`."""
    config = config or Config()
    world = World(seed, config)
    rng = world.rng
    announced: set = set()
    for day in range(config.days):
        open_at = config.start + day * DAY
        close = open_at + config.session_seconds
        for market in config.markets:
            _honest(world, market, day, open_at, close)
            if config.episodes:
                _episodes(world, market, day, open_at, close)
        for name, account in world.accounts.items():  # owners before their first order
            if name not in announced:
                announced.add(name)
                world.journal.emit(config.markets[0], open_at - 1, "account", account=name, owner=account.owner)
        world.run_until(close)
        world.drop_pending()
        for market in config.markets:
            world.journal.emit(market, close, "market_close")
            world.books[market].cancel_all(close + 0.001, "expired")
        rng.random()
    return Simulation(seed, config, world.journal.events, world.labels, world.accounts)


def _honest(world: World, market: str, day: int, open_at: float, close: float) -> None:
    rng = world.rng
    m = market.lower()
    if not world.background[market]:
        world.background[market] = [
            world.account(f"{m}-trader-{i}", "background") for i in range(world.config.background_traders)
        ]
    fair_value(world, market, open_at, close)
    background(world, market, world.background[market], open_at, close)
    market_maker(world, market, world.account(f"{m}-mm-1", "market_maker"), open_at, close, levels=5, size=400)
    market_maker(world, market, world.account(f"{m}-mm-2", "market_maker"), open_at, close, levels=20, size=150)
    algo_start = open_at + rng.uniform(60, 600)
    twap(world, market, world.account(f"{m}-twap", "execution_algo"), algo_start, algo_start + rng.uniform(1200, 2400),
         side=rng.choice((BUY, SELL)), total=rng.randint(10_000, 25_000))
    pov_start = open_at + rng.uniform(60, 1800)
    pov(world, market, world.account(f"{m}-pov", "execution_algo"), pov_start, pov_start + rng.uniform(300, 900),
        side=rng.choice((BUY, SELL)))
    closing_fund(world, market, world.account(f"{m}-fund", "closing_fund"), close,
                 side=rng.choice((BUY, SELL)), total=rng.randint(3000, 8000))
    for firm in (1, 2):
        owner = f"{m}-firm-{firm}"
        desks = [world.account(f"{owner}-desk-{d}", "self_matcher", owner, stp_off=True) for d in ("a", "b")]
        self_matcher(world, market, desks[0], desks[1], open_at + rng.uniform(60, close - open_at - 60))
    if world.config.hft:
        hft_arbitrageur(world, market, world.account(f"{m}-hft", "hft_arbitrage"), open_at, close)


_STREAMING = ("spoofing", "layering", "wash_trading", "circular_trading", "momentum_ignition", "quote_stuffing")


def _episodes(world: World, market: str, day: int, open_at: float, close: float) -> None:
    rng = world.rng
    length = close - open_at
    m = market.lower()
    camo_rate = world.config.camouflage
    first_label = len(world.labels)

    def tag(name, i):
        return f"{m}-d{day}-{name}-{i}"

    only = world.config.typologies or TYPOLOGIES
    spike = open_at + length * rng.uniform(0.42, 0.55)
    busy = []
    if "pump_and_dump" in only:
        world.labels.append(ep.pump_and_dump(world, market, spike, tag("pump", 0), rng.random() < camo_rate, open_at))
        busy.append((spike - 60, spike + world.t(360)))  # the rally: prices run, the crowd takes every offer
    if rng.random() < 0.5:
        news = open_at + length * rng.uniform(0.12, 0.2)
        ep.news_rally(world, market, news, tag("news", 0))
        busy.append((news - 60, news + 300))
    if "marking_the_close" in only and (world.config.typologies or rng.random() < 0.8):
        world.labels.append(ep.marking_the_close(world, market, close, tag("close", 0), rng.random() < camo_rate))
    # One slot per streaming episode, in the time the rallies and the close leave free, so that
    # two crossing strategies do not take each other's orders and a rally does not take a
    # spoofer's orders; the slots are shuffled, the start inside each slot is random.
    free = _free_time(open_at + 60, close - min(900.0, length / 4), busy)
    most = 2 if length >= 2400 and not world.config.single else 1  # short sessions: no overlaps
    plan = [(typology, i) for typology in _STREAMING if typology in only for i in range(rng.randint(1, most))]
    rng.shuffle(plan)
    slot = sum(b - a for a, b in free) / max(1, len(plan))
    for n, (typology, i) in enumerate(plan):
        t0 = _at_free(free, slot * n + rng.uniform(0, slot * 0.3))
        world.labels.append(getattr(ep, typology)(world, market, t0, tag(typology, i), rng.random() < camo_rate))
    if world.config.noise:
        for label in world.labels[first_label:]:
            ep.noise(world, market, label, open_at, close)


def _free_time(start: float, end: float, busy: list) -> list:
    """[start, end] minus the busy intervals, as a sorted list of (from, to)."""
    free = [(start, end)]
    for b0, b1 in busy:
        free = [part for a, b in free for part in ((a, min(b, b0)), (max(a, b1), b)) if part[1] > part[0]]
    return sorted(free)


def _at_free(free: list, offset: float) -> float:
    """The moment `offset` seconds of free time after the first free moment."""
    for a, b in free:
        if offset <= b - a:
            return a + offset
        offset -= b - a
    return free[-1][1]


__all__ = ["HARD_NEGATIVE_ROLES", "SELL", "Account", "Config", "Label", "Simulation", "simulate"]
