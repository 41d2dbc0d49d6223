"""Quote stuffing: bursts of orders and cancels with almost no executions.

SURVEILLANCE.md rule 3 (CME Rule 575 on messages meant to "overload, delay or disrupt"; MiFID II
RTS 9 Art. 3 order-to-trade ratio). Real-time rule: a burst of `min_messages` messages from one
account in one market within `window` seconds, where at least `min_fast_cancel_share` of the new
orders were cancelled within `fast_cancel` seconds and the RTS 9 ratio in number terms,
(orders / transactions) - 1, is at least `min_order_to_trade`.

A market maker re-quoting a 20-level ladder on both sides every second (ABIDES, O3) sends about
80 messages a second and cancels well over 90% of its orders, but each order lives about a
second: the fast-cancel test is what keeps it out, as SURVEILLANCE.md proposes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from surveillance.detectors.base import Alert, Detector, Episodes, graded, make_alert, score_from

_ACCEPT, _CANCEL, _FAST_CANCEL, _AMEND = 0, 1, 2, 3


@dataclass
class QuoteStuffingParams:
    """Thresholds.

    - `window` 1 s and `min_messages` 200: "hundreds to thousands of orders and cancels in
      seconds" (the typology); SURVEILLANCE.md's real-time rule counts messages per (account,
      instrument) in any 1 s window against the venue's own rate limit. 200 a second is 2.5 times
      a 20-level two-sided ladder re-quoted every second (O3), the busiest honest pattern.
    - `fast_cancel` 0.5 s and `min_fast_cancel_share` 0.9: "a burst of >= B messages in delta-t
      where >= 90% are cancelled within tau ms" (rule 3, proposal); SEC data put about a third of
      all orders under 0.5 s (ValueWalk, S), so 0.5 s alone is not suspicious, 90% of a burst is.
    - `min_order_to_trade` 100: RTS 9 ratio in number terms inside the burst; CME's Treasury-roll
      benchmark allows 3,000:1 in quantity over a day, a burst is far shorter (proposal).
    - `episode_gap` 30 s: bursts closer than this to the last one belong to the alerted episode.
    """

    window: float = 1.0
    min_messages: int = 200
    fast_cancel: float = 0.5
    min_fast_cancel_share: float = 0.9
    min_order_to_trade: float = 100.0
    episode_gap: float = 30.0


class _Burst:
    __slots__ = ("accepts", "fast", "messages", "trades")

    def __init__(self):
        self.messages: deque = deque()
        self.trades: deque = deque()
        self.accepts = 0
        self.fast = 0


class QuoteStuffingDetector(Detector):
    """Streams quote-stuffing alerts per (market, account)."""

    typology = "quote_stuffing"
    Params = QuoteStuffingParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        self._bursts: dict[tuple, _Burst] = {}
        self._episodes = Episodes(self.params.episode_gap)

    def on_event(self, event: dict) -> list[Alert]:
        kind = event.get("type")
        now = self.state.now
        if kind == "trade":
            for account in {event.get("buyer"), event.get("seller")}:
                burst = self._bursts.get((event["market"], account))
                if burst is not None:
                    burst.trades.append((now, event["trade_id"]))
            return []
        if kind == "order_accepted":
            mark = _ACCEPT
        elif kind == "order_cancelled":
            record = self.state.order(event["market"], event["order_id"])
            fast = record is not None and record.lifetime is not None and record.lifetime <= self.params.fast_cancel
            mark = _FAST_CANCEL if fast else _CANCEL
        elif kind == "order_amended":
            mark = _AMEND
        else:
            return []
        key = (event["market"], event["account"])
        burst = self._bursts.get(key)
        if burst is None:
            burst = self._bursts[key] = _Burst()
        burst.messages.append((now, mark, event["order_id"]))
        if mark == _ACCEPT:
            burst.accepts += 1
        elif mark == _FAST_CANCEL:
            burst.fast += 1
        horizon = now - self.params.window
        messages = burst.messages
        while messages and messages[0][0] < horizon:
            _, old, _ = messages.popleft()
            if old == _ACCEPT:
                burst.accepts -= 1
            elif old == _FAST_CANCEL:
                burst.fast -= 1
        while burst.trades and burst.trades[0][0] < horizon:
            burst.trades.popleft()
        if mark != _FAST_CANCEL or len(messages) < self.params.min_messages:
            return []
        return self._check(key, burst, now)

    def _check(self, key, burst: _Burst, now: float) -> list[Alert]:
        p = self.params
        accepts = max(burst.accepts, 1)
        fast_share = burst.fast / accepts
        otr = accepts / max(len(burst.trades), 1) - 1
        if fast_share < p.min_fast_cancel_share or otr < p.min_order_to_trade:
            return []
        if self._episodes.is_open(key, now):
            self._episodes.touch(key, now)
            return []
        self._episodes.open(key, now)
        market, account = key
        messages = list(burst.messages)
        start = messages[0][0]
        return [
            make_alert(
                typology=self.typology,
                market=market,
                accounts=[account],
                start=start,
                end=now,
                score=score_from(
                    graded(len(messages) / max(now - start, 1e-3) * p.window, p.min_messages),
                    graded(otr, p.min_order_to_trade),
                ),
                order_ids=[order_id for _, _, order_id in messages],
                trade_ids=[trade_id for _, trade_id in burst.trades],
                reason=(
                    f"Account {account} sent {len(messages)} order messages in {now - start:.2f} s "
                    f"({burst.accepts} new orders, {fast_share:.0%} of them cancelled within "
                    f"{p.fast_cancel:g} s) against {len(burst.trades)} trades, an RTS 9 order-to-trade "
                    f"ratio of {otr:.0f}."
                ),
            )
        ]
