"""Group commit for order entry in a web process.

Each web process runs Django's request handling on several threads (``exchange/asgi.py``). When
each request committed its own order, every order paid a transaction of its own: a WAL flush,
and a dozen statements of ORM work. Here requests hand their orders to one committer thread per
process and wait; the thread takes everything that is waiting and places it as one group
(``entry.orders_place_many``: a fixed number of statements and one commit for the whole group).
Under a trickle a group is one order and nothing waits for a timer; under load the orders that
arrived while the previous group was committing go together, so the cost per order falls as
the load rises. A request is answered only after its group has committed: an acknowledged order
is durable exactly as before.

If the database fails, every order of the group gets the exception (the request answers 503,
``infra/shedding.py``) and the thread reconnects for the next group. A request that waits longer
than ``EXCHANGE_GROUP_COMMIT_TIMEOUT`` seconds gets 503 too; its order may still commit later,
which is why clients retry with the same ``client_order_id`` (the retry then returns that order).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from exchange.errors import ExchangeError
from exchange.trading.entry import PlaceRequest, Result, orders_place_many

log = logging.getLogger("exchange.trading.committer")


@dataclass(slots=True)
class _Submission:
    requests: list[PlaceRequest]
    done: threading.Event = field(default_factory=threading.Event)
    results: list[Result] | None = None
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, *, max_group: int = 200) -> None:
        self.max_group = max_group
        self._waiting: list[_Submission] = []
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.groups = 0  # committed groups, and the orders in them: the grouping achieved
        self.orders = 0

    def place_many(self, requests: list[PlaceRequest], *, timeout: float | None = None) -> list[Result]:
        """Place ``requests`` in the next group; one result per request, in order.

        A caller inside a transaction places them itself, in that transaction: its orders must
        commit or roll back with the rest of its work (the committer's connection could not
        even see rows the caller has not committed)."""
        if connection.in_atomic_block:
            return orders_place_many(requests)
        submission = _Submission(list(requests))
        with self._wakeup:
            self._ensure_thread()
            self._waiting.append(submission)
            self._wakeup.notify()
        if not submission.done.wait(timeout if timeout is not None else settings.EXCHANGE_GROUP_COMMIT_TIMEOUT):
            raise ExchangeError("entry_busy", "order entry is busy; retry with the same client_order_id", status=503)
        if submission.error is not None:
            raise submission.error
        return submission.results  # type: ignore[return-value]

    def place(self, request: PlaceRequest) -> Result:
        return self.place_many([request])[0]

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish what is waiting, then end the thread and give its connection back."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _take(self) -> list[_Submission] | None:
        with self._wakeup:
            while not self._waiting:
                if self._stopping:
                    return None
                self._wakeup.wait()
            taken: list[_Submission]
            taken, count = [], 0
            while self._waiting and (not taken or count + len(self._waiting[0].requests) <= self.max_group):
                submission = self._waiting.pop(0)
                taken.append(submission)
                count += len(submission.requests)
            return taken

    def _run(self) -> None:
        while (group := self._take()) is not None:
            requests = [r for s in group for r in s.requests]
            try:
                results = orders_place_many(requests)
            except BaseException as exc:
                log.warning("group of %s orders failed: %r", len(requests), exc)
                connection.close()  # the next group reconnects (the pool hands out a fresh one)
                for submission in group:
                    submission.error = exc
                    submission.done.set()
                continue
            self.groups += 1
            self.orders += len(requests)
            start = 0
            for submission in group:
                submission.results = results[start:start + len(submission.requests)]
                start += len(submission.requests)
                submission.done.set()
        connection.close()


committer = GroupCommitter()
