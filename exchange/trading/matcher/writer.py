"""The batch writer: one thread that commits the matcher's batches, in order, while the main
thread matches the next one.

Why a thread: a batch costs about as much CPU in PostgreSQL (the inserts, updates and commit)
as in Python (matching and planning). Done one after the other, each side idles while the other
works; with batch N committing while batch N+1 is matched, the two overlap and a market's
throughput nearly doubles on two cores, and a command's wait for its commit shrinks too.

What keeps it safe:

- Batches commit in the order they were planned, one at a time, on this thread's own database
  connection. That connection also holds the markets' advisory locks: the lock lives exactly as
  long as the session that writes, so a standby can never take over while this one can still
  commit.
- A batch is planned on top of the batches before it. Once one fails, every later batch is
  refused (``EarlierBatchFailed``) until the runner has ``reset`` the writer and rebuilt its
  books from PostgreSQL.
- ``committed`` is the number of the last batch whose transaction committed. The runner reads it
  before loading a batch's commands, so it knows which in-memory facts the rows it reads already
  show (see ``runner.OwnedMarket.forget_committed``).
"""
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import DatabaseError, connection

log = logging.getLogger("exchange.matcher")


class EarlierBatchFailed(DatabaseError):
    """A batch planned on top of one that did not commit: it must not commit either."""


class BatchWriter:
    def __init__(self, *, max_in_flight: int = 2) -> None:
        self.max_in_flight = max_in_flight
        self.committed = 0
        self._numbered = 0
        self._failed: BaseException | None = None
        self._in_flight: deque[Future] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer")

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` on the writer's thread (and so on its connection) and return its result."""
        return self._executor.submit(fn, *args).result()

    def submit(self, job: Callable[[], None]) -> int:
        """Queue ``job`` (one transaction, then what follows its commit); returns its number.

        Blocks while ``max_in_flight`` jobs are queued or running, and raises the error of any
        finished job that failed, so the caller never runs more than that far ahead."""
        self.reap()
        while len(self._in_flight) >= self.max_in_flight:
            self._in_flight.popleft().result()
        self._numbered += 1
        self._in_flight.append(self._executor.submit(self._run, self._numbered, job))
        return self._numbered

    def wait(self, *, at_most: int) -> None:
        """Block until at most ``at_most`` jobs are queued or running; raise any job's error.

        The runner calls this with 1 before it reads the next batch: it then plans while one
        batch commits, and what arrived during that commit makes the next batch bigger rather
        than a queue of small ones, each paying for its own commit."""
        self.reap()
        while len(self._in_flight) > at_most:
            self._in_flight.popleft().result()

    def reap(self) -> None:
        """Forget finished jobs; raise the error of the first one that failed."""
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft().result()

    def flush(self) -> None:
        """Wait until every queued job has finished; raise the first error."""
        while self._in_flight:
            self._in_flight.popleft().result()

    def reset(self) -> None:
        """After a failure: let queued jobs finish (or be refused), then close the writer's
        connection, which releases its advisory locks."""
        while self._in_flight:
            with contextlib.suppress(Exception):
                self._in_flight.popleft().result()
        self.call(_close_connection)
        self._failed = None

    def shutdown(self) -> None:
        """Let queued jobs finish, close the connection, stop the thread."""
        with contextlib.suppress(Exception):
            self.flush()
        with contextlib.suppress(Exception):
            self.call(_close_connection)
        self._executor.shutdown(wait=True)

    def _run(self, number: int, job: Callable[[], None]) -> None:
        if self._failed is not None:
            raise EarlierBatchFailed(f"batch {number} was planned on one that failed: {self._failed!r}")
        try:
            job()
        except BaseException as exc:
            self._failed = exc
            raise
        self.committed = number


def _close_connection() -> None:
    with contextlib.suppress(Exception):
        connection.close()
