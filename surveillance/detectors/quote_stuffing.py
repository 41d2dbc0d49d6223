"""Quote stuffing: bursts of short-lived orders, unusual for the account, with almost no executions.

SURVEILLANCE.md rule 3 (CME Rule 575 on messages meant to "overload, delay or disrupt"; MiFID II
RTS 9 Art. 3 order-to-trade ratio). Real time, per (market, account): once `min_messages`
messages fall within `window` seconds, the burst is graded (`surveillance.detectors.scoring`) on
- how short its orders lived in units of the account's own message interval in the burst (an
  order pulled before the next one or two messages is noise; a market maker's ladder lives as
  long as it takes to re-quote the whole ladder, tens of messages);
- its rate against the account's own earlier rate (issue 17: "relative to the account's own
  baseline"): a market maker or arbitrageur that has streamed all session at that rate is not
  bursting, whatever the rate is;
- how far behind the touch its orders sat (orders nobody is meant to reach);
- the RTS 9 order-to-trade ratio in number terms, (orders / transactions) - 1, inside the burst.

So the same rule holds on a market with ten times the message rate of another: nothing in it is
a rate in messages per second except the burst's minimum size, documented below.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from surveillance.detectors.base import Alert, Detector, Episodes, make_alert
from surveillance.detectors.scoring import Evidence, ramp

_ACCEPT, _CANCEL, _AMEND = 0, 1, 2


@dataclass
class QuoteStuffingParams:
    """Thresholds.

    - `window` 1 s and `min_messages` 50: the burst looked at. "Hundreds to thousands of orders and
      cancels in seconds" (the typology); 50 messages in a second is a floor below which nobody's
      systems are overloaded, whatever the market (a documented absolute count: the venue's own
      rate limits are set in messages per second too). The grades, not this floor, decide.
    - `life_intervals` 4 to 1: the median life of the burst's cancelled orders in units of the
      account's own message interval in the burst, graded from 4 (not suspicious) to 1 (pulled
      before the next message); weight 3. SURVEILLANCE.md's rule 3 asks for ">= 90% cancelled
      within tau ms"; tau here is the account's own pace, so it holds at any message rate.
    - `baseline_seconds` 600 and `min_baseline_ratio` 3: the burst's rate against the account's
      own average rate over the previous ten minutes (over its whole history if younger), graded
      from 3x to 20x; an account with no history grades 0.5 (everyone starts quoting at the open,
      so a first burst is neither usual nor unusual); weight 2.
    - behind the touch: share of the burst's new orders with at least one better own-side level in
      front, graded from 50% to 90%.
    - `min_order_to_trade` 10 to 100: the RTS 9 ratio in the burst, graded.
    - `alert_score` 0.65, `episode_gap` 30 s: the weighted mean of the grades that alerts, and
      bursts closer than this to the last one belong to the alerted episode.
    """

    window: float = 1.0
    min_messages: int = 50
    life_intervals: float = 4.0
    baseline_seconds: float = 600.0
    min_baseline_ratio: float = 3.0
    min_order_to_trade: float = 10.0
    alert_score: float = 0.65
    episode_gap: float = 30.0


class _Burst:
    __slots__ = ("accepts", "aged", "aged_at", "behind", "first_seen", "lives", "messages", "next_check", "trades")

    def __init__(self, now: float):
        self.messages: deque = deque()  # (ts, mark, order_id, life or None)
        self.trades: deque = deque()
        self.accepts = 0
        self.behind = 0
        self.first_seen = now
        self.aged = 0.0  # decayed count of messages that left the window
        self.aged_at = now
        self.next_check = now


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
        life = None
        behind = False
        if kind == "order_accepted":
            mark = _ACCEPT
            record = self.state.order(event["market"], event["order_id"])
            behind = record is not None and bool(record.touch_levels)
        elif kind == "order_cancelled":
            record = self.state.order(event["market"], event["order_id"])
            life = record.lifetime if record is not None else None
            mark = _CANCEL
        elif kind == "order_amended":
            mark = _AMEND
        else:
            return []
        key = (event["market"], event["account"])
        burst = self._bursts.get(key)
        if burst is None:
            burst = self._bursts[key] = _Burst(now)
        burst.messages.append((now, mark, event["order_id"], life, behind))
        if mark == _ACCEPT:
            burst.accepts += 1
            burst.behind += behind
        self._expire(burst, now)
        if mark != _CANCEL or len(burst.messages) < self.params.min_messages or now < burst.next_check:
            return []
        burst.next_check = now + self.params.window / 4  # a burst is graded a few times a window, not per message
        return self._check(key, burst, now)

    def _expire(self, burst: _Burst, now: float) -> None:
        """Drop messages older than the window into the account's decayed baseline count."""
        horizon = now - self.params.window
        tau = self.params.baseline_seconds
        messages = burst.messages
        while messages and messages[0][0] < horizon:
            ts, old, _, _, behind = messages.popleft()
            if old == _ACCEPT:
                burst.accepts -= 1
                burst.behind -= behind
            burst.aged = burst.aged * math.exp(-(ts - burst.aged_at) / tau) + 1
            burst.aged_at = ts
        while burst.trades and burst.trades[0][0] < horizon:
            burst.trades.popleft()

    def _check(self, key, burst: _Burst, now: float) -> list[Alert]:
        p = self.params
        messages = list(burst.messages)
        count = len(messages)
        interval = p.window / count
        lives = [m[3] for m in messages if m[3] is not None]
        if not lives:
            return []
        life = statistics.median(lives) / interval
        history = now - p.window - burst.first_seen
        if history > p.window:
            aged = burst.aged * math.exp(-(now - p.window - burst.aged_at) / p.baseline_seconds)
            usual = aged / min(history, p.baseline_seconds)
            ratio = (count / p.window) / usual if usual > 0 else float("inf")
        else:
            ratio = None  # no history: neither usual nor unusual
        accepts = max(burst.accepts, 1)
        otr = accepts / max(len(burst.trades), 1) - 1
        evidence = (
            Evidence()
            .add("short-lived", ramp(life, p.life_intervals, 1.0), 3.0)
            .add("unusual", 0.5 if ratio is None else ramp(min(ratio, 1e6), p.min_baseline_ratio, 20.0), 2.0)
            .add("behind the touch", ramp(burst.behind / accepts, 0.5, 0.9))
            .add("order-to-trade", ramp(otr, p.min_order_to_trade, 10 * p.min_order_to_trade))
        )
        if evidence.score < p.alert_score:
            return []
        if self._episodes.is_open(key, now):
            self._episodes.touch(key, now)
            return []
        self._episodes.open(key, now)
        market, account = key
        start = messages[0][0]
        usual_text = "with no earlier activity" if ratio is None else f"{min(ratio, 1e6):.0f}x its own earlier rate"
        return [
            make_alert(
                typology=self.typology,
                market=market,
                accounts=[account],
                start=start,
                end=now,
                score=evidence.score,
                order_ids=[m[2] for m in messages],
                trade_ids=[trade_id for _, trade_id in burst.trades],
                reason=(
                    f"Account {account} sent {count} order messages in {now - start:.2f} s ({burst.accepts} new "
                    f"orders, {usual_text}), its cancelled orders living a median {life:.1f} of its own message "
                    f"intervals, {burst.behind / accepts:.0%} of them behind the touch, against {len(burst.trades)} "
                    f"trades, an RTS 9 order-to-trade ratio of {otr:.0f}. Evidence: {evidence.summary()}."
                ),
            )
        ]
