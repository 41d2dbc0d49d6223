"""Pump and dump: quiet accumulation, a price and volume spike with many small buyers, a dump.

SURVEILLANCE.md rule 10 (MAR 2016/522: "taking of a long position ... and then undertaking
further buying activity ... When the price is at an artificial high level, the long position held
is sold out"). Instrument level, in real time: a spike is a rise of `min_rise` from the lowest
trade of the last `spike_window` seconds, with `min_buyers` distinct aggressive buyers and
`min_volume_ratio` times the usual volume. Account attribution: accounts that held at least
`min_accumulation_share` of the net buying in the `accumulation_window` before the spike started
and then sell `min_dump_ratio` of that position into it, well above where the rally started. The alert goes
out on the trade that completes the first accumulator's dump and names the accumulators that
have sold by then.

A news-driven rally has the spike but no accumulators selling into it; an execution algorithm
accumulates but does not sell; market makers stay near flat.
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

    - `spike_window` 300 s, `min_rise` 0.03, `min_volume_ratio` 2: a rolling return and volume
      anomaly against the market's own baseline (rule 10, arXiv 2503.08692 and Kamps & Kleinberg,
      P8); a 3% rise in five minutes on twice the usual volume (proposal, scaled to a liquid
      market where execution algorithms already trade a lot; crypto pumps run to tens of
      percent on ten times the volume). The accumulator-and-dump test, not the spike, is what
      makes the alert.
    - `min_buyers` 8: "many small buyers" (proposal).
    - `accumulation_window` 3600 s: on Poloniex pumps, 70% of the pre-event volume traded within
      one hour of the announcement (arXiv 2504.15790, P8); Fantazzini & Xiao label up to 60 min
      before it.
    - `min_accumulation_share` 0.05: the account held at least q = 5% of the window's positive
      net buying (rule 10's q, proposal); execution algorithms working large parent orders can
      hold most of it, so q stays low and the other tests carry the weight.
    - `min_directionality` 0.6: and its net buying was at least 60% of its gross volume in the
      window: accumulation is one-way. Market makers buy and sell all day and end up long by
      chance; their net is a small part of their gross (proposal).
    - `dump_window` 900 s, `min_dump_ratio` 0.5, `min_dump_premium` 0.015: it sold at least half
      of that position within 15 minutes of the spike's start (rule 10's s, proposal), at an
      average price at least 1.5% (half of `min_rise`) above the low the rally started from, i.e.
      into the rise. Rule 10 asks for no profit: a pump that failed to pay is still a pump.
    - `recheck` 5 s: a rally without accumulators is looked at again this often; detection
      within 25 s of the start is the state of the art (La Morgia et al., P8).

    - `min_history` 900 s: a rally is only judged once the market has 15 minutes of trades
      behind it, so the first minutes of a session never stand for a baseline (proposal).
    """

    spike_window: float = 300.0
    min_rise: float = 0.03
    min_volume_ratio: float = 2.0
    min_buyers: int = 8
    accumulation_window: float = 3600.0
    min_accumulation_share: float = 0.05
    min_directionality: float = 0.6
    dump_window: float = 900.0
    min_dump_ratio: float = 0.5
    min_dump_premium: float = 0.015
    recheck: float = 5.0
    min_history: float = 900.0


@dataclass
class _Spike:
    start: float
    low: Decimal
    rise: float
    buyers: int
    volume_ratio: float
    accumulators: dict  # account -> (net qty, vwap, share, order ids, trade ids)
    sold: dict = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO, [], []]))
    alerted: bool = False


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
        if spike is None:
            if now >= market.quiet_until and now >= market.next_check:
                market.spike = spike = self._detect(market, price, now)
            return []
        if spike.alerted:
            return []
        return self._dump(event["market"], market, spike, trade)

    def _detect(self, market: _Market, price: Decimal, now: float) -> _Spike | None:
        p = self.params
        low_ts, low = market.lows[0]
        rise = float((price - low) / low)
        if rise < p.min_rise:
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
        # Accumulation stops a spike window before the low: selling in those minutes is already
        # part of the dump (the low is where the rally took off, not where the selling began).
        dump_from = low_ts - p.spike_window
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
            if float(position) >= p.min_accumulation_share * float(positive):
                accumulators[account] = (position, notional / bought, float(position / positive), orders, trades)
        if not accumulators:
            return None
        # The spike holds until its dump window ends, so one rally is judged once.
        market.quiet_until = low_ts + p.dump_window
        spike = _Spike(start=low_ts, low=low, rise=rise, buyers=len(buyers), volume_ratio=ratio, accumulators=accumulators)
        for t in market.trades:  # sales already made since the dump window opened
            if t[0] >= dump_from and t[2] in accumulators:
                self._record_sale(spike, t)
        return spike

    @staticmethod
    def _record_sale(spike: _Spike, t) -> None:
        sold = spike.sold[t[2]]
        sold[0] += t[4]
        sold[1] += t[4] * t[5]
        sold[2].append(t[8])
        sold[3].append(t[6])

    def _dump(self, market_name: str, market: _Market, spike: _Spike, trade) -> list[Alert]:
        p, now = self.params, self.state.now
        seller = trade[2]
        if seller not in spike.accumulators:
            return []
        self._record_sale(spike, trade)
        position, vwap, share, _, _ = spike.accumulators[seller]
        qty, notional, _, _ = spike.sold[seller]
        if float(qty) < p.min_dump_ratio * float(position) or float(notional / qty) < float(spike.low) * (1 + p.min_dump_premium):
            return []
        spike.alerted = True
        dumpers = [a for a, s in spike.sold.items() if float(s[0]) >= p.min_dump_ratio / 2 * float(spike.accumulators[a][0])]
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
                    graded(spike.rise, p.min_rise),
                    graded(spike.buyers, p.min_buyers),
                    graded(ratio, p.min_dump_ratio, saturation=2.0),
                    graded(share, p.min_accumulation_share),
                ),
                order_ids=order_ids,
                trade_ids=trade_ids,
                reason=(
                    f"Account {seller} bought a net {fmt_qty(position)} ({share:.0%} of the net buying in the "
                    f"{p.accumulation_window / 60:.0f} min before the spike) at {fmt_qty(vwap.quantize(Decimal('1e-8')))}, "
                    f"then the price rose {spike.rise:.1%} from {fmt_qty(spike.low)} with {spike.buyers} aggressive buyers "
                    f"on {min(spike.volume_ratio, 999):.1f}x the usual volume, and it sold {fmt_qty(qty)} ({ratio:.0%}) "
                    f"into the rise at {fmt_qty(exit_price.quantize(Decimal('1e-8')))}"
                    + (f", with {len(dumpers) - 1} other accumulator(s) selling too." if len(dumpers) > 1 else ".")
                ),
            )
        ]
