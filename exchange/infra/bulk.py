"""Model rows inserted by one ``INSERT ... SELECT * FROM unnest(...)``, for hot paths.

``QuerySet.bulk_create`` compiles a query per call: for the order-entry group commit (a few
rows, many times a second) the compiler cost more CPU than PostgreSQL spent on the insert. Here
the statement is built from the model's own fields (so it cannot drift from the schema), one
array parameter per column whatever the number of rows, and the values go through each field's
``pre_save`` and ``get_db_prep_save`` exactly as ``bulk_create`` would send them.
"""
from django.db import connection
from django.db.models import Model


def unnest_insert(model: type[Model], objects: list[Model], *, with_pk: bool = False) -> tuple[str, list]:
    """``(sql, params)`` inserting ``objects`` (same model) in one statement, without
    ``RETURNING``: callers add what they need, or use it as a CTE. With ``with_pk`` the primary
    keys already set on the objects are written too (ids taken from the sequence beforehand)."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    columns, arrays, params = [], [], []
    for field in fields:
        values = []
        for obj in objects:
            value = field.pre_save(obj, add=True)  # sets auto_now(_add) on the object as save() would
            values.append(field.get_db_prep_save(value, connection))
        columns.append(connection.ops.quote_name(field.column))
        arrays.append(f"%s::{field.db_type(connection)}[]")
        params.append(values)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(arrays)})"
    return sql, params
