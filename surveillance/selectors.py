"""Reads for surveillance: the journal as DESIGN 6.5 events, the current parameters and owners,
the alert queue, an alert's evidence, the book at a sequence, and the review metrics."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q, QuerySet

from exchange.accounts.roles import COMPLIANCE
from exchange.trading.models import JournalEvent
from surveillance import snapshots
from surveillance.detectors import DETECTORS, TYPOLOGIES, MarketState
from surveillance.models import Alert, AlertStatus, BeneficialOwner, Case, Disposition, ParameterVersion

ACCOUNT_FIELDS = ("account", "buyer", "seller")
SORTS = {"newest": "-created_at", "oldest": "created_at", "score": "-score", "start": "-start", "market": "market"}


# ---------------------------------------------------------------------- journal


def owner_map() -> dict:
    """Journal account (user id) -> beneficial-owner label, for the accounts compliance linked."""
    return {row.user_id: row.owner for row in BeneficialOwner.objects.all()}


def journal_event(row: JournalEvent, symbol: str) -> dict:
    """One committed journal row as a DESIGN 6.5 event dict."""
    ts = row.created_at.isoformat().replace("+00:00", "Z")
    return {"seq": row.sequence, "ts": ts, "market": symbol, "type": row.event_type, **row.payload}


def _owner_label(account, owner):
    """A label compliance chose, kept apart from account ids (a label "12" is not account 12)."""
    if owner == account or not str(owner).isdigit():
        return owner
    return f"owner {owner}"


class EventStream:
    """Turns journal rows into DESIGN 6.5 events, announcing each account's owner before its first use.

    Accounts compliance linked get their beneficial-owner label; any other account owns itself
    (as in ``export_events``).
    """

    def __init__(self, owners: dict | None = None):
        self.owners = owner_map() if owners is None else owners
        self.seen: set = set()

    def owner_of(self, account):
        """The owner announced for ``account``: its linked label, else itself."""
        return _owner_label(account, self.owners.get(account, account))

    def events(self, row: JournalEvent, symbol: str) -> list[dict]:
        event = journal_event(row, symbol)
        out = []
        for name in ACCOUNT_FIELDS:
            account = event.get(name)
            if account is not None and account not in self.seen:
                self.seen.add(account)
                out.append({"seq": event["seq"], "ts": event["ts"], "market": symbol, "type": "account",
                            "account": account, "owner": self.owner_of(account)})
        out.append(event)
        return out


def journal_rows(*, market: str, after: int = 0, upto: int | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int | None = None) -> QuerySet[JournalEvent]:
    """A market's committed journal rows in sequence order."""
    rows = JournalEvent.objects.filter(market__symbol=market, sequence__gt=after).order_by("sequence")
    if upto is not None:
        rows = rows.filter(sequence__lte=upto)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    return rows[:limit] if limit else rows


def journal_events(*, market: str, since: datetime | None = None, until: datetime | None = None) -> Iterator[dict]:
    """A market's journal between two times as DESIGN 6.5 events (for a back-test)."""
    stream = EventStream()
    for row in journal_rows(market=market, since=since, until=until).iterator(chunk_size=5000):
        yield from stream.events(row, market)


def journal_markets() -> list[str]:
    from exchange.markets.models import Market

    return list(Market.objects.order_by("symbol").values_list("symbol", flat=True))


# ---------------------------------------------------------------------- parameters


def parameters_current() -> dict[str, dict]:
    """Every typology's current overrides (``{}`` means the documented defaults)."""
    current: dict[str, dict] = {name: {} for name in TYPOLOGIES}
    seen: set = set()
    for version in ParameterVersion.objects.order_by("-created_at", "-id"):
        if version.typology not in seen:
            seen.add(version.typology)
            current[version.typology] = dict(version.values)
    return current


def parameters_table() -> list[dict]:
    """Per detector: each parameter's default and current value, and the history of changes."""
    import dataclasses

    current = parameters_current()
    table = []
    for typology, detector in DETECTORS.items():
        defaults = detector.Params()
        fields = [{"name": f.name, "default": getattr(defaults, f.name), "type": type(getattr(defaults, f.name)).__name__,
                   "value": current[typology].get(f.name, getattr(defaults, f.name)),
                   "changed": f.name in current[typology]} for f in dataclasses.fields(detector.Params)]
        table.append({"typology": typology, "doc": (detector.Params.__doc__ or "").strip(), "fields": fields,
                      "history": ParameterVersion.objects.filter(typology=typology).select_related("created_by")[:20]})
    return table


