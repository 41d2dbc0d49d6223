"""The matcher's own Prometheus metrics, served by ``run_matcher --metrics-port PORT``.

Commands applied (rate() of the counter gives commands/s), batch sizes, the latency of each
batch's apply-and-commit, and the stream backlog (pending + unread entries, refreshed with the
heartbeat). Without a port nothing is served and the calls below cost a few microseconds.
"""
import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

COMMANDS = Counter("exchange_matcher_commands", "Commands applied by this matcher", ["market"])
BATCH_SIZE = Histogram("exchange_matcher_batch_size", "Commands per batch", ["market"],
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000))
BATCH_COMMIT = Histogram("exchange_matcher_batch_commit_seconds", "Apply and commit time of one batch", ["market"],
                         buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
BACKLOG = Gauge("exchange_matcher_stream_backlog", "Stream entries pending or not yet read", ["market"])


def serve(port: int) -> None:
    start_http_server(port)
    logging.getLogger("exchange.matcher").info("matcher metrics on :%s/metrics", port)


def batch_done(symbol: str, commands: int, seconds: float) -> None:
    COMMANDS.labels(symbol).inc(commands)
    BATCH_SIZE.labels(symbol).observe(commands)
    BATCH_COMMIT.labels(symbol).observe(seconds)


def backlog_sample(symbol: str, client, key: str, group: str) -> None:
    """Pending + lag of the stream's consumer group; any Redis trouble leaves the last value."""
    try:
        for info in client.xinfo_groups(key):
            name = info.get("name")
            if name in (group, group.encode()):
                BACKLOG.labels(symbol).set(int(info.get("pending") or 0) + int(info.get("lag") or 0))
    except Exception:  # metrics never take the matcher down
        logging.getLogger("exchange.matcher").debug("backlog sample failed", exc_info=True)
