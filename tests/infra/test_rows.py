"""``infra/rows.ModelColumns`` makes from a hand-written SELECT the instance the ORM makes."""
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from exchange.accounts.models import ApiKey, SecurityEvent
from exchange.accounts.services import api_key_create
from exchange.api.keys import _select_key
from exchange.infra.prepared import prepared_cursor
from exchange.infra.rows import ModelColumns


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_an_instance_from_its_columns_is_the_one_the_orm_loads(make_user):
    """Every concrete column through the ORM's converters: arrays, addresses, times, nulls."""
    user = make_user()
    api_key, _ = api_key_create(user=user, scopes=["read", "trade"], allowed_ips=["10.0.0.1", "::1"])
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now() - timedelta(days=1))
    columns = ModelColumns(ApiKey, "k")
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT {columns.sql} FROM {columns.table} WHERE k.id = %s", [api_key.pk])
        made = columns.instance(cursor.fetchone())
    loaded = ApiKey.objects.get(pk=api_key.pk)
    assert _values(made) == _values(loaded)
    assert made.allowed_ips == ["10.0.0.1", "::1"]
    assert made.last_used_at is None
    assert not made._state.adding
    assert made._state.db == connection.alias
    made.label = "saved as the ORM saves it"
    made.save(update_fields=["label"])
    assert ApiKey.objects.get(pk=api_key.pk).label == "saved as the ORM saves it"


def test_a_json_column_goes_through_the_fields_converter(make_user):
    """A JSON column reaches Python as text and the field's ``from_db_value`` parses it, as in a query."""
    user = make_user()
    event = SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.LOGIN, ip="192.0.2.7",
                                         detail={"nested": [1, "two", None], "price": "1.10"})
    columns = ModelColumns(SecurityEvent, "e")
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT {columns.sql} FROM {columns.table} WHERE e.id = %s", [event.pk])
        made = columns.instance(cursor.fetchone())
    assert made.detail == {"nested": [1, "two", None], "price": "1.10"}
    assert _values(made) == _values(SecurityEvent.objects.get(pk=event.pk))


def test_the_key_check_loads_the_key_and_its_owner_as_the_orm_does(make_user):
    user = make_user()
    api_key, _ = api_key_create(user=user, scopes=["read"])
    found, frozen = _select_key(api_key.key)
    assert _values(found) == _values(ApiKey.objects.get(pk=api_key.pk))
    assert _values(found.user) == _values(User.objects.get(pk=user.pk))
    assert frozen is False
    assert _select_key("0" * 32) is None
