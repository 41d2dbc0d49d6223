"""The back-test functions the `surveillance_backtest` command wraps: JSON Lines in and out."""

import json

import pytest

from surveillance.backtest import load_params, read_alerts, read_events, run_backtest, write_alerts
from surveillance.detectors import WashTradingParams


def wash(tape):
    tape.account("w1", "owner-w")
    tape.account("w2", "owner-w")
    for n in range(3):
        tape.at(60 * n).cross("w1", "w2", "100.0", "5")


def test_round_trip_of_events_and_alerts(tape, tmp_path):
    wash(tape)
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("".join(json.dumps(e) + "\n" for e in tape.events) + "\n")
    events = list(read_events(events_file))
    assert events == tape.events
    alerts = run_backtest(events)
    alerts_file = tmp_path / "alerts.jsonl"
    assert write_alerts(alerts, alerts_file) == 1
    line = json.loads(alerts_file.read_text())
    assert list(line) == ["typology", "market", "accounts", "start", "end", "score", "evidence", "reason"]
    assert line["typology"] == "wash_trading"
    assert line["accounts"] == ["w1", "w2"]
    assert line["start"] == "2024-06-03T09:00:00.200000+00:00"
    assert set(line["evidence"]) == {"order_ids", "trade_ids"}
    assert line["evidence"]["trade_ids"] == [1, 2]  # raised on the second self-trade
    assert 0 <= line["score"] <= 1
    assert [a.to_dict() for a in read_alerts(alerts_file)] == [a.to_dict() for a in alerts]


def test_parameters_from_a_file_change_the_result(tape, tmp_path):
    wash(tape)
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({"wash_trading": {"min_trades": 4}}))
    params = load_params(params_file)
    assert params["wash_trading"] == WashTradingParams(min_trades=4)
    assert run_backtest(tape.events, params) == []


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"washing": {}}', "unknown typology"),
        ('{"wash_trading": {"min_trade": 4}}', "unknown parameters"),
        ('{"wash_trading": 4}', "must be an object"),
        ("[]", "must be a JSON object"),
    ],
)
def test_bad_parameter_files_are_refused(tmp_path, content, complaint):
    params_file = tmp_path / "params.json"
    params_file.write_text(content)
    with pytest.raises(ValueError, match=complaint):
        load_params(params_file)


def test_a_broken_line_names_its_number(tmp_path):
    events_file = tmp_path / "events.jsonl"
    events_file.write_text('{"type": "market_close", "ts": "2024-06-03T09:00:00+00:00"}\nnot json\n')
    with pytest.raises(ValueError, match=r"events\.jsonl:2"):
        list(read_events(events_file))
