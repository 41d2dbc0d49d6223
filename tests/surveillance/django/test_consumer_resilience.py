"""The real-time consumer never exits because PostgreSQL went away: it forgets its detectors,
backs off, rebuilds them from its durable positions and goes on, raising each alert once."""
import psycopg
import pytest
from django.db import connection

from surveillance import services
from surveillance.models import Alert
from surveillance.realtime import Consumer


@pytest.mark.django_db(transaction=True)
def test_consumer_survives_its_database_connection_being_killed(market, tape, make_user, reviewer, write_journal):
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        services.owner_set(actor=reviewer, user=user, owner="desk-7")
    for i in range(3):
        tape.at(60 * i).cross(alice.pk, bob.pk, "30000", "0.1")
    write_journal(tape.events)

    consumer = Consumer(["BTC-USD"])
    connection.ensure_connection()
    doomed = connection.connection.info.backend_pid
    dsn = connection.connection.info.dsn
    with psycopg.connect(dsn, autocommit=True) as admin:  # a fault from outside, as a restart would be
        admin.execute("SELECT pg_terminate_backend(%s)", [doomed])

    passes = []

    def stop() -> bool:
        passes.append(1)
        return len(passes) > 40 or (len(passes) > 1 and Alert.objects.exists())

    consumer.run(interval=0.01, stop=stop, max_backoff=0.05)  # returns only when stop() says so
    connection.ensure_connection()
    assert connection.connection.info.backend_pid != doomed  # it really reconnected
    assert Alert.objects.filter(typology="wash_trading").count() == 1
