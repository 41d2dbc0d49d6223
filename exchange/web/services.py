"""Writes of the trader pages that are not trading (orders go through /api/v1/orders)."""
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session

from exchange.web.selectors import session_list


def session_end_others(*, user: AbstractBaseUser, keep: str | None) -> int:
    """Sign the user out everywhere but the session ``keep``; returns how many ended."""
    keys = [s["key"] for s in session_list(user=user) if s["key"] != keep]
    Session.objects.filter(session_key__in=keys).delete()
    return len(keys)
