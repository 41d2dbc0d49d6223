"""Production settings: ``check --deploy`` is clean, and nothing unsafe is the default."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True)


def test_check_deploy_is_clean_with_production_environment():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="exchange.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_key():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr
