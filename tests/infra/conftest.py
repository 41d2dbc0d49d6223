"""Helpers for the production-safety tests: a production environment, and processes started
with exactly that environment (not the suite's development one)."""
import os
import secrets

import pytest


def production_settings(**extra: str) -> dict[str, str]:
    """The variables that make a safe production (DJANGO_DEBUG=false): what ``start_web`` needs on
    top of the test database and Redis it already gives."""
    return {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "EXCHANGE_API_SECRET_KEY": secrets.token_urlsafe(40), "DJANGO_ALLOWED_HOSTS": "exchange.example.com",
            "EXCHANGE_METRICS_TOKEN": secrets.token_urlsafe(24), **extra}


def production_env(**overrides: str) -> dict[str, str]:
    """A safe production environment (DJANGO_DEBUG=false) for a subprocess; ``NAME=""`` or
    ``NAME=None`` in overrides removes a variable, as if it were never set."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "EXCHANGE_")) and k != "TRUSTED_PROXIES"}
    env = {**base, **production_settings()}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
def prod_env():
    return production_env