def config_version() -> tuple:
    """Changes whenever parameters or owners change: the consumer rebuilds its detectors then."""
    params = ParameterVersion.objects.aggregate(last=Max("id"))["last"]
    owners = BeneficialOwner.objects.aggregate(last=Max("updated_at"), n=Count("id"))
    return params, owners["last"], owners["n"]


# ---------------------------------------------------------------------- queue


def account_key(value: str) -> str:
    """A reviewer types a user id or a username; alerts store journal account ids."""
    value = value.strip()
    if value and not value.isdigit():
        user = get_user_model().objects.filter(username=value).first()
        if user is not None:
            return str(user.pk)
    return value


def alert_list(*, typology: str = "", market: str = "", account: str = "", min_score: float | None = None,
               status: str = "", date_from=None, date_to=None, assignee: str = "", sort: str = "newest") -> QuerySet[Alert]:
    alerts = Alert.objects.select_related("assignee", "case")
    if typology:
        alerts = alerts.filter(typology=typology)
    if market:
        alerts = alerts.filter(market=market.upper())
    if account:
        alerts = alerts.filter(account_keys__contains=[account_key(account)])
    if min_score is not None:
        alerts = alerts.filter(score__gte=min_score)
    if status == "open":
        alerts = alerts.exclude(status=AlertStatus.CLOSED)
    elif status:
        alerts = alerts.filter(status=status)
    if date_from:
        alerts = alerts.filter(start__date__gte=date_from)
    if date_to:
        alerts = alerts.filter(start__date__lte=date_to)
    if assignee == "me":
        pass  # resolved by the view, which knows the user
    elif assignee == "none":
        alerts = alerts.filter(assignee__isnull=True)
    return alerts.order_by(SORTS.get(sort, "-created_at"), "-id")


def reviewers() -> QuerySet:
    return get_user_model().objects.filter(Q(groups__name=COMPLIANCE) | Q(is_superuser=True)).distinct().order_by("username")


def case_list(*, status: str = "") -> QuerySet[Case]:
    cases = Case.objects.select_related("assignee", "created_by").annotate(alert_count=Count("alerts"))
    return cases.filter(status=status) if status else cases


# ---------------------------------------------------------------------- evidence and replay


def alert_window(alert: Alert, *, before: float = 30, after: float = 35) -> tuple[datetime, datetime]:
    """The episode with context around it (spoofing_vs_mm reviews 30 s before to 35 s after, O2)."""
    return alert.start - timedelta(seconds=before), alert.end + timedelta(seconds=after)


def alert_evidence(alert: Alert) -> list[dict]:
    """The journal events behind the alert: its orders' accepts, amends, cancels, and its trades."""
    order_ids = list(alert.evidence.get("order_ids", []))
    trade_ids = list(alert.evidence.get("trade_ids", []))
    if not order_ids and not trade_ids:
        return []
    since, until = alert_window(alert, before=3600, after=3600)
    rows = JournalEvent.objects.filter(market__symbol=alert.market, created_at__gte=since, created_at__lte=until).filter(
        Q(payload__order_id__in=order_ids) | Q(payload__trade_id__in=trade_ids)).order_by("sequence")
    return [{**journal_event(row, alert.market), "at": row.created_at} for row in rows[:2000]]


def replay(*, market: str, upto: int, until: datetime | None = None, sample_from: datetime | None = None,
           owners: dict | None = None, use_snapshots: bool = True,
           every: int = snapshots.EVERY) -> tuple[MarketState, list[dict]]:
    """The market's state right after sequence ``upto``.

    Starts from the newest book snapshot at or before ``upto`` (taken before ``sample_from``, so
    every sampled event is replayed) and applies only the journal events after it; without one,
    from the first event. Each multiple of ``every`` passed on the way is stored as a snapshot,
    so the next replay there is short. ``use_snapshots=False`` rebuilds from the first event and
    stores nothing (the reference the snapshots are tested against).

    Returns the state and, from ``sample_from`` on, one sample per event: time, sequence, best
    bid and ask, and the trade price if the event was a trade (the chart's data).
    """
    owners = owner_map() if owners is None else owners
    stream = EventStream(owners)
    snapshot = snapshots.latest(market, upto=upto, before=sample_from, until=until) if use_snapshots else None
    if snapshot is None:
        state, after = MarketState(retention=10**9), 0
    else:
        state, stream.seen = snapshots.load(snapshot.state, market, stream.owner_of)
        after = snapshot.sequence
    mark = snapshots.next_mark(after, every)
    samples: list[dict] = []
    for row in journal_rows(market=market, after=after, upto=upto, until=until).iterator(chunk_size=5000):
        for event in stream.events(row, market):
            state.apply(event)
        if use_snapshots and row.sequence >= mark:
            snapshots.save(market, row.sequence, row.created_at, state, stream.seen)
            mark = snapshots.next_mark(row.sequence, every)
        if sample_from is not None and row.created_at >= sample_from:
            book = state.book(market)
            samples.append({"ts": row.created_at, "seq": row.sequence, "type": row.event_type,
                            "bid": book.best_bid(), "ask": book.best_ask(),
                            "price": row.payload.get("price") if row.event_type == "trade" else None,
                            "payload": row.payload})
    return state, samples


