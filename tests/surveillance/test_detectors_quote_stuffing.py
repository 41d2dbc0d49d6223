"""Quote stuffing: message bursts with fast cancels and almost no trades."""

from surveillance.detectors import run_detectors


def burst(tape, start, pairs=150, spacing=0.005):
    for i in range(pairs):
        order_id = tape.at(start + i * spacing).order("q", "buy", "95.0", "1")
        tape.at(start + i * spacing + 0.001).cancel(order_id)


def test_a_burst_alerts_once_per_episode(tape):
    burst(tape, 0)
    burst(tape, 10)  # within the episode gap: the same episode
    burst(tape, 100)  # a new episode
    alerts = run_detectors(tape.events)
    assert [a.typology for a in alerts] == ["quote_stuffing", "quote_stuffing"]
    assert alerts[0].accounts == ["q"]
    assert "with no earlier activity" in alerts[0].reason
    assert "short-lived 1.00" in alerts[0].reason


def test_a_slow_canceller_is_not_stuffing(tape):
    burst(tape, 0, pairs=150, spacing=0.05)  # 300 messages over 7.5 s
    assert run_detectors(tape.events) == []


def test_a_twenty_level_ladder_requoted_every_second_is_not_stuffing(tape):
    ladder = tape.ladder("mm", 100, levels=20, size=5, step="0.01")
    for second in range(1, 30):
        tape.at(second)
        for order_id in ladder:
            tape.cancel(order_id)
        ladder = tape.ladder("mm", 100, levels=20, size=5, step="0.01")
    assert run_detectors(tape.events) == []
