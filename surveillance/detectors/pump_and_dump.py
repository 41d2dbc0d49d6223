"""Pump and dump: quiet accumulation, a price and volume spike with many small buyers, a dump.

SURVEILLANCE.md rule 10 (MAR 2016/522: "taking of a long position ... and then undertaking
further buying activity ... When the price is at an artificial high level, the long position held
is sold out"). Instrument level, in real time: a spike is a rise from the lowest trade of the
last `spike_window` seconds of `min_rise` times the move that is ordinary in this market over that
horizon (its volatility or spread, `surveillance.baseline`), with `min_buyers` distinct aggressive buyers and
`min_volume_ratio` times the usual volume. Account attribution: accounts that held at least
`min_accumulation_share` of the net buying in the `accumulation_window` before the spike started
and then sell `min_dump_ratio` of that position into it, well above where the rally started. The alert goes
out on the trade that completes the first accumulator's dump and names the accumulators that
have sold by then.

A news-driven rally has the spike but no accumulators selling into it; an execution algorithm
accumulates but does not sell; a market maker that ends up long does sell into the rally, but
keeps bidding while it does: a sale by an owner with live bids is not counted as distribution.
Each accumulator is judged on its own: an alert naming one never hides the next (issue 17).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, fmt_qty, graded, make_alert, score_from

ZERO = Decimal(0)


@dataclass
class PumpAndDumpParams:
    """Thresholds.

    - `spike_window` 300 s, `min_rise` 4 (multiples of the market's ordinary move over the
      window, learned before the rally), `min_volume_ratio` 2: a rolling return and volume
      anomaly against the market's own baseline, with volatility-scaled thresholds (rule 10,
      arXiv 2503.08692 and Kamps & Kleinberg, P8): a four-sigma rise on twice the usual volume
      (proposal; crypto pumps run to tens of sigma on ten times the volume). The
      accumulator-and-dump test, not the spike, is what makes the alert.
    - `min_buyers` 8: "many small buyers" (proposal).
    - `accumulation_window` 3600 s: on Poloniex pumps, 70% of the pre-event volume traded within
      one hour of the announcement (arXiv 2504.15790, P8); Fantazzini & Xiao label up to 60 min
      before it.
    - `min_accumulation_share` 0.05 and `min_accumulation_orders` 3: the account held at least
      q = 5% of the window's positive net buying (rule 10's q, proposal), bought over at least
      three orders (accumulation is a series; one lucky purchase sold into a rally is not one).
      Execution algorithms working large parent orders can hold most of it, so q stays low and
      the other tests carry the weight.
    - `min_directionality` 0.8: and its net buying was at least 80% of its gross volume in the
      window: accumulation is one-way. Market makers buy and sell all day and end up long by
      chance; their net is a small part of their gross (proposal).
    - `dump_window` 1800 s, `min_dump_ratio` 0.5, `min_dump_premium` 0.25: it sold at least half
      of that position within 30 minutes of the spike's start (rule 10's s, proposal; a dump three
      times slower than a 10-minute one), at an average price at least a quarter of the rise
      above the low the rally started from, i.e. into the rise. Rule 10 asks for no profit: a pump
      that failed to pay is still a pump.
    - `min_dump_share` 0.05: its sales are at least 5% of all the volume traded since the low:
      distribution into the buyers, not a small holder taking its profit (proposal).
    - `recheck` 5 s: a rally without accumulators is looked at again this often; detection
      within 25 s of the start is the state of the art (La Morgia et al., P8).

    - `min_history` 300 s: a rally is only judged once the market has a spike window of trades
      behind it, so the first minutes of a session never stand for a baseline (proposal; the
      volatility baseline itself also needs ten moves of the window's length).
    """

    spike_window: float = 300.0
    min_rise: float = 4.0
    min_volume_ratio: float = 2.0
    min_buyers: int = 8
    accumulation_window: float = 3600.0
    min_accumulation_share: float = 0.05
    min_accumulation_orders: int = 3
    min_directionality: float = 0.8
    dump_window: float = 1800.0
    min_dump_ratio: float = 0.5
    min_dump_premium: float = 0.25
    min_dump_share: float = 0.05
    recheck: float = 5.0
    min_history: float = 300.0


@dataclass
class _Spike:
    start: float
    low: Decimal
    rise: float
    sigmas: float
    buyers: int
    volume_ratio: float
    accumulators: dict  # account -> (net qty, vwap, share, order ids, trade ids)
    sold: dict = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO, [], []]))
    alerted: set = field(default_factory=set)  # accumulators already named in an alert


class _Market:
    def __init__(self):
        self.trades: deque = deque()  # (ts, buyer, seller, aggressor, qty, price, trade_id, buy_oid, sell_oid)
        self.lows: deque = deque()  # monotonic (ts, price) for the rolling minimum
        self.spike: _Spike | None = None
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
        spike = market.spike
        if spike is not None and now - spike.start > p.dump_window:
            market.spike = spike = None
        alerts: list[Alert] = []
        if spike is not None:
            alerts += self._dump(event["market"], market, spike, trade, trade[2])
        if now >= market.quiet_until and now >= market.next_check:
            # A new rally may start while an earlier one's dump is still watched: it replaces it
            # (never a lock-out of the next episode), and who was named stays named once.
            fresh = self._detect(event["market"], market, price, now)
            if fresh is not None:
                if spike is not None:
                    fresh.alerted |= spike.alerted
                market.spike = spike = fresh
                for account in list(spike.sold):  # sold before the spike was seen
                    alerts += self._dump(event["market"], market, spike, None, account)
        return alerts

    def _detect(self, name: str, market: _Market, price: Decimal, now: float) -> _Spike | None:
        p = self.params
        low_ts, low = market.lows[0]
        rise = float((price - low) / low)
        scale = self.state.baseline(name).move_scale(p.spike_window, until=low_ts)
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
        # Accumulation runs up to the low the rally started from (the lowest trade of the spike
        # window, which can lie minutes before the take-off); selling after it is the dump.
        dump_from = low_ts
        before = [t for t in before if t[0] < dump_from]
        history = min(p.accumulation_window, low_ts - market.trades[0][0])
        baseline = float(base_volume) / history * span
        ratio = float(volume) / baseline if baseline > 0 else float("inf")
        if ratio < p.min_volume_ratio:
            return None
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
            if position <= 0 or float(position) < p.min_directionality * float(bought + sold):
                continue
            if float(position) >= p.min_accumulation_share * float(positive) and len(set(orders)) >= p.min_accumulation_orders:
                accumulators[account] = (position, notional / bought, float(position / positive), orders, trades)
        if not accumulators:
            return None
        # The spike holds until its dump window ends, so one rally is judged once.
        market.quiet_until = now + p.spike_window
        spike = _Spike(start=low_ts, low=low, rise=rise, sigmas=rise / scale,
                        buyers=len(buyers), volume_ratio=ratio, accumulators=accumulators)
        for t in market.trades:  # sales already made since the dump window opened
            if t[0] >= dump_from and t[2] in accumulators:
                self._record_sale(spike, t)
        return spike

    def _dumped(self, spike: _Spike, account) -> bool:
        """The account sold `min_dump_ratio` of its accumulated position into the rise."""
        qty, notional, _, _ = spike.sold[account]
        if qty <= 0:
            return False
        premium = float(notional / qty / spike.low) - 1
        return float(qty) >= self.params.min_dump_ratio * float(spike.accumulators[account][0]) and (
            premium >= spike.rise * self.params.min_dump_premium
        )

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
        position, vwap, share, _, _ = spike.accumulators[seller]
        qty, notional, _, _ = spike.sold[seller]
        if not self._dumped(spike, seller):
            return []
        rally = sum((t[4] for t in market.trades if t[0] >= spike.start), ZERO)
        if rally > 0 and float(spike.sold[seller][0] / rally) < p.min_dump_share:
            return []  # a small holder taking profit in someone else's rally
        dumpers = [seller] + [a for a in spike.sold if a != seller and a not in spike.alerted and self._dumped(spike, a)]
        spike.alerted.update(dumpers)  # each accumulator is named once; the others stay watched
        order_ids, trade_ids = [], []
        for account in dumpers:
            order_ids += spike.accumulators[account][3] + spike.sold[account][2]
            trade_ids += spike.accumulators[account][4] + spike.sold[account][3]
        exit_price = notional / qty
        first = min((t for t in market.trades if t[1] in dumpers and t[0] < spike.start), default=None, key=lambda t: t[0])
        start = first[0] if first is not None else spike.start
        ratio = float(qty / position)
        return [
            make_alert(
                typology=self.typology,
                market=market_name,
                accounts=dumpers,
                start=start,
                end=now,
                score=score_from(
                    graded(spike.sigmas, p.min_rise),
                    graded(spike.buyers, p.min_buyers),
                    graded(ratio, p.min_dump_ratio, saturation=2.0),
                    graded(share, p.min_accumulation_share),
                ),
                order_ids=order_ids,
                trade_ids=trade_ids,
                reason=(
                    f"Account {seller} bought a net {fmt_qty(position)} ({share:.0%} of the net buying in the "
                    f"{p.accumulation_window / 60:.0f} min before the spike) at {fmt_qty(vwap.quantize(Decimal('1e-8')))}, "
                    f"then the price rose {spike.rise:.1%} ({spike.sigmas:.0f} times its ordinary move) "
                    f"from {fmt_qty(spike.low)} with {spike.buyers} aggressive buyers "
                    f"on {min(spike.volume_ratio, 999):.1f}x the usual volume, and it sold {fmt_qty(qty)} ({ratio:.0%}) "
                    f"into the rise at {fmt_qty(exit_price.quantize(Decimal('1e-8')))}"
                    + (f", with {len(dumpers) - 1} other accumulator(s) selling too." if len(dumpers) > 1 else ".")
                ),
            )
        ]
