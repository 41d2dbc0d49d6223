"""Spoofing: one or a few large orders at or near the touch, pulled once the other side fills.

SURVEILLANCE.md rule 1 (CEA 4c(a)(5)(C), CME Rule 575, FINRA 5210 SM .03, MAR 2016/522 Annex II
5(e)). The mechanism is shared with layering (`opposite_side`); spoofing keeps the X orders that
entered within `max_touch_levels` of the touch and spanned at most `max_price_levels` prices (three
or more levels is layering, so one episode never raises both).
"""

from __future__ import annotations

from dataclasses import dataclass

from surveillance.detectors.opposite_side import OppositeSideDetector, summarise


@dataclass
class SpoofingParams:
    """Thresholds, each from an enforcement figure or marked as a proposal.

    - `min_size_ratio` 5: spoof quantity over the owner's genuine quantity on the other side (the
      filled orders plus whatever else it rests there). CFTC cases (E1) saw 10-50x; RedDeer's
      `RelativeSizeMultipleForSpoofExceedingReal` is the same feature (O1). 5 is the
      SURVEILLANCE.md proposal, half the low end of the cases, so camouflaged spoofs still count.
    - `min_depth_share` 0.2: share of the visible X-side depth (top `depth_levels` levels, TT's
      dominance model, A6) that the spoof took at the fill. Proposal in SURVEILLANCE.md rule 1.
    - `depth_levels` 10: TT looks at the top 5 or 10 levels (A6).
    - `max_touch_levels` 2: the spoof entered with at most 2 better levels in front ("within D ticks
      of the touch"; levels stand in for ticks because the journal carries no tick size).
    - `max_price_levels` 2: more distinct prices than this is layering.
    - `cancel_window` 15 s: the spoof is pulled within this time after the fill. E1: 2.3 s after the
      genuine order filled; spoofing_vs_mm uses 2 s (O2); 15 s leaves room for 3x slower hands.
    - `max_lifetime` 25 s: median life of the pulled orders. E1: spoofs lived 11.8 s on average
      against 55.4 s for genuine orders; 25 s is about their geometric mean. Coscia (E3) pulled
      after 0.1-0.4 s, Oystacher (E4) after milliseconds: both well inside.
    - `max_fill_ratio` 0.05: E1 saw 2% filled for spoofs against 89% for genuine orders; 5% is the
      SURVEILLANCE.md proposal.
    - `min_cancelled_share` 0.9: share of the spoof quantity cancelled (not filled) in the window.
    - `cycle_score` 0.5, `alert_score` 0.6, `repetition_bonus` 0.1 (scores 0..1): every threshold
      above is the start of a ramp, not a gate (`surveillance.detectors.scoring`): size from
      `min_size_ratio` (a gate: below it the interest is two-sided) to 4x it, depth share from half
      `min_depth_share` (a gate) to 1.5x it (weight 2), pulled share from `min_cancelled_share` - 0.3 (a gate) to it (weight 2),
      the median pull after the fill from `cancel_window` down to a fifth of it (E1: 2.3 s),
      fill ratio from 4x `max_fill_ratio` down to it, median life from 3x `max_lifetime` down to
      half of it. A cycle counts at `cycle_score`; an owner alerts when its best cycle plus the
      bonus per further cycle within `lookback` 1800 s reaches `alert_score`: the cases repeated
      "hundreds of times" (E1), but a single clean instance is the strongest evidence (issue 17).
    - `cancel_window` is measured from the last genuine fill; 15 s covers a spoofer three times
      slower than E1's 2.3 s hands and the camouflaged ones pulling after 3-4.5 s.
    - `episode_gap` 600 s: cycles closer than this to the last one belong to the alerted episode.
    """

    min_size_ratio: float = 5.0
    min_depth_share: float = 0.2
    depth_levels: int = 10
    max_touch_levels: int = 2
    max_price_levels: int = 2
    cancel_window: float = 15.0
    max_lifetime: float = 25.0
    max_fill_ratio: float = 0.05
    min_cancelled_share: float = 0.9
    cycle_score: float = 0.5
    alert_score: float = 0.6
    repetition_bonus: float = 0.1
    lookback: float = 1800.0
    episode_gap: float = 600.0


class SpoofingDetector(OppositeSideDetector):
    """Streams spoofing alerts; see the module docstring and `SpoofingParams`."""

    typology = "spoofing"
    Params = SpoofingParams

    def select(self, orders):
        near = [
            r
            for r in orders
            if r.touch_levels is not None and r.touch_levels <= self.params.max_touch_levels
        ]
        if not near or len({r.price for r in orders}) > self.params.max_price_levels:
            return None
        return near

    def describe(self, cycles, owner) -> str:
        s = summarise(cycles)
        return (
            f"Owner {owner} rested {s['size']} on the {s['x_side']} side near the touch "
            f"({s['ratio']:.1f}x its genuine {s['y_side']} interest, {s['depth']:.0%} of visible depth), "
            f"traded on the {s['y_side']} side, then cancelled {s['cancelled']:.0%} of it after a median "
            f"{s['life']:.1f} s with {s['fill']:.0%} filled, {s['count']} times in {s['span']:.0f} s "
            f"(median figures per cycle)."
        )
