"""The matcher and the ledger's bulk API build COPY text and array literals themselves
(``exchange/infra/pgtext.py``) instead of letting the driver adapt values one by one. Whatever
the values, real PostgreSQL must read back exactly what was meant: every string (quotes,
backslashes, tabs, newlines, unicode), NULLs, and decimals of any scale and sign, exponent forms
included."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.infra.pgtext import codes, copy_text, flags, numbers
from exchange.trading.matcher.persist import parse_timestamptz

pytestmark = pytest.mark.django_db

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e20"), max_value=Decimal("1e20"),
                       places=None).filter(lambda d: abs(d.as_tuple().exponent) < 60)
hypothesis_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@hypothesis_settings
@given(rows=st.lists(st.tuples(st.one_of(st.none(), texts), decimals), min_size=1, max_size=20))
def test_copy_text_round_trips_any_string_and_decimal(rows):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS copy_probe (n int, label text, amount numeric)")
        cursor.execute("TRUNCATE copy_probe")
        text = "".join(f"{i}\t{copy_text(label)}\t{amount}\n" for i, (label, amount) in enumerate(rows))
        with cursor.cursor.copy("COPY copy_probe (n, label, amount) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute("SELECT label, amount FROM copy_probe ORDER BY n")
        assert cursor.fetchall() == [(label, amount) for label, amount in rows]


@hypothesis_settings
@given(strings=st.lists(texts, max_size=20), amounts=st.lists(st.one_of(st.none(), decimals), max_size=20),
       ids=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20), bools=st.lists(st.booleans(), max_size=20))
def test_array_literals_round_trip(strings, amounts, ids, bools):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[], %s::numeric[], %s::bigint[], %s::boolean[]",
                       [codes(strings), numbers(amounts), numbers(ids), flags(bools)])
        assert cursor.fetchone() == (strings, amounts, ids, bools)


def test_timestamps_read_as_text_are_the_same_instant():
    moments = [datetime(2026, 12, 5, 8, 24, 34, 123456, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute("SELECT %s::timestamptz::text", [moment])
            assert parse_timestamptz(cursor.fetchone()[0]) == moment
