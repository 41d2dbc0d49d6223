"""Production refuses to start with development secrets, in every process, naming each setting;
with a real production environment ``check --deploy`` is clean."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "dev-insecure-key-do-not-use-in-production"
NAMES = ("DJANGO_SECRET_KEY", "EXCHANGE_API_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "EXCHANGE_METRICS_TOKEN")


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_with_a_production_environment(prod_env):
    result = manage(prod_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


@pytest.mark.parametrize(("unsafe", "named"), [
    ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": DEV_KEY}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": "change-me"}, "DJANGO_SECRET_KEY"),
    ({"EXCHANGE_API_SECRET_KEY": None}, "EXCHANGE_API_SECRET_KEY"),
    ({"EXCHANGE_API_SECRET_KEY": ""}, "EXCHANGE_API_SECRET_KEY"),
    ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
    ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
    ({"EXCHANGE_METRICS_TOKEN": None}, "EXCHANGE_METRICS_TOKEN"),
])
def test_each_unsafe_setting_is_refused_by_name(prod_env, unsafe, named):
    result = manage(prod_env(**unsafe), "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ImproperlyConfigured" in output
    assert named in output
    # Only the setting that is wrong is named.
    assert not [name for name in NAMES if name != named and f"- {name}" in output], output


def test_every_problem_is_listed_at_once(prod_env):
    result = manage(prod_env(**dict.fromkeys(NAMES)), "check")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for name in NAMES:
        assert f"- {name}" in output


def test_development_keeps_its_defaults(prod_env):
    result = manage(prod_env(DJANGO_DEBUG="true", **dict.fromkeys(NAMES)), "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bad_trusted_proxy_entry_is_refused(prod_env):
    result = manage(prod_env(TRUSTED_PROXIES="10.0.0.0/8,not-an-ip"), "check")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr
    assert "not-an-ip" in result.stderr


def _refuses(command: list[str], env: dict) -> str:
    """Start a real process with ``env``; it must exit on its own, non-zero, within 60 s."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"{command[0]} kept running with unsafe production settings:\n{output}") from None
    assert process.returncode != 0, output
    return output


def test_daphne_refuses_to_start_with_development_secrets(prod_env):
    daphne = str(Path(sys.executable).parent / "daphne")
    started = time.monotonic()
    output = _refuses([daphne, "-b", "127.0.0.1", "-p", "0", "exchange.asgi:application"],
                      prod_env(DJANGO_SECRET_KEY=None, EXCHANGE_API_SECRET_KEY=None))
    assert "Refusing to start" in output
    assert "DJANGO_SECRET_KEY" in output
    assert "EXCHANGE_API_SECRET_KEY" in output
    assert time.monotonic() - started < 60


def test_matcher_and_celery_refuse_too(prod_env):
    env = prod_env(EXCHANGE_METRICS_TOKEN=None)
    output = _refuses([sys.executable, "manage.py", "run_matcher"], env)
    assert "EXCHANGE_METRICS_TOKEN" in output
    celery = str(Path(sys.executable).parent / "celery")
    output = _refuses([celery, "-A", "exchange", "worker", "--loglevel", "INFO", "--concurrency", "1"], env)
    assert "EXCHANGE_METRICS_TOKEN" in output
