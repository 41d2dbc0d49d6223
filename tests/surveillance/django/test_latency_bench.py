"""The real-time latency benchmark (``bench/surveillance_latency.py``) kept runnable: a few
seconds of its schedule at a low rate, against the real ``run_surveillance`` process.

No figure is asserted (that is the benchmark's to print); that the consumer followed every
committed event to the last one, and that the report came out, is.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
BENCH = Path(__file__).resolve().parents[3] / "bench" / "surveillance_latency.py"


def _bench():
    spec = importlib.util.spec_from_file_location("surveillance_latency", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def test_the_bench_drives_the_real_consumer_to_the_last_event(redis_url, tmp_path, capsys):
    bench = _bench()
    env = bench.consumer_env(_database_url(), redis_url)
    out = bench.phase("smoke", "SIM-USD", "SIM", 400.0, env=env, limit=1500, log_dir=tmp_path)
    run = out["run"]
    assert run["events"] == 1500
    assert run["reached"] == run["last"] == run["base"] - 1 + 1500
    assert run["batches"] > 1  # on a schedule, not in one go
    assert "commit of the detecting event -> alert" in capsys.readouterr().out
