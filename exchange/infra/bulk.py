"""Model rows inserted by one ``INSERT ... SELECT`` from one JSON parameter, for hot paths.

``QuerySet.bulk_create`` compiles a query per call: for the order-entry group commit (a few
rows, many times a second) the compiler cost more CPU than PostgreSQL spent on the insert. Here
the statement is built from the model's own fields (so it cannot drift from the schema), once
per model, and the values go through each field's ``pre_save`` and ``get_db_prep_save`` exactly as
``bulk_create`` would send them.

The rows travel as one JSON text (``json_populate_recordset`` over the table's own row type),
not as one array per column: psycopg dumps an array element by element in Python, and the
thirty-five arrays of the group commit's orders and commands cost a web process more CPU than
the rest of the statement (about 240 µs per group of three against 60 µs for the JSON, which
``json.dumps`` writes in C). PostgreSQL reads each value with its column's own input function,
so a value too long for its column is refused as an ``INSERT`` of it would be, numbers stay
exact (decimals travel as their text), and a JSON column gets the value's JSON.
"""
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, JSONField, Model


@cache
def _statement(model: type[Model], with_pk: bool) -> tuple[str, tuple[Field, ...]]:
    connection = connections[DEFAULT_DB_ALIAS]
    fields = tuple(f for f in model._meta.concrete_fields if with_pk or not f.primary_key)
    for field in fields:
        if field.db_type(connection).endswith("]"):  # type: ignore[union-attr]  # concrete: has a type
            raise TypeError(f"{field}: array columns would need their own JSON form here")
    columns = ", ".join(connection.ops.quote_name(_column(f)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    return (f"INSERT INTO {table} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table}, %s::json)"), fields


def _column(field: Field) -> str:
    assert field.column is not None  # a concrete field has a column
    return field.column


def _json_value(field: Field, value: Any) -> Any:
    """What ``value`` (as ``get_db_prep_save`` gave it) is in the rows' JSON."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{field}: no JSON form for {type(value).__name__}")


def json_insert(model: type[Model], objects: Sequence[Model], *, with_pk: bool = False) -> tuple[str, list]:
    """``(sql, params)`` inserting ``objects`` (same model) in one statement, without
    ``RETURNING``: callers add what they need, or use it as a CTE. With ``with_pk`` the primary
    keys already set on the objects are written too (ids taken from the sequence beforehand)."""
    sql, fields = _statement(model, with_pk)
    connection = connections[DEFAULT_DB_ALIAS]  # the thread's own wrapper, looked up once
    rows: list[dict[str, Any]] = [{} for _ in objects]
    for field in fields:
        column = _column(field)
        if isinstance(field, JSONField):
            # Its own JSON, as Django would write it (through the field's encoder, if any).
            for row, obj in zip(rows, objects, strict=True):
                value = field.pre_save(obj, add=True)
                row[column] = value if field.encoder is None else json.loads(json.dumps(value, cls=field.encoder))
            continue
        prep = field.get_db_prep_save
        for row, obj in zip(rows, objects, strict=True):
            # pre_save sets auto_now(_add) on the object as save() would.
            row[column] = _json_value(field, prep(field.pre_save(obj, add=True), connection))
    return sql, [json.dumps(rows, separators=(",", ":"))]
