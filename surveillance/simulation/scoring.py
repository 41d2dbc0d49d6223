"""Match alerts to the simulator's labelled episodes and compute the figures the bench reports.

An alert matches an episode when it has the same typology and market, shares at least one
account, and its window overlaps the episode's (with `slack` seconds either side). Latency is
measured in event time: from the episode's completion (`Label.end`) to the time of the event
whose feeding produced the first matching alert; negative means the alert came before the
episode finished.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from surveillance.detectors.base import TYPOLOGIES
from surveillance.detectors.book_state import parse_ts

# Roles of the honest look-alikes: any alert naming one of them is a false alert on a hard negative.
HARD_NEGATIVE_ROLES = ("market_maker", "execution_algo", "closing_fund", "self_matcher", "hft_arbitrage")


@dataclass
class Scores:
    """Counts per typology; add several runs together with `merge`."""

    episodes: dict = field(default_factory=lambda: defaultdict(int))
    detected: dict = field(default_factory=lambda: defaultdict(int))
    alerts: dict = field(default_factory=lambda: defaultdict(int))
    true_alerts: dict = field(default_factory=lambda: defaultdict(int))
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    hard_negative_alerts: dict = field(default_factory=lambda: defaultdict(int))  # role -> alerts
    per_account_day: dict = field(default_factory=lambda: defaultdict(int))  # (role, account, day) -> alerts
    hard_negative_account_days: dict = field(default_factory=lambda: defaultdict(int))  # role -> account-days
    missed: list = field(default_factory=list)
    false: list = field(default_factory=list)

    def merge(self, other: Scores) -> None:
        for name in ("episodes", "detected", "alerts", "true_alerts", "hard_negative_alerts",
                     "per_account_day", "hard_negative_account_days"):
            mine = getattr(self, name)
            for key, value in getattr(other, name).items():
                mine[key] += value
        for key, values in other.latencies.items():
            self.latencies[key] += values
        self.missed += other.missed
        self.false += other.false

    def recall(self, typology: str) -> float | None:
        n = self.episodes[typology]
        return self.detected[typology] / n if n else None

    def precision(self, typology: str) -> float | None:
        n = self.alerts[typology]
        return self.true_alerts[typology] / n if n else None


def percentile(values: list, q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def score(simulation, emitted: list, *, slack: float = 5.0) -> Scores:
    """`emitted`: [(alert, emitted_at_epoch_seconds), ...] from one simulation run."""
    roles = simulation.roles
    result = Scores()
    windows = [(parse_ts(a.start), parse_ts(a.end)) for a, _ in emitted]
    matched_alerts: set = set()
    for label in simulation.labels:
        result.episodes[label.typology] += 1
        first = None
        for i, (alert, at) in enumerate(emitted):
            start, end = windows[i]
            if (
                alert.typology == label.typology
                and alert.market == label.market
                and set(alert.accounts) & set(label.accounts)
                and start <= label.end + slack
                and end >= label.start - slack
            ):
                matched_alerts.add(i)
                first = at if first is None else min(first, at)
        if first is not None:
            result.detected[label.typology] += 1
            result.latencies[label.typology].append(first - label.end)
        else:
            result.missed.append((simulation.seed, label))
    day_length = 86_400.0
    origin = simulation.config.start
    for i, (alert, _) in enumerate(emitted):
        result.alerts[alert.typology] += 1
        if i in matched_alerts:
            result.true_alerts[alert.typology] += 1
            continue
        result.false.append((simulation.seed, alert, sorted({roles.get(a, "?") for a in alert.accounts})))
        day = int((windows[i][0] - origin) // day_length)
        for account in alert.accounts:
            role = roles.get(account)
            if role in HARD_NEGATIVE_ROLES:
                result.hard_negative_alerts[role] += 1
                result.per_account_day[(role, account, simulation.seed, day)] += 1
    for role in roles.values():
        if role in HARD_NEGATIVE_ROLES:  # accounts are per market already
            result.hard_negative_account_days[role] += simulation.config.days
    return result


__all__ = ["HARD_NEGATIVE_ROLES", "TYPOLOGIES", "Scores", "percentile", "score"]
