"""End to end: orders placed through order entry, a real matcher, the real ``run_surveillance``
process; a wash trade between two accounts of one beneficial owner lands in the queue within
seconds, once, also across a restart of the consumer."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from exchange.trading.models import Order
from exchange.trading.services import order_place
from surveillance import services
from surveillance.models import Alert, ConsumerPosition

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def start_surveillance(redis_url, tmp_path):
    started = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = open(tmp_path / f"surveillance-{len(started)}.log", "ab")  # noqa: SIM115 - closed below
        process = subprocess.Popen([sys.executable, "manage.py", "run_surveillance", "--markets", "BTC-USD",
                                    "--interval", "0.2"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        log.close()


def cross(seller, buyer, wait, price="30000", quantity="0.01"):
    sell = order_place(user=seller, market="BTC-USD", side="sell", price=price, quantity=quantity)
    wait(lambda: Order.objects.get(pk=sell.pk).status == "open", message="the sell to rest")
    buy = order_place(user=buyer, market="BTC-USD", side="buy", price=price, quantity=quantity)
    wait(lambda: Order.objects.get(pk=buy.pk).status == "filled", message="the buy to fill")
    return sell, buy


def test_a_wash_trade_through_the_matcher_reaches_the_queue_once(market, make_user, start_matcher, start_surveillance,
                                                                   wait):
    from exchange.accounts.services import user_create

    reviewer = user_create(username="carol_compliance", email="c@example.com", password="correct-horse-battery-42",
                           role="compliance")
    alice = make_user("alice", BTC="1", USD="1000")
    bob = make_user("bob", BTC="1", USD="1000")
    for user in (alice, bob):
        services.owner_set(actor=reviewer, user=user, owner="desk-7")
    start_matcher("BTC-USD")
    consumer = start_surveillance()
    wait(lambda: ConsumerPosition.objects.filter(market="BTC-USD").exists(), timeout=30, message="surveillance to start")

    orders = []
    for _ in range(3):
        orders += cross(alice, bob, wait)
    # That it arrives, once; how fast is for a benchmark to measure, not a test to assert.
    alert = wait(lambda: Alert.objects.filter(typology="wash_trading").first(), timeout=60, message="the alert")
    assert alert.accounts == sorted([alice.pk, bob.pk])
    assert set(alert.evidence["order_ids"]) == {o.pk for o in orders[:4]}  # raised on the second of three crosses
    assert alert.status == "new"
    assert alert.source == "realtime"

    # Restart the consumer mid-episode: it warms up, catches up, and does not raise it again.
    consumer.terminate()
    consumer.wait(timeout=60)  # a loaded CI box can take a while to finish the loop it is in
    cross(bob, alice, wait)  # while surveillance is down
    start_surveillance()
    last = connection.cursor()
    last.execute("SELECT max(sequence) FROM trading_journalevent")
    top = last.fetchone()[0]
    wait(lambda: ConsumerPosition.objects.filter(market="BTC-USD", last_sequence=top).exists(), timeout=15,
         message="the consumer to catch up")
    cross(alice, bob, wait)
    time.sleep(1.0)
    assert Alert.objects.count() == 1
