"""Wash trading: the same beneficial owner on both sides, repeatedly."""

from surveillance.detectors import run_detectors
from surveillance.detectors.wash_trading import WashTradingDetector


def test_repeated_trades_between_accounts_of_one_owner_alert_once(tape):
    tape.account("w1", "owner-w")
    tape.account("w2", "owner-w")
    for n in range(6):
        tape.at(60 * n).cross("w1" if n % 2 else "w2", "w2" if n % 2 else "w1", "100.0", "5")
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["wash_trading"]
    assert alerts[0].accounts == ["w1", "w2"]
    assert len(alerts[0].evidence["trade_ids"]) == 2  # raised on the second, later ones extend it
    assert "2 trades" in alerts[0].reason
    assert "2 with buy and sell entered within 2 s" in alerts[0].reason


def test_a_one_off_self_match_is_not_wash_trading(tape):
    tape.account("desk-a", "firm")
    tape.account("desk-b", "firm")
    tape.cross("desk-a", "desk-b", "100.0", "5", gap=40)
    tape.at(100).cross("solo", "solo", "100.1", "1")
    assert run_detectors(tape.events) == []


def test_unrelated_accounts_trading_together_are_not_wash(tape):
    for n in range(5):
        tape.at(10 * n).cross("a", "b", "100.0", "5")
    assert run_detectors(tape.events, typologies=["wash_trading"]) == []


def test_a_new_episode_after_a_long_quiet_alerts_again(tape):
    tape.account("w1", "owner-w")
    tape.account("w2", "owner-w")
    for start in (0, 3 * 3600):
        for n in range(3):
            tape.at(start + 60 * n).cross("w1", "w2", "100.0", "5")
    detector = WashTradingDetector()
    alerts = [a for event in tape.events for a in detector.feed(event)]
    assert len(alerts) == 2
