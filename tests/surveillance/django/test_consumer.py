"""The real-time consumer over a committed journal: alerts once per episode, across restarts,
catches up after downtime, and picks up new parameters and beneficial owners."""
import pytest

from surveillance import services
from surveillance.models import Alert, ConsumerPosition
from surveillance.realtime import Consumer

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(make_user, reviewer):
    """Two accounts (users) that compliance knows share one beneficial owner."""
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        services.owner_set(actor=reviewer, user=user, owner="desk-7")
    return alice.pk, bob.pk


def wash(tape, a, b, *, start: float, n: int = 3):
    for i in range(n):
        tape.at(start + 60 * i).cross(a, b, "30000", "0.1")


def drain(consumer: Consumer) -> int:
    stored = 0
    while True:
        events, alerts = consumer.step()
        stored += alerts
        if not events:
            return stored


def test_wash_trades_between_accounts_of_one_owner_raise_one_alert(market, tape, desk, write_journal):
    alice, bob = desk
    wash(tape, alice, bob, start=0)
    last = write_journal(tape.events)
    consumer = Consumer(["BTC-USD"])
    assert drain(consumer) == 1
    alert = Alert.objects.get()
    assert (alert.typology, alert.market, alert.accounts) == ("wash_trading", "BTC-USD", sorted([alice, bob]))
    assert alert.status == "new"
    assert "2 trades" in alert.reason  # raised on the second self-trade (issue 17: no longer the third)
    assert ConsumerPosition.objects.get(market="BTC-USD").last_sequence == last
    assert alert.history.get().action == "raised"


def test_same_accounts_without_a_common_owner_do_not_alert(market, tape, make_user, write_journal):
    alice, bob = make_user("alice"), make_user("bob")
    wash(tape, alice.pk, bob.pk, start=0, n=5)
    write_journal(tape.events)
    assert drain(Consumer(["BTC-USD"])) == 0


def test_a_restart_neither_repeats_nor_loses_alerts(market, tape, desk, write_journal):
    alice, bob = desk
    wash(tape, alice, bob, start=0)
    write_journal(tape.events)
    assert drain(Consumer(["BTC-USD"])) == 1
    # Down for a while: the episode goes on (more wash trades), nothing follows the journal.
    tape.events.clear()
    wash(tape, alice, bob, start=600, n=3)
    write_journal(tape.events)
    # On start the consumer warms on the last hour before its position, then catches up: the
    # ongoing episode is not raised again.
    assert drain(Consumer(["BTC-USD"])) == 0
    # Hours later, a new episode is a new alert.
    tape.events.clear()
    wash(tape, alice, bob, start=4 * 3600, n=3)
    write_journal(tape.events)
    assert drain(Consumer(["BTC-USD"])) == 1
    assert Alert.objects.count() == 2


def test_without_warm_up_the_repeat_is_still_stored_once(market, tape, desk, write_journal):
    """A consumer that lost its detectors' memory (no warm-up) raises the episode again: the
    fingerprint and the shared-evidence check keep it to one alert."""
    from datetime import timedelta

    alice, bob = desk
    wash(tape, alice, bob, start=0)
    write_journal(tape.events)
    assert drain(Consumer(["BTC-USD"])) == 1
    ConsumerPosition.objects.update(last_sequence=0)  # replays everything, as after a lost position
    assert drain(Consumer(["BTC-USD"], warmup=timedelta(0))) == 0
    assert Alert.objects.count() == 1


def test_the_consumer_picks_up_new_parameters(market, tape, desk, write_journal, reviewer):
    alice, bob = desk
    consumer = Consumer(["BTC-USD"])
    drain(consumer)
    services.parameters_set(actor=reviewer, typology="wash_trading", values={"min_trades": 5}, comment="fewer alerts")
    wash(tape, alice, bob, start=0, n=4)
    write_journal(tape.events)
    assert drain(consumer) == 0  # four trades: below the new threshold
    tape.events.clear()
    wash(tape, alice, bob, start=300, n=1)
    write_journal(tape.events)
    assert drain(consumer) == 1


def test_the_consumer_picks_up_new_owners(market, tape, make_user, write_journal, reviewer):
    alice, bob = make_user("alice"), make_user("bob")
    consumer = Consumer(["BTC-USD"])
    drain(consumer)
    services.owner_set(actor=reviewer, user=alice, owner="desk-9")
    services.owner_set(actor=reviewer, user=bob, owner="desk-9")
    wash(tape, alice.pk, bob.pk, start=0)
    write_journal(tape.events)
    assert drain(consumer) == 1


def test_run_surveillance_once_and_backtest_command(market, tape, desk, write_journal, tmp_path):
    from django.core.management import call_command

    alice, bob = desk
    wash(tape, alice, bob, start=0)
    write_journal(tape.events)
    call_command("run_surveillance", "--markets", "BTC-USD", "--once")
    assert Alert.objects.filter(typology="wash_trading").count() == 1

    events, out = tmp_path / "events.jsonl", tmp_path / "alerts.jsonl"
    call_command("export_events", "--market", "BTC-USD", "--output", str(events))
    call_command("surveillance_backtest", str(events), "--output", str(out))
    assert out.read_text() == ""  # the export knows no owners: every account is its own
    params = tmp_path / "params.json"
    params.write_text('{"wash_trading": {"min_trades": 2}}')
    tape2 = type(tape)()
    tape2.account("w1", "o")
    tape2.account("w2", "o")
    wash(tape2, "w1", "w2", start=0)
    import json

    events.write_text("".join(json.dumps(e) + "\n" for e in tape2.events))
    call_command("surveillance_backtest", str(events), "--output", str(out), "--params", str(params))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["typology"] for line in lines] == ["wash_trading"]
    assert set(lines[0]) == {"typology", "market", "accounts", "start", "end", "score", "evidence", "reason"}


def test_a_quiet_market_still_moves_the_detectors_clock(market, tape, desk, write_journal):
    """Patterns settled by a deadline (a spoof not pulled in time) must not wait for the next event."""
    import time as wall

    alice, bob = desk
    wash(tape, alice, bob, start=0, n=1)
    write_journal(tape.events)
    consumer = Consumer(["BTC-USD"])
    drain(consumer)
    consumer.step()  # nothing new: a clock event a little behind the wall clock
    now = consumer.followers["BTC-USD"].suite.state.now
    assert wall.time() - 10 < now < wall.time()
    assert ConsumerPosition.objects.get(market="BTC-USD").last_sequence == 3
