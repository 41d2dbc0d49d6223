"""Model rows inserted by one ``INSERT ... SELECT * FROM unnest(...)``, for hot paths.

``QuerySet.bulk_create`` compiles a query per call: for the order-entry group commit (a few
rows, many times a second) the compiler cost more CPU than PostgreSQL spent on the insert. Here
the statement is built from the model's own fields (so it cannot drift from the schema), once
per model, with one array parameter per column whatever the number of rows; the values go
through each field's ``pre_save`` and ``get_db_prep_save`` exactly as ``bulk_create`` would
send them.
"""
from collections.abc import Sequence
from functools import cache
from typing import cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


@cache
def _statement(model: type[Model], with_pk: bool) -> tuple[str, tuple[Field, ...]]:
    connection = connections[DEFAULT_DB_ALIAS]
    fields = tuple(f for f in model._meta.concrete_fields if with_pk or not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)  # concrete: has a column
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})", fields


def unnest_insert(model: type[Model], objects: Sequence[Model], *, with_pk: bool = False) -> tuple[str, list]:
    """``(sql, params)`` inserting ``objects`` (same model) in one statement, without
    ``RETURNING``: callers add what they need, or use it as a CTE. With ``with_pk`` the primary
    keys already set on the objects are written too (ids taken from the sequence beforehand)."""
    sql, fields = _statement(model, with_pk)
    connection = connections[DEFAULT_DB_ALIAS]  # the thread's own wrapper, looked up once
    params = []
    for field in fields:
        prep = field.get_db_prep_save
        # pre_save sets auto_now(_add) on the object as save() would.
        params.append([prep(field.pre_save(obj, add=True), connection) for obj in objects])
    return sql, params
