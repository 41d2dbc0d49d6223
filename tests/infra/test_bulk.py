"""``infra/bulk.json_insert`` writes rows as ``bulk_create`` would: every column exact, each
value read by its column's own type (too long is refused, not cut), auto-now times set."""
import copy
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction

from exchange.infra.bulk import json_insert
from exchange.infra.prepared import prepared_cursor
from exchange.trading.models import Command, CommandKind, Order
from exchange.trading.services import order_place


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _next_ids(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('trading_order', 'id')) FROM generate_series(1, %s)", [n])
        return [row[0] for row in cursor.fetchall()]


def _insert(model, objects, **kwargs) -> list[int]:
    sql, params = json_insert(model, objects, **kwargs)
    with prepared_cursor() as cursor:
        cursor.execute(sql + " RETURNING id", params)
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def placed(make_user, market):
    user = make_user(USD="100000")
    return order_place(user=user, market="BTC-USD", side="buy", order_type="limit", price="100.01",
                       quantity="0.5", client_order_id="first")


def test_rows_read_back_as_the_orm_wrote_them(placed):
    twins = []
    for new_id, price, cid in zip(_next_ids(2), ["99999999.99", "0.01"], ["a" * 64, None], strict=True):
        twin = copy.copy(Order.objects.get(pk=placed.pk))
        twin.pk, twin.price, twin.client_order_id = new_id, Decimal(price), cid
        twin.created_at = twin.updated_at = None  # auto_now_add / auto_now: set by pre_save
        twins.append(twin)
    assert _insert(Order, twins, with_pk=True) == [t.pk for t in twins]
    for twin in twins:
        assert twin.created_at is not None
        assert _values(Order.objects.get(pk=twin.pk)) == _values(twin)
    assert Order.objects.get(pk=twins[0].pk).price == Decimal("99999999.99")


def test_a_json_column_gets_the_values_json(placed):
    payload = {"maker_fee": "0.001", "nested": [1, None, {"x": True}]}
    command = Command(market_id=placed.market_id, kind=CommandKind.PLACE, order_id=placed.pk, payload=payload)
    (command_id,) = _insert(Command, [command])
    assert Command.objects.get(pk=command_id).payload == payload


def test_a_value_too_long_for_its_column_is_refused_not_cut(placed):
    twin = copy.copy(Order.objects.get(pk=placed.pk))
    twin.pk, twin.client_order_id = _next_ids(1)[0], "a" * 65
    with pytest.raises(DataError), transaction.atomic():
        _insert(Order, [twin], with_pk=True)
    assert not Order.objects.filter(pk=twin.pk).exists()
