"""`make run`'s chain: scripts/with_services.py --chain starts a real anvil when ETH_RPC_URL is
unset (and leaves a configured node alone); the launcher adds the chain watcher with a node."""
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = ("import os, json, urllib.request; url = os.environ['ETH_RPC_URL']; "
         "body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'eth_chainId', 'params': []}).encode(); "
         "request = urllib.request.Request(url, body, {'Content-Type': 'application/json'}); "
         "print(url, os.environ['ETH_CHAIN_ID'], json.load(urllib.request.urlopen(request, timeout=10))['result'])")


def _with_services(*args: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "ETH_RPC_URL"}
    environment.update({"DATABASE_URL": "postgres://unused@127.0.0.1/unused", "REDIS_URL": "redis://127.0.0.1:6379/0",
                        **env})
    done = subprocess.run([sys.executable, "scripts/with_services.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_with_services_chain_starts_a_dev_node_and_stops_it(tmp_path):
    out = _with_services("--chain", sys.executable, "-c", PROBE, ANVIL_STATE_DIR=str(tmp_path))
    url, chain_id, answered = out.strip().splitlines()[-1].split()
    assert (chain_id, answered) == ("31337", "0x7a69")
    assert url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    import socket

    with socket.socket() as sock:  # nothing listens there any more: the node was stopped
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert (tmp_path / "state.json").exists()  # the chain was kept for the next start


def test_a_configured_node_is_used_as_it_is(anvil):
    out = _with_services("--chain", sys.executable, "-c", PROBE, ETH_RPC_URL=anvil.url, ETH_CHAIN_ID="31337")
    assert out.strip().splitlines()[-1].split()[0] == anvil.url
    assert "dev chain" not in out


def test_the_launcher_runs_the_chain_watcher_only_with_a_node():
    from tests.infra.test_launcher import _launcher

    launch = _launcher()
    base = {"PATH": os.environ.get("PATH", ""), "EXCHANGE_GATEWAY": "none", "WEB_CONCURRENCY": "1"}
    with_node, _ = launch.circus_config({**base, "ETH_RPC_URL": "http://127.0.0.1:8545"})
    without, _ = launch.circus_config(base)
    assert with_node["watcher:chain_watcher"]["cmd"].endswith("manage.py run_chain_watcher")
    assert "watcher:chain_watcher" not in without.sections()
