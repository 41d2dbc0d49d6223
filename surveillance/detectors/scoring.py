"""Graded evidence: how detectors turn several soft measurements into one score.

Issue 17: gates ("all of these thresholds or nothing") miss the manipulator who is a little
below one of them, and repetition as a precondition misses a single large, clean instance. A
detector here grades each piece of evidence from 0 (absent) to 1 (as strong as the cases), with
`ramp` between a "not suspicious" and a "clearly suspicious" value in the market's own units,
takes their weighted mean, and alerts above a threshold. Repetition is one more piece of
evidence (`repetition`), never a requirement.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def ramp(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, linear between; `low` > `high` grades a value that should be small."""
    if low == high:
        return 1.0 if value >= high else 0.0
    grade = (value - low) / (high - low)
    return max(0.0, min(1.0, grade))


def repetition(count: int, full: int = 3) -> float:
    """0 for one instance, 1 from `full` instances on."""
    return ramp(count, 1, full)


@dataclass
class Evidence:
    """Named grades with weights; `score` is their weighted mean (0..1)."""

    grades: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)

    def add(self, name: str, grade: float, weight: float = 1.0) -> Evidence:
        self.grades[name] = max(0.0, min(1.0, float(grade)))
        self.weights[name] = weight
        return self

    @property
    def score(self) -> float:
        total = sum(self.weights.values())
        if not total:
            return 0.0
        return sum(self.grades[n] * self.weights[n] for n in self.grades) / total

    def summary(self) -> str:
        """The grades as `name 0.80, ...`, strongest first, for an alert's reason."""
        ordered = sorted(self.grades.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {grade:.2f}" for name, grade in ordered)


__all__ = ["Evidence", "ramp", "repetition"]
