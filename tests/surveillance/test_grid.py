"""The evaluation grid varies the market as issue 17 asks, and keeps a third of it held out."""

from collections import Counter
from decimal import Decimal

from surveillance.simulation import simulate
from surveillance.simulation.grid import CELLS, DIMENSIONS, Cell, held_out
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES


def test_the_grid_spans_every_dimension_the_issue_names():
    assert len(CELLS) == 40
    assert len({c.name for c in CELLS}) == 40
    prices = [Decimal(c.price) for c in CELLS]
    ticks = [Decimal(c.tick) for c in CELLS]
    spans = {
        "price": (min(prices), max(prices)),
        "tick": (min(ticks), max(ticks)),
        "depth": (min(c.depth for c in CELLS), max(c.depth for c in CELLS)),
        "rate": (min(c.rate for c in CELLS), max(c.rate for c in CELLS)),
        "session": (min(c.session_minutes for c in CELLS), max(c.session_minutes for c in CELLS)),
        "pace": (min(c.pace for c in CELLS), max(c.pace for c in CELLS)),
    }
    assert spans == {
        "price": (Decimal("0.05"), 100_000),
        "tick": (Decimal("0.0001"), 10),
        "depth": (0.1, 10),
        "rate": (0.1, 10),
        "session": (20, 180),
        "pace": (1 / 3, 3),
    }
    assert any(c.noise for c in CELLS)
    assert any(c.losses for c in CELLS)
    assert any(c.camouflage == 1 for c in CELLS)


def test_a_third_is_held_out_by_name_and_every_dimension_has_both_kinds():
    held = [c for c in CELLS if c.held_out]
    assert 10 <= len(held) <= 17
    assert all(held_out(c.name) == c.held_out for c in CELLS)  # a function of the name alone
    kinds = Counter((c.dimension, c.held_out) for c in CELLS)
    for dimension in DIMENSIONS:
        assert kinds[(dimension, True)] >= 1, dimension
        if dimension != "base":
            assert kinds[(dimension, False)] >= 1, dimension


def test_a_cell_quotes_in_its_own_tick_around_its_own_price_with_every_hard_negative():
    cell = Cell("test-btc", "test", seed=5, price="30000", tick="0.5", depth=0.3, session_minutes=20)
    run = simulate(cell.seed, cell.config())
    trades = [Decimal(e["price"]) for e in run.events if e["type"] == "trade"]
    assert trades
    assert all(price % Decimal("0.5") == 0 for price in trades)
    assert all(25_000 < price < 35_000 for price in trades)
    roles = set(run.roles.values())
    assert set(HARD_NEGATIVE_ROLES) <= roles
    assert {label.typology for label in run.labels} >= {"spoofing", "wash_trading", "pump_and_dump"}
