"""The shared vocabulary of the detectors: the alert, the detector interface, small helpers.

Everything here is pure: no Django, no I/O, no clock reads. Time is the events' own `ts`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from surveillance.detectors.book_state import MarketState

TYPOLOGIES = (
    "spoofing",
    "layering",
    "wash_trading",
    "circular_trading",
    "marking_the_close",
    "momentum_ignition",
    "quote_stuffing",
    "pump_and_dump",
)

# An alert must stay readable: evidence beyond this many ids per kind is cut (the reason says so).
MAX_EVIDENCE_IDS = 500


def iso(ts: float) -> str:
    """ISO-8601 UTC with microseconds, the journal's own format."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def fmt_qty(value: Decimal) -> str:
    """A decimal as people write it: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


@dataclass
class Alert:
    """One suspected episode, in the DESIGN 6.5 alert-line shape.

    `start` and `end` bound the evidence in event time; `score` is 0..1; `reason` is one sentence
    with the figures that triggered the rule.
    """

    typology: str
    market: str
    accounts: list
    start: str
    end: str
    score: float
    evidence: dict = field(default_factory=lambda: {"order_ids": [], "trade_ids": []})
    reason: str = ""

    def to_dict(self) -> dict:
        """The alert line as a JSON-ready dict, keys in the contract's order."""
        return {
            "typology": self.typology,
            "market": self.market,
            "accounts": list(self.accounts),
            "start": self.start,
            "end": self.end,
            "score": round(float(self.score), 4),
            "evidence": {
                "order_ids": list(self.evidence.get("order_ids", [])),
                "trade_ids": list(self.evidence.get("trade_ids", [])),
            },
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Alert:
        evidence = data.get("evidence") or {}
        return cls(
            typology=data["typology"],
            market=data["market"],
            accounts=list(data["accounts"]),
            start=data["start"],
            end=data["end"],
            score=float(data["score"]),
            evidence={
                "order_ids": list(evidence.get("order_ids", [])),
                "trade_ids": list(evidence.get("trade_ids", [])),
            },
            reason=data.get("reason", ""),
        )


def make_alert(
    *,
    typology: str,
    market: str,
    accounts,
    start: float,
    end: float,
    score: float,
    order_ids=(),
    trade_ids=(),
    reason: str,
) -> Alert:
    """Build an alert from event-time floats, deduplicating and bounding the evidence."""
    orders = list(dict.fromkeys(order_ids))[:MAX_EVIDENCE_IDS]
    trades = list(dict.fromkeys(trade_ids))[:MAX_EVIDENCE_IDS]
    return Alert(
        typology=typology,
        market=market,
        accounts=sorted(dict.fromkeys(accounts), key=str),
        start=iso(start),
        end=iso(max(start, end)),
        score=max(0.0, min(1.0, float(score))),
        evidence={"order_ids": orders, "trade_ids": trades},
        reason=reason,
    )


def graded(value: float, threshold: float, *, saturation: float = 3.0) -> float:
    """How far `value` exceeds `threshold`, as 0..1 (TT-style graded threshold score, A6).

    1.0 means `saturation` times the threshold or more; exactly at the threshold gives 0.
    """
    if threshold <= 0:
        return 1.0
    ratio = value / threshold
    if ratio <= 1:
        return 0.0
    return min(1.0, (ratio - 1) / (saturation - 1))


def score_from(*grades: float) -> float:
    """Combine graded features: an alert that passed every rule starts at 0.5, excess adds up."""
    if not grades:
        return 0.5
    return 0.5 + 0.5 * sum(grades) / len(grades)


class Detector:
    """A streaming detector of one typology.

    `feed(event)` takes journal events in order (dicts as in DESIGN 6.5) and returns the alerts
    whose pattern completed with this event, each episode once. `flush()` ends the stream and
    returns what only the end can settle. Several detectors can share one `MarketState`; the one
    that owns it (the default) applies each event to it before looking at the event.
    """

    typology: ClassVar[str] = ""
    Params: ClassVar[type] = object

    def __init__(self, params=None, *, state: MarketState | None = None):
        self.params = coerce_params(self.Params, params)
        self._owns_state = state is None
        self.state = state if state is not None else MarketState()

    def feed(self, event: dict) -> list[Alert]:
        if self._owns_state:
            self.state.apply(event)
        return self.on_event(event)

    def on_event(self, event: dict) -> list[Alert]:  # pragma: no cover - interface
        raise NotImplementedError

    def flush(self) -> list[Alert]:
        return []


def coerce_params(params_cls: type, params: Any):
    """Accept a params dataclass, a dict of overrides, or None (defaults)."""
    if params is None:
        return params_cls()
    if isinstance(params, params_cls):
        return params
    if isinstance(params, dict):
        names = {f.name for f in dataclasses.fields(params_cls)}
        unknown = set(params) - names
        if unknown:
            raise ValueError(f"unknown parameters for {params_cls.__name__}: {sorted(unknown)}")
        return params_cls(**params)
    raise TypeError(f"expected {params_cls.__name__}, dict or None, got {type(params).__name__}")


class Episodes:
    """Never alert twice for one episode.

    An episode of `key` is open from its alert until `gap` seconds pass without activity on that
    key; activity inside an open episode extends it silently.
    """

    def __init__(self, gap: float):
        self.gap = gap
        self._last: dict = {}

    def is_open(self, key, now: float) -> bool:
        last = self._last.get(key)
        return last is not None and now - last <= self.gap

    def touch(self, key, now: float) -> None:
        """Record activity: extends an open episode (no-op when none is open)."""
        if key in self._last and now - self._last[key] <= self.gap:
            self._last[key] = now

    def open(self, key, now: float) -> None:
        self._last[key] = now
