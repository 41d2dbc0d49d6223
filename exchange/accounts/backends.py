"""Authentication that refuses frozen users.

Django asks the backend again on every request with a session, so freezing a user also ends
their open sessions at once."""
from django.contrib.auth.backends import ModelBackend

from exchange.accounts.models import Profile, UserStatus


def is_frozen(user) -> bool:
    return Profile.objects.filter(user_id=user.pk, status=UserStatus.FROZEN).exists()


class ActiveProfileBackend(ModelBackend):
    """Django's username/password backend, plus: a frozen user cannot log in."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not is_frozen(user)
