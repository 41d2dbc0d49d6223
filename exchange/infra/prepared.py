"""A cursor for the few fixed statements of the order-entry hot path (the group commit's, the API
key's load): parameters bound on the server, the statement prepared once per connection.

Django's PostgreSQL cursors bind parameters on the client: psycopg writes every value into the
SQL text, quoting each element of each array in Python, and PostgreSQL parses and plans the
whole text again. The group commit sends the same five statements over and over, with arrays
of ids and amounts (its rows now travel as one JSON parameter, ``infra/bulk.py``), and that
quoting was 7% of a web process's CPU under load (py-spy at 250 orders/s), beside the parse and
plan of a forty-array ``INSERT`` in PostgreSQL on every group. Here the parameters travel as
such and psycopg prepares a statement it has seen
``prepare_threshold`` times on a connection (settings: ``DATABASES`` ``OPTIONS``; Django's own
client-binding cursors never prepare, whatever it says).

The cursor is on the thread's Django connection, in its transaction, wrapped as Django wraps its
own: database errors come out as Django's (``OperationalError``...), so the shedding's 503 and
``atomic`` see them as they see the ORM's, and tests that capture queries see these too.
"""
from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorWrapper


def prepared_cursor() -> CursorWrapper:
    """A server-binding cursor on the current thread's connection, wrapped as Django wraps its
    own (``connection.cursor()`` with another cursor class): errors as Django's, the broken
    transaction check, and the statements in ``connection.queries`` when they are logged."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # Any: django-stubs types this class without psycopg's constructor, and make_cursor as
        # taking a wrapper rather than the driver's cursor it wraps.
        raw: Any = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
