"""Wash trading: repeated trades where buyer and seller share one beneficial owner.

SURVEILLANCE.md rule 6 (MAR 2016/522 Annex II 3(a) indicator (i) "unusual repetition of a
transaction among a small number of parties"; CME Rule 534 including indirect wash through
accounts with common beneficial ownership; FINRA 5210 .02). `account` events map accounts to
owners; an account never mapped is its own owner. One self-match is not an alert: FINRA 5210 .02
calls unintentional self-trades "generally ... bona fide"; only a repetition is.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, Episodes, fmt_qty, graded, make_alert, score_from


@dataclass
class WashTradingParams:
    """Thresholds (proposals; the sources give the shape, not the numbers).

    - `min_trades` 2 within `window` 3600 s: a repetition, not a one-off (FINRA 5210 .02: single
      unintentional self-trades are "generally bona fide"; MAR indicator (i)). RedDeer's sensitive
      clustering test alerts from 2 trades (O1). A single self-trade stays silent, whatever its
      size: it is exactly what two desks of one firm produce by accident, and the journal holds
      nothing (no intent, no P&L motive) that would tell the two apart.
    - `max_entry_gap` 2 s: buy and sell orders entered this close together look prearranged
      (rule 7 proposal, "entry-time gap <= 2 s"); it raises the score, it is not required,
      because washing through old resting orders is still washing.
    - `episode_gap` 1800 s: self-trades this close to the last one extend the alerted episode.
    """

    min_trades: int = 2
    window: float = 3600.0
    max_entry_gap: float = 2.0
    episode_gap: float = 1800.0


class WashTradingDetector(Detector):
    """Streams wash-trading alerts per (market, owner)."""

    typology = "wash_trading"
    Params = WashTradingParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        self._recent: dict[tuple, deque] = {}
        self._episodes = Episodes(self.params.episode_gap)

    def on_event(self, event: dict) -> list[Alert]:
        if event.get("type") != "trade":
            return []
        state, p = self.state, self.params
        buyer, seller = event.get("buyer"), event.get("seller")
        owner = state.owner_of(buyer)
        if owner != state.owner_of(seller):
            return []
        market, now = event["market"], state.now
        key = (market, owner)
        buy = state.order(market, event.get("buy_order_id"))
        sell = state.order(market, event.get("sell_order_id"))
        gap = abs(buy.accepted_at - sell.accepted_at) if buy is not None and sell is not None else None
        recent = self._recent.setdefault(key, deque())
        recent.append((now, event, gap))
        while recent and now - recent[0][0] > p.window:
            recent.popleft()
        if self._episodes.is_open(key, now):
            self._episodes.touch(key, now)
            return []
        if len(recent) < p.min_trades:
            return []
        self._episodes.open(key, now)
        trades = list(recent)
        recent.clear()
        volume = sum((Decimal(e["quantity"]) for _, e, _ in trades), Decimal(0))
        gaps = [g for _, _, g in trades if g is not None]
        prearranged = sum(1 for g in gaps if g <= p.max_entry_gap)
        accounts = {e["buyer"] for _, e, _ in trades} | {e["seller"] for _, e, _ in trades}
        same_account = sum(1 for _, e, _ in trades if e["buyer"] == e["seller"])
        span = trades[-1][0] - trades[0][0]
        return [
            make_alert(
                typology=self.typology,
                market=market,
                accounts=accounts,
                start=trades[0][0],
                end=now,
                score=score_from(
                    graded(len(trades), p.min_trades),
                    prearranged / len(trades),
                ),
                order_ids=[e[k] for _, e, _ in trades for k in ("buy_order_id", "sell_order_id")],
                trade_ids=[e["trade_id"] for _, e, _ in trades],
                reason=(
                    f"Owner {owner} was on both sides of {len(trades)} trades ({fmt_qty(volume)} in total) "
                    f"within {span:.0f} s across {len(accounts)} account(s), {same_account} of them inside "
                    f"a single account, and {prearranged} with buy and sell entered within "
                    f"{p.max_entry_gap:g} s of each other."
                ),
            )
        ]
