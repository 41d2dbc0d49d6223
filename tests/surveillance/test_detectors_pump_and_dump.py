"""Pump and dump: quiet accumulation, a rally of many small buyers, the accumulator sells into it."""

from decimal import Decimal

from surveillance.detectors import run_detectors

RALLY = 2400.0


def accumulate_then_rally(tape, *, dump: bool):
    """40 minutes of ordinary trading while `acc` buys quietly, then twelve buyers lift the price."""
    for n in range(240):
        tape.at(n * 10).cross(f"s{n % 17}", f"b{n % 13}", "100.0", "1")
        if n % 8 == 0:
            tape.at(n * 10 + 3).cross(f"s{n % 11}", "acc", "100.0", "2")
    price = Decimal("100.0")
    for k in range(12):
        price += Decimal("0.3")
        tape.at(RALLY + 10 * k)
        seller = "acc" if dump else "mm"
        tape.cross(seller, f"crowd-{k}", price, "3", gap=0.5)
    tape.at(RALLY + 200).cross("s1", "b1", price, "1")


def test_accumulator_selling_into_the_rally_alerts(tape):
    accumulate_then_rally(tape, dump=True)
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["pump_and_dump"]
    assert alerts[0].accounts == ["acc"]
    assert "aggressive buyers" in alerts[0].reason
    assert "acc bought a net 60" in alerts[0].reason  # all of its buying up to the low


def test_a_rally_the_accumulator_does_not_sell_into_is_not_a_pump(tape):
    accumulate_then_rally(tape, dump=False)
    assert run_detectors(tape.events) == []
