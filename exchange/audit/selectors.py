"""Reads of the audit log: search and CSV export."""
import csv
import json
from collections.abc import Iterator
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet

from exchange.audit.models import AuditEntry

CSV_COLUMNS = ("id", "created_at", "actor_id", "actor_username", "ip", "source", "action", "object_type", "object_id",
               "reason", "before", "after")


def audit_search(
    *, q: str = "", actor: str = "", action: str = "", object_type: str = "", object_id: str = "",
    since: datetime | None = None, until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Entries matching every given filter, newest first. ``q`` looks in the action, the
    object, the reason and the actor's name."""
    entries = AuditEntry.objects.all()
    if q:
        entries = entries.filter(
            Q(action__icontains=q) | Q(object_type__icontains=q) | Q(object_id=q) | Q(reason__icontains=q)
            | Q(actor_username__icontains=q)
        )
    if actor:
        entries = entries.filter(actor_username__iexact=actor)
    if action:
        entries = entries.filter(action__startswith=action)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The entries as CSV lines (a header first), streamed in chunks; before/after as JSON."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for e in entries.iterator(chunk_size=2000):
        yield writer.writerow([
            e.pk, e.created_at.isoformat(), e.actor_id or "", e.actor_username, e.ip or "", e.source, e.action,
            e.object_type, e.object_id, e.reason,
            "" if e.before is None else json.dumps(e.before, cls=DjangoJSONEncoder, sort_keys=True),
            "" if e.after is None else json.dumps(e.after, cls=DjangoJSONEncoder, sort_keys=True),
        ])
