"""Model instances read by a hand-written ``SELECT``, for the few reads on a hot path.

Building a ``QuerySet`` and compiling it costs a web process more CPU than PostgreSQL spends
answering a primary-key lookup: the API key check's load (the key, its owner, whether the owner
is frozen) was 8% of a web process's CPU under order load (py-spy at 250 orders/s), most of it
in the ORM before the query left. Here a statement names a model's columns once (the caller
runs it, on a prepared cursor where it repeats, ``infra/prepared.py``), and each row becomes an
instance as the ORM would make it: every column through the converters the ORM applies (the
backend's, then the field's ``from_db_value``), then ``Model.from_db``. (``markets_by_symbol``
does the same for markets and their assets by itself: ``markets`` sits below ``infra`` in the
layers, and its models need no converters.)
"""
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]
M = TypeVar("M", bound=Model)


class ModelColumns(Generic[M]):
    """A model's concrete columns under a table alias, for a ``SELECT`` list, and the instance
    made from their values in a row."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields: tuple[Field, ...] = tuple(model._meta.concrete_fields)
        self._attnames = [field.attname for field in self.fields]

    @property
    def table(self) -> str:
        """The model's table, quoted, with the alias: for the ``FROM`` or a ``JOIN``."""
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        return f"{quote(self.model._meta.db_table)} {self.alias}"

    @property
    def sql(self) -> str:
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.fields)

    @cached_property
    def _converters(self) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
        """Per column that needs any, as the SQL compiler gathers them for a ``Col``."""
        connection = connections[DEFAULT_DB_ALIAS]
        out = []
        for i, field in enumerate(self.fields):
            column = field.get_col(self.alias)
            found = tuple(connection.ops.get_db_converters(column) + column.get_db_converters(connection))
            if found:
                out.append((i, found, column))
        return tuple(out)

    def instance(self, values: Sequence[Any]) -> M:
        """The instance these column values (in ``fields``' order) make, as a query would."""
        row = list(values)
        connection = connections[DEFAULT_DB_ALIAS]
        for i, converters, column in self._converters:
            for convert in converters:
                row[i] = convert(row[i], column, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self._attnames, row)
