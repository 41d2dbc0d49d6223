"""The request of a view behind ``login_required``: its ``user`` is a real ``User``.

django-stubs types ``HttpRequest.user`` as ``User | AnonymousUser``. Behind ``login_required`` (or
a staff guard) it cannot be anonymous; annotating those views with this class says so once, the
pattern django-stubs documents, instead of a cast or an assert at every use.
"""
from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    user: User
