"""The username django-axes records for a login attempt (``AXES_USERNAME_CALLABLE``).

Django's login form checks the username's length only in the browser, so a posted username of
10,000 characters reached axes, whose ``AccessAttempt.username`` is 255 characters: a 500. No
account has a username longer than the user model allows, so the attempt is recorded under
that many characters of it (the lockout still counts it, against no real account).
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """axes' own reading (the credentials, else the posted form), cut to the model's length."""
    field = settings.AXES_USERNAME_FORM_FIELD  # type: ignore[misc]  # axes' setting, which django-stubs cannot know
    username = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    if username is None:
        return None
    return str(username)[: get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length]  # type: ignore[union-attr]  # the username field is a CharField
