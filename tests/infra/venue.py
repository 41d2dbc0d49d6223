"""`make run`'s body (scripts/run.sh) on a fresh clone in production shape, for the launcher and
fault-drill tests: the clone, its environment, its start and its Ctrl-C."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.api.production import PRODUCTION_ENV
from tests.conftest import ROOT, database_url


def clone_checkout(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    return clone


def start_venue(clone: Path, *, redis_url: str, port: int, log_path: Path, **extra_env: str) -> subprocess.Popen:
    """Two web processes on ``port`` and every other process, in production shape."""
    env = {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "EXCHANGE_DEMO_MODE": "false", "PORT": str(port),
           "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra_env}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(["bash", "scripts/run.sh"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_venue(launcher: subprocess.Popen) -> None:
    """Ctrl-C to the whole process group, as a terminal would send it; SIGKILL if it lingers."""
    os.killpg(launcher.pid, signal.SIGINT)
    try:
        launcher.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
