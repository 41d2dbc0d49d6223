"""Back-testing the detectors over an exported event journal (DESIGN 6.5).

Pure functions, no Django: the `surveillance_backtest EVENTS.jsonl --output ALERTS.jsonl
[--params FILE]` management command is a thin wrapper around them.

    events = read_events("events.jsonl")
    alerts = run_backtest(events, load_params("params.json"))
    write_alerts(alerts, "alerts.jsonl")

A parameter file is JSON of the shape `{typology: {param: value}}`; typologies and parameters
it does not name keep their documented defaults, unknown names are an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from surveillance.detectors import DETECTORS, Alert, coerce_params, run_detectors


def read_events(path) -> Iterator[dict]:
    """Events from a JSON Lines file, one dict per non-blank line, in file order.

    Decimal amounts stay strings (the detectors parse them with `Decimal`); a malformed line
    raises `ValueError` naming its line number.
    """
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON object: {error.msg}") from error
            if not isinstance(event, dict) or "type" not in event or "ts" not in event:
                raise ValueError(f"{path}:{number}: an event needs at least `type` and `ts`")
            yield event


def params_from_dict(data: dict) -> dict:
    """`{typology: {param: value}}` to `{typology: ParamsDataclass}`, validating every name."""
    if not isinstance(data, dict):
        raise ValueError("parameters must be a JSON object of {typology: {param: value}}")
    params = {}
    for typology, values in data.items():
        if typology not in DETECTORS:
            raise ValueError(f"unknown typology {typology!r}; known: {', '.join(DETECTORS)}")
        if not isinstance(values, dict):
            raise ValueError(f"parameters of {typology} must be an object")
        params[typology] = coerce_params(DETECTORS[typology].Params, values)
    return params


def load_params(path) -> dict:
    """Read a parameter file (see the module docstring)."""
    return params_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def run_backtest(events: Iterable[dict], params: dict | None = None, typologies=None) -> list[Alert]:
    """Every alert the detectors raise over `events`, in the order they were raised."""
    return run_detectors(events, params, typologies)


def write_alerts(alerts: Iterable[Alert], path) -> int:
    """Write alert lines (DESIGN 6.5) as JSON Lines; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for alert in alerts:
            out.write(json.dumps(alert.to_dict(), ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def read_alerts(path) -> list[Alert]:
    """Alert lines back into `Alert` objects (for review tools and tests)."""
    with Path(path).open(encoding="utf-8") as lines:
        return [Alert.from_dict(json.loads(line)) for line in lines if line.strip()]
