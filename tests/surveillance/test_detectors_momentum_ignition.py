"""Momentum ignition: a burst of aggressive orders through levels, then an unwind into the move."""

from surveillance.detectors import run_detectors
from surveillance.detectors.momentum_ignition import MomentumIgnitionDetector


def ignite(tape, account):
    asks = [tape.order("mm", "sell", f"100.{i}", "10") for i in range(1, 6)]
    for i in range(3):
        tape.at(10 + 1.5 * i).take(account, asks[i], f"100.{i + 1}", "10")
    return asks


def test_burst_then_unwind_alerts_on_the_completing_fill(tape):
    ignite(tape, "i")
    offer = tape.at(15).order("i", "sell", "100.6", "20")
    tape.at(18).take("f1", offer, "100.6", "10")
    tape.at(25).take("f2", offer, "100.6", "10")
    detector = MomentumIgnitionDetector()
    alerts = [(event["ts"], a) for event in tape.events for a in detector.feed(event)]
    assert len(alerts) == 1
    ts, alert = alerts[0]
    assert ts.startswith("2024-06-03T09:00:25")  # the second unwind fill reaches 2/3
    assert alert.accounts == ["i"]
    assert "3 aggressive buy orders" in alert.reason
    assert [a.typology for a in run_detectors(tape.events)] == ["momentum_ignition"]


def test_an_execution_algo_buying_through_levels_without_unwinding_does_not_alert(tape):
    asks = ignite(tape, "twap")
    tape.at(20).take("twap", asks[3], "100.4", "10")
    assert run_detectors(tape.events) == []


def test_an_unwind_at_a_loss_is_not_capitalising(tape):
    ignite(tape, "i")
    bid = tape.at(15).order("b", "buy", "99.9", "30")
    tape.at(16).take("i", bid, "99.9", "30")
    assert run_detectors(tape.events) == []
