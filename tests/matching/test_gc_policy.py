"""The matcher's garbage-collection policy reads no clock: the caller passes the time."""
import gc

from exchange.matching.gc_policy import BatchCollector


def test_a_full_collection_runs_only_when_idle_after_batches_and_full_every_seconds():
    collector = BatchCollector(now=1000.0, full_every=30.0)
    try:
        assert not collector.when_idle(1031.0)  # nothing frozen since the start: nothing to collect
        collector.after_batch()
        assert gc.get_freeze_count() > 0
        assert not collector.when_idle(1029.0)  # frozen, but not 30 s since the last full collection
        assert collector.when_idle(1030.0)
        assert not collector.when_idle(1100.0)  # collected: nothing frozen since
        collector.after_batch()
        assert not collector.when_idle(1059.0)  # the clock restarts at the last full collection
        assert collector.when_idle(1060.0)
    finally:
        gc.unfreeze()
