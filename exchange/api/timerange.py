"""``since`` / ``until`` / ``limit`` on the list endpoints: one parser, one set of rules.

A bot polls "what happened since my last look", so every history list takes ``since`` and
``until`` as integer milliseconds since the epoch (what ``GET /time`` answers, and what ccxt
passes) or as ISO 8601. Both bounds are inclusive. A ``since`` in the future is refused rather
than answered with an empty list: it almost always means a clock or unit mistake (seconds or
microseconds for milliseconds) that an empty answer would hide.
"""
import re
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import CursorPagination

from exchange.errors import ExchangeError

# Clocks disagree a little: a since a few seconds ahead of ours is a client's "now", not a mistake.
CLOCK_SKEW = timedelta(seconds=5)
_OFFSET_AS_SPACE = re.compile(r"(\d) (\d\d(?::?\d\d)?)$")
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it datetime cannot go


def parse_instant(value: object, *, field: str) -> datetime:
    """Milliseconds since the epoch (an integer, or a string of digits) or ISO 8601 (UTC when it
    names no offset), as an aware datetime; ``invalid_<field>`` otherwise."""
    text = str(value).strip()
    if text.isascii() and text.isdigit():
        ms = int(text)
        if ms > MAX_MS:
            raise ExchangeError(f"invalid_{field}", f"{field}: {text} milliseconds is beyond the year 9999")
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    # An unencoded "+00:00" in a query string arrives as " 00:00": read it back as the offset.
    text = _OFFSET_AS_SPACE.sub(r"\1+\2", text)
    try:
        parsed = parse_datetime(text) if len(text) <= 40 else None
    except ValueError:  # well formed but impossible, e.g. month 13
        parsed = None
    if parsed is None:
        raise ExchangeError(f"invalid_{field}",
                            f"{field} must be milliseconds since the epoch or an ISO 8601 time")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def time_range(since: object = None, until: object = None) -> tuple[datetime | None, datetime | None]:
    """The checked (since, until) of a query: ``since`` not in the future, ``until`` not before it."""
    start = None if since in (None, "") else parse_instant(since, field="since")
    end = None if until in (None, "") else parse_instant(until, field="until")
    if start is not None and start > timezone.now() + CLOCK_SKEW:
        raise ExchangeError("invalid_since", "since is in the future")
    if start is not None and end is not None and end < start:
        raise ExchangeError("invalid_until", "until is before since")
    return start, end


@extend_schema_field({"type": "string", "example": "1767225600000",
                      "description": "milliseconds since the epoch, or ISO 8601 (e.g. 2026-01-01T00:00:00Z)"})
class InstantField(serializers.CharField):
    """A query parameter holding an instant; read as text, checked by ``time_range``."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)


class TimeRangeQuery(serializers.Serializer):
    """``since`` and ``until`` (inclusive) for a list; with ``since`` a list runs oldest first."""

    since = InstantField(help_text="Only items at or after this time; the list then runs oldest first.")
    until = InstantField(help_text="Only items at or before this time.")

    def validate(self, attrs: dict) -> dict:
        attrs["since"], attrs["until"] = time_range(attrs.get("since"), attrs.get("until"))
        return attrs


def paginate(paginator: CursorPagination, rows: QuerySet, request, view, query: dict) -> list:
    """One page of ``rows``: newest first, or oldest first from ``since`` (a bot asking "what
    happened since" reads forward from there, page after page)."""
    if query.get("since") is not None:
        paginator.ordering = paginator.ordering.lstrip("-")
    return paginator.paginate_queryset(rows, request, view=view)
