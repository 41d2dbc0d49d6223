"""Each detector's scoring on simulated markets (issue 17's acceptance, one test per criterion):

- a single strong instance of a typology alerts (no repetition required);
- the same typology camouflaged near its thresholds and mixed with 20% honest-looking noise orders
  still alerts;
- each hard negative (market makers, execution algorithms, closing funds, self-matchers, a
  high-frequency arbitrageur) stays silent, on markets of different price, tick, depth and rate.

The scenes are 20-minute sessions of one market holding only the typology under test, so each
runs in a second or two.
"""

from dataclasses import replace

import pytest

from surveillance.detectors import TYPOLOGIES, run_detectors
from surveillance.simulation import simulate
from surveillance.simulation.grid import Cell
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES, score

SCENE = replace(Cell("scene", "test", seed=0, session_minutes=20, rate=0.5).config())


def scene(typology: str, seed: int, **changes):
    run = simulate(seed, replace(SCENE, typologies=(typology,), **changes))
    alerts = run_detectors(run.events, typologies=[typology])
    return run, score(run, [(alert, 0.0) for alert in alerts])


@pytest.mark.parametrize("typology", TYPOLOGIES)
def test_a_single_strong_instance_alerts(typology):
    _, result = scene(typology, seed=11, single=True, camouflage=0.0)
    assert result.episodes[typology] == 1
    assert result.recall(typology) == 1.0, (result.missed, result.false)
    assert result.precision(typology) == 1.0, result.false


@pytest.mark.parametrize("typology", TYPOLOGIES)
def test_camouflage_with_twenty_percent_noise_still_alerts(typology):
    run, result = scene(typology, seed=12, camouflage=1.0, noise=0.2)
    assert result.episodes[typology] >= 1
    assert all(label.camouflaged for label in run.labels)
    assert result.recall(typology) == 1.0, (result.missed, result.false)


HONEST_MARKETS = (
    Cell("honest-btc", "test", seed=21, price="30000", tick="0.5", depth=0.3, session_minutes=20),
    Cell("honest-busy-coarse", "test", seed=22, price="12", tick="0.05", depth=3.0, rate=3.0, session_minutes=10),
)


@pytest.fixture(scope="module")
def honest_alerts():
    """Every detector over markets with no manipulator at all: (roles, alerts) per market."""
    out = []
    for cell in HONEST_MARKETS:
        run = simulate(cell.seed, replace(cell.config(), episodes=False))
        out.append((run.roles, run_detectors(run.events)))
    return out


@pytest.mark.parametrize("role", HARD_NEGATIVE_ROLES)
def test_each_hard_negative_stays_silent(role, honest_alerts):
    for roles, alerts in honest_alerts:
        assert role in roles.values()
        named = [a for a in alerts if any(roles.get(account) == role for account in a.accounts)]
        assert named == [], [(a.typology, a.reason) for a in named]
