"""Settings for the test suite (pyproject's DJANGO_SETTINGS_MODULE): the development settings.

Production (DJANGO_DEBUG=false) refuses to start without its secrets (exchange/infra/safety.py),
and pytest-django loads the settings before any conftest runs, so the suite says here that it
runs in development mode. The processes tests start (Daphne, the matcher) inherit it; tests of
the production refusal start their processes with an environment of their own.
"""
import os

os.environ["DJANGO_DEBUG"] = "true"

from exchange.settings import *  # noqa: F403
