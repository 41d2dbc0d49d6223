"""Garbage-collector settings for a process that holds large books.

A book is hundreds of thousands of long-lived objects. With CPython's default thresholds, a full
collection walks all of them every few thousand commands: hundreds of milliseconds of pause and
a third of the throughput. Raising the young-generation threshold keeps collections rare and
short; ``gc.freeze()`` after loading moves the books out of the collector's sight entirely.
Both the matcher and ``bench/engine.py`` use this, so the benchmark measures what runs.
"""
import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_large_books() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_loaded_state() -> None:
    """Collect once, then exempt everything alive now (the loaded books) from future collections."""
    gc.collect()
    gc.freeze()
