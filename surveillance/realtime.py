"""The real-time consumer: follows each market's committed journal and raises alerts.

Per market it keeps its own durable position (``ConsumerPosition``). On start, and whenever
compliance changes parameters or beneficial owners, it warms fresh detectors by replaying about
the last hour of journal up to its position without raising anything, then processes new events
in sequence. Alerts and the new position are written in one transaction, and an episode is
stored once (``alert_raise`` dedupes by fingerprint and shared evidence), so a crash or restart
never loses or repeats an alert.

As it goes it also keeps each market's book snapshots (``surveillance/snapshots.py``) up with its
position, one snapshot interval per step, so the alert page's replay never starts far back.
"""
from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from redis.exceptions import RedisError

from exchange.trading.models import JournalEvent
from surveillance import selectors, services, snapshots
from surveillance.backtest import params_from_dict
from surveillance.detectors import DetectorSuite
from surveillance.models import BookSnapshot, ConsumerPosition

log = logging.getLogger("surveillance.realtime")

WARMUP = timedelta(hours=1)
BATCH = 2000
# In a quiet market, a pattern that completes when a deadline passes (a spoof not cancelled in
# time) would wait for the next event; a clock event moves the detectors' time on. It lags the
# wall clock so that no committed event can carry an earlier time than a clock already fed.
CLOCK_LAG = timedelta(seconds=2)


class MarketFollower:
    """Detectors over one market's journal, from the consumer's position on."""

    def __init__(self, market: str, *, params: dict, owners: dict, warmup: timedelta = WARMUP,
                 snapshot_every: int = snapshots.EVERY):
        self.market = market
        self.owners = owners
        self.snapshot_every = snapshot_every
        self.suite = DetectorSuite(params_from_dict(params))
        self.stream = selectors.EventStream(owners)
        position, _ = ConsumerPosition.objects.get_or_create(market=market)
        self.position = position.last_sequence
        self.clock: datetime | None = None
        self.warmed = self._warm(warmup)

    def _feed(self, row: JournalEvent) -> list:
        self.clock = row.created_at
        alerts = []
        for event in self.stream.events(row, self.market):
            alerts += self.suite.feed(event)
        return alerts

    def _warm(self, warmup: timedelta) -> int:
        """Replay the journal of the last ``warmup`` before the position, discarding alerts:
        they were raised (or not) the first time round."""
        last = JournalEvent.objects.filter(market__symbol=self.market, sequence=self.position).first()
        if last is None:
            return 0
        count = 0
        rows = selectors.journal_rows(market=self.market, upto=self.position, since=last.created_at - warmup)
        for row in rows.iterator(chunk_size=5000):
            self._feed(row)
            count += 1
        return count

    def step(self, limit: int = BATCH) -> tuple[int, int]:
        """Process the next committed events; returns (events processed, alerts stored)."""
        rows = list(selectors.journal_rows(market=self.market, after=self.position, limit=limit))
        raised = []
        for row in rows:
            raised += [(alert, row.sequence) for alert in self._feed(row)]
        if not rows:
            self.snapshot()  # a quiet market catches its snapshots up
            raised = [(alert, self.position) for alert in self._tick()]
            if not raised:
                return 0, 0
        stored = 0
        with transaction.atomic():
            for alert, sequence in raised:
                if services.alert_raise(alert=alert, sequence=sequence) is not None:
                    stored += 1
            if rows:
                ConsumerPosition.objects.update_or_create(market=self.market,
                                                          defaults={"last_sequence": rows[-1].sequence})
        if rows:
            self.position = rows[-1].sequence
            self.snapshot()
        for alert, _ in raised:
            log.info("surveillance alert %s %s %s: %s", alert.typology, alert.market, alert.accounts, alert.reason)
        return len(rows), stored

    def snapshot(self) -> None:
        """Write the next due book snapshot up to the position, if any: a replay from the newest
        snapshot over at most two intervals (a journal without snapshots catches up one interval
        per step, never holding the alerts back for a whole replay)."""
        newest = BookSnapshot.objects.filter(market=self.market).aggregate(s=Max("sequence"))["s"] or 0
        due = snapshots.next_mark(newest, self.snapshot_every)
        if self.position >= due:
            upto = min(self.position, due + self.snapshot_every - 1)
            selectors.replay(market=self.market, upto=upto, owners=self.owners, every=self.snapshot_every)

    def _tick(self) -> list:
        """Move the detectors' clock to a little before now when the market is quiet."""
        now = timezone.now() - CLOCK_LAG
        if self.clock is None or now - self.clock < timedelta(seconds=1):
            return []
        self.clock = now
        ts = now.isoformat().replace("+00:00", "Z")
        return self.suite.feed({"seq": self.position, "ts": ts, "market": self.market, "type": "clock"})


class Consumer:
    """Follows several markets (all of them by default); reloads when the configuration changes."""

    def __init__(self, markets: list[str] | None = None, *, warmup: timedelta = WARMUP,
                 snapshot_every: int = snapshots.EVERY):
        self.fixed_markets = [m.upper() for m in markets] if markets else None
        self.warmup = warmup
        self.snapshot_every = snapshot_every
        self.version: tuple | None = None
        self.followers: dict[str, MarketFollower] = {}

    def _markets(self) -> list[str]:
        return self.fixed_markets or selectors.journal_markets()

    def _reload_if_needed(self) -> None:
        version = selectors.config_version()
        markets = self._markets()
        if version == self.version and set(markets) == set(self.followers):
            return
        if version != self.version:
            self.followers = {}
            self.version = version
        params, owners = selectors.parameters_current(), selectors.owner_map()
        for market in markets:
            if market not in self.followers:
                follower = MarketFollower(market, params=params, owners=owners, warmup=self.warmup,
                                          snapshot_every=self.snapshot_every)
                log.info("surveillance: following %s from sequence %s (warmed on %s events)",
                         market, follower.position, follower.warmed)
                self.followers[market] = follower

    def step(self) -> tuple[int, int]:
        """One pass over every market: (events processed, alerts stored)."""
        self._reload_if_needed()
        events = stored = 0
        for follower in self.followers.values():
            n, s = follower.step()
            events, stored = events + n, stored + s
        return events, stored

    def run(self, *, interval: float = 0.5, stop=lambda: False, max_backoff: float = 10.0) -> None:
        """Follow the journal until ``stop()``. A lost database or Redis never ends the process:
        it forgets its detectors (they are rebuilt from the durable positions, so no event is
        skipped or alerted twice) and retries with exponential backoff up to ``max_backoff``."""
        backoff = interval
        while not stop():
            try:
                events, _ = self.step()
            except (DatabaseError, RedisError) as exc:
                log.warning("surveillance: %r; retrying in %.1f s", exc, backoff)
                self.followers, self.version = {}, None
                with contextlib.suppress(DatabaseError):
                    connection.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            backoff = interval
            if not events:
                time.sleep(interval)
