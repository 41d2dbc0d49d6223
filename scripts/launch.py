#!/usr/bin/env python
"""Start and supervise every process of the venue on one box, with circus.

    python scripts/launch.py            # what `make run` starts (inside scripts/with_services.py)
    python scripts/launch.py --print    # print the generated circus configuration and exit

Why circus: it binds the sockets once and hands them to the processes (so a process restarting
leaves its callers waiting in the socket's backlog, not refused), and it restarts a process that
dies instead of stopping the rest (honcho stops everything when one process exits, so a
sub-second database blip could take the whole venue down).

The web tier: ``PORT`` is HAProxy's (``exchange/infra/gateway.py``: fast 503s under a spike,
separate budgets for order entry and everything else), in front of ``WEB_CONCURRENCY`` Daphne
processes, each on its own loopback socket. ``EXCHANGE_GATEWAY=none`` (or no ``haproxy`` on the
PATH: ``apt-get install haproxy``) leaves the proxy out: the Daphnes then share ``PORT`` directly
(``daphne --fd``) and shed inside the process only.

Restarts back off: a watcher that dies more than ``LAUNCHER_FLAP_ATTEMPTS`` times within
``LAUNCHER_FLAP_WINDOW`` seconds waits ``LAUNCHER_FLAP_RETRY_IN`` seconds before the next try,
forever (circus's flapping plugin). Every spawn is counted in Redis by
``exchange.infra.launcher_hooks`` so the console's health page shows restarts per process.

Settings (environment): ``PORT`` (8000), ``HOST`` (127.0.0.1), ``WEB_CONCURRENCY`` (the number
of cores), ``EXCHANGE_GATEWAY`` (``haproxy`` when installed, else ``none``),
``EXCHANGE_DEMO_MODE`` (adds the demo bots), ``ETH_RPC_URL`` (adds the chain watcher and the
withdrawal signer, which alone gets the hot-wallet key: ``hot_wallet_key_file``),
``LAUNCHER_ENDPOINT`` (circus's control socket, ``ipc://var/circus.sock``: ``circusctl --endpoint ... status``).
"""
import configparser
import os
import shutil
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
sys.path.insert(0, str(ROOT))

from exchange.infra.gateway import GatewayLimits, haproxy_config  # noqa: E402  (the checkout is on the path now)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _free_loopback_port() -> int:
    """A port for one Daphne behind the gateway; circus binds it a moment later."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway_wanted(env: dict[str, str]) -> bool:
    choice = env.get("EXCHANGE_GATEWAY", "").strip().lower()
    if choice in {"none", "off", "false", "0"}:
        return False
    if choice not in {"", "haproxy"}:
        raise SystemExit(f"EXCHANGE_GATEWAY must be haproxy or none, not {choice!r}")
    found = shutil.which("haproxy", path=env.get("PATH")) is not None
    if choice == "haproxy" and not found:
        raise SystemExit("EXCHANGE_GATEWAY=haproxy but haproxy is not installed (apt-get install haproxy)")
    if not found:
        print("launcher: haproxy is not installed; Daphne processes share the port directly "
              "(apt-get install haproxy for the gateway)", file=sys.stderr)
    return found


KEY_VARS = ("EXCHANGE_HOT_WALLET_KEY_FILE", "EXCHANGE_HOT_WALLET_KEY")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (created 0600, never wider for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def hot_wallet_key_file(env: dict[str, str], *, var: Path = VAR) -> str | None:
    """The key file the signer (and only the signer) is given.

    ``EXCHANGE_HOT_WALLET_KEY_FILE`` as it is; a literal ``EXCHANGE_HOT_WALLET_KEY`` is written to
    ``var/hot-wallet.key`` (0600) so that it never sits in circus's configuration or in any other
    process's environment; in development (``DJANGO_DEBUG``) without either, a dev key generated once
    into ``var/dev-hot-wallet.key``. None: no signer (production without a key)."""
    if env.get("EXCHANGE_HOT_WALLET_KEY_FILE"):
        return env["EXCHANGE_HOT_WALLET_KEY_FILE"]
    if env.get("EXCHANGE_HOT_WALLET_KEY"):
        path = var / "hot-wallet.key"
        _write_private(path, env["EXCHANGE_HOT_WALLET_KEY"].strip())
        return str(path)
    if _truthy(env.get("DJANGO_DEBUG")):
        path = var / "dev-hot-wallet.key"
        if not path.exists():
            import secrets

            _write_private(path, "0x" + secrets.token_hex(32))
        return str(path)
    return None


def workers(*, demo: bool, chain: bool = False, key_file: str | None = None) -> dict[str, dict[str, object]]:
    """The venue's processes other than the web tier: name -> command (one of each). ``chain``:
    an Ethereum node is configured (ETH_RPC_URL), so the chain watcher runs too, and the
    withdrawal signer, which alone gets the hot-wallet key file (``key_file``) in its environment."""
    python = sys.executable
    bin_dir = Path(sys.executable).parent
    table: dict[str, dict[str, object]] = {
        "matcher": {"cmd": f"{python} manage.py run_matcher"},
        "surveillance": {"cmd": f"{python} manage.py run_surveillance"},
        "worker": {"cmd": f"{bin_dir / 'celery'} -A exchange worker --loglevel INFO --concurrency 1"},
        "beat": {"cmd": f"{bin_dir / 'celery'} -A exchange beat --loglevel INFO --schedule {VAR / 'celerybeat-schedule'}"},
    }
    if chain:
        table["chain_watcher"] = {"cmd": f"{python} manage.py run_chain_watcher"}
    if chain and key_file:
        table["signer"] = {"cmd": f"{python} manage.py run_withdrawal_signer",
                           "env": {"EXCHANGE_HOT_WALLET_KEY_FILE": key_file}}
    elif chain:
        print("launcher: no EXCHANGE_HOT_WALLET_KEY_FILE / EXCHANGE_HOT_WALLET_KEY: the withdrawal signer "
              "is not started (chain withdrawals wait, approved)", file=sys.stderr)
    if demo:
        table["bots"] = {"cmd": f"{python} manage.py run_demo_bots"}
    return table


def _gateway_limits(web_concurrency: int) -> GatewayLimits:
    """The gateway's budgets are the web processes' own (exchange/settings.py), so HAProxy
    queues requests rather than sending a Daphne more than it admits."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    from django.conf import settings

    return GatewayLimits(orders_per_process=settings.EXCHANGE_MAX_INFLIGHT_ORDERS,
                         requests_per_process=settings.EXCHANGE_MAX_INFLIGHT_REQUESTS,
                         orders_queue=settings.EXCHANGE_MAX_INFLIGHT_ORDERS * web_concurrency,
                         queue_ms=settings.EXCHANGE_SHED_QUEUE_MS, retry_after=settings.EXCHANGE_SHED_RETRY_AFTER)


def web_tier(env: dict[str, str], *, web_concurrency: int, gateway: bool,
             ports: list[int] | None = None) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, object]], str | None]:
    """Sockets, watchers and (with the gateway) HAProxy's configuration for the web tier."""
    daphne = Path(sys.executable).parent / "daphne"
    public = {"host": env.get("HOST", "127.0.0.1"), "port": env.get("PORT", "8000")}
    if not gateway:
        # Every Daphne accepts on the one socket circus bound; the kernel spreads connections.
        return {"web": public}, {"web": {"cmd": f"{daphne} --fd $(circus.sockets.web) exchange.asgi:application",
                                         "numprocesses": web_concurrency, "sockets": True}}, None
    ports = ports or [_free_loopback_port() for _ in range(web_concurrency)]
    sockets: dict[str, dict[str, str]] = {"public": public}
    watchers: dict[str, dict[str, object]] = {}
    trusted = ",".join(filter(None, [env.get("TRUSTED_PROXIES", ""), "127.0.0.1"]))
    for number, port in enumerate(ports, start=1):
        name = f"web_{number}"
        sockets[name] = {"host": "127.0.0.1", "port": str(port)}
        # -v 0: the gateway writes the access log (exchange/infra/gateway.py).
        watchers[name] = {"cmd": f"{daphne} -v 0 --fd $(circus.sockets.{name}) exchange.asgi:application",
                          "sockets": True, "env": {"TRUSTED_PROXIES": trusted}}
    config = haproxy_config(bind='"fd@${GATEWAY_FD}"', servers=[(f"web_{n}", f"127.0.0.1:{p}")
                                                               for n, p in enumerate(ports, start=1)],
                            limits=_gateway_limits(web_concurrency))
    haproxy = shutil.which("haproxy", path=env.get("PATH")) or "haproxy"
    # HAProxy reads the descriptor of the socket circus bound from its environment (the shell
    # only sets it, then becomes HAProxy).
    watchers["gateway"] = {"cmd": f"/bin/sh -c 'GATEWAY_FD=$(circus.sockets.public) exec {haproxy} -db "
                                  f"-f {VAR / 'haproxy.cfg'}'", "sockets": True}
    return sockets, watchers, config


def circus_config(env: dict[str, str], *, ports: list[int] | None = None) -> tuple[configparser.ConfigParser, str | None]:
    """The circus configuration for this environment, and HAProxy's when the gateway is on
    (reads only ``env``, and the settings for the gateway's budgets)."""
    web_concurrency = int(env.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    endpoint = env.get("LAUNCHER_ENDPOINT", f"ipc://{VAR / 'circus.sock'}")
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]  # environment names keep their case
    config["circus"] = {
        "endpoint": endpoint,
        "pubsub_endpoint": env.get("LAUNCHER_PUBSUB_ENDPOINT", f"ipc://{VAR / 'circus-pubsub.sock'}"),
        "statsd": "false",
        "check_delay": "1",
    }
    config["plugin:flapping"] = {
        "use": "circus.plugins.flapping.Flapping",
        "attempts": env.get("LAUNCHER_FLAP_ATTEMPTS", "3"),
        "window": env.get("LAUNCHER_FLAP_WINDOW", "10"),
        "retry_in": env.get("LAUNCHER_FLAP_RETRY_IN", "5"),
        "max_retry": "-1",  # never give up on a process: keep retrying with the pause above
    }
    sockets, web, gateway_config = web_tier(env, web_concurrency=web_concurrency,
                                            gateway=gateway_wanted(env), ports=ports)
    for name, address in sockets.items():
        config[f"socket:{name}"] = address
    chain = bool(env.get("ETH_RPC_URL"))
    key_file = hot_wallet_key_file(env) if chain else None
    for name, spec in {**web, **workers(demo=_truthy(env.get("EXCHANGE_DEMO_MODE")), chain=chain,
                                        key_file=key_file)}.items():
        section = f"watcher:{name}"
        config[section] = {
            "cmd": str(spec["cmd"]),
            "numprocesses": str(spec.get("numprocesses", 1)),
            "working_dir": str(ROOT),
            "copy_env": "true",
            "copy_path": "true",
            "respawn": "true",
            "max_retry": "-1",
            "graceful_timeout": "10",
            "stop_children": "true",
            "hooks.after_spawn": "exchange.infra.launcher_hooks.after_spawn",
        }
        # Output goes straight to the launcher's terminal (circus's stream redirection loses
        # track of pipes when a process is respawned); log lines carry the process name instead.
        config[f"env:{name}"] = {"EXCHANGE_PROCESS": name, **dict(spec.get("env", {}))}  # type: ignore[arg-type]
        if spec.get("sockets"):
            config[section]["use_sockets"] = "true"
    return config, gateway_config


def _forget_earlier_run() -> None:
    """Restart counts on the console start from zero with each launch."""
    import redis

    from exchange.infra.launcher_hooks import launcher_reset

    try:
        launcher_reset(redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=2))
    except redis.RedisError as exc:
        print(f"launcher: could not reset restart counts ({exc})", file=sys.stderr)


def main(argv: list[str]) -> None:
    VAR.mkdir(exist_ok=True)
    config, gateway_config = circus_config(dict(os.environ))
    # circus copies its own environment to every process: the key leaves it here, and only the
    # signer's own section names the key file again.
    for name in KEY_VARS:
        os.environ.pop(name, None)
    path = VAR / "circus.ini"
    with path.open("w") as handle:
        config.write(handle)
    if gateway_config is not None:
        (VAR / "haproxy.cfg").write_text(gateway_config)
    if "--print" in argv:
        sys.stdout.write(path.read_text())
        sys.stdout.write(gateway_config or "")
        return
    _forget_earlier_run()
    circusd = shutil.which("circusd", path=str(Path(sys.executable).parent)) or "circusd"
    os.chdir(ROOT)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # circusd imports the spawn hook (exchange.infra.launcher_hooks) from the checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.execv(circusd, [circusd, str(path)])


if __name__ == "__main__":
    main(sys.argv[1:])
