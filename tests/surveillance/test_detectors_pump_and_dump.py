"""Pump and dump: quiet accumulation, a rally of many small buyers, the accumulator sells into it.

The honest look-alikes of the evaluation grid (README "Market surveillance") each get a tape of
their own: a market maker that ends up long and sells into the rally while it keeps bidding, the
execution algorithms and the closing fund that buy through the rally and never sell, two desks of
one firm that trade with each other once, and a high-frequency arbitrageur trading both sides.
"""

from dataclasses import replace
from decimal import Decimal

import pytest

from surveillance.detectors import PumpAndDumpParams, run_detectors
from surveillance.simulation import Config, simulate
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES, score

RALLY = 2400.0


def ordinary_market(tape, *, also=None):
    """40 minutes of ordinary two-sided trading at 100.0; `also(n)` adds to each 10 s step."""
    for n in range(240):
        tape.at(n * 10).cross(f"s{n % 17}", f"b{n % 13}", "100.0", "1")
        if also is not None:
            also(n)


def accumulate(tape, n, *, account="acc", noise=0.0):
    """`account` buys 2 lots every 80 s; with `noise`, that share of its orders are small sales."""
    if n % 8 == 0:
        tape.at(n * 10 + 3).cross(f"s{n % 11}", account, "100.0", "2")
    if noise and n % 8 == 4 and (n // 8) % round(1 / noise) == 0:
        tape.at(n * 10 + 5).cross(account, f"b{n % 7}", "100.0", "0.5")


def rally(tape, seller_of=lambda k: "mm", *, buyers=12, also=None):
    """Twelve distinct buyers lift the price by 0.3 every 10 s; `seller_of(k)` sells to the k-th."""
    price = Decimal("100.0")
    for k in range(buyers):
        price += Decimal("0.3")
        tape.at(RALLY + 10 * k)
        tape.cross(seller_of(k), f"crowd-{k}", price, "3", gap=0.5)
        if also is not None:
            also(k, price)
    tape.at(RALLY + 200).cross("s1", "b1", price, "1")
    return price


def pumps(tape):
    return [a for a in run_detectors(tape.events) if a.typology == "pump_and_dump"]


def test_a_single_strong_instance_alerts(tape):
    ordinary_market(tape, also=lambda n: accumulate(tape, n))
    rally(tape, lambda k: "acc")
    alerts = pumps(tape)
    assert len(alerts) == 1
    assert alerts[0].accounts == ["acc"]
    assert alerts[0].score >= PumpAndDumpParams().alert_score
    assert "aggressive buyers" in alerts[0].reason
    assert "acc bought a net 60" in alerts[0].reason  # all of its buying up to the take-off
    assert "Evidence: " in alerts[0].reason
    assert "series" in alerts[0].reason


def test_camouflage_with_twenty_percent_noise_still_alerts(tape):
    """A fifth of the accumulator's orders are small honest-looking sales, and it buys a little
    in the rally too: its flow is still one-way enough."""
    ordinary_market(tape, also=lambda n: accumulate(tape, n, noise=0.2))
    rally(tape, lambda k: "acc" if k % 6 else "mm",
          also=lambda k, price: tape.cross("mm", "acc", price, "0.5") if k == 6 else None)
    alerts = pumps(tape)
    assert [a.accounts for a in alerts] == [["acc"]]


def test_a_rally_the_accumulator_does_not_sell_into_is_not_a_pump(tape):
    ordinary_market(tape, also=lambda n: accumulate(tape, n))
    rally(tape, lambda k: "mm")
    assert pumps(tape) == []


def test_a_market_maker_selling_into_the_rally_while_bidding_is_silent(tape):
    """It ends up long from being hit all day, then sells into the rally, but its bid stays."""
    ordinary_market(tape, also=lambda n: accumulate(tape, n, account="maker"))
    tape.at(RALLY - 5)
    tape.order("maker", "buy", "99.5", "5")  # its bid, live all through the rally
    rally(tape, lambda k: "maker")
    assert pumps(tape) == []


@pytest.mark.parametrize("every", [8, 3], ids=["twap", "pov"])
def test_an_execution_algorithm_buying_through_the_rally_is_silent(tape, every):
    """A parent order worked in slices (TWAP: by the clock; POV: more often as the market trades):
    it buys before and during the rally and never sells."""
    ordinary_market(tape, also=lambda n: n % every == 0 and tape.at(n * 10 + 4).cross(f"s{n % 9}", "algo", "100.0", "2"))
    rally(tape, lambda k: "mm", also=lambda k, price: tape.cross("mm", "algo", price, "2"))
    assert pumps(tape) == []


def test_a_closing_fund_buying_into_the_close_is_silent(tape):
    ordinary_market(tape, also=lambda n: n >= 180 and n % 2 == 0 and tape.at(n * 10 + 4).cross(f"s{n % 9}", "fund", "100.0", "3"))
    rally(tape, lambda k: "mm", also=lambda k, price: tape.cross("mm", "fund", price, "3"))
    tape.at(RALLY + 300).close()
    assert pumps(tape) == []


def test_two_desks_of_one_firm_that_trade_with_each_other_once_are_silent(tape):
    tape.account("desk-a", "firm")
    tape.account("desk-b", "firm")
    ordinary_market(tape, also=lambda n: n == 200 and tape.at(n * 10 + 4).cross("desk-a", "desk-b", "100.0", "20"))
    rally(tape, lambda k: "desk-b" if k < 4 else "mm")
    assert pumps(tape) == []


def test_a_high_frequency_arbitrageur_trading_both_sides_is_silent(tape):
    def both_sides(n):
        tape.at(n * 10 + 6).cross(f"s{n % 5}", "hft", "100.0", "1")
        tape.at(n * 10 + 7).cross("hft", f"b{n % 5}", "100.0", "1" if n % 4 else "0.5")

    ordinary_market(tape, also=both_sides)
    rally(tape, lambda k: "hft")
    assert pumps(tape) == []


def test_a_simulated_camouflaged_pump_with_noise_is_found_and_no_hard_negative_is_named():
    """A whole simulated session: every hard negative of the grid, a pump sitting near a
    threshold on purpose, 20% honest-looking noise orders by the accumulators."""
    config = replace(Config(), days=1, session_seconds=2400.0, typologies=("pump_and_dump",),
                     camouflage=1.0, noise=0.2)
    run = simulate(7, config)
    alerts = run_detectors(run.events, typologies=("pump_and_dump",))
    result = score(run, [(a, 0.0) for a in alerts])
    assert result.episodes["pump_and_dump"] == 1
    assert result.recall("pump_and_dump") == 1.0, result.missed
    assert sum(result.hard_negative_alerts[role] for role in HARD_NEGATIVE_ROLES) == 0, result.false
    assert set(HARD_NEGATIVE_ROLES) <= set(run.roles.values())
