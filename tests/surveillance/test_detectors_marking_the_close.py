"""Marking the close: the last minutes' aggressive prints that move the reference price."""

from surveillance.detectors import run_detectors

CLOSE = 3600.0


def session(tape):
    """An hour of ordinary trading at 100.0, and an ask ladder left standing before the close."""
    for n in range(60):
        tape.at(n * 50).cross(f"s{n}", f"b{n}", "100.0", "1")
    tape.at(CLOSE - 700)
    return [tape.order("mm", "sell", f"100.{i}", "5") for i in range(1, 9)]


def test_sweeps_in_the_last_minutes_alert_at_the_close(tape):
    asks = session(tape)
    for i, ask in enumerate(asks[:4]):
        tape.at(CLOSE - 80 + 20 * i).take("m", ask, f"100.{i + 1}", "5")
    tape.at(CLOSE).close()
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["marking_the_close"]
    assert alerts[0].accounts == ["m"]
    assert "+0.40%" in alerts[0].reason
    assert "100% of the aggressive buy volume" in alerts[0].reason


def test_a_fund_working_its_flow_over_the_window_does_not_alert(tape):
    asks = session(tape)
    for i, ask in enumerate(asks):  # the same kind of buying, spread over ten minutes
        tape.at(CLOSE - 590 + 70 * i).take("fund", ask, f"100.{i + 1}", "5")
    tape.at(CLOSE).close()
    assert run_detectors(tape.events) == []


def test_a_fund_that_trades_every_close_is_not_unusual(tape):
    for day in range(2):
        base = day * 86_400
        for n in range(60):
            tape.at(base + n * 50).cross(f"s{n}", f"b{n}", "100.0", "1")
        tape.at(base + CLOSE - 700)
        asks = [tape.order("mm", "sell", f"100.{i}", "5") for i in range(1, 9)]
        for i, ask in enumerate(asks[:4]):
            tape.at(base + CLOSE - 80 + 20 * i).take("fund", ask, f"100.{i + 1}", "5")
        tape.at(base + CLOSE).close()
        for ask in asks[4:]:
            tape.cancel(ask)
    alerts = run_detectors(tape.events)
    # the first close has no history to call it usual; the second does
    assert [(a.typology, a.start[:10]) for a in alerts] == [("marking_the_close", "2024-06-03")]
