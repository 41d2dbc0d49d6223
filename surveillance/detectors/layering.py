"""Layering: orders over several price levels on one side, a trade on the other, layers pulled.

SURVEILLANCE.md rule 2 (MAR 2016/522 Annex II 5(e), FINRA 5210 SM .03 first pattern). Same
mechanism as spoofing (`opposite_side`), with the X orders spread over at least
`min_price_levels` distinct prices, anywhere in the top of the book.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveillance.detectors.opposite_side import OppositeSideDetector, summarise


@dataclass
class LayeringParams:
    """Thresholds, each from an enforcement figure or marked as a proposal.

    - `min_price_levels` 3: "three or more resting orders at distinct price levels" (rule 2,
      proposal; FINRA's usage: layering means several tiers, spoofing the top of book).
    - `min_size_ratio` 5: layer quantity over the owner's genuine quantity on the other side; as
      for spoofing (E1: 10-50x). Two-sided market-maker ladders sit near 1.
    - `min_depth_share` 0.2: layer share of the top `depth_levels` levels of visible depth (TT
      dominance model, A6; proposal).
    - `depth_levels` 10: top 5 or 10 levels (A6).
    - `cancel_window` 15 s and `min_cancelled_share` 0.9: at least 90% of the layer pulled within
      15 s of the fill (proposal informed by Sarao's >99% cancel rate, E2, and E1's 2.3 s).
    - `max_lifetime` 60 s: median life of the pulled layer orders. Layers rest longer than
      single spoofs (Sarao's were modified, not pulled, for minutes, E2); 60 s is a proposal just
      above the genuine orders' 55.4 s of E1.
    - `max_fill_ratio` 0.05: E1's spoofs filled 2% of the time.
    - `cycle_score` 0.5, `alert_score` 0.6, `repetition_bonus` 0.1, `cancel_window` 15 s: graded
      exactly as for spoofing (see `SpoofingParams`): thresholds are the start of ramps, one clean
      cycle can alert, repetition raises the score.
    - `episode_gap` 600 s: cycles closer than this to the last one belong to the alerted episode.
    """

    min_price_levels: int = 3
    min_size_ratio: float = 5.0
    min_depth_share: float = 0.2
    depth_levels: int = 10
    cancel_window: float = 15.0
    min_cancelled_share: float = 0.9
    max_lifetime: float = 60.0
    max_fill_ratio: float = 0.05
    cycle_score: float = 0.5
    alert_score: float = 0.6
    repetition_bonus: float = 0.1
    lookback: float = 1800.0
    episode_gap: float = 600.0


class LayeringDetector(OppositeSideDetector):
    """Streams layering alerts; see the module docstring and `LayeringParams`."""

    typology = "layering"
    Params = LayeringParams

    def select(self, orders):
        if len({r.price for r in orders}) < self.params.min_price_levels:
            return None
        return orders

    def describe(self, cycles, owner) -> str:
        s = summarise(cycles)
        return (
            f"Owner {owner} layered {s['size']} over {s['levels']:.0f} price levels on the {s['x_side']} side "
            f"({s['ratio']:.1f}x its genuine {s['y_side']} interest, {s['depth']:.0%} of visible depth), "
            f"traded on the {s['y_side']} side, then pulled {s['cancelled']:.0%} of the layer after a median "
            f"{s['life']:.1f} s with {s['fill']:.0%} filled and {s['modifications']:.1f} amendments per order, "
            f"{s['count']} times in {s['span']:.0f} s (median figures per cycle)."
        )
