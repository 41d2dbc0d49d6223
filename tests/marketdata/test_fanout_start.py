"""The matcher starts its market-data fan-out process before the first batch, not with it: the
first trades after a (re)start must not wait seconds for the process to start."""
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _children(pid: int) -> list[str]:
    """The names of the processes whose parent is ``pid`` (Linux /proc)."""
    names = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # the process ended while we read
            continue
        if fields.get("PPid", "").strip() == str(pid):
            names.append(fields.get("Name", "").strip())
    return names


def test_the_fanout_runs_before_any_order(market, start_matcher, wait):
    matcher = start_matcher("BTC-USD")
    # The matcher has child processes only for publishing: the fan-out process (spawned, the same
    # Python) and multiprocessing's resource tracker that comes with its queue.
    wait(lambda: any(name.startswith("python") for name in _children(matcher.process.pid)), timeout=60,
         message="the fan-out process to start with no order placed")
    assert matcher.process.poll() is None
