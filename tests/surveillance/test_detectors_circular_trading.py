"""Circular trading: three or more owners passing the same quantity round a loop."""

from surveillance.detectors import run_detectors


def ring(tape, members, rounds, start=0.0, qty="10"):
    t = start
    for _ in range(rounds):
        for i, seller in enumerate(members):
            tape.at(t).cross(seller, members[(i + 1) % len(members)], "100.0", qty)
            t += 5


def test_a_three_owner_loop_alerts_once(tape):
    ring(tape, ["a", "b", "c"], rounds=4)
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["circular_trading"]
    assert alerts[0].accounts == ["a", "b", "c"]
    assert "3 times" in alerts[0].reason  # raised as soon as one round closed the loop


def test_a_hub_trading_back_and_forth_is_not_a_ring(tape):
    t = 0.0
    for _ in range(2):
        for client in ("a", "b", "c"):
            tape.at(t).cross("hub", client, "100.0", "10")
            tape.at(t + 2).cross(client, "hub", "100.0", "10")
            t += 5
    assert run_detectors(tape.events) == []


def test_a_loop_that_keeps_the_goods_is_not_circular(tape):
    # a -> b -> c twice, but c never passes back to a: positions change, no loop
    t = 0.0
    for _ in range(3):
        tape.at(t).cross("a", "b", "100.0", "10")
        tape.at(t + 2).cross("b", "c", "100.0", "10")
        t += 5
    assert run_detectors(tape.events) == []


def test_members_trading_mostly_with_the_market_are_not_a_ring(tape):
    for n, member in enumerate(["a", "b", "c"] * 2):  # 40 each with the market first
        tape.at(n * 4).cross(member, f"market-{n}", "100.0", "10")
        tape.at(n * 4 + 2).cross(f"market-{n + 10}", member, "100.0", "10")
    ring(tape, ["a", "b", "c"], rounds=2, start=100)  # then 40 each inside the ring
    assert run_detectors(tape.events) == []
