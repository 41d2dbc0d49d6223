"""The simulator end to end: deterministic, and every typology found with the default thresholds.

Seed 101 is one of the bench's held-out seeds (bench/surveillance_eval.py tunes on 1-4).
"""

from dataclasses import replace

from surveillance.detectors import TYPOLOGIES, DetectorSuite
from surveillance.simulation import Config, simulate
from surveillance.simulation.scoring import score

QUICK = replace(Config(), days=1)  # the first day of the bench run of seed 101


def test_the_same_seed_gives_the_same_journal():
    config = replace(QUICK, days=1, session_seconds=1200.0, episodes=False)
    first, second = simulate(7, config), simulate(7, config)
    assert first.events == second.events
    assert simulate(8, config).events != first.events
    kinds = {e["type"] for e in first.events}
    assert {"account", "order_accepted", "order_cancelled", "trade", "market_close"} <= kinds
    trade = next(e for e in first.events if e["type"] == "trade")
    assert isinstance(trade["price"], str)
    assert isinstance(trade["quantity"], str)


def test_every_typology_is_detected_on_a_held_out_seed():
    run = simulate(101, QUICK)
    suite = DetectorSuite()
    emitted = [(a, suite.state.now) for e in run.events for a in suite.feed(e)]
    emitted += [(a, suite.state.now) for a in suite.flush()]
    result = score(run, emitted)
    for typology in TYPOLOGIES:
        assert result.episodes[typology] >= 1, typology
        assert result.recall(typology) >= 0.5, (typology, result.missed)
    assert result.hard_negative_alerts["market_maker"] == 0
    precise = sum(result.true_alerts.values()) / sum(result.alerts.values())
    assert precise >= 0.8, result.false
