"""Pump and dump: quiet accumulation, a price and volume spike with many small buyers, a dump.

SURVEILLANCE.md rule 10 (MAR 2016/522: "taking of a long position ... and then undertaking
further buying activity ... When the price is at an artificial high level, the long position held
is sold out"). Instrument level, in real time: a rally is a rise from the lowest trade of the
last `spike_window` seconds, measured in the market's ordinary move over that horizon
(`surveillance.baseline`), with many distinct aggressive buyers on more than the usual volume.
Account attribution, from the account's own flow: it accumulated quietly (a one-way series of
buy orders, a share of the net buying in the `accumulation_window` before the take-off), then
sold at least `min_dump_ratio` of that position above the rally's low, one-way, into the buyers,
within `dump_window`. Each piece of evidence is graded between a floor and a "full" value
(`surveillance.detectors.scoring`), and the account is named when the weighted mean reaches
`alert_score`: a pump a little under one threshold (a small accumulator, a coarse tick, a slow
dump) is still found when the rest of the case is strong. The alert goes out on the trade that
completes the case and names the accumulators whose case is complete by then.

A news-driven rally has the spike but no accumulators selling into it; an execution algorithm
accumulates but does not sell; a market maker that ends up long does sell into the rally, but
keeps bidding while it does: a sale by an owner with live bids is not counted as distribution.
Each accumulator is judged on its own: an alert naming one never hides the next (issue 17).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, fmt_qty, make_alert
from surveillance.detectors.scoring import Evidence, ramp

ZERO = Decimal(0)


@dataclass
class PumpAndDumpParams:
    """Thresholds, each in the market's own units. Most are a floor (below it the evidence is
    absent and nothing is judged) and a "full" value (as strong as the cases); between them the
    evidence is graded (`surveillance.detectors.scoring`) and the alert needs the weighted mean
    of the grades to reach `alert_score` (issue 17: a manipulator a little below one threshold
    and well above the others is still found).

    The rally (instrument level):
    - `spike_window` 300 s: the rise is measured from the lowest trade of the last 300 s.
    - `min_rise` 1.5 and `full_rise` 6 (multiples of the market's ordinary move over
      `spike_window`, learned before the rally: `MarketBaseline.calm_move_scale`, the calmer of
      the short-move and whole-window volatility, its spread or one price step): a rolling
      return anomaly against the market's own baseline (rule 10, arXiv 2503.08692 and Kamps &
      Kleinberg, P8; crypto pumps run to tens of sigma). 1.5 sigma alone is common; what makes
      the alert is the account flow around it.
    - `min_volume_ratio` 1.5 and `full_volume_ratio` 4 (multiples of the usual volume per second
      in the hour before): the rally trades more than usual (proposal).
    - `min_buyers` 8 and `full_buyers` 30 (distinct aggressive buyers since the low): "many small
      buyers" (proposal).
    - `takeoff_share` 0.25 (share of the rise): the rally takes off at the last trade in the
      lowest quarter of the rise; the accumulation is judged up to it, the dump after it.

    The account (who accumulated before the low, then sold into the rally):
    - `accumulation_window` 3600 s: on Poloniex pumps, 70% of the pre-event volume traded within
      one hour of the announcement (arXiv 2504.15790, P8); Fantazzini & Xiao label up to 60 min
      before it.
    - `min_accumulation_share` 0.01 and `full_accumulation_share` 0.10 (share of the window's
      positive net buying): rule 10's q. Execution algorithms working large parent orders can
      hold most of the net buying, so an accumulator of a few percent is still judged; its size
      is graded, not gated (proposal).
    - `min_accumulation_orders` 3 and `full_accumulation_orders` 15 (buy orders): accumulation is
      a series; one lucky purchase sold into a rally is not one.
    - `min_directionality` 0.8 (net buying / gross volume in the window, full at 1): accumulation
      is one-way. Market makers and random traders buy and sell all day and end up long by
      chance; their net is a small part of their gross (proposal).
    - `dump_window` 1800 s: sales up to 30 minutes after the rally's start are the dump; with
      the accumulation window, the detector looks at flows over up to 1.5 hours.
    - `min_dump_ratio` 0.5 and `full_dump_ratio` 0.8 (share of the accumulated position sold):
      rule 10's s (proposal). Selling more than `max_dump_ratio` 2 times the position is turning
      short, not distributing: that grade falls to 0 there (from 1 at 1.2 times).
    - `min_dump_premium` 0 and `full_dump_premium` 0.5 (average sale price above the low the
      rally started from, as a share of the rise): sold into the rise. A sale at or below the
      low is never a dump; any sale above it counts a little: a slow dump sells into what is left
      of the rally. Rule 10 asks for no profit: a pump that failed to pay is still a pump.
    - `full_distribution` 1 (sales / (sales + purchases) since the take-off, floor 0.5): the dump is
      one-way too; an account that buys as much as it sells in the rally is trading, not
      distributing (proposal).
    - `min_dump_share` 0 and `full_dump_share` 0.05 (its sales / all the volume since the
      take-off): distribution into the buyers; a small holder's profit-taking stays low on this
      grade (proposal). Both `min_` names were gates before issue 17's rework, so a stored
      parameter version that names them still applies.
    - `alert_score` 0.67: the weighted mean of the grades (weights in `_WEIGHTS`) an account
      needs to be named; fitted on the evaluation grid's tuning cells (README).
    - `recheck` 5 s: a rally without accumulators is looked at again this often; detection
      within 25 s of the start is the state of the art (La Morgia et al., P8).
    - `min_history` 300 s: a rally is only judged once the market has a spike window of trades
      behind it, so the first minutes of a session never stand for a baseline (proposal; the
      volatility baseline itself also needs ten moves of the window's length).
    """

    spike_window: float = 300.0
    min_rise: float = 1.5
    full_rise: float = 6.0
    min_volume_ratio: float = 1.5
    full_volume_ratio: float = 4.0
    min_buyers: int = 8
    full_buyers: int = 30
    takeoff_share: float = 0.25
    accumulation_window: float = 3600.0
    min_accumulation_share: float = 0.01
    full_accumulation_share: float = 0.10
    min_accumulation_orders: int = 3
    full_accumulation_orders: int = 15
    min_directionality: float = 0.8
    dump_window: float = 1800.0
    min_dump_ratio: float = 0.5
    full_dump_ratio: float = 0.8
    max_dump_ratio: float = 2.0
    min_dump_premium: float = 0.0
    full_dump_premium: float = 0.5
    full_distribution: float = 1.0
    min_dump_share: float = 0.0
    full_dump_share: float = 0.05
    alert_score: float = 0.67
    recheck: float = 5.0
    min_history: float = 300.0


# How much each grade weighs in the score: the account's flow (accumulate, then distribute into
# the rally) weighs more than the rally itself, which news also makes.
_WEIGHTS = {
    "rise": 1.0,
    "buyers": 0.5,
    "volume": 0.5,
    "accumulation": 1.0,
    "series": 3.0,
    "one_way": 1.0,
    "dump": 0.5,
    "unwound": 1.0,
    "premium": 1.0,
    "distribution": 1.0,
    "dump_share": 1.0,
}


@dataclass
class _Spike:
    start: float
    low: Decimal
    rise: float
    sigmas: float
    buyers: int
    volume_ratio: float
    accumulators: dict  # account -> _Accumulator
    sold: dict = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO, [], []]))
    bought: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))  # accumulators' buying in the rally
    alerted: set = field(default_factory=set)  # accumulators already named in an alert


@dataclass
class _Accumulator:
    position: Decimal  # net bought in the accumulation window, up to the take-off
    vwap: Decimal
    share: float  # of the window's positive net buying
    directionality: float  # net / gross volume
    order_ids: list
    trade_ids: list


class _Market:
    def __init__(self):
        self.trades: deque = deque()  # (ts, buyer, seller, aggressor, qty, price, trade_id, buy_oid, sell_oid)
        self.lows: deque = deque()  # monotonic (ts, price) for the rolling minimum
        self.spikes: list[_Spike] = []  # the rallies whose dump is still watched
        self.quiet_until = float("-inf")
        self.next_check = float("-inf")


class PumpAndDumpDetector(Detector):
    """Streams pump-and-dump alerts per market."""

    typology = "pump_and_dump"
    Params = PumpAndDumpParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        self._markets: dict[str, _Market] = defaultdict(_Market)

    def on_event(self, event: dict) -> list[Alert]:
        if event.get("type") != "trade":
            return []
        p, now = self.params, self.state.now
        market = self._markets[event["market"]]
        price, qty = Decimal(event["price"]), Decimal(event["quantity"])
        trade = (now, event.get("buyer"), event.get("seller"), event.get("aggressor"), qty, price,
                 event["trade_id"], event.get("buy_order_id"), event.get("sell_order_id"))
        market.trades.append(trade)
        horizon = now - p.accumulation_window - p.spike_window
        while market.trades[0][0] < horizon:
            market.trades.popleft()
        lows = market.lows
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((now, price))
        while lows[0][0] < now - p.spike_window:
            lows.popleft()
        # Every rally of the last `dump_window` stays watched: a rally that keeps climbing is seen
        # again from a higher low, and a new one may start while an earlier one's dump is still
        # under way; each sale is judged against each of them (never a lock-out of the next episode).
        market.spikes = [s for s in market.spikes if now - s.start <= p.dump_window]
        alerts: list[Alert] = []
        for spike in market.spikes:
            if trade[1] in spike.accumulators and trade[1] != trade[2]:
                spike.bought[trade[1]] += qty
            alerts += self._dump(event["market"], market, spike, trade, trade[2])
        if now >= market.quiet_until and now >= market.next_check:
            fresh = self._detect(event["market"], market, price, now)
            if fresh is not None:
                for spike in market.spikes:  # who was named stays named once
                    fresh.alerted |= spike.alerted
                market.spikes.append(fresh)
                for account in list(fresh.sold):  # sold before the spike was seen
                    alerts += self._dump(event["market"], market, fresh, None, account)
        return alerts

    def _detect(self, name: str, market: _Market, price: Decimal, now: float) -> _Spike | None:
        p = self.params
        low_ts, low = market.lows[0]
        rise = float((price - low) / low)
        scale = self.state.baseline(name).calm_move_scale(p.spike_window, until=low_ts)
        if scale is None or rise < p.min_rise * scale:
            return None
        # a rally with no accumulators is checked again a few seconds later, not on every trade
        market.next_check = now + p.recheck
        if market.trades[0][0] > low_ts - p.min_history:
            return None  # not enough history for a baseline (e.g. the first minutes of a session)
        recent = [t for t in market.trades if t[0] >= low_ts]
        buyers = {t[1] for t in recent if t[3] == "buy"}
        if len(buyers) < p.min_buyers:
            return None
        volume = sum((t[4] for t in recent), ZERO)
        span = max(now - low_ts, 1.0)
        before = [t for t in market.trades if low_ts - p.accumulation_window <= t[0] < low_ts]
        base_volume = sum((t[4] for t in before), ZERO)
        history = min(p.accumulation_window, low_ts - market.trades[0][0])
        baseline = float(base_volume) / history * span
        ratio = float(volume) / baseline if baseline > 0 else float("inf")
        if ratio < p.min_volume_ratio:
            return None
        # Accumulation runs up to the take-off: the last trade in the lowest `takeoff_share` of
        # the rise. The lowest trade of the spike window can lie minutes before it, while a
        # quiet accumulator is still buying near the low; trading after the take-off is the rally.
        floor = low + (price - low) * Decimal(str(p.takeoff_share))
        takeoff = max(t[0] for t in recent if t[5] <= floor)
        before = [t for t in market.trades if takeoff - p.accumulation_window <= t[0] < takeoff]
        recent = [t for t in recent if t[0] >= takeoff]
        net: dict = defaultdict(lambda: [ZERO, ZERO, ZERO, [], [], ZERO])  # net, bought, notional, orders, trades, sold
        for t in before:
            _, buyer, seller, _, qty, px, trade_id, buy_oid, _ = t
            if buyer == seller:
                continue
            b = net[buyer]
            b[0] += qty
            b[1] += qty
            b[2] += qty * px
            b[3].append(buy_oid)
            b[4].append(trade_id)
            net[seller][0] -= qty
            net[seller][5] += qty
        positive = sum((v[0] for v in net.values() if v[0] > 0), ZERO)
        accumulators = {}
        for account, (position, bought, notional, orders, trades, sold) in net.items():
            if position <= 0:
                continue
            directionality = float(position / (bought + sold))
            share = float(position / positive)
            if (directionality >= p.min_directionality and share >= p.min_accumulation_share
                    and len(set(orders)) >= p.min_accumulation_orders):
                accumulators[account] = _Accumulator(position, notional / bought, share, directionality, orders, trades)
        if not accumulators:
            return None
        # The spike holds until its dump window ends, so one rally is judged once.
        market.quiet_until = now + p.spike_window
        spike = _Spike(start=takeoff, low=low, rise=rise, sigmas=rise / scale,
                       buyers=len(buyers), volume_ratio=ratio, accumulators=accumulators)
        for t in recent:  # trades already made since the take-off
            if t[1] in accumulators and t[1] != t[2]:
                spike.bought[t[1]] += t[4]
            if t[2] in accumulators:
                self._record_sale(spike, t)
        return spike

    def evidence(self, market: _Market, spike: _Spike, account) -> Evidence | None:
        """The graded case against `account`, or None while it has not sold `min_dump_ratio` of
        its position above the low."""
        p = self.params
        acc = spike.accumulators[account]
        qty, notional, _, _ = spike.sold[account]
        if qty <= 0 or float(qty) < p.min_dump_ratio * float(acc.position):
            return None
        premium = float(notional / qty / spike.low) - 1
        if premium <= 0:
            return None  # sold below where the rally started: not into it
        rally = sum((t[4] for t in market.trades if t[0] >= spike.start), ZERO)
        dumped = float(qty / acc.position)
        distribution = float(qty / (qty + spike.bought[account]))
        evidence = Evidence()
        evidence.add("rise", ramp(spike.sigmas, p.min_rise, p.full_rise))
        evidence.add("buyers", ramp(spike.buyers, p.min_buyers, p.full_buyers))
        evidence.add("volume", ramp(spike.volume_ratio, p.min_volume_ratio, p.full_volume_ratio))
        evidence.add("accumulation", ramp(acc.share, p.min_accumulation_share, p.full_accumulation_share))
        evidence.add("series", ramp(len(set(acc.order_ids)), p.min_accumulation_orders, p.full_accumulation_orders))
        evidence.add("one_way", ramp(acc.directionality, p.min_directionality, 1.0))
        evidence.add("dump", ramp(dumped, p.min_dump_ratio, p.full_dump_ratio))
        evidence.add("unwound", ramp(dumped, p.max_dump_ratio, 1.2))
        evidence.add("premium", ramp(premium / spike.rise, p.min_dump_premium, p.full_dump_premium))
        evidence.add("distribution", ramp(distribution, 0.5, p.full_distribution))
        evidence.add("dump_share", ramp(float(qty / rally) if rally > 0 else 0.0, p.min_dump_share, p.full_dump_share))
        for name in evidence.grades:
            evidence.weights[name] = _WEIGHTS[name]
        return evidence

    @staticmethod
    def _record_sale(spike: _Spike, t) -> None:
        sold = spike.sold[t[2]]
        sold[0] += t[4]
        sold[1] += t[4] * t[5]
        sold[2].append(t[8])
        sold[3].append(t[6])

    def _dump(self, market_name: str, market: _Market, spike: _Spike, trade, seller) -> list[Alert]:
        """Judge `seller` after its sale `trade` (None: after the sales already recorded)."""
        p, now = self.params, self.state.now
        if seller not in spike.accumulators or seller in spike.alerted:
            return []
        if self.state.live_quantity(market_name, self.state.owner_of(seller), "buy") > 0:
            return []  # still bidding while it sells: making a market, not distributing
        if trade is not None:
            self._record_sale(spike, trade)
        case = self.evidence(market, spike, seller)
        if case is None or case.score < p.alert_score:
            return []
        acc = spike.accumulators[seller]
        qty, notional, _, _ = spike.sold[seller]
        others = []
        for account in spike.sold:
            if account == seller or account in spike.alerted or account not in spike.accumulators:
                continue
            other = self.evidence(market, spike, account)
            if other is not None and other.score >= p.alert_score:
                others.append(account)
        dumpers = [seller, *others]
        for watched in (spike, *market.spikes):  # each accumulator is named once; the others stay watched
            watched.alerted.update(dumpers)
        order_ids, trade_ids = [], []
        for account in dumpers:
            order_ids += spike.accumulators[account].order_ids + spike.sold[account][2]
            trade_ids += spike.accumulators[account].trade_ids + spike.sold[account][3]
        exit_price = notional / qty
        first = min((t for t in market.trades if t[1] in dumpers and t[0] < spike.start), default=None, key=lambda t: t[0])
        start = first[0] if first is not None else spike.start
        ratio = float(qty / acc.position)
        return [
            make_alert(
                typology=self.typology,
                market=market_name,
                accounts=dumpers,
                start=start,
                end=now,
                score=case.score,
                order_ids=order_ids,
                trade_ids=trade_ids,
                reason=(
                    f"Account {seller} bought a net {fmt_qty(acc.position)} ({acc.share:.0%} of the net buying in the "
                    f"{p.accumulation_window / 60:.0f} min before the spike, over {len(set(acc.order_ids))} orders) "
                    f"at {fmt_qty(acc.vwap.quantize(Decimal('1e-8')))}, "
                    f"then the price rose {spike.rise:.1%} ({spike.sigmas:.1f} times its ordinary move) "
                    f"from {fmt_qty(spike.low)} with {spike.buyers} aggressive buyers "
                    f"on {min(spike.volume_ratio, 999):.1f}x the usual volume, and it sold {fmt_qty(qty)} ({ratio:.0%}) "
                    f"into the rise at {fmt_qty(exit_price.quantize(Decimal('1e-8')))}"
                    + (f", with {len(dumpers) - 1} other accumulator(s) selling too" if len(dumpers) > 1 else "")
                    + f". Evidence: {case.summary()}."
                ),
            )
        ]
