"""Refuse to run a production venue with development secrets.

Called from ``exchange/settings.py`` when ``DJANGO_DEBUG`` is false, so every process that loads
the settings refuses together: Daphne, the matcher, the surveillance consumer, Celery and every
``manage.py`` command. Django's system checks alone would not do: ``check --deploy`` runs only when
asked, and never under Daphne or Celery. All problems are listed at once, each by the environment
variable that fixes it.
"""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

# Public in the repository: a session or password-reset token signed with it can be forged.
DEV_SECRET_KEY = "dev-insecure-key-do-not-use-in-production"
MIN_SECRET_LENGTH = 50  # Django's own bar (security.W009)
MIN_API_SECRET_LENGTH = 32


def _weak(key: str, min_length: int) -> bool:
    return len(key) < min_length or len(set(key)) < 5 or key.startswith("django-insecure")


def production_problems(*, secret_key: str, api_secret_key: str, allowed_hosts: list[str], metrics_token: str) -> list[str]:
    """What makes these settings unsafe for production; empty when they are fine."""
    problems = []
    if not secret_key or secret_key == DEV_SECRET_KEY:
        problems.append("DJANGO_SECRET_KEY is not set (the development key is public: sessions could be forged)")
    elif _weak(secret_key, MIN_SECRET_LENGTH):
        problems.append(f"DJANGO_SECRET_KEY is too weak (at least {MIN_SECRET_LENGTH} random characters)")
    if not api_secret_key:
        problems.append("EXCHANGE_API_SECRET_KEY is not set (it encrypts API secrets at rest; it is no longer derived "
                        "from DJANGO_SECRET_KEY in production: a venue that ran without it sets it to its DJANGO_SECRET_KEY)")
    elif api_secret_key == DEV_SECRET_KEY or _weak(api_secret_key, MIN_API_SECRET_LENGTH):
        problems.append(f"EXCHANGE_API_SECRET_KEY is too weak (at least {MIN_API_SECRET_LENGTH} random characters)")
    if not [host for host in allowed_hosts if host.strip()]:
        problems.append("DJANGO_ALLOWED_HOSTS is empty (list the venue's host names)")
    if not metrics_token:
        problems.append("EXCHANGE_METRICS_TOKEN is not set (/metrics would be open to anyone)")
    return problems


def refuse_unsafe_production(**settings_values) -> None:
    """Raise ``ImproperlyConfigured`` naming every problem, or return when there is none."""
    problems = production_problems(**settings_values)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ImproperlyConfigured(
            "Refusing to start with DJANGO_DEBUG=false (production) and unsafe settings:\n" + listed
            + "\nSet them in the environment (see .env.example), or use DJANGO_DEBUG=true for development."
        )
