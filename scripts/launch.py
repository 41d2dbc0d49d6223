#!/usr/bin/env python
"""Start and supervise every process of the venue on one box, with circus.

    python scripts/launch.py            # what `make run` starts (inside scripts/with_services.py)
    python scripts/launch.py --print    # print the generated circus configuration and exit

Why circus: it binds the web port once and hands the socket to every Daphne process
(``daphne --fd``), so ``WEB_CONCURRENCY`` processes share one ``PORT`` with no proxy in between;
and it restarts a process that dies instead of stopping the rest (honcho stops everything when one
process exits, so a sub-second database blip could take the whole venue down).

Restarts back off: a watcher that dies more than ``LAUNCHER_FLAP_ATTEMPTS`` times within
``LAUNCHER_FLAP_WINDOW`` seconds waits ``LAUNCHER_FLAP_RETRY_IN`` seconds before the next try,
forever (circus's flapping plugin). Every spawn is counted in Redis by
``exchange.infra.launcher_hooks`` so the console's health page shows restarts per process.

Settings (environment): ``PORT`` (8000), ``HOST`` (127.0.0.1), ``WEB_CONCURRENCY`` (the number
of cores), ``EXCHANGE_DEMO_MODE`` (adds the demo bots), ``LAUNCHER_ENDPOINT`` (circus's control
socket, ``ipc://var/circus.sock``: ``circusctl --endpoint ... status``).
"""
import configparser
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def processes(*, demo: bool, web_concurrency: int) -> dict[str, dict[str, object]]:
    """The venue's long-running processes: name -> (command, how many)."""
    python = sys.executable
    bin_dir = Path(sys.executable).parent
    table: dict[str, dict[str, object]] = {
        # Every Daphne accepts on the socket circus bound; the kernel spreads connections.
        "web": {"cmd": f"{bin_dir / 'daphne'} --fd $(circus.sockets.web) exchange.asgi:application",
                "numprocesses": web_concurrency, "use_sockets": True},
        "matcher": {"cmd": f"{python} manage.py run_matcher"},
        "surveillance": {"cmd": f"{python} manage.py run_surveillance"},
        "worker": {"cmd": f"{bin_dir / 'celery'} -A exchange worker --loglevel INFO --concurrency 1"},
        "beat": {"cmd": f"{bin_dir / 'celery'} -A exchange beat --loglevel INFO --schedule {VAR / 'celerybeat-schedule'}"},
    }
    if demo:
        table["bots"] = {"cmd": f"{python} manage.py run_demo_bots"}
    return table


def circus_config(env: dict[str, str]) -> configparser.ConfigParser:
    """The circus configuration for this environment (pure: reads only ``env``)."""
    port = int(env.get("PORT", "8000"))
    host = env.get("HOST", "127.0.0.1")
    web_concurrency = int(env.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    endpoint = env.get("LAUNCHER_ENDPOINT", f"ipc://{VAR / 'circus.sock'}")
    config = configparser.ConfigParser(interpolation=None)
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
    config["socket:web"] = {"host": host, "port": str(port)}
    for name, spec in processes(demo=_truthy(env.get("EXCHANGE_DEMO_MODE")), web_concurrency=web_concurrency).items():
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
        config[f"env:{name}"] = {"EXCHANGE_PROCESS": name}
        if spec.get("use_sockets"):
            config[section]["use_sockets"] = "true"
    return config


def _forget_earlier_run() -> None:
    """Restart counts on the console start from zero with each launch."""
    sys.path.insert(0, str(ROOT))
    import redis

    from exchange.infra.launcher_hooks import launcher_reset

    try:
        launcher_reset(redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=2))
    except redis.RedisError as exc:
        print(f"launcher: could not reset restart counts ({exc})", file=sys.stderr)


def main(argv: list[str]) -> None:
    VAR.mkdir(exist_ok=True)
    config = circus_config(dict(os.environ))
    path = VAR / "circus.ini"
    with path.open("w") as handle:
        config.write(handle)
    if "--print" in argv:
        sys.stdout.write(path.read_text())
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
