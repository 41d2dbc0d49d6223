"""Garbage-collector settings for a process that holds large books.

A book is hundreds of thousands of long-lived objects. With CPython's default thresholds, a full
collection walks all of them every few thousand commands: hundreds of milliseconds of pause and
a third of the throughput. Raising the young-generation threshold keeps collections rare and
short. Both the matcher and ``bench/engine.py`` use this, so the benchmark measures what runs.

A matcher goes further (``BatchCollector``): after every batch it freezes what survived
(``gc.freeze()`` is a constant-time list splice), so a collection only ever walks the objects of
the batch in hand, and the full collection that finds cycles among older objects runs only when
the matcher is idle. Without this, a full collection over a grown book stopped the matcher for
about 50 ms at a time (measured), which alone exceeded the commit-latency budget.

The engine reads no clock: the caller passes the time (``time.monotonic()`` in the matcher), so
the policy is as deterministic as the book and its tests need no waiting.
"""
import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_large_books() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_loaded_state() -> None:
    """Collect once, then exempt everything alive now (the loaded books) from future collections.

    Every long-running Django process calls it once it has loaded its code (the web processes,
    the fan-out, surveillance): some 177,000 objects that a full collection otherwise walks,
    holding the GIL, every few seconds under load."""
    gc.collect()
    gc.freeze()


class BatchCollector:
    """Young collections under load, full ones when idle (at most every ``full_every`` seconds).

    ``now`` and ``when_idle``'s ``now`` are seconds on one monotonic clock of the caller's."""

    def __init__(self, *, now: float, full_every: float = 30.0) -> None:
        self.full_every = full_every
        self._last_full = now
        self._frozen_since_full = 0

    def after_batch(self) -> None:
        gc.freeze()
        self._frozen_since_full += 1

    def when_idle(self, now: float) -> bool:
        """Unfreeze and collect everything, if batches were frozen since the last full collection
        and it was at least ``full_every`` seconds ago. True if it collected."""
        if not self._frozen_since_full or now - self._last_full < self.full_every:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen_since_full = 0
        self._last_full = now
        return True
