"""The exchange: a spot trading venue on Django.

The Celery app is imported here so that ``@shared_task`` binds to it whenever Django starts.
"""
from exchange.celery import app as celery_app

__all__ = ["celery_app"]