def book_at(*, market: str, sequence: int, accounts: list, levels: int = 10, use_snapshots: bool = True,
            every: int = snapshots.EVERY) -> dict:
    """The book of ``market`` right after event ``sequence``: levels per side, and the alert
    accounts' own orders resting at that moment (replayed as ``replay`` does)."""
    state, _ = replay(market=market, upto=sequence, use_snapshots=use_snapshots, every=every)
    book = state.book(market)
    mine = []
    for account in accounts:
        for side in ("buy", "sell"):
            for record in state.live_orders(market, account, side).values():
                mine.append(record)
    mine_prices = {(r.side, r.price) for r in mine}
    row = JournalEvent.objects.filter(market__symbol=market, sequence=sequence).first()
    return {
        "sequence": sequence, "event": journal_event(row, market) if row else None,
        "bids": [{"price": p, "quantity": q, "mine": ("buy", p) in mine_prices} for p, q in book.depth("buy", levels)],
        "asks": [{"price": p, "quantity": q, "mine": ("sell", p) in mine_prices} for p, q in book.depth("sell", levels)],
        "orders": sorted(mine, key=lambda r: (r.side, r.price)),
    }


def window_sequences(alert: Alert) -> tuple[int | None, int | None]:
    since, until = alert_window(alert)
    rows = JournalEvent.objects.filter(market__symbol=alert.market, created_at__gte=since, created_at__lte=until)
    bounds = rows.aggregate(first=Min("sequence"), last=Max("sequence"))
    return bounds["first"], bounds["last"]


# ---------------------------------------------------------------------- metrics


def precision_by_detector() -> list[dict]:
    """Per detector: alerts raised, open, closed by disposition, and precision of the closed ones."""
    rows: dict[str, dict[str, Any]] = {
        name: {"typology": name, "raised": 0, "open": 0, **{d.value: 0 for d in Disposition}} for name in TYPOLOGIES}
    for row in Alert.objects.values("typology", "status", "disposition").annotate(n=Count("id")):
        entry = rows.setdefault(row["typology"], {"typology": row["typology"], "raised": 0, "open": 0,
                                                  **{d.value: 0 for d in Disposition}})
        entry["raised"] += row["n"]
        if row["status"] != AlertStatus.CLOSED:
            entry["open"] += row["n"]
        elif row["disposition"]:
            entry[row["disposition"]] += row["n"]
    for entry in rows.values():
        judged = entry["true_positive"] + entry["false_positive"]
        entry["precision"] = entry["true_positive"] / judged if judged else None
    return list(rows.values())


def alert_csv_rows(alerts) -> Iterator[list]:
    yield ["id", "typology", "market", "accounts", "start", "end", "score", "status", "assignee", "case",
           "disposition", "closed_by", "closed_at", "reason", "order_ids", "trade_ids"]
    for a in alerts.iterator() if hasattr(alerts, "iterator") else alerts:
        yield [a.pk, a.typology, a.market, " ".join(map(str, a.accounts)), a.start.isoformat(), a.end.isoformat(),
               a.score, a.status, a.assignee.username if a.assignee else "", a.case_id or "", a.disposition,
               a.closed_by.username if a.closed_by else "", a.closed_at.isoformat() if a.closed_at else "", a.reason,
               " ".join(map(str, a.evidence.get("order_ids", []))), " ".join(map(str, a.evidence.get("trade_ids", [])))]


def case_csv_rows(cases) -> Iterator[list]:
    yield ["id", "title", "status", "disposition", "assignee", "created_by", "created_at", "closed_by", "closed_at",
           "alert_ids", "closing_comment"]
    for c in cases:
        yield [c.pk, c.title, c.status, c.disposition, c.assignee.username if c.assignee else "",
               c.created_by.username if c.created_by else "", c.created_at.isoformat(),
               c.closed_by.username if c.closed_by else "", c.closed_at.isoformat() if c.closed_at else "",
               " ".join(str(pk) for pk in c.alerts.values_list("id", flat=True)), c.closing_comment]

