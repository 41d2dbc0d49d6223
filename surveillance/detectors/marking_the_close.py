"""Marking the close: aggressive trading in the last minutes that moves the reference price.

SURVEILLANCE.md rule 9 (CEA 4c(a)(5)(B); MAR 2016/522: trading "at the reference time of the
trading session ... in an effort to increase, to decrease or to maintain the reference
price"). Evaluated on each `market_close` event, over the `window` seconds before it: the
reference price (the event's `price` if present, else the last trade) moved over a final
window, in multiples of the move that is ordinary for this market over that horizon
(`surveillance.baseline`), in the direction of an account that took a large share of that
direction's aggressive volume there (TT's "Dominating the Close", A6), did most of its own
recent trading there, swept price levels with its orders, and traded far more than it usually
does. Each of these is graded evidence (`surveillance.detectors.scoring`); the final window is
tried at several lengths (`final_windows`), so a marker three times slower or faster is seen.

Funds' closing flows (index rebalances, daily creations and redemptions) are the hard negative:
they trade at every close, so their own history of closing windows is their baseline, and they
work the flow over the whole window rather than in the last seconds (propreports: market makers
"receive large market-on-close orders on expiration Fridays and rebalancing days").
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from dataclasses import dataclass
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, fmt_qty, make_alert
from surveillance.detectors.book_state import BUY, SELL
from surveillance.detectors.scoring import Evidence, ramp


@dataclass
class MarkingTheCloseParams:
    """Thresholds (proposals: the sources define the behaviour, not the numbers).

    - `final_windows` 60, 180 and 540 s: the final minutes whose prints set the reference; TT's
      "Dominating the Close" looks at the last 3 minutes (A6); a third and three times that cover
      markers three times faster or slower. Each account is judged at each length, the best kept.
    - `window` 1800 s: the recent trading a final window is compared with (its own volume in
      three final windows' worth of time, and where the price stood before).
    - `min_share` 0.3: the account took at least 30% of the aggressive volume in the move's
      direction over the final window (a gate; the grade rises to 1 at 60%).
    - `min_final_share` 0.5: share of its own aggressive volume of the last three final windows
      that came in the final one (graded up to 0.95); a flow worked evenly puts a third there.
    - `min_move` 1: the reference price moved in the account's direction by about the market's
      ordinary move over the final window (its volatility over that horizon or its spread,
      whichever is larger), graded from half of it to twice it. Not a gate: a close marked in
      a market already trending moves it by less than its ordinary move.
    - `min_orders` 2: a series of aggressive orders, not one (TT's ramping and SGX 5.12.2(k)).
    - sweeping: median number of price levels each of its orders took, graded from 1 to 2: the
      marker pays through the book for the print; a flow worked at the touch does not.
    - `min_unusual_ratio` 2: its aggressive volume over the last three final windows against its
      average for that much time earlier in the session and at earlier closes (graded to 5x it).
    - `alert_score` 0.65: the weighted mean of the grades (share and concentration weigh 2,
      sweeping 3, the rest 1) that alerts.
    """

    final_windows: tuple = (60.0, 180.0, 540.0)
    window: float = 1800.0
    min_share: float = 0.3
    min_final_share: float = 0.5
    min_move: float = 1.0
    min_orders: int = 2
    min_unusual_ratio: float = 2.0
    alert_score: float = 0.65


class MarkingTheCloseDetector(Detector):
    """Evaluates each market's closing windows when its `market_close` event arrives."""

    typology = "marking_the_close"
    Params = MarkingTheCloseParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        # market -> trades of the last `window` seconds: (ts, taker, side, qty, price, trade_id, order_id)
        self._recent: dict[str, deque] = defaultdict(deque)
        # market -> account -> aggressive volume earlier in the session (trades that left `_recent`)
        self._earlier: dict[str, dict] = defaultdict(lambda: defaultdict(Decimal))
        self._last_before: dict[str, Decimal] = {}
        self._session_start: dict[str, float] = {}
        self._closes: dict[str, int] = defaultdict(int)
        self._close_volume: dict[tuple, Decimal] = defaultdict(Decimal)

    def on_event(self, event: dict) -> list[Alert]:
        kind = event.get("type")
        if kind == "trade":
            market, side = event["market"], event.get("aggressor")
            taker = event.get("buyer") if side == BUY else event.get("seller")
            order_id = event.get("buy_order_id") if side == BUY else event.get("sell_order_id")
            self._session_start.setdefault(market, self.state.now)
            self._recent[market].append(
                (self.state.now, taker, side, Decimal(event["quantity"]), Decimal(event["price"]), event["trade_id"], order_id)
            )
            self._age(market)
            return []
        if kind == "market_close":
            return self._close(event["market"], event)
        return []

    def _age(self, market: str) -> None:
        """Move trades older than the window into the session's per-account totals."""
        recent, horizon = self._recent[market], self.state.now - self.params.window
        earlier = self._earlier[market]
        while recent and recent[0][0] < horizon:
            old = recent.popleft()
            earlier[old[1]] += old[3]
            self._last_before[market] = old[4]

    def _close(self, market: str, event: dict) -> list[Alert]:
        now = self.state.now
        self._age(market)
        inside = list(self._recent.pop(market, ()))
        earlier = self._earlier.pop(market, {})
        fallback = self._last_before.pop(market, None)
        session_start = self._session_start.pop(market, now)
        best: dict = {}
        if inside:
            reference = Decimal(event["price"]) if event.get("price") is not None else inside[-1][4]
            for final in self.params.final_windows:
                if now - session_start < 3 * final:
                    continue  # no ordinary trading before this window to compare it with
                for candidate in self._judge(market, final, inside, earlier, session_start, reference, fallback):
                    account = candidate["account"]
                    if account not in best or candidate["score"] > best[account]["score"]:
                        best[account] = candidate
        volume: dict = defaultdict(Decimal)
        for t in inside:
            volume[t[1]] += t[3]
        for account, qty in volume.items():
            self._close_volume[(market, account)] += qty
        self._closes[market] += 1
        return [self._alert(market, c) for c in best.values()]

    def _judge(self, market, final, inside, earlier, session_start, reference, fallback) -> list[dict]:
        p, now = self.params, self.state.now
        late_from, context_from = now - final, now - 3 * final
        before = [t[4] for t in inside if t[0] < late_from]
        start_price = before[-1] if before else fallback
        scale = self.state.baseline(market).move_scale(final, until=late_from)
        if start_price is None or scale is None or scale <= 0:
            return []
        move = float((reference - start_price) / start_price)
        sigmas = abs(move) / scale
        if move == 0:
            return []
        direction = BUY if move > 0 else SELL
        late = [t for t in inside if t[0] >= late_from]
        late_total = sum((t[3] for t in late if t[2] == direction), Decimal(0))
        if late_total <= 0:
            return []
        by_account: dict = defaultdict(list)
        for t in late:
            if t[2] == direction:
                by_account[t[1]].append(t)
        out = []
        for account, own in by_account.items():
            qty = sum((t[3] for t in own), Decimal(0))
            share = float(qty / late_total)
            orders: dict = defaultdict(set)
            for t in own:
                orders[t[6]].add(t[4])
            if share < p.min_share or len(orders) < p.min_orders:
                continue
            context = sum((t[3] for t in inside if t[1] == account and t[0] >= context_from), Decimal(0))
            concentration = float(qty / context) if context > 0 else 1.0
            elapsed = max(context_from - session_start, 3 * final)
            closes = self._closes[market]
            history = float(self._close_volume[(market, account)]) / closes if closes else 0.0
            usual = max(float(earlier.get(account, Decimal(0))) / elapsed * 3 * final, history)
            unusual = float(context) / usual if usual > 0 else float("inf")
            sweep = statistics.median(len(prices) for prices in orders.values())
            evidence = (
                Evidence()
                .add("share", ramp(share, p.min_share, 2 * p.min_share), 2.0)
                .add("concentration", ramp(concentration, p.min_final_share, 0.95), 2.0)
                .add("move", ramp(sigmas, p.min_move / 2, 2 * p.min_move))
                .add("sweeping", ramp(sweep, 1, 2), 3.0)
                .add("unusual", ramp(min(unusual, 1e6), p.min_unusual_ratio, 2.5 * p.min_unusual_ratio))
            )
            if evidence.score < p.alert_score:
                continue
            out.append({
                "account": account, "score": evidence.score, "evidence": evidence, "own": own, "final": final,
                "share": share, "qty": qty, "context": context, "orders": len(orders), "sweep": sweep,
                "unusual": unusual, "move": move, "sigmas": sigmas, "start_price": start_price,
                "reference": reference, "direction": direction,
            })
        return out

    def _alert(self, market: str, c: dict) -> Alert:
        unusual = f"{c['unusual']:.1f}x its usual volume" if c["unusual"] != float("inf") else "with no such trading before"
        return make_alert(
            typology=self.typology,
            market=market,
            accounts=[c["account"]],
            start=c["own"][0][0],
            end=self.state.now,
            score=c["score"],
            order_ids=[t[6] for t in c["own"]],
            trade_ids=[t[5] for t in c["own"]],
            reason=(
                f"Account {c['account']} took {c['share']:.0%} of the aggressive {c['direction']} volume in the last "
                f"{c['final']:.0f} s before the close ({fmt_qty(c['qty'])} in {c['orders']} orders taking a median "
                f"{c['sweep']:g} price levels each; {c['qty'] / c['context']:.0%} of its trading in the last "
                f"{3 * c['final']:.0f} s), {unusual}, while the reference price moved {c['move']:+.2%} "
                f"({c['sigmas']:.1f} times the market's ordinary move over that time) from {fmt_qty(c['start_price'])} "
                f"to {fmt_qty(c['reference'])}. Evidence: {c['evidence'].summary()}."
            ),
        )
