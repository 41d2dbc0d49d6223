"""Momentum ignition: a burst of aggressive orders through levels, then an unwind into the move."""

from surveillance.detectors import run_detectors
from surveillance.detectors.momentum_ignition import MomentumIgnitionDetector


def ignite(tape, account, *, sweep=True):
    """Three buy orders 1.5 s apart; sweeping ones ask for more than the touch shows and take two levels."""
    asks = [tape.order("mm", "sell", f"100.{i}", "10") for i in range(1, 8)]
    for i in range(3):
        tape.at(10 + 1.5 * i)
        if not sweep:
            tape.take(account, asks[i], f"100.{i + 1}", "10")
            continue
        order = tape.order(account, "buy", f"100.{2 * i + 2}", "25", tif="ioc")
        tape.trade(order, asks[2 * i], f"100.{2 * i + 1}", "10")
        tape.trade(order, asks[2 * i + 1], f"100.{2 * i + 2}", "10")
    return asks


def test_burst_then_unwind_alerts_on_the_completing_fill(tape):
    ignite(tape, "i")
    offer = tape.at(15).order("i", "sell", "100.7", "40")
    tape.at(18).take("f1", offer, "100.7", "20")
    tape.at(25).take("f2", offer, "100.7", "20")
    detector = MomentumIgnitionDetector()
    alerts = [(event["ts"], a) for event in tape.events for a in detector.feed(event)]
    assert len(alerts) == 1
    ts, alert = alerts[0]
    assert ts.startswith("2024-06-03T09:00:25")  # the second unwind fill reaches 2/3 of the 60 bought
    assert alert.accounts == ["i"]
    assert "3 aggressive buy orders" in alert.reason
    assert [a.typology for a in run_detectors(tape.events)] == ["momentum_ignition"]


def test_an_execution_algo_buying_through_levels_without_unwinding_does_not_alert(tape):
    ignite(tape, "twap")
    assert run_detectors(tape.events) == []


def test_an_unwind_at_a_small_loss_still_alerts(tape):
    # Issue 17: the manipulator who loses a little is still one; the gain is evidence, not a gate.
    ignite(tape, "i")
    bid = tape.at(15).order("b", "buy", "99.9", "60")
    tape.at(16).take("i", bid, "99.9", "60")
    assert [a.typology for a in run_detectors(tape.events)] == ["momentum_ignition"]


def test_an_arbitrageur_taking_only_the_touch_and_turning_round_does_not_alert(tape):
    ignite(tape, "hft", sweep=False)
    bid = tape.at(15).order("b", "buy", "100.3", "30")
    tape.at(16).take("hft", bid, "100.3", "30")
    assert run_detectors(tape.events) == []
