"""Spoofing and layering: one-sided pressure pulled after a fill on the other side."""

from surveillance.detectors import run_detectors
from surveillance.detectors.spoofing import SpoofingDetector


def spoof_cycles(tape, *, start=0.0, cycles=2, layers=1, mirror=False):
    """`s` rests a small bid, leans on the ask with a large order (or a layer), is filled, pulls."""
    tape.at(start).ladder("mm", 100, levels=5, size=10)
    for n in range(cycles):
        t = start + 1 + 30 * n
        genuine = tape.at(t).order("s", "buy", "100.0", "1")
        prices = ["100.2", "100.3", "100.4", "100.5"][:layers]
        spoofs = [tape.order("s", "sell", price, 40 // layers) for price in prices]
        if mirror:  # the same size resting on the bid side too: two-sided, not pressure
            mirrors = [tape.order("s", "buy", f"99.{8 - i}", 40 // layers) for i in range(layers)]
        tape.at(t + 2).take("t", genuine, "100.0", "1")
        tape.at(t + 3.5)
        for order_id in spoofs:
            tape.cancel(order_id)
        if mirror:
            for order_id in mirrors:
                tape.cancel(order_id)


def test_spoofing_alerts_once_with_the_figures(tape):
    spoof_cycles(tape, cycles=4)
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["spoofing"]
    alert = alerts[0]
    assert alert.accounts == ["s"]  # the counterparty is not a suspect
    assert "40.0x" in alert.reason
    assert "1 times" in alert.reason  # the first clean cycle alerts; the next three extend it
    assert 0.6 <= alert.score <= 1
    assert set(alert.evidence["trade_ids"]) == {1}


def test_one_clean_cycle_alerts_and_repetition_raises_nothing_but_the_score(tape):
    # Issue 17: a single large, clean instance is the strongest evidence; the old rule wanted two.
    spoof_cycles(tape, cycles=1)
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["spoofing"]


def test_a_spoof_pulled_slowly_and_half_filled_is_not_enough(tape):
    tape.ladder("mm", 100, levels=5, size=10)
    genuine = tape.at(1).order("s", "buy", "100.0", "1")
    spoof = tape.order("s", "sell", "100.2", "40")
    tape.at(3).take("t", genuine, "100.0", "1")
    tape.at(10).order("u", "buy", "100.2", "30", tif="ioc")
    tape.trade(tape._order, spoof, "100.2", "30")  # most of the "spoof" traded
    tape.at(17).cancel(spoof)
    assert run_detectors(tape.events, typologies=["spoofing"]) == []


def test_two_sided_interest_is_not_spoofing(tape):
    spoof_cycles(tape, cycles=3, mirror=True)
    assert run_detectors(tape.events) == []


def test_market_maker_requoting_every_second_is_not_spoofing_or_layering(tape):
    ladder = tape.ladder("mm", 100, levels=5, size=10)
    for second in range(1, 60):
        tape.at(second - 0.5)
        bid = ladder[0] if second % 2 else ladder[1]  # best bid, then best ask
        tape.take(f"t{second % 7}", bid, "99.9" if second % 2 else "100.1", "3")
        tape.at(second)
        for order_id in ladder:
            if tape.orders[order_id]["remaining"] > 0:
                tape.cancel(order_id)
        ladder = tape.ladder("mm", 100, levels=5, size=10)
    assert run_detectors(tape.events) == []


def test_streams_the_alert_when_the_first_cycle_is_pulled(tape):
    spoof_cycles(tape, cycles=1)
    detector = SpoofingDetector()
    emitted = [i for i, event in enumerate(tape.events) if detector.feed(event)]
    assert emitted == [len(tape.events) - 1]  # the cancel completes the pattern
    assert detector.flush() == []


def test_layering_alerts_and_spoofing_does_not(tape):
    spoof_cycles(tape, cycles=2, layers=4)
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["layering"]
    assert "4 price levels" in alerts[0].reason


def test_two_sided_layers_are_not_layering(tape):
    spoof_cycles(tape, cycles=3, layers=4, mirror=True)
    assert run_detectors(tape.events) == []
