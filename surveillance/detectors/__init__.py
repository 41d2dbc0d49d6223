"""Market-abuse detectors: pure, streaming functions over the DESIGN 6.5 event journal.

    from surveillance.detectors import run_detectors, DetectorSuite
    alerts = run_detectors(events)                      # batch: a list of event dicts
    suite = DetectorSuite(params={"spoofing": {"alert_score": 0.7}})
    for event in stream:                                # real time: one committed event at a time
        for alert in suite.feed(event): ...
    suite.flush()                                       # at the end of the stream

Every detector takes its parameters as a dataclass or a dict of overrides; defaults are
documented on each `*Params` class with the enforcement figures behind them.
"""

from __future__ import annotations

from surveillance.detectors.base import TYPOLOGIES, Alert, Detector, coerce_params
from surveillance.detectors.book_state import MarketState
from surveillance.detectors.circular_trading import CircularTradingDetector, CircularTradingParams
from surveillance.detectors.layering import LayeringDetector, LayeringParams
from surveillance.detectors.marking_the_close import MarkingTheCloseDetector, MarkingTheCloseParams
from surveillance.detectors.momentum_ignition import MomentumIgnitionDetector, MomentumIgnitionParams
from surveillance.detectors.pump_and_dump import PumpAndDumpDetector, PumpAndDumpParams
from surveillance.detectors.quote_stuffing import QuoteStuffingDetector, QuoteStuffingParams
from surveillance.detectors.spoofing import SpoofingDetector, SpoofingParams
from surveillance.detectors.wash_trading import WashTradingDetector, WashTradingParams

DETECTORS: dict[str, type[Detector]] = {
    cls.typology: cls
    for cls in (
        SpoofingDetector,
        LayeringDetector,
        WashTradingDetector,
        CircularTradingDetector,
        MarkingTheCloseDetector,
        MomentumIgnitionDetector,
        QuoteStuffingDetector,
        PumpAndDumpDetector,
    )
}
assert tuple(DETECTORS) == TYPOLOGIES


class DetectorSuite:
    """Several detectors over one shared `MarketState`, fed one event at a time.

    `params` maps a typology to its params dataclass or a dict of overrides; `typologies`
    picks a subset (all eight by default).
    """

    def __init__(self, params: dict | None = None, typologies=None):
        params = params or {}
        unknown = set(params) - set(DETECTORS)
        if unknown:
            raise ValueError(f"unknown typologies in params: {sorted(unknown)}")
        self.state = MarketState()
        self.detectors = [
            DETECTORS[name](params.get(name), state=self.state)
            for name in (typologies or TYPOLOGIES)
        ]

    def feed(self, event: dict) -> list[Alert]:
        self.state.apply(event)
        alerts: list[Alert] = []
        for detector in self.detectors:
            alerts += detector.feed(event)
        return alerts

    def flush(self) -> list[Alert]:
        alerts: list[Alert] = []
        for detector in self.detectors:
            alerts += detector.flush()
        return alerts


def run_detectors(events, params: dict | None = None, typologies=None) -> list[Alert]:
    """Run the detectors over an iterable of events (in journal order); alerts in emission order."""
    suite = DetectorSuite(params, typologies)
    alerts: list[Alert] = []
    for event in events:
        alerts += suite.feed(event)
    return alerts + suite.flush()


__all__ = [
    "DETECTORS",
    "TYPOLOGIES",
    "Alert",
    "CircularTradingParams",
    "Detector",
    "DetectorSuite",
    "LayeringParams",
    "MarketState",
    "MarkingTheCloseParams",
    "MomentumIgnitionParams",
    "PumpAndDumpParams",
    "QuoteStuffingParams",
    "SpoofingParams",
    "WashTradingParams",
    "coerce_params",
    "run_detectors",
]
