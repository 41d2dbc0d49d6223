"""The batch writer commits batches in order on its own connection, and a batch planned on top of
one that failed never commits (it was planned from state that PostgreSQL never saw)."""
import pytest
from django.db import DatabaseError, connection, transaction

from exchange.trading.matcher.writer import BatchWriter, EarlierBatchFailed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe_table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE writer_probe (n int PRIMARY KEY)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE writer_probe")


def insert(n: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO writer_probe (n) VALUES (%s)", [n])


def fail() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO writer_probe (n) VALUES (1)")  # rolled back with the error below
        cursor.execute("SELECT 1 / 0")


def stored() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM writer_probe ORDER BY n")
        return [n for (n,) in cursor.fetchall()]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_batches_commit_in_order_on_the_writers_own_connection(probe_table):
    writer = BatchWriter()
    try:
        numbers = [writer.submit(lambda n=n: insert(n)) for n in range(10)]
        writer.flush()
        assert numbers == list(range(1, 11))
        assert writer.committed == 10
        assert stored() == list(range(10))
        assert writer.call(backend_pid) != backend_pid()
    finally:
        writer.shutdown()


def test_after_a_failed_batch_later_ones_are_refused_until_reset(probe_table):
    writer = BatchWriter(max_in_flight=3)
    try:
        writer.submit(lambda: insert(0))
        writer.flush()
        writer.submit(fail)
        writer.submit(lambda: insert(2))  # planned on top of the failed batch
        with pytest.raises(DatabaseError) as error:
            writer.flush()
        assert not isinstance(error.value, EarlierBatchFailed)  # the first error is the real one
        with pytest.raises(EarlierBatchFailed):
            writer.flush()  # the batch planned on the failed one was refused
        assert stored() == [0]
        assert writer.committed == 1
        writer.reset()
        writer.submit(lambda: insert(4))
        writer.flush()
        assert stored() == [0, 4]
    finally:
        writer.shutdown()
